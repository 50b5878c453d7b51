// Browser test of #/review: a scripted half-year through the real triaged on
// an injected clock (--fake-clock-file), then the page in Debian's chromium
// must draw the same numbers the Review API gives and the script implies.
// Env: TRIAGED (binary), TRIAGE_SOURCE (repo root), ARTIFACTS (screenshot dir).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, sleep, startDaemon, stopDaemon } from '../integration/daemon.mjs';

const TRIAGED = process.env.TRIAGED;
const SOURCE = process.env.TRIAGE_SOURCE;
const ARTIFACTS = process.env.ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'triage-shots-'));
fs.mkdirSync(ARTIFACTS, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'triage-review-web-'));
const clockFile = path.join(work, 'now');
const setClock = (t) => { fs.writeFileSync(`${clockFile}.tmp`, t); fs.renameSync(`${clockFile}.tmp`, clockFile); };

let browser;
let daemon;

async function post(p, body, type = 'application/json') {
  const r = await fetch(`${daemon.base}${p}`, { method: 'POST', headers: { 'Content-Type': type },
    body: typeof body === 'string' || body instanceof Buffer ? body : JSON.stringify(body) });
  const text = await r.text();
  assert.equal(r.status, 200, `${p}: ${text}`);
  return text ? JSON.parse(text) : null;
}
const api = (method, body) => post(`/triage.v1.${method}`, body);

function hook(fp, service, metric, starts, status = 'firing', ends = '0001-01-01T00:00:00Z') {
  const labels = { alertname: `Drop-${fp}`, severity: 'page', service, metric };
  return { version: '4', groupKey: `{}:{alertname="Drop-${fp}"}`, truncatedAlerts: 0, status,
    receiver: 'triage', groupLabels: {}, commonLabels: labels, commonAnnotations: {},
    externalURL: 'http://am.invalid',
    alerts: [{ status, labels, annotations: {}, startsAt: starts, endsAt: ends,
      generatorURL: 'http://prometheus.invalid/graph', fingerprint: fp }] };
}

// A page: fired at `starts`, walked, resolved by its alert at `ends`, its cause recorded.
async function page(fp, service, metric, starts, ends, cause) {
  setClock(starts);
  const { incidents: [id] } = await post('/api/v1/alerts', hook(fp, service, metric, starts));
  for (let i = 0; i < 300; i++) {
    const v = await api('TriageService/GetIncident', { id });
    if ((v.state.timeline || []).some((e) => e.event === 'walk_finished')) break;
    await sleep(50);
  }
  setClock(ends);
  await post('/api/v1/alerts', hook(fp, service, metric, starts, 'resolved', ends));
  if (cause) await api('TriageService/ResolveIncident', { id, root_cause: cause });
  return id;
}

before(async () => {
  setClock('2026-03-01T00:00:00Z');
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  daemon = await startDaemon(TRIAGED, { prefix: 'triaged-review-',
    args: ['--fake-clock-file', clockFile, '--roster', 'alice,bob,carol'] });
  const p01 = zlib.gunzipSync(fs.readFileSync(path.join(SOURCE, 'deploy', 'demo', 'scenarios', 'p01-code-deploy.jsonl.gz')));
  const records = p01.toString().split('\n').filter((l) => !l.includes('"type":"incident"')).join('\n');
  await post('/api/v1/bundle', records, 'application/x-ndjson');
  await page('f0', 'payments', 'latency', '2026-03-10T10:00:00Z', '2026-03-10T11:40:00Z', '');
  await page('f1', 'reranker', 'ndcg_at_10', '2026-05-05T03:42:00Z', '2026-05-05T04:27:00Z', 'code_deploy');
  await page('f2', 'payments', 'latency', '2026-05-12T10:00:00Z', '2026-05-12T12:00:00Z', 'upstream_data');
  setClock('2026-06-10T09:00:00Z');
  const ndjson = p01.toString('base64');
  for (const [trainee, answer] of [['alice', 'code_deploy'], ['bob', 'config_change']]) {
    const d = await api('DrillService/StartDrill', { name: 'p01.jsonl', ndjson, trainee });
    await api('DrillService/Answer', { drill_id: d.id, category: answer, minute: 10 });
  }
  setClock('2026-07-02T00:00:00Z');
});
after(async () => {
  await browser?.close();
  if (daemon) assert.equal(await stopDaemon(daemon), 0);
});

test('the review page draws what the Review API says', async () => {
  const review = await api('TriageService/Review', { team: 'all' });
  const q2 = review.quarters.find((q) => q.quarter === '2026Q2');
  assert.equal(q2.incidents, 2);
  assert.equal(q2.mttr_minutes.median, 82.5);  // 45 and 120 minutes.
  assert.equal(q2.mttr_minutes.median_change, -17.5);  // 2026Q1: 100.

  const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${daemon.base}/#/review?quarter=2026Q2`);
  await page.waitForSelector('body[data-rendered="review"]', { timeout: 20000 });
  await page.waitForSelector('[data-plot="mttr"] canvas');
  await page.waitForSelector('[data-plot="pages"] canvas');

  assert.equal(await page.locator('p[data-quarters]').innerText(), 'Quarter: 2026Q1 2026Q2');
  // MTTR per quarter: the bars' values, the target.
  const mttr = page.locator('[data-plot="mttr"]');
  assert.equal(await mttr.getAttribute('data-quarters'), '2026Q1 2026Q2');
  assert.equal(await mttr.getAttribute('data-medians'), '100.00 82.50');
  assert.equal(await mttr.getAttribute('data-target'), String(review.mttr_target_minutes));
  // Pages per week of the quarter, the threshold.
  const pages = page.locator('[data-plot="pages"]');
  const weeks = (await pages.getAttribute('data-weeks')).split(' ');
  const counts = (await pages.getAttribute('data-pages')).split(' ').map(Number);
  assert.deepEqual(weeks, q2.weeks.map((w) => w.week));
  assert.equal(counts[weeks.indexOf('2026-W19')], 1);
  assert.equal(counts[weeks.indexOf('2026-W20')], 1);
  assert.equal(counts.reduce((a, b) => a + b, 0), 2);
  assert.equal(await pages.getAttribute('data-threshold'), '2');
  // The confusion matrix: one right, one wrong.
  const cell = (r, l) => page.locator(`[data-plot="confusion"] td[data-recorded="${r}"][data-localized="${l}"]`).innerText();
  assert.equal(await cell('code_deploy', 'code_deploy'), '1');
  assert.equal(await cell('upstream_data', 'rare_class'), '1');
  assert.equal(await cell('code_deploy', 'rare_class'), '0');
  // Drill coverage per person.
  const walked = async (p) => page.locator(`[data-plot="drills"] tr[data-person="${p}"]`).getAttribute('data-walked');
  assert.deepEqual([await walked('alice'), await walked('bob'), await walked('carol')], ['yes', 'yes', 'no']);
  // The figures in words.
  const figures = await page.locator('.kv').innerText();
  for (const want of ['median 82.5 min', '-17.5 vs the quarter before', '1 of 2 (50%)']) {
    assert.ok(figures.includes(want), `figures lack "${want}": ${figures}`);
  }
  assert.ok((await page.locator('main').innerText()).includes('Missed most: code_deploy'));
  await page.screenshot({ path: path.join(ARTIFACTS, 'review.png'), fullPage: true });
  assert.deepEqual(errors, []);
});
