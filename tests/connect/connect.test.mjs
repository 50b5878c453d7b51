// A real Connect client (connect-es: @connectrpc/connect-node, code generated
// from proto/ by @bufbuild/protoc-gen-es) against a real triaged on loopback:
// every unary RPC, in JSON, binary, and gzip-compressed modes, errors with
// their codes and details, and the protocol's edges (unknown fields,
// timeouts, unsupported codecs and encodings) on the wire.
// Env: TRIAGED (binary), TRIAGE_SOURCE (repo root).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { createClient, ConnectError, Code } from '@connectrpc/connect';
import { createConnectTransport, compressionGzip } from '@connectrpc/connect-node';
import { toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { startDaemon, stopDaemon } from '../integration/daemon.mjs';

const TRIAGED = process.env.TRIAGED;
const SOURCE = process.env.TRIAGE_SOURCE;
const HERE = path.dirname(fileURLToPath(import.meta.url));

// protoc-gen-es output for proto/triage/v1, beside a link to our node_modules
// so that its imports resolve.
function generate() {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'triage-connect-gen-'));
  fs.symlinkSync(path.join(HERE, 'node_modules'), path.join(out, 'node_modules'));
  const protoRoot = path.join(SOURCE, 'proto');
  const files = fs.readdirSync(path.join(protoRoot, 'triage', 'v1'))
    .filter((f) => f.endsWith('.proto')).map((f) => `triage/v1/${f}`);
  execFileSync('protoc', [`--proto_path=${protoRoot}`, '--proto_path=/usr/include',
    `--plugin=protoc-gen-es=${path.join(HERE, 'node_modules', '.bin', 'protoc-gen-es')}`,
    `--es_out=${out}`, '--es_opt=target=js,import_extension=js', ...files]);
  return out;
}

const MODES = {
  json: { useBinaryFormat: false },
  binary: { useBinaryFormat: true },
  'json+gzip': { useBinaryFormat: false, gzip: true },
  'binary+gzip': { useBinaryFormat: true, gzip: true },
};

let gen;
let pb;  // The generated modules, by file.
let daemon;
let bundle;  // The recorded incident p01 as NDJSON bytes.

before(async () => {
  gen = generate();
  pb = {};
  for (const f of ['service', 'drill', 'errors', 'records']) {
    pb[f] = await import(path.join(gen, 'triage', 'v1', `${f}_pb.js`));
  }
  daemon = await startDaemon(TRIAGED, { prefix: 'triaged-connect-' });
  bundle = zlib.gunzipSync(fs.readFileSync(
    path.join(SOURCE, 'deploy', 'demo', 'scenarios', 'p01-code-deploy.jsonl.gz')));
  const r = await fetch(`${daemon.base}/api/v1/bundle`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: bundle });
  assert.equal(r.status, 200, await r.text());
});

after(async () => {
  if (daemon) assert.equal(await stopDaemon(daemon), 0);
  if (gen) fs.rmSync(gen, { recursive: true, force: true });
});

// A client per service for one mode, and what went over the wire.
function clients(mode) {
  const wire = [];
  const capture = (next) => async (req) => {
    const res = await next(req);
    wire.push({ method: req.method.name, request: new Headers(req.header), response: new Headers(res.header),
      binaryBytes: toBinary(req.method.input, req.message).length });
    return res;
  };
  const opts = MODES[mode];
  const transport = createConnectTransport({
    baseUrl: daemon.base,
    httpVersion: '1.1',
    useBinaryFormat: opts.useBinaryFormat,
    interceptors: [capture],
    ...(opts.gzip ? { sendCompression: compressionGzip, acceptCompression: [compressionGzip],
      compressMinBytes: 0 } : { acceptCompression: [] }),
  });
  const c = {};
  for (const [file, names] of [['service', ['IngestService', 'TriageService', 'OverlayService', 'RulesService']],
    ['drill', ['DrillService']]]) {
    for (const name of names) c[name] = createClient(pb[file][name], transport);
  }
  return { c, wire };
}

const ts = (iso) => timestampFromDate(new Date(iso));
const AT = '2026-05-05T03:42:00Z';

