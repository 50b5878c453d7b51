// #/review: is the incident practice working? Per quarter, for everyone
// (team "all") or one team: MTTR per quarter (bars, the target as a line),
// pages per week (a line, the 2-a-week threshold), localization accuracy as
// a confusion matrix, drill coverage per person, rare_class escapes and
// overdue action items. Data: TriageService/Review. Each plot carries the
// numbers it draws in data-* attributes.

import { h, ms } from './dom.js';

const AXIS = { stroke: '#9aa3b2', grid: { stroke: '#2a2f3a' }, ticks: { stroke: '#2a2f3a' } };
const fixed = (v, d = 1) => (v === undefined || v === null ? '—' : Number(v).toFixed(d));

function plot(container, opts, data) {
  const width = Math.max(360, container.clientWidth - 26);
  return new uPlot({ width, height: 220, legend: { show: false }, cursor: { y: false }, ...opts }, data, container);
}

// MTTR median per quarter as bars, p90 as dots, the target as a line.
function mttrPlot(quarters, target) {
  const el = h('div', { class: 'chart', 'data-plot': 'mttr',
    'data-quarters': quarters.map((q) => q.quarter).join(' '),
    'data-medians': quarters.map((q) => fixed(q.mttr_minutes?.median, 2)).join(' '),
    'data-target': String(target) });
  const xs = quarters.map((_, i) => i);
  requestAnimationFrame(() => plot(el, {
    scales: { x: { time: false, range: [-0.6, quarters.length - 0.4] },
      y: { range: (u, lo, hi) => [0, Math.max(hi, target) * 1.15] } },
    axes: [{ ...AXIS, values: (u, splits) => splits.map((v) => quarters[v]?.quarter ?? ''), splits: () => xs },
      { ...AXIS, size: 50, label: 'minutes' }],
    series: [{},
      { label: 'MTTR median', fill: '#6cb6ff88', stroke: '#6cb6ff', paths: uPlot.paths.bars({ size: [0.5, 80] }) },
      { label: 'p90', stroke: '#ff9f43', width: 0, points: { show: true, size: 7, fill: '#ff9f43' } },
      { label: 'target', stroke: '#ff6b6b', dash: [6, 4], width: 1.5, points: { show: false } }],
  }, [xs, quarters.map((q) => (q.mttr_minutes?.count ? q.mttr_minutes.median : null)),
    quarters.map((q) => (q.mttr_minutes?.count ? q.mttr_minutes.p90 : null)), xs.map(() => target)]));
  return el;
}

// Pages per ISO week of one quarter, the threshold as a line.
function pagesPlot(q, threshold) {
  const weeks = q.weeks || [];
  const el = h('div', { class: 'chart', 'data-plot': 'pages',
    'data-weeks': weeks.map((w) => w.week).join(' '), 'data-pages': weeks.map((w) => w.pages || 0).join(' '),
    'data-threshold': String(threshold) });
  const xs = weeks.map((_, i) => i);
  requestAnimationFrame(() => plot(el, {
    scales: { x: { time: false }, y: { range: (u, lo, hi) => [0, Math.max(hi, threshold) + 1] } },
    axes: [{ ...AXIS, values: (u, splits) => splits.map((v) => (weeks[v]?.week ?? '').slice(5)) },
      { ...AXIS, size: 40, label: 'pages' }],
    series: [{}, { label: 'pages', stroke: '#e6e8ee', width: 1.5, points: { show: true, size: 5 } },
      { label: '2 a week', stroke: '#ff6b6b', dash: [6, 4], width: 1.5, points: { show: false } }],
  }, [xs, weeks.map((w) => w.pages || 0), xs.map(() => threshold)]));
  return el;
}

