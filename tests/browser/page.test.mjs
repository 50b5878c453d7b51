// Browser test of the 3am page: Debian's chromium driven by playwright-core
// against a real triaged on loopback with a public scenario loaded.
// Env: TRIAGED (binary), TRIAGE_SOURCE (repo root), ARTIFACTS (screenshot dir).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, startDaemon as startTriaged, stopDaemon } from '../integration/daemon.mjs';

const TRIAGED = process.env.TRIAGED;
const SOURCE = process.env.TRIAGE_SOURCE;
const ARTIFACTS = process.env.ARTIFACTS || fs.mkdtempSync(path.join(os.tmpdir(), 'triage-shots-'));
fs.mkdirSync(ARTIFACTS, { recursive: true });
const startDaemon = () => startTriaged(TRIAGED, { prefix: 'triaged-web-' });

async function loadBundle(d, name) {
  const gz = fs.readFileSync(path.join(SOURCE, 'deploy', 'demo', 'scenarios', `${name}.jsonl.gz`));
  const r = await fetch(`${d.base}/api/v1/bundle`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: zlib.gunzipSync(gz) });
  assert.equal(r.status, 200, await r.text());
}

async function api(d, method, body) {
  const r = await fetch(`${d.base}/triage.v1.${method}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal(r.status, 200);
  return r.json();
}

// Markers on the page, counting every change a merged marker holds.
async function markerCount(page) {
  return page.evaluate(() => {
    let n = document.querySelectorAll('[data-change-id]').length;
    for (const m of document.querySelectorAll('[data-change-ids]')) n += m.dataset.changeIds.split(' ').length;
    return n;
  });
}

async function changesInWindow(d, service, metric, window, end) {
  const o = await api(d, 'OverlayService/GetOverlay', { service, metric, window, end });
  return o.changes.length;
}

let browser;
let daemon;
before(async () => {
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  daemon = await startDaemon();
  await loadBundle(daemon, 'p01-code-deploy');
  // A burst of deploys one minute apart right after the scenario's deploy:
  // closer than 8 px on a 24 h chart, so they merge into one marker.
  for (let i = 1; i <= 3; i++) {
    const r = await fetch(`${daemon.base}/api/v1/changes`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({
      id: `burst-${i}`, kind: 'config', service: 'reranker', time: `2026-05-05T02:3${i}:00Z`,
      actor: 'ci', summary: `flag flip ${i}` }) });
    assert.equal(r.status, 200);
  }
  // The fourth arrives as a CDEvent (its tooltip names where it came from).
  const r = await fetch(`${daemon.base}/api/v1/cloudevents`, {
    method: 'POST', headers: { 'Content-Type': 'application/cloudevents+json' }, body: JSON.stringify({
      specversion: '1.0', id: 'burst-4', source: '/argocd', type: 'dev.cdevents.service.deployed.0.2.0',
      subject: 'reranker', time: '2026-05-05T02:34:00Z',
      data: { context: { version: '0.4.1', id: 'burst-4', source: '/argocd', type: 'dev.cdevents.service.deployed.0.2.0',
                         timestamp: '2026-05-05T02:34:00Z' },
              subject: { id: 'reranker', type: 'service',
                         content: { environment: { id: 'prod' }, artifactId: 'pkg:oci/reranker@sha256%3Aabc' } } } }) });
  assert.equal(r.status, 200, await r.text());
});
after(async () => {
  await browser?.close();
  if (daemon) assert.equal(await stopDaemon(daemon), 0);
});

async function openIncident(id) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${daemon.base}/#/incident/${id}`);
  await page.waitForSelector('body[data-rendered="report"]', { timeout: 20000 });
  await page.waitForSelector('.u-over');
  page.errors = errors;
  return page;
}