// Every unary RPC, called as a client would, with what its answer must hold.
// `tag` keeps the ids of one mode apart from another's.
const CALLS = {
  'IngestService/WriteChanges': async ({ IngestService }, tag) => {
    const r = await IngestService.writeChanges({ changes: [{ id: `connect-${tag}`, time: ts(AT),
      kind: 'config', service: 'reranker', summary: 'from connect-es' }] });
    assert.equal(Object.values(r.accepted).reduce((a, b) => a + b, 0), 1);
  },
  'IngestService/WriteSeries': async ({ IngestService }) => {
    const r = await IngestService.writeSeries({ series: [{ metric: 'connect_probe',
      labels: { service: 'reranker' }, points: [{ tMs: 1777952520000n, value: 1.5 }] }] });
    assert.deepEqual(r.accepted, { series: 1, sample: 1 });
  },
  'IngestService/WriteHistograms': async ({ IngestService }) => {
    const r = await IngestService.writeHistograms({ histograms: [{ feature: 'connect_f',
      service: 'reranker', start: ts('2026-05-05T02:00:00Z'), end: ts('2026-05-05T03:00:00Z'),
      edges: [0, 1, 2], counts: [3, 4] }] });
    assert.equal(Object.values(r.accepted).reduce((a, b) => a + b, 0), 1);
  },
  'IngestService/WriteUpstreams': async ({ IngestService }) => {
    const r = await IngestService.writeUpstreams({ upstreams: [{ source: 'connect_src',
      consumer: 'reranker', time: ts(AT), rowCount: 10n }] });
    assert.equal(Object.values(r.accepted).reduce((a, b) => a + b, 0), 1);
  },
  'IngestService/WriteEvalSets': async ({ IngestService }) => {
    const r = await IngestService.writeEvalSets({ evalSets: [{ service: 'reranker', name: 'connect_eval',
      time: ts(AT), refreshedAt: ts('2026-05-01T00:00:00Z'), catalogTurnover: 0.1 }] });
    assert.equal(Object.values(r.accepted).reduce((a, b) => a + b, 0), 1);
  },
  'IngestService/WriteDependencyHealth': async ({ IngestService }) => {
    const r = await IngestService.writeDependencyHealth({ dependencyHealth: [{ service: 'reranker',
      check: 'connect_probe', time: ts(AT), value: 1, min: 0 }] });
    assert.equal(Object.values(r.accepted).reduce((a, b) => a + b, 0), 1);
  },
  'IngestService/WriteDependencies': async ({ IngestService }) => {
    const r = await IngestService.writeDependencies({ dependencies: [{ service: 'connect-svc',
      dependsOn: ['reranker'] }] });
    assert.equal(Object.values(r.accepted).reduce((a, b) => a + b, 0), 1);
  },
  'TriageService/Triage': async ({ TriageService }) => {
    const r = await TriageService.triage({ alerts: [{ service: 'reranker', metric: 'ndcg_at_10' }], at: ts(AT) });
    assert.equal(r.localizedCategory, 'code_deploy');
  },
  'TriageService/GetIncident': async ({ TriageService }) => {
    const r = await TriageService.getIncident({ id: 'p01-code-deploy' });
    assert.equal(r.incident.id, 'p01-code-deploy');
    assert.equal(r.report.localizedCategory, 'code_deploy');
  },
  'TriageService/ListIncidents': async ({ TriageService }) => {
    const r = await TriageService.listIncidents({ pageSize: 10 });
    assert.ok(r.incidents.some((v) => v.incident.id === 'p01-code-deploy'));
  },
  'TriageService/ResolveIncident': async ({ TriageService }) => {
    const r = await TriageService.resolveIncident({ id: 'p01-code-deploy', rootCause: 'code_deploy',
      summary: 'rolled back' });
    assert.equal(r.incident.id, 'p01-code-deploy');
  },
  'TriageService/ExportIncident': async ({ TriageService }) => {
    const r = await TriageService.exportIncident({ id: 'p01-code-deploy' });
    assert.match(r.ndjson, /"type":"incident"/);
    assert.ok(r.records.change >= 1);
  },
  'TriageService/Review': async ({ TriageService }) => {
    const r = await TriageService.review({ quarter: '2026Q2' });
    const all = r.quarters.find((q) => q.team === 'all');
    assert.ok(all.incidents >= 1);
    assert.equal(r.pagesThreshold, 2);
  },
  'OverlayService/GetOverlay': async ({ OverlayService }) => {
    const r = await OverlayService.getOverlay({ service: 'reranker', metric: 'ndcg_at_10', window: '24h',
      end: ts(AT) });
    assert.ok(r.points.length > 0);
    assert.ok(r.changes.some((c) => c.id === 'chg-p01'));
  },
  'OverlayService/GetVocabulary': async ({ OverlayService }) => {
    const v = await OverlayService.getVocabulary({});
    assert.ok(v.changeKinds.includes('code_deploy'));
    assert.deepEqual(v.windows.map((w) => [w.name, w.durationMs]), [['60m', 3600000n], ['24h', 86400000n],
      ['7d', 604800000n]]);
    assert.equal(v.defaultWindow, '24h');
  },
  'RulesService/GetTree': async ({ RulesService }) => {
    const r = await RulesService.getTree({});
    assert.equal(r.category.length, 10);
  },
  'RulesService/CheckTree': async ({ RulesService }) => {
    const r = await RulesService.checkTree({ text: 'category {' });
    assert.equal(r.ok, false);
    assert.ok(r.problems.length > 0);
  },
  'RulesService/ReloadTree': async ({ RulesService }) => {
    const r = await RulesService.reloadTree({});
    assert.equal(r.tree.category.length, 10);
  },
  'DrillService/StartDrill': async ({ DrillService }, tag, state) => {
    const d = await DrillService.startDrill({ name: 'p01.jsonl', ndjson: bundle, trainee: `t-${tag}` });
    assert.ok(d.id);
    state.drill = d.id;
  },
  'DrillService/OpenCategory': async ({ DrillService }, tag, state) => {
    const r = await DrillService.openCategory({ drillId: state.drill, category: 'code_deploy', minute: 3 });
    assert.equal(r.verdict.category, 'code_deploy');
  },
  'DrillService/Answer': async ({ DrillService }, tag, state) => {
    const d = await DrillService.answer({ drillId: state.drill, category: 'code_deploy', minute: 5 });
    assert.equal(d.score.answered, 'code_deploy');
    assert.equal(d.score.expected, 'code_deploy');
  },
  'DrillService/GetDrill': async ({ DrillService }, tag, state) => {
    const d = await DrillService.getDrill({ drillId: state.drill });
    assert.equal(d.trainee, `t-${tag}`);
  },
  'DrillService/DrillReport': async ({ DrillService }, tag) => {
    const r = await DrillService.drillReport({ trainee: `t-${tag}` });
    assert.equal(r.trainees[0].drills, 1);
  },
};

