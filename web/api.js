// The JSON gateway: POST /triage.v1.<Service>/<Method> with the proto JSON of
// the request; a refusal throws "code: message" (Connect's error body).

export async function api(method, body) {
  const r = await fetch(`/triage.v1.${method}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}),
  });
  const j = await r.json().catch(() => ({ code: 'unknown', message: `HTTP ${r.status}` }));
  if (!r.ok) throw new Error(`${j.code}: ${j.message}`);
  return j;
}
