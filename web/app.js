// The 3am page: the router, the incident list, the incident view (the
// change-log overlay beside the panels of panels.js) and ad-hoc triage; drill
// mode is drill.js, the review review.js. Talks to triaged only through its
// JSON gateway (api.js). No build step: ES modules plus uPlot from
// web/node_modules.

import { api } from './api.js';
import { ago, both, h, ms, pad, setAsOf, showError, utc } from './dom.js';
import { drawMarkers, MIXED_COLOR } from './markers.js';
import { namedCohort, renderWhere } from './cohorts.js';
import { loadDrill } from './drill.js';
import { renderBanner, renderDrift, renderOnsets, renderProbes, renderShared, renderSuspects, renderTimeline,
  renderUpstream, renderWalk } from './panels.js';
import { renderReview } from './review.js';

// Change kinds take these colours in the order the server lists them.
const PALETTE = ['#6cb6ff', '#c49bff', '#3ddbd9', '#ff7eb6', '#f1e05a', '#82cfff', '#ff9f43', '#c8a27a',
  '#7ee787', '#ffa198', '#a5d6ff', '#d2a8ff'];
const REFRESH_MS = 30000;

// What the server accepts and shows (OverlayService/GetVocabulary), read once.
const vocab = { kinds: [], windows: {} };
const state = { window: null, timer: null, view: null, cohortSplit: false };

function kindColor(kind) {
  const i = vocab.kinds.indexOf(kind);
  return i >= 0 ? PALETTE[i % PALETTE.length] : MIXED_COLOR;
}

function stopRefresh() {
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}

// ---- router ----

function route() {
  stopRefresh();
  document.body.dataset.rendered = 'loading';
  const hash = location.hash || '#/';
  const main = document.getElementById('main');
  const query = new URLSearchParams(hash.split('?')[1] || '');
  if (vocab.windows[query.get('window')]) state.window = query.get('window');
  if (hash.startsWith('#/incident/')) {
    const id = decodeURIComponent(hash.slice('#/incident/'.length).split('?')[0]);
    state.view = { kind: 'incident', id };
    loadIncident(id, true);
    state.timer = setInterval(() => loadIncident(id, false), REFRESH_MS);
  } else if (hash.startsWith('#/drill/')) {
    const id = decodeURIComponent(hash.slice('#/drill/'.length).split('?')[0]);
    state.view = { kind: 'drill', id };
    loadDrill(id);
  } else if (hash.startsWith('#/review')) {
    state.view = { kind: 'review' };
    renderReview(main, api, query).then(() => { document.body.dataset.rendered = 'review'; }, showError);
  } else if (hash.startsWith('#/triage')) {
    const q = new URLSearchParams(hash.split('?')[1] || '');
    state.view = { kind: 'triage', service: q.get('service'), metric: q.get('metric'), at: q.get('at') };
    loadAdhoc(state.view, true);
    if (state.view.service && !state.view.at) {
      state.timer = setInterval(() => loadAdhoc(state.view, false), REFRESH_MS);
    }
  } else {
    state.view = { kind: 'list' };
    loadList();
    state.timer = setInterval(loadList, REFRESH_MS);
  }
  main.focus({ preventScroll: true });
}

// ---- incident list ----

