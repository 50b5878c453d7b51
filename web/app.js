// The 3am page: incident list, incident view (change-log overlay + the tree
// walk) and ad-hoc triage. Talks to triaged only through its JSON gateway
// (POST /triage.v1.<Service>/<Method>). No build step: an ES module plus
// uPlot from web/node_modules.

import { ago, both, h, ms, pad, relOnset, utc } from './dom.js';
import { drawMarkers, MIXED_COLOR } from './markers.js';
import { namedCohort, renderWhere } from './cohorts.js';
import { renderReview } from './review.js';

// Change kinds take these colours in the order the server lists them.
const PALETTE = ['#6cb6ff', '#c49bff', '#3ddbd9', '#ff7eb6', '#f1e05a', '#82cfff', '#ff9f43', '#c8a27a',
  '#7ee787', '#ffa198', '#a5d6ff', '#d2a8ff'];
const REFRESH_MS = 30000;

// What the server accepts and shows (OverlayService/GetVocabulary), read once.
const vocab = { kinds: [], windows: {} };
const state = { window: null, timer: null, selectedFeature: null, view: null, cohortSplit: false };

function kindColor(kind) {
  const i = vocab.kinds.indexOf(kind);
  return i >= 0 ? PALETTE[i % PALETTE.length] : MIXED_COLOR;
}

// ---- the API ----


async function api(method, body) {
  const r = await fetch(`/triage.v1.${method}`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body || {}),
  });
  const j = await r.json().catch(() => ({ code: 'unknown', message: `HTTP ${r.status}` }));
  if (!r.ok) throw new Error(`${j.code}: ${j.message}`);
  return j;
}

