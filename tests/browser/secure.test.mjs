// The page over HTTPS with basic auth, in Debian's chromium, against a real
// triaged secured as deploy/prometheus/secure/setup.sh makes it; and a page
// on another origin that tries to make the same browser change triaged.
// Env: TRIAGED, TRIAGE_SOURCE, ARTIFACTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, startDaemon, stopDaemon } from '../integration/daemon.mjs';

const TRIAGED = process.env.TRIAGED;
const SOURCE = process.env.TRIAGE_SOURCE;
const ARTIFACTS = process.env.ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'triage-shots-'));
fs.mkdirSync(ARTIFACTS, { recursive: true });

const secure = fs.mkdtempSync(path.join(os.tmpdir(), 'triage-secure-'));
execFileSync('bash', [path.join(SOURCE, 'deploy', 'prometheus', 'secure', 'setup.sh'), secure]);
const secret = (name) => fs.readFileSync(path.join(secure, 'secrets', name), 'utf8').trim();
// An operator with every role: the cross-origin page rides on the most
// powerful credentials, so only the Origin and Content-Type checks stop it.
const webConfig = path.join(secure, 'triage-web.yml');
const adminHash = execFileSync('/usr/bin/python3', ['-W', 'ignore', '-c',
  'import crypt; print(crypt.crypt("admin-pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))']).toString().trim();
fs.writeFileSync(webConfig, fs.readFileSync(webConfig, 'utf8')
  .replace('basic_auth_users:\n', `basic_auth_users:\n  admin: ${adminHash}\n`));
const ca = fs.readFileSync(path.join(secure, 'tls', 'ca.crt'));

// An HTTPS request trusting the deployment's CA.
function request(port, method, urlPath, body, headers) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, method, path: urlPath, ca, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

let browser;
let daemon;
let evil;
before(async () => {
  daemon = await startDaemon(TRIAGED, { args: ['--web-config-file', webConfig], prefix: 'triaged-secure-',
    ready: async (port) => (await request(port, 'GET', '/readyz')).status === 200 });
  const gz = fs.readFileSync(path.join(SOURCE, 'deploy', 'demo', 'scenarios', 'p01-code-deploy.jsonl.gz'));
  const r = await request(daemon.port, 'POST', '/api/v1/bundle', zlib.gunzipSync(gz), {
    'Content-Type': 'application/x-ndjson', Authorization: `Bearer ${secret('prometheus-token')}` });
  assert.equal(r.status, 200, r.body);
  // A page on another origin that tries, through the user's browser, to add a
  // change (?target=URL of /api/v1/changes) in every way a page can without a
  // preflight, and one with.
  const evilPage = (target) => `<!doctype html><html><body>
<form id="f" method="POST" action="${target}" enctype="text/plain" target="sink">
<input name='{"id":"csrf-form","kind":"config","service":"reranker","x":"' value='"}'></form>
<iframe name="sink"></iframe>
<script>
const body = JSON.stringify({ id: 'csrf-fetch', kind: 'config', service: 'reranker' });
Promise.allSettled([
  fetch('${target}', { method: 'POST', mode: 'no-cors', credentials: 'include', body }),
  fetch('${target}', { method: 'POST', mode: 'no-cors', credentials: 'include', body,
    headers: { 'Content-Type': 'text/plain' } }),
  fetch('${target}', { method: 'POST', mode: 'no-cors', credentials: 'include', body,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }),
  fetch('${target}', { method: 'POST', credentials: 'include', body,
    headers: { 'Content-Type': 'application/json' } }),
]).then(() => { document.getElementById('f').submit(); setTimeout(() => { document.title = 'done'; }, 1500); });
</script></body></html>`;
  evil = http.createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end(evilPage(new URL(req.url, 'http://x').searchParams.get('target')));
  });
  await new Promise((r) => evil.listen(0, '127.0.0.1', r));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
  evil?.close();
  if (daemon) assert.equal(await stopDaemon(daemon), 0);
});

test('the page over HTTPS with basic auth', async () => {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 },
    httpCredentials: { username: 'oncall', password: secret('oncall-password') } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const response = await page.goto(`https://127.0.0.1:${daemon.port}/#/incident/p01-code-deploy`);
  assert.match(response.headers()['content-security-policy'], /script-src 'self'/);
  await page.waitForSelector('body[data-rendered="report"]', { timeout: 20000 });
  await page.waitForSelector('[data-change-id="chg-p01"]');
  assert.equal(await page.locator('.walk li[data-localized="true"]').getAttribute('data-category'), 'code_deploy');
  await page.screenshot({ path: path.join(ARTIFACTS, 'secure-incident-p01.png') });
  assert.deepEqual(errors, [], 'no page errors and no CSP violations');
  await context.close();

  // Without credentials the page gets a 401 and the browser's challenge.
  const denied = await request(daemon.port, 'GET', '/');
  assert.equal(denied.status, 401);
  assert.match(denied.headers['www-authenticate'], /Basic realm="triage"/);
});

// Visits the evil page aimed at `target` in `context`, then lists the
// change ids stored (read with `list`).
async function visitEvilPage(context, target) {
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${evil.address().port}/?target=${encodeURIComponent(target)}`);
  await page.waitForFunction(() => document.title === 'done', null, { timeout: 20000 });
}

test('a page on another origin cannot change a secured triaged through the browser', async () => {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true, httpCredentials: { username: 'admin', password: 'admin-pw' } });
  await (await context.newPage()).goto(`https://127.0.0.1:${daemon.port}/`);  // Logged in ...
  await visitEvilPage(context, `https://127.0.0.1:${daemon.port}/api/v1/changes`);  // ... elsewhere.
  await context.close();
  const overlay = await request(daemon.port, 'POST', '/triage.v1.OverlayService/GetOverlay',
    JSON.stringify({ service: 'reranker', metric: 'ndcg_at_10', window: '35d' }), {
      'Content-Type': 'application/json', Authorization: `Bearer ${secret('prometheus-token')}` });
  assert.equal(overlay.status, 200, overlay.body);
  const ids = JSON.parse(overlay.body).changes.map((c) => c.id);
  for (const id of ['csrf-form', 'csrf-fetch']) assert.ok(!ids.includes(id), `${id} was stored`);
});

test('a page on another origin cannot change the default loopback triaged (no auth)', async () => {
  // The default deployment: loopback, no credentials, so the browser's
  // requests arrive whole and only the Origin and Content-Type checks stand.
  const open = await startDaemon(TRIAGED, { prefix: 'triaged-open-' });
  const base = open.base;
  try {
    const context = await browser.newContext();
    await visitEvilPage(context, `${base}/api/v1/changes`);
    await context.close();
    const overlay = await (await fetch(`${base}/triage.v1.OverlayService/GetOverlay`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ service: 'reranker', metric: 'm', window: '35d' }) })).json();
    assert.deepEqual(overlay.changes.map((c) => c.id), [], 'nothing was stored');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, /triage_http_requests_total\{code="403",route="\/api\/v1\/changes"\} [1-9]/);
  } finally {
    assert.equal(await stopDaemon(open), 0);
  }
});
