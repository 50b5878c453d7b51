// Time to first render of a 7-day overlay with N in-scope change markers
// (default 500) in headless Chromium (navigation start to the page's
// "rendered" mark), median of 5.
//   node tests/bench/page_render.mjs build/triage/server/triaged [N]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../browser/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const triaged = process.argv[2];
const markerCount = Number(process.argv[3] || 500);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'triaged-render-'));
const proc = spawn(triaged, ['--data-dir', dir, '--grpc-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0'],
  { stdio: 'ignore' });
let base;
for (let i = 0; i < 200 && !base; i++) {
  await new Promise((r) => setTimeout(r, 50));
  try {
    const { http } = JSON.parse(fs.readFileSync(path.join(dir, 'ports.json'), 'utf8'));
    if ((await fetch(`http://127.0.0.1:${http}/readyz`)).ok) base = `http://127.0.0.1:${http}`;
  } catch { /* not yet */ }
}
const end = Date.parse('2026-06-01T00:00:00Z');
const kinds = ['code_deploy', 'model_version', 'config', 'prompt_template', 'feature_schema', 'ui_deploy',
  'managed_service', 'infra', 'campaign'];
const lines = [];
const points = [];
for (let m = 7 * 1440; m >= 0; m--) points.push([end - m * 60000, 0.78 + 0.01 * Math.sin(m / 7)]);
lines.push(JSON.stringify({ type: 'series', metric: 'quality', labels: { service: 'bench' }, points }));
for (let i = 0; i < markerCount; i++) {
  lines.push(JSON.stringify({ type: 'change', id: `c-${i}`, kind: kinds[i % kinds.length], service: 'bench',
    time: new Date(end - Math.floor((7 * 86400e3 * (i + 0.5)) / markerCount)).toISOString(), summary: `change ${i}` }));
}
const r = await fetch(`${base}/api/v1/bundle`, {
  method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: lines.join('\n') });
if (r.status !== 200) throw new Error(await r.text());

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
const times = [];
for (let run = 0; run < 5; run++) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${base}/#/triage?service=bench&metric=quality&at=2026-06-01T00:00:00Z&window=7d`);
  await page.waitForFunction(() => window.__firstRenderMs !== undefined, null, { timeout: 30000 });
  const ms = await page.evaluate(() => window.__firstRenderMs);
  const markers = await page.evaluate(() => {
    let n = document.querySelectorAll('[data-change-id]').length;
    for (const m of document.querySelectorAll('[data-change-ids]')) n += m.dataset.changeIds.split(' ').length;
    return n;
  });
  const calls = await page.evaluate(() => performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('Service/'))
    .map((e) => `${e.name.split('/').pop()} ${e.duration.toFixed(0)} ms`).join(', '));
  console.log(`run ${run + 1}: first render ${ms.toFixed(0)} ms, ${markers} changes as markers (${calls})`);
  times.push(ms);
  await page.close();
}
times.sort((a, b) => a - b);
console.log(`median: ${times[2].toFixed(0)} ms`);
await browser.close();
proc.kill('SIGTERM');