test('the call table covers every unary RPC (IngestBundle streams: gRPC only)', () => {
  const unary = [];
  for (const [file, names] of [['service', ['IngestService', 'TriageService', 'OverlayService', 'RulesService']],
    ['drill', ['DrillService']]]) {
    for (const name of names) {
      for (const m of pb[file][name].methods) {
        if (m.methodKind === 'unary') unary.push(`${name}/${m.name}`);
        else assert.equal(`${name}/${m.name}`, 'IngestService/IngestBundle');
      }
    }
  }
  assert.deepEqual(Object.keys(CALLS).sort(), unary.sort());
});

for (const mode of Object.keys(MODES)) {
  test(`every unary RPC in ${mode} mode`, async (t) => {
    const { c, wire } = clients(mode);
    const state = {};
    for (const [name, call] of Object.entries(CALLS)) {
      await t.test(name, () => call(c, mode, state));
    }
    const json = !MODES[mode].useBinaryFormat;
    for (const w of wire) {
      assert.equal(w.response.get('content-type'), json ? 'application/json' : 'application/proto', w.method);
    }
    assert.equal(wire.length, Object.keys(CALLS).length);
    if (MODES[mode].gzip) {
      // Binary {} is no bytes: nothing to compress.
      const sent = wire.filter((w) => !MODES[mode].useBinaryFormat || w.binaryBytes > 0);
      assert.ok(sent.length >= Object.keys(CALLS).length - 3);
      assert.ok(sent.every((w) => w.request.get('content-encoding') === 'gzip'), 'every request compressed');
      const tree = wire.find((w) => w.method === 'GetTree');
      assert.equal(tree.response.get('content-encoding'), 'gzip', 'a large answer comes back compressed');
    } else {
      assert.ok(wire.every((w) => !w.response.get('content-encoding')));
    }
  });

  test(`errors keep their codes and details in ${mode} mode`, async () => {
    const { c, wire } = clients(mode);
    await assert.rejects(c.TriageService.getIncident({ id: 'no-such-incident' }), (e) => {
      assert.ok(e instanceof ConnectError);
      assert.equal(e.code, Code.NotFound);
      assert.match(e.rawMessage, /no-such-incident/);
      return true;
    });
    await assert.rejects(c.IngestService.writeChanges({ changes: [{ id: 'bad-kind', time: ts(AT),
      kind: 'weather', service: 'reranker' }] }), (e) => {
      assert.equal(e.code, Code.InvalidArgument);
      const [details] = e.findDetails(pb.errors.InputErrorsSchema);
      assert.equal(details.errors[0].field, 'changes[0].kind');
      assert.match(details.errors[0].message, /unknown change kind/);
      return true;
    });
    await assert.rejects(c.OverlayService.getOverlay({ service: 'reranker', metric: 'ndcg_at_10', window: 'soon' }),
      (e) => e.code === Code.InvalidArgument);
    // The client's own deadline goes over as Connect-Timeout-Ms and the call finishes within it.
    const tree = await c.RulesService.getTree({}, { timeoutMs: 30000 });
    assert.equal(tree.category.length, 10);
    assert.equal(wire.at(-1).request.get('connect-timeout-ms'), '30000');
  });
}