async function loadList() {
  try {
    const incidents = [];
    let token = '';
    do {  // Every page (the server pages at 500 incidents or 16 MiB).
      const r = await api('TriageService/ListIncidents', token ? { page_token: token } : {});
      incidents.push(...(r.incidents || []));
      token = r.next_page_token || '';
    } while (token);
    const rows = incidents.map((v) => {
      const alerts = v.incident.alerts || [];
      const fired = alerts.length ? Math.max(...alerts.map((a) => ms(a.fired_at))) : 0;
      const open = !v.state || v.state.status !== 'resolved';
      return { v, alerts, fired, open };
    }).sort((a, b) => (b.open - a.open) || (b.fired - a.fired));
    const table = h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Status'), h('th', {}, 'Fired'), h('th', {}, 'Incident'),
        h('th', {}, 'Alerts'), h('th', {}, 'Localized'))),
      h('tbody', {}, rows.map(({ v, alerts, fired, open }) => {
        const cat = v.report ? v.report.localized_category : '';
        return h('tr', { 'data-incident': v.incident.id, 'data-status': open ? 'open' : 'resolved' },
          h('td', { class: open ? 'bad' : 'muted' }, open ? 'open' : 'resolved'),
          h('td', { title: fired ? both(fired) : '' }, fired ? `${utc(fired)} · ${ago(fired)}` : '—'),
          h('td', {}, h('a', { href: `#/incident/${encodeURIComponent(v.incident.id)}` }, v.incident.id),
            v.incident.title ? h('div', { class: 'muted' }, v.incident.title) : null),
          h('td', {}, alerts.map((a) => `${a.service} / ${a.metric}`).join(', ')),
          h('td', {}, cat ? h('span', { class: `badge ${cat === 'rare_class' ? 'NO_DATA' : 'HIT'}` }, cat)
            : (v.state && v.state.unmapped_reason ? `unmapped: ${v.state.unmapped_reason}` : '—')));
      })));
    document.getElementById('main').replaceChildren(
      h('h1', {}, 'Incidents (open first)'),
      rows.length ? table : h('p', { class: 'muted' }, 'No incidents. Ingest a bundle or route alerts to triaged.'));
    setAsOf();
    document.body.dataset.rendered = 'list';
  } catch (e) {
    showError(e);
  }
}

// ---- incident and ad-hoc views ----

async function loadIncident(id, first) {
  try {
    const view = await api('TriageService/GetIncident', { id });
    if (!view.report && view.state) {  // Unmapped, or not walked yet.
      document.getElementById('main').replaceChildren(h('h1', {}, id),
        h('section', { class: 'banner rare', role: 'alert' }, h('div', { class: 'what' },
          view.state.unmapped_reason ? 'Unmapped alert — walk the tree by hand' : 'Walking the tree…'),
        view.state.unmapped_reason ? h('div', { class: 'mitigation' }, view.state.unmapped_reason) : null),
        renderTimeline(view.state));
      setAsOf();
      document.body.dataset.rendered = 'state';
      return;
    }
    if (!view.report) throw new Error(`incident ${id} has no triage report yet`);
    await renderReport(view.report, view.incident, first, null, view.state);
  } catch (e) {
    showError(e);
  }
}

async function loadAdhoc(q, first) {
  const form = h('form', { class: 'adhoc', onsubmit: (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const p = new URLSearchParams();
    for (const k of ['service', 'metric', 'at']) if (f.get(k)) p.set(k, f.get(k));
    location.hash = `#/triage?${p}`;
  } },
  h('label', {}, 'service', h('input', { name: 'service', required: true, value: q.service || '' })),
  h('label', {}, 'metric', h('input', { name: 'metric', required: true, value: q.metric || '' })),
  h('label', {}, 'at (RFC 3339, empty = now)', h('input', { name: 'at', value: q.at || '', size: 22 })),
  h('button', { type: 'submit' }, 'Walk the tree'));
  if (!q.service || !q.metric) {
    document.getElementById('main').replaceChildren(h('h1', {}, 'What does the walk say right now?'), form);
    document.body.dataset.rendered = 'form';
    return;
  }
  try {
    const body = { alerts: [{ service: q.service, metric: q.metric }] };
    if (q.at) body.at = q.at;
    const report = await api('TriageService/Triage', body);
    await renderReport(report, null, first, form);
  } catch (e) {
    showError(e);
  }
}