test('change markers, tooltip, verdicts, window toggle and localized row', async () => {
  const page = await openIncident('p01-code-deploy');
  const view = await api(daemon, 'TriageService/GetIncident', { id: 'p01-code-deploy' });
  const report = view.report;

  // Markers, merged ones counted for every change they hold, equal the API's changes in the window.
  const chart = page.locator('.chart');
  assert.equal(await chart.getAttribute('data-window'), '24h');
  const apiCount = await changesInWindow(daemon, 'reranker', 'ndcg_at_10', '24h', report.now);
  assert.equal(apiCount, 6); // bg-2, chg-p01 and the 4-change burst.
  assert.equal(await markerCount(page), apiCount);
  const merged = page.locator('[data-change-ids]');
  assert.ok(await merged.count() >= 1, 'the burst merges into one marker');
  assert.ok((await merged.first().getAttribute('data-change-ids')).includes('burst-2'));

  // One marker's tooltip.
  await page.locator('[data-change-id="chg-p01"]').hover();
  const tip = page.locator('#tooltip');
  await tip.waitFor({ state: 'visible' });
  const text = await tip.innerText();
  for (const want of ['chg-p01', 'code_deploy', 'reranker', 'a1b2c3d ← 9f8e7d6', 'by dana',
    'refactor score normalisation', 'min before onset', 'UTC', 'local', 'via bundle']) {
    assert.ok(text.includes(want), `tooltip lacks "${want}": ${text}`);
  }
  // Keyboard: focusing a marker shows its tooltip too; Escape hides it.
  await page.mouse.move(5, 5);
  await tip.waitFor({ state: 'hidden' });
  await page.locator('[data-change-ids]').first().focus();
  await tip.waitFor({ state: 'visible' });
  const burst = await tip.innerText();
  assert.ok(burst.includes('burst-3'));
  // Where each change came from: the API, and a CDEvent.
  assert.ok(burst.includes('via API'), burst);
  assert.ok(burst.includes('via CDEvents'), burst);
  await page.keyboard.press('Escape');
  await tip.waitFor({ state: 'hidden' });

  // Each row's verdict equals the API's; the localized row is first.
  const rows = await page.locator('.walk li').evaluateAll((lis) => lis.map((li) => ({
    category: li.dataset.category, verdict: li.dataset.verdict, localized: li.dataset.localized })));
  assert.equal(rows.length, report.verdicts.length);
  for (const v of report.verdicts) {
    assert.equal(rows.find((r) => r.category === v.category).verdict, v.verdict, v.category);
  }
  assert.equal(rows[0].category, report.localized_category);
  assert.equal(rows[0].localized, 'true');
  assert.equal(rows.filter((r) => r.localized === 'true').length, 1);

  await page.screenshot({ path: path.join(ARTIFACTS, 'incident-p01-24h.png'), fullPage: true });

  // The 60m / 24h / 7d toggle changes the x-range.
  for (const [w, span] of [['60m', 3600e3], ['7d', 7 * 86400e3], ['24h', 86400e3]]) {
    await page.click(`button[data-window="${w}"]`);
    await page.waitForSelector(`.chart[data-window="${w}"] .u-over`);
    const xMin = Number(await page.locator('.chart').getAttribute('data-x-min'));
    const xMax = Number(await page.locator('.chart').getAttribute('data-x-max'));
    assert.equal(xMax - xMin, span, w);
    assert.equal(await markerCount(page), await changesInWindow(daemon, 'reranker', 'ndcg_at_10', w, report.now), w);
    assert.equal(await page.locator(`button[data-window="${w}"]`).getAttribute("aria-pressed"), "true");
    if (w === '7d') await page.screenshot({ path: path.join(ARTIFACTS, 'incident-p01-7d.png') });
  }
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('rare_class shows the escalation banner with its blind spots', async () => {
  const d = await startDaemon();
  try {
    await loadBundle(d, 'p11-rare');
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${d.base}/#/incident/p11-rare`);
    await page.waitForSelector('body[data-rendered="report"]');
    const banner = page.locator('[data-banner="rare_class"]');
    assert.ok((await banner.innerText()).includes('incident-commander'));
    assert.equal(await page.locator('[data-localized="true"]').count(), 0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'incident-p11-rare.png') });
    await page.close();
  } finally {
    assert.equal(await stopDaemon(d), 0);
  }
});

test('incident list links to the incident; ad-hoc view walks from the URL', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${daemon.base}/#/`);
  await page.waitForSelector('body[data-rendered="list"]');
  const row = page.locator('tr[data-incident="p01-code-deploy"]');
  assert.ok((await row.innerText()).includes('code_deploy'));
  await row.locator('a').click();
  await page.waitForSelector('body[data-rendered="report"]');
  assert.ok(page.url().endsWith('#/incident/p01-code-deploy'));

  await page.goto(`${daemon.base}/#/triage?service=reranker&metric=ndcg_at_10&at=2026-05-05T03:42:00Z`);
  await page.waitForSelector('body[data-rendered="report"] .chart .u-over');
  assert.equal(await page.locator('.walk li').first().getAttribute('data-category'), 'code_deploy');
  assert.ok((await page.locator('#asof').innerText()).startsWith('data as of'));
  await page.screenshot({ path: path.join(ARTIFACTS, 'adhoc.png') });
  await page.close();
});

test('drill mode: check categories and answer from the page', async () => {
  const gz = fs.readFileSync(path.join(SOURCE, 'deploy', 'demo', 'scenarios', 'p05-feature-drift.jsonl.gz'));
  const r = await fetch(`${daemon.base}/triage.v1.DrillService/StartDrill`, { method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'p05', ndjson: zlib.gunzipSync(gz).toString('base64'), trainee: 'page-test' }) });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  const drill = JSON.parse(text);
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${daemon.base}/#/drill/${drill.id}`);
  await page.waitForSelector('body[data-rendered="drill"]');
  await page.click('button[data-open="feature_drift"]');
  await page.waitForSelector('li[data-category="feature_drift"][data-verdict="HIT"]');
  await page.selectOption('#drill-answer', 'feature_drift');
  await page.click('form.adhoc button[type="submit"]');
  await page.waitForSelector('[data-score="correct"]');
  await page.screenshot({ path: path.join(ARTIFACTS, 'drill.png') });
  await page.close();
});