// The protocol's edges, on the wire (node:http: fetch would inflate gzip itself).
function post(method, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${daemon.base}/triage.v1.${method}`, { method: 'POST', headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: new Headers(res.headers),
        bytes: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('unknown fields are ignored, in JSON and in binary', async () => {
  let r = await post('RulesService/CheckTree', JSON.stringify({ text: 'category {', fieldFromANewerProto: 1 }),
    { 'Content-Type': 'application/json' });
  assert.equal(r.status, 200, r.bytes.toString());
  assert.equal(JSON.parse(r.bytes).ok, false);
  // Field 1 (text) "x", then an unknown field 1000 (varint 1).
  r = await post('RulesService/CheckTree', Buffer.from([0x0a, 0x01, 0x78, 0xc0, 0x3e, 0x01]),
    { 'Content-Type': 'application/proto' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/proto');
});

test('Connect-Timeout-Ms is the call deadline; a malformed one is invalid_argument', async () => {
  let r = await post('RulesService/GetTree', '{}', { 'Content-Type': 'application/json', 'Connect-Timeout-Ms': '0' });
  assert.equal(r.status, 504);
  assert.equal(JSON.parse(r.bytes).code, 'deadline_exceeded');
  r = await post('RulesService/GetTree', '{}', { 'Content-Type': 'application/json', 'Connect-Timeout-Ms': '9999999999' });
  assert.equal(r.status, 200, 'clamped to --max-call-duration, not refused');
  for (const bad of ['abc', '-5', '12345678901', '1.5']) {
    r = await post('RulesService/GetTree', '{}', { 'Content-Type': 'application/json', 'Connect-Timeout-Ms': bad });
    assert.equal(r.status, 400, bad);
    assert.equal(JSON.parse(r.bytes).code, 'invalid_argument');
  }
});

test('gzip both ways on the wire; other encodings are unimplemented and list gzip', async () => {
  let r = await post('RulesService/GetTree', zlib.gzipSync('{}'),
    { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
  assert.equal(r.status, 200);
  // Without Accept-Encoding the client accepts what it sent.
  assert.equal(r.headers.get('content-encoding'), 'gzip');
  assert.equal(JSON.parse(zlib.gunzipSync(r.bytes)).category.length, 10);
  r = await post('RulesService/GetTree', '{}', { 'Content-Type': 'application/json', 'Accept-Encoding': 'br, gzip;q=0' });
  assert.equal(r.headers.get('content-encoding'), null);
  r = await post('RulesService/GetTree', '{}', { 'Content-Type': 'application/json', 'Content-Encoding': 'br' });
  assert.equal(r.status, 501);
  assert.equal(JSON.parse(r.bytes).code, 'unimplemented');
  assert.match(JSON.parse(r.bytes).message, /supported encodings are gzip/);
  assert.equal(r.headers.get('accept-encoding'), 'gzip');
  r = await post('RulesService/GetTree', Buffer.from('not gzip'),
    { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
  assert.equal(r.status, 400);
  // A small body that inflates past --max-body-bytes is refused, not inflated.
  r = await post('RulesService/CheckTree', zlib.gzipSync(Buffer.alloc(20 << 20, 0x20)),
    { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
  assert.equal(r.status, 413);
  assert.equal(JSON.parse(r.bytes).code, 'resource_exhausted');
});

test('codecs: 415 names the supported ones; errors are JSON whatever the codec', async () => {
  let r = await post('RulesService/GetTree', '{}', { 'Content-Type': 'text/xml' });
  assert.equal(r.status, 415);
  assert.equal(r.headers.get('accept-post'), 'application/json, application/proto');
  r = await post('TriageService/GetIncident', Buffer.from([0x0a, 0x02, 0x6e, 0x6f]), { 'Content-Type': 'application/proto' });
  assert.equal(r.status, 404);
  assert.equal(r.headers.get('content-type'), 'application/json');
  assert.equal(JSON.parse(r.bytes).code, 'not_found');
  r = await post('TriageService/GetIncident', Buffer.from([0xff, 0xff]), { 'Content-Type': 'application/proto' });
  assert.equal(r.status, 400);
  assert.equal(JSON.parse(r.bytes).code, 'invalid_argument');
  r = await post('RulesService/GetTree', '{}', { 'Content-Type': 'application/json', 'Connect-Protocol-Version': '2' });
  assert.equal(r.status, 400);
  r = await post('IngestService/IngestBundle', '{}', { 'Content-Type': 'application/json' });
  assert.equal(r.status, 501);
  assert.match(JSON.parse(r.bytes).message, /streaming method; use gRPC/);
});