async function renderReport(report, incident, first, prefix, alertState) {
  const t0 = performance.now();
  const onset = ms(report.onset);
  const now = ms(report.now);
  const alerts = incident ? incident.alerts : [{ service: report.services[0], metric: null }];
  const primary = incident ? incident.alerts[0] : { service: state.view.service, metric: state.view.metric };
  const verdicts = report.verdicts || [];
  const localized = verdicts.find((v) => v.category === report.localized_category);

  const main = document.getElementById('main');
  const chartPanel = h('section', { class: 'panel', 'aria-label': 'Change-log overlay' });
  const nodes = [];
  if (prefix) nodes.push(prefix);
  nodes.push(h('h1', {}, incident ? `${incident.id}${incident.title ? ' — ' + incident.title : ''}`
    : `Ad-hoc: ${primary.service} / ${primary.metric}`));
  nodes.push(renderBanner(report, localized));
  const where = renderWhere(report);
  if (where) nodes.push(where);
  nodes.push(chartPanel);
  nodes.push(h('div', { class: 'grid' },
    h('section', { class: 'panel', 'aria-label': 'Triage walk' }, renderWalk(report)),
    h('div', {}, renderTimeline(alertState), renderSuspects(report), renderDrift(report), renderUpstream(report),
      renderProbes(report), renderShared(report), renderOnsets(report))));
  const scrollY = window.scrollY;
  main.replaceChildren(...nodes);
  if (!first) window.scrollTo(0, scrollY);
  const cohort = namedCohort(report);
  await renderChart(chartPanel, primary.service, primary.metric, onset, now, alerts, incident ? incident.id : '',
    cohort && report.cohorts[0].service === primary.service && report.cohorts[0].metric === primary.metric ? cohort : null);
  setAsOf();
  document.body.dataset.rendered = 'report';
  window.__renderMs = performance.now() - t0;
  if (window.__firstRenderMs === undefined) window.__firstRenderMs = performance.now();
}

// The window buttons, and the cohort-against-the-rest toggle when a cohort is named.
function chartToggles(cohort, split, redraw) {
  return h('div', { class: 'toggles', role: 'group', 'aria-label': 'Time window' },
    Object.keys(vocab.windows).map((w) => h('button', { type: 'button', 'aria-pressed': String(w === state.window),
      'data-window': w, onclick: () => {
        if (state.window === w) return;
        state.window = w;
        redraw();
      } }, w)),
    cohort ? h('button', { type: 'button', 'aria-pressed': String(split), 'data-cohort-toggle': `${cohort.dimension}=${cohort.value}`,
      onclick: () => {
        state.cohortSplit = !state.cohortSplit;
        redraw();
      } }, `${cohort.dimension}=${cohort.value} vs rest`) : null);
}

// One x axis for the series drawn: the union of their timestamps, each
// series' value at each (null where it has none), as uPlot takes them.
function alignSeries(lines) {
  const byT = new Map();
  lines.forEach((pts, i) => pts.forEach((p) => {
    const t = Number(p.t_ms) / 1000;
    if (!byT.has(t)) byT.set(t, lines.map(() => null));
    byT.get(t)[i] = typeof p.value === 'number' ? p.value : null;
  }));
  const xs = [...byT.keys()].sort((a, b) => a - b);
  return [xs, ...lines.map((_, i) => xs.map((t) => byT.get(t)[i]))];
}