test('a crowded day: changes on other services are capped and counted', async () => {
  const at = Date.parse('2026-07-01T12:00:00Z');
  const iso = (ms) => new Date(ms).toISOString();
  const lines = [JSON.stringify({ type: 'series', metric: 'm', labels: { service: 'crowd' },
    points: [[at - 3600e3, 1], [at - 60e3, 0.5]] })];
  for (let i = 0; i < 2; i++) {
    lines.push(JSON.stringify({ type: 'change', id: `crowd-own-${i}`, kind: 'config', service: 'crowd',
      time: iso(at - (i + 1) * 3600e3) }));
  }
  for (let i = 0; i < 130; i++) {
    lines.push(JSON.stringify({ type: 'change', id: `crowd-other-${i}`, kind: 'code_deploy',
      service: `elsewhere-${i % 9}`, time: iso(at - 60e3 * (i + 1)) }));
  }
  const r = await fetch(`${daemon.base}/api/v1/bundle`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: lines.join('\n') });
  assert.equal(r.status, 200, await r.text());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${daemon.base}/#/triage?service=crowd&metric=m&at=${iso(at)}&window=24h`);
  await page.waitForSelector('body[data-rendered="report"] .chart .u-over');
  // Both of the service's own changes, the newest 100 of the others; the rest counted.
  assert.equal(await markerCount(page), 102);
  const more = page.locator('[data-more-changes]');
  assert.equal(await more.getAttribute('data-more-changes'), '30');
  assert.ok((await more.innerText()).includes('and 30 more on other services'));
  await page.close();
});

test('the metrics source down: the report stands, its blind spots named, the chart says why', async () => {
  const down = await startTriaged(TRIAGED, {
    prefix: 'triaged-web-down-', args: ['--metrics-url', 'http://127.0.0.1:1', '--metrics-timeout', '2s'] });
  try {
    await loadBundle(down, 'p01-code-deploy');
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${down.base}/#/incident/p01-code-deploy`);
    await page.waitForSelector('body[data-rendered="report"]');
    const chart = page.locator('[data-chart-error]');
    assert.ok((await chart.getAttribute('data-chart-error')).includes('metrics source'));
    assert.ok((await chart.innerText()).includes('a blind spot, not a flat line'));
    const blind = await page.locator('[data-blind-spots]').getAttribute('data-blind-spots');
    assert.ok(blind.split(' ').includes('code_deploy'), blind);
    await page.screenshot({ path: path.join(ARTIFACTS, 'metrics-source-down.png') });
    await page.close();
  } finally {
    await stopDaemon(down);
  }
});

test('where the drop is: the Where panel names locale=ja on p13, and p15 is spread', async () => {
  await loadBundle(daemon, 'p13-cohort-locale');
  await loadBundle(daemon, 'p15-cohort-spread');
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`${daemon.base}/#/incident/p13-cohort-locale`);
  await page.waitForSelector('body[data-rendered="report"] .chart .u-over');
  const where = page.locator('section.where');
  assert.equal(await where.getAttribute('data-cohort'), 'locale=ja');
  assert.match(await where.innerText(), /locale=ja carries \d+% of the drop with 12% of traffic/);
  assert.equal(await page.locator('section.where tr.named').getAttribute('data-value'), 'ja');
  // The toggle draws the cohort against the rest.
  assert.equal(await page.locator('.chart').getAttribute('data-series'), 'all');
  await page.click('[data-cohort-toggle="locale=ja"]');
  await page.waitForSelector('.chart[data-series="cohort rest"]');
  await page.screenshot({ path: path.join(ARTIFACTS, 'where-p13.png') });
  const o = await api(daemon, 'OverlayService/GetOverlay', { service: 'reranker', metric: 'ndcg_at_10',
    window: '24h', end: '2026-04-29T03:10:00Z', cohort_dimension: 'locale', cohort_value: 'ja' });
  assert.ok(o.points.length > 0 && o.rest_points.length > 0);
  await page.goto(`${daemon.base}/#/incident/p15-cohort-spread`);
  await page.waitForSelector('body[data-rendered="report"] section.where');
  assert.equal(await page.locator('section.where').getAttribute('data-cohort'), 'spread');
  assert.equal(await page.locator('section.where tr.named').count(), 0);
  assert.equal(await page.locator('[data-cohort-toggle]').count(), 0);
  await page.close();
});