function setAsOf() {
  const now = Date.now();
  document.getElementById('asof').textContent =
    `data as of ${utc(now, true).replace(' UTC', '')} UTC · ${new Date(now).toLocaleTimeString()} local`;
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

function showError(e) {
  const main = document.getElementById('main');
  main.replaceChildren(h('div', { class: 'error', role: 'alert' }, String(e.message || e)));
  document.body.dataset.rendered = 'error';
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

// ---- drill mode ----

async function drillApi(method, body) { return api(`DrillService/${method}`, body); }

async function loadDrill(id) {
  try {
    const drill = await drillApi('GetDrill', { drill_id: id });
    renderDrill(drill);
  } catch (e) {
    showError(e);
  }
}

function renderDrill(drill) {
  const opened = new Map((drill.steps || []).filter((s) => s.action === 'open').map((s) => [s.category, s]));
  const running = drill.status === 'running';
  const a = (drill.page.alerts || [])[0] || {};
  const pick = h('select', { id: 'drill-answer', 'aria-label': 'Root cause' },
    [...drill.walk_order, 'rare_class'].map((c) => h('option', { value: c }, c)));
  const nodes = [
    h('h1', {}, `Fire drill ${drill.id} — trainee ${drill.trainee}`),
    h('section', { class: 'banner rare', role: 'alert', 'data-drill': drill.status },
      h('div', { class: 'what' }, `PAGE: ${a.name || ''} ${a.service} / ${a.metric}`),
      h('div', { class: 'mitigation' }, `Fired ${utc(ms(drill.page_time))} (drill clock). Localize within 15 minutes: open categories cheapest first, then name the root cause.`)),
    h('section', { class: 'panel' }, h('h2', {}, 'Categories (cheapest first)'),
      h('ol', { class: 'walk' }, drill.walk_order.map((c) => {
        const s = opened.get(c);
        return h('li', { 'data-category': c, 'data-verdict': s ? s.verdict : null },
          h('div', { class: 'row1' }, h('span', { class: 'name' }, c),
            s ? h('span', { class: `badge ${s.verdict}` }, s.verdict) : null,
            s ? h('span', { class: 'cost' }, `opened at T+${Number(s.minute).toFixed(1)} min`) : null,
            running && !s ? h('button', { type: 'button', 'data-open': c, onclick: async () => {
              try { await drillApi('OpenCategory', { drill_id: drill.id, category: c }); loadDrill(drill.id); } catch (e) { showError(e); }
            } }, 'Check') : null),
          s ? h('div', { class: 'evidence' }, s.evidence) : null);
      }))),
  ];
  if (running) {
    nodes.push(h('section', { class: 'panel' }, h('h2', {}, 'Root cause'),
      h('form', { class: 'adhoc', onsubmit: async (ev) => {
        ev.preventDefault();
        try { renderDrill(await drillApi('Answer', { drill_id: drill.id, category: pick.value })); } catch (e) { showError(e); }
      } }, h('label', {}, 'the root cause is', pick), h('button', { type: 'submit' }, 'Answer'))));
  } else {
    const sc = drill.score;
    nodes.push(h('section', { class: 'panel', 'data-score': sc.correct ? 'correct' : 'missed' },
      h('h2', {}, 'Score'),
      h('div', { class: sc.correct ? '' : 'bad' }, `${sc.correct ? 'Correct' : 'Missed'}: answered ${sc.answered}, the root cause was ${sc.expected}.`),
      h('div', {}, `${Number(sc.minutes_to_answer).toFixed(1)} min to the answer (target ${sc.target_minutes} min)${sc.within_target ? ' — within target' : ''}; ` +
        `${sc.categories_opened} categories opened, ${sc.out_of_order} out of cheapest-first order, ${sc.check_minutes} min of checks.`)));
  }
  document.getElementById('main').replaceChildren(...nodes);
  setAsOf();
  document.body.dataset.rendered = 'drill';
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

function renderBanner(report, localized) {
  const blind = (report.blind_spots || []).map((b) => b.category);
  if (!localized) {
    return h('section', { class: 'banner rare', role: 'alert', 'data-banner': 'rare_class' },
      h('div', { class: 'what' }, 'rare_class — no category matched: incident-commander mode'),
      h('div', { class: 'mitigation' }, 'Page the incident commander; no playbook of the tree applies.'),
      blind.length ? h('div', { class: 'meta', 'data-blind-spots': blind.join(' ') },
        h('strong', {}, `Blind spots — no data, not ruled out: ${blind.join(', ')}`))
        : h('div', { class: 'meta' }, 'Every category had data and was clear: this is a new kind of incident.'));
  }
  const prime = (report.suspect_changes || []).find((s) => s.prime);
  return h('section', { class: 'banner', role: 'alert', 'data-banner': localized.category },
    h('div', { class: 'what' }, 'Localized: ', h('span', { class: 'cat' }, `${localized.name || localized.category}`),
      h('span', { class: 'muted' }, `  (${localized.category}, owner ${localized.owner || '—'})`)),
    h('div', { class: 'mitigation' }, h('strong', {}, 'Mitigate: '), localized.mitigation),
    prime ? h('div', { class: 'meta' }, `Prime suspect ${prime.change.id}: ${prime.rollback_hint}`) : null,
    h('div', { class: 'meta' }, localized.evidence));
}

function renderWalk(report) {
  const verdicts = report.verdicts || [];
  const order = verdicts.map((v, i) => ({ v, step: i + 1 }));
  const loc = order.findIndex(({ v }) => v.category === report.localized_category);
  if (loc > 0) order.unshift(...order.splice(loc, 1));
  const blind = (report.blind_spots || []);
  return [
    h('h2', {}, 'The walk (cheapest first; localized on top)'),
    blind.length ? h('div', { class: 'blind', role: 'note' },
      h('strong', {}, `Blind spots (${blind.length}): `),
      blind.map((b) => b.category).join(', '), ' — no data, so not ruled out.') : null,
    h('ol', { class: 'walk' }, order.map(({ v, step }) => {
      const isLoc = v.category === report.localized_category;
      return h('li', { 'data-category': v.category, 'data-verdict': v.verdict,
        'data-localized': isLoc ? 'true' : null, tabindex: 0 },
      h('div', { class: 'row1' },
        h('span', { class: 'step', title: 'position in the walk' }, `${step}.`),
        h('span', { class: `badge ${v.verdict}` }, v.verdict),
        h('span', { class: 'name' }, v.name || v.category),
        isLoc ? h('span', { class: 'localized-tag' }, '◀ LOCALIZED') : null,
        h('span', { class: 'cost' }, `${v.cost_minutes} min`),
        h('span', { class: 'owner' }, `owner ${v.owner || '—'}`),
        h('span', { class: 'cost' }, `check ${Number(v.check_ms).toFixed(1)} ms`)),
      h('div', { class: 'evidence' }, v.evidence),
      h('details', { open: isLoc }, h('summary', {}, 'Mitigation playbook'), h('div', {}, v.mitigation)));
    })),
  ];
}

function renderTimeline(st) {
  if (!st || !(st.timeline || []).length) return null;
  const t0 = ms(st.timeline[0].time);
  return h('section', { class: 'panel', 'aria-label': 'Incident timeline' },
    h('h2', {}, `Timeline — ${st.status}${st.status === 'resolved' ? `, ${Math.round(st.minutes_to_resolve)} min to resolve` : ''}`),
    st.unmapped_reason ? h('div', { class: 'bad' }, `Unmapped alert: ${st.unmapped_reason}`) : null,
    h('table', { class: 'kv' }, h('tbody', {}, st.timeline.map((e) => h('tr', {},
      h('td', { title: both(ms(e.time)) }, `T+${((ms(e.time) - t0) / 1000).toFixed(1)} s`),
      h('td', {}, e.event.replace(/_/g, ' ')), h('td', {}, e.detail))))));
}

function renderSuspects(report) {
  const s = report.suspect_changes || [];
  const after = report.after_onset_changes || [];
  if (!s.length && !after.length) return null;
  const onset = ms(report.onset);
  return h('section', { class: 'panel' }, h('h2', {}, 'Suspect changes'),
    h('table', { class: 'kv' }, h('tbody', {},
      s.map((x) => h('tr', {},
        h('td', {}, x.prime ? h('strong', {}, `★ ${x.change.id}`) : x.change.id),
        h('td', {}, `${x.change.kind} on ${x.change.service}`, h('div', { class: 'muted' }, relOnset(ms(x.change.time), onset))),
        h('td', {}, x.rollback_hint))),
      after.map((c) => h('tr', { class: 'muted' },
        h('td', {}, c.id), h('td', {}, `${c.kind} on ${c.service}`),
        h('td', {}, `after onset (${relOnset(ms(c.time), onset)}) — cannot have caused it`))))));
}

function renderDrift(report) {
  const v = (report.verdicts || []).find((x) => x.check === 'feature_drift');
  if (!v) return null;
  const drift = v.drift || [];
  const panel = h('section', { class: 'panel', 'aria-label': 'Feature drift' },
    h('h2', {}, `Feature drift — top ${drift.length} by KL`));
  if (!drift.length) {
    panel.append(h('p', { class: 'muted' }, v.evidence));
    return panel;
  }
  const max = Math.max(...drift.map((d) => Math.max(d.kl, d.threshold * 2)));
  const hist = h('div', { class: 'hist' });
  const key = (d) => `${d.service}/${d.feature}`;
  if (!state.selectedFeature || !drift.some((d) => key(d) === state.selectedFeature)) {
    state.selectedFeature = key(drift[0]);
  }
  const list = h('ul', { class: 'drift-list' }, drift.map((d) => h('li', {},
    h('button', { 'aria-pressed': String(key(d) === state.selectedFeature), 'data-feature': key(d),
      title: `KL ${d.kl.toFixed(4)} (threshold ${d.threshold}), PSI ${d.psi.toFixed(3)}, baseline ${Math.round(d.baseline_hours)} h`,
      onclick: () => {
        state.selectedFeature = key(d);
        for (const b of list.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.feature === key(d)));
        drawHistogram(hist, d);
      } },
    h('span', { class: 'fname' }, key(d)),
    h('span', { class: 'bar' },
      h('span', { class: `fill${d.kl > d.threshold ? ' over' : ''}`, style: `width:${Math.min(100, (100 * d.kl) / max)}%` }),
      h('span', { class: 'thr', style: `left:${(100 * d.threshold) / max}%`, title: `threshold ${d.threshold}` })),
    h('span', { class: d.kl > d.threshold ? 'bad' : '' }, d.kl.toFixed(3))))));
  panel.append(list, hist);
  drawHistogram(hist, drift.find((d) => key(d) === state.selectedFeature));
  return panel;
}

function drawHistogram(el, d) {
  const bins = d.bins || [];
  const cur = d.current_share || [];
  const base = d.baseline_share || [];
  const n = Math.max(bins.length, cur.length);
  const W = 400, H = 130, pad = 4;
  const top = Math.max(0.001, ...cur, ...base);
  const bw = (W - 2 * pad) / Math.max(1, n);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${d.feature}: current vs baseline`);
  for (let i = 0; i < n; i++) {
    for (const [j, arr, color] of [[0, base, '#8a93a6'], [1, cur, '#6cb6ff']]) {
      const r = document.createElementNS(ns, 'rect');
      const hgt = ((arr[i] || 0) / top) * (H - 20);
      r.setAttribute('x', pad + i * bw + j * (bw / 2));
      r.setAttribute('y', H - 14 - hgt);
      r.setAttribute('width', Math.max(1, bw / 2 - 1));
      r.setAttribute('height', hgt);
      r.setAttribute('fill', color);
      const t = document.createElementNS(ns, 'title');
      t.textContent = `${bins[i] || i}: ${j ? 'current' : 'baseline'} ${(100 * (arr[i] || 0)).toFixed(1)}%`;
      r.append(t);
      svg.append(r);
    }
  }
  const label = (x, text, anchor) => {
    const t = document.createElementNS(ns, 'text');
    t.setAttribute('x', x); t.setAttribute('y', H - 2); t.setAttribute('fill', '#9aa3b2');
    t.setAttribute('font-size', '10'); t.setAttribute('text-anchor', anchor);
    t.textContent = text;
    svg.append(t);
  };
  if (n) { label(pad, bins[0] || '', 'start'); label(W - pad, bins[n - 1] || '', 'end'); }
  el.replaceChildren(h('div', { class: 'muted' }, `${d.service}/${d.feature}: KL ${d.kl.toFixed(3)} vs threshold ${d.threshold}`),
    svg, h('div', { class: 'legend' },
      h('span', {}, h('span', { class: 'sw', style: 'background:#6cb6ff' }), 'current (last hour)'),
      h('span', {}, h('span', { class: 'sw', style: 'background:#8a93a6' }), 'baseline (30 d to 24 h ago)')));
}

function findingsPanel(report, check, title) {
  const v = (report.verdicts || []).find((x) => x.check === check);
  if (!v) return null;
  const f = v.findings || [];
  return h('section', { class: 'panel', 'aria-label': title }, h('h2', {}, title),
    f.length ? h('table', { class: 'kv' }, h('tbody', {}, f.map((x) => h('tr', {},
      h('td', { class: x.implicates ? 'bad' : '' }, x.subject), h('td', { class: x.implicates ? 'bad' : '' }, x.detail)))))
      : h('p', { class: 'muted' }, v.evidence));
}

function renderUpstream(report) { return findingsPanel(report, 'upstream_health', 'Upstream health (rows, schema, freshness)'); }

function renderProbes(report) {
  const p = findingsPanel(report, 'dependency_health', 'Dependency probes');
  const e = findingsPanel(report, 'eval_staleness', 'Eval sets');
  const traffic = (report.verdicts || []).find((x) => x.check === 'traffic_mix');
  const t = traffic && (traffic.drift || []).length ? h('section', { class: 'panel' }, h('h2', {}, 'Traffic mix'),
    traffic.drift.map((d) => h('div', {}, `${d.service}: KL ${d.kl.toFixed(3)} — `,
      (d.bins || []).map((b, i) => `${b} ${(100 * (d.current_share[i] || 0)).toFixed(0)}% (was ${(100 * (d.baseline_share[i] || 0)).toFixed(0)}%)`).join(', '))))
    : null;
  return [p, e, t];
}

function renderShared(report) {
  const s = report.shared_dependencies || [];
  if (!s.length) return null;
  return h('section', { class: 'panel', 'aria-label': 'Shared dependencies' },
    h('h2', {}, `Shared dependencies of ${report.services.length} paged services`),
    h('table', { class: 'kv' }, h('tbody', {}, s.map((d) => h('tr', {},
      h('td', {}, h('strong', {}, d.service)), h('td', {}, d.alerted_services.join(', ')))))));
}

function renderOnsets(report) {
  return h('section', { class: 'panel' }, h('h2', {}, 'Onset'),
    (report.onsets || []).map((o) => h('div', {}, `${o.service}/${o.metric}: `,
      o.detected ? `left its band at ${both(ms(o.onset))}` : h('span', { class: 'bad' }, o.note))));
}

// ---- the overlay chart ----

// incidentId: a stored incident, whose alert's own expression (from its
// generatorURL) draws the metric when a metrics source serves it. cohort:
// the named cohort ({dimension, value}), which a toggle draws against the rest.
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
  const toggles = h('div', { class: 'toggles', role: 'group', 'aria-label': 'Time window' },
    Object.keys(vocab.windows).map((w) => h('button', { type: 'button', 'aria-pressed': String(w === state.window),
      'data-window': w, onclick: () => {
        if (state.window === w) return;
        state.window = w;
        renderChart(panel, service, metric, onset, now, alerts, incidentId, cohort);
      } }, w)),
    cohort ? h('button', { type: 'button', 'aria-pressed': String(split), 'data-cohort-toggle': `${cohort.dimension}=${cohort.value}`,
      onclick: () => {
        state.cohortSplit = !state.cohortSplit;
        renderChart(panel, service, metric, onset, now, alerts, incidentId, cohort);
      } }, `${cohort.dimension}=${cohort.value} vs rest`) : null);
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

  // One x axis for the series drawn: the union of their timestamps.
  const lines = split ? [overlay.points || [], overlay.rest_points || []] : [overlay.points || []];
  const byT = new Map();
  lines.forEach((pts, i) => pts.forEach((p) => {
    const t = Number(p.t_ms) / 1000;
    if (!byT.has(t)) byT.set(t, lines.map(() => null));
    byT.get(t)[i] = typeof p.value === 'number' ? p.value : null;
  }));
  const xs = [...byT.keys()].sort((a, b) => a - b);
  const ys = lines.map((_, i) => xs.map((t) => byT.get(t)[i]));
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