async function renderChart(panel, service, metric, onset, now, alerts, incidentId, cohort) {
  const span = vocab.windows[state.window];
  const end = now;
  const start = end - span;
  const split = Boolean(cohort && state.cohortSplit);
  let overlay;
  try {
    overlay = await api('OverlayService/GetOverlay', {
      service, metric, window: state.window, end: new Date(end).toISOString(), max_points: 1200,
      ...(incidentId ? { incident_id: incidentId } : {}),
      ...(split ? { cohort_dimension: cohort.dimension, cohort_value: cohort.value } : {}),
    });
  } catch (e) {  // The metrics source is down, say: the report stands; the chart is a blind spot.
    panel.replaceChildren(h('div', { class: 'blind', role: 'note', 'data-chart-error': e.message },
      h('strong', {}, `${service} / ${metric} cannot be drawn: `), e.message,
      ' — a blind spot, not a flat line.'));
    return;
  }
  const toggles = chartToggles(cohort, split,
    () => renderChart(panel, service, metric, onset, now, alerts, incidentId, cohort));
  const kinds = [...new Set((overlay.changes || []).map((c) => c.kind))];
  const legend = h('div', { class: 'legend', 'aria-label': 'Change kinds' },
    kinds.map((k) => h('span', {}, h('span', { class: 'sw', style: `background:${kindColor(k)}` }), k)),
    h('span', {}, h('span', { class: 'sw', style: 'background:var(--hit)' }), 'onset'),
    h('span', {}, h('span', { class: 'sw', style: 'background:var(--nodata)' }), 'alert'),
    h('span', {}, 'faded = after onset'), h('span', {}, 'grey = unrelated service'));
  const chart = h('div', { class: 'chart', 'data-x-min': start, 'data-x-max': end, 'data-window': state.window,
    'data-changes': (overlay.changes || []).length });
  // Changes on other services beyond those sent (GetOverlay caps them) are only counted.
  const sentOthers = (overlay.changes || []).length - (overlay.in_scope_change_ids || []).length;
  const moreOthers = (overlay.other_changes || 0) - sentOthers;
  panel.replaceChildren(
    h('div', { class: 'chart-head' }, h('span', { class: 'title' }, `${service} / ${metric}`), toggles, legend),
    chart,
    h('div', { class: 'muted' }, `Times in UTC. ${utc(start)} → ${utc(end)} · ${overlay.raw_points} points` +
      ` · ${(overlay.changes || []).length} change${(overlay.changes || []).length === 1 ? '' : 's'} in the window`,
      moreOthers > 0 ? h('span', { 'data-more-changes': moreOthers }, ` and ${moreOthers} more on other services`) : null,
      h('span', { 'data-query': overlay.query || '', 'data-source': overlay.source || '' },
        ` · drawn by ${overlay.query || metric} from ${overlay.source || 'embedded'}`)));

  const [xs, ...ys] = alignSeries(split ? [overlay.points || [], overlay.rest_points || []] : [overlay.points || []]);
  const width = Math.max(400, panel.clientWidth - 26);
  const u = new uPlot({
    width, height: 300,
    scales: { x: { time: true, range: () => [start / 1000, end / 1000] } },
    axes: [
      { stroke: '#9aa3b2', grid: { stroke: '#2a2f3a' }, ticks: { stroke: '#2a2f3a' },
        space: span > 86400e3 ? 110 : 60,
        values: (uu, splits) => splits.map((v) => {
          const d = new Date(v * 1000);
          const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
          return span > 86400e3 ? `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${hm}` : hm;
        }) },
      { stroke: '#9aa3b2', grid: { stroke: '#2a2f3a' }, ticks: { stroke: '#2a2f3a' }, size: 60 },
    ],
    series: [{ value: (uu, v) => (v == null ? '—' : utc(v * 1000)) },
      split ? { label: `${cohort.dimension}=${cohort.value}`, stroke: '#ff6b6b', width: 1.5, points: { show: false } }
        : { label: metric, stroke: '#e6e8ee', width: 1.5, points: { show: false } },
      ...(split ? [{ label: 'rest', stroke: '#9aa3b2', width: 1.2, points: { show: false } }] : [])],
    legend: { show: false },
    cursor: { y: false },
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
    // Positions are known once uPlot has laid the plot out.
    hooks: { ready: [(uu) => drawMarkers(uu, overlay.changes || [], new Set(overlay.in_scope_change_ids || []),
      onset, now, start, end, kindColor)] },
  }, [xs, ...ys], chart);
  chart.dataset.series = split ? 'cohort rest' : 'all';
  return u;
}


async function start() {
  try {
    const v = await api('OverlayService/GetVocabulary', {});
    vocab.kinds = v.change_kinds;
    for (const w of v.windows) vocab.windows[w.name] = Number(w.duration_ms);
    state.window = v.default_window;
  } catch (e) {
    document.getElementById('main').replaceChildren(
      h('p', { class: 'bad', role: 'alert' }, `cannot reach triaged: ${e.message}`));
    return;
  }
  window.addEventListener('hashchange', route);
  route();
}
start();