// Recorded cause (rows) against the localized category (columns).
function confusion(q) {
  const cells = q.confusion || [];
  const rows = [...new Set(cells.map((c) => c.recorded))].sort();
  const cols = [...new Set(cells.map((c) => c.localized))].sort();
  const count = (r, c) => cells.find((x) => x.recorded === r && x.localized === c)?.count || 0;
  return h('table', { class: 'list confusion', 'data-plot': 'confusion' },
    h('thead', {}, h('tr', {}, h('th', {}, 'recorded \\ localized'), cols.map((c) => h('th', {}, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, h('th', {}, r), cols.map((c) => {
      const n = count(r, c);
      return h('td', { class: n ? (r === c ? 'hit' : 'miss') : 'muted', 'data-recorded': r, 'data-localized': c }, String(n));
    })))));
}

// Each person on the roster (and anyone else who walked one): drills walked.
function coverage(d) {
  const people = [...new Set([...(d.roster || []), ...(d.walked || [])])].sort();
  const walked = new Set(d.walked || []);
  return h('table', { class: 'list', 'data-plot': 'drills' },
    h('thead', {}, h('tr', {}, h('th', {}, 'person'), h('th', {}, 'drill this quarter'))),
    h('tbody', {}, people.map((p) => h('tr', { 'data-person': p, 'data-walked': walked.has(p) ? 'yes' : 'no' },
      h('td', {}, p), h('td', { class: walked.has(p) ? 'ok' : 'bad' }, walked.has(p) ? 'walked' : 'not yet')))));
}

const minutes = (m) => (m?.count ? `median ${fixed(m.median)} min, p90 ${fixed(m.p90)} min` : '—');

function figures(q, target) {
  const m = q.mttr_minutes || {};
  const change = m.median_change === undefined ? ''
    : ` (${m.median_change > 0 ? '+' : ''}${fixed(m.median_change)} vs the quarter before)`;
  const row = (k, v, key) => h('tr', { 'data-figure': key }, h('th', {}, k), h('td', {}, v));
  return h('table', { class: 'kv' }, h('tbody', {},
    row('incidents', String(q.incidents || 0), 'incidents'),
    row('pages per week', `${fixed(q.pages_per_week, 2)}; ${q.weeks_above_threshold || 0} week(s) above 2` +
      (q.sustained ? ' — sustained: invest in quality' : ''), 'pages_per_week'),
    row('MTTR', m.count ? `${minutes(m)}${change} · target ${target}` : '—', 'mttr'),
    row('time to localize', minutes(q.time_to_localize_minutes), 'localize'),
    row('time to the recorded cause', minutes(q.time_to_cause_minutes), 'cause'),
    row('localized right', q.localization_accuracy === undefined ? '—'
      : `${q.localization_correct} of ${q.localization_recorded} (${Math.round(100 * q.localization_accuracy)}%)` +
        (q.unknown_causes ? `; ${q.unknown_causes} unknown` : ''), 'accuracy')));
}

// A panel listing `items` (one <li> each from `item`), or "None."
function listPanel(title, items, item) {
  return h('div', { class: 'panel' }, h('h2', {}, title),
    items?.length ? h('ul', {}, items.map(item)) : h('p', { class: 'muted' }, 'None.'));
}

export async function renderReview(main, api, params) {
  const team = params.get('team') || 'all';
  const r = await api('TriageService/Review', { team });
  const quarters = r.quarters || [];
  const pick = params.get('quarter') || quarters.at(-1)?.quarter;
  const q = quarters.find((x) => x.quarter === pick);
  const nav = h('p', { class: 'muted', 'data-quarters': quarters.map((x) => x.quarter).join(' ') }, 'Quarter: ',
    quarters.flatMap((x) => [h('a', { href: `#/review?quarter=${x.quarter}&team=${encodeURIComponent(team)}`,
      class: x.quarter === pick ? 'current' : undefined }, x.quarter), ' ']));
  if (!q) {
    main.replaceChildren(h('h1', {}, 'Review'), h('p', { class: 'muted' }, 'No incidents or drills yet.'));
    return;
  }
  const d = q.drills || {};
  main.replaceChildren(
    h('h1', {}, `Review ${q.quarter} · ${team === 'all' ? 'all teams' : team}`), nav,
    h('div', { class: 'panel', 'data-quarter': q.quarter }, figures(q, r.mttr_target_minutes)),
    h('div', { class: 'panel' }, h('h2', {}, 'MTTR per quarter (target dashed)'), mttrPlot(quarters, r.mttr_target_minutes)),
    h('div', { class: 'panel' }, h('h2', {}, `Pages per week, ${q.quarter} (2 a week dashed)`), pagesPlot(q, r.pages_threshold)),
    h('div', { class: 'panel' }, h('h2', {}, 'Localization: recorded cause against the walk'), confusion(q)),
    h('div', { class: 'panel' }, h('h2', {}, `Drills: ${d.drills || 0} walked, ${d.correct || 0} right`),
      coverage(d), d.missed_most?.length ? h('p', {}, `Missed most: ${d.missed_most.join(', ')}`) : null),
    listPanel('Escaped to rare_class', q.rare_class, (x) => h('li', { 'data-rare': x.incident_id },
      h('a', { href: `#/incident/${encodeURIComponent(x.incident_id)}` }, x.incident_id),
      ` — new category? ${x.new_category}`)),
    listPanel('Action items past due', q.overdue_action_items, (a) => h('li', { 'data-overdue': a.incident_id },
      `${a.text} (${a.owner}, due ${new Date(ms(a.due)).toISOString().slice(0, 10)}, ` +
      `${Math.floor(a.days_overdue)} days late)`)));
}
