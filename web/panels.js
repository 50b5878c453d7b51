// The incident view's panels beside the overlay: the banner (the localized
// category, its owner and mitigation), the walk, the alert timeline, the
// suspects, feature drift with its histograms, upstream health, probes,
// shared dependencies and onsets. Each takes the report and returns an element.

import { ago, both, h, ms, relOnset, utc } from './dom.js';

// The drift feature whose histograms are drawn, kept across refreshes.
const selected = { feature: null };

export function renderBanner(report, localized) {
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

export function renderWalk(report) {
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

export function renderTimeline(st) {
  if (!st || !(st.timeline || []).length) return null;
  const t0 = ms(st.timeline[0].time);
  return h('section', { class: 'panel', 'aria-label': 'Incident timeline' },
    h('h2', {}, `Timeline — ${st.status}${st.status === 'resolved' ? `, ${Math.round(st.minutes_to_resolve)} min to resolve` : ''}`),
    st.unmapped_reason ? h('div', { class: 'bad' }, `Unmapped alert: ${st.unmapped_reason}`) : null,
    h('table', { class: 'kv' }, h('tbody', {}, st.timeline.map((e) => h('tr', {},
      h('td', { title: both(ms(e.time)) }, `T+${((ms(e.time) - t0) / 1000).toFixed(1)} s`),
      h('td', {}, e.event.replace(/_/g, ' ')), h('td', {}, e.detail))))));
}

export function renderSuspects(report) {
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

export function renderDrift(report) {
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
  if (!selected.feature || !drift.some((d) => key(d) === selected.feature)) {
    selected.feature = key(drift[0]);
  }
  const list = h('ul', { class: 'drift-list' }, drift.map((d) => h('li', {},
    h('button', { 'aria-pressed': String(key(d) === selected.feature), 'data-feature': key(d),
      title: `KL ${d.kl.toFixed(4)} (threshold ${d.threshold}), PSI ${d.psi.toFixed(3)}, baseline ${Math.round(d.baseline_hours)} h`,
      onclick: () => {
        selected.feature = key(d);
        for (const b of list.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.feature === key(d)));
        drawHistogram(hist, d);
      } },
    h('span', { class: 'fname' }, key(d)),
    h('span', { class: 'bar' },
      h('span', { class: `fill${d.kl > d.threshold ? ' over' : ''}`, style: `width:${Math.min(100, (100 * d.kl) / max)}%` }),
      h('span', { class: 'thr', style: `left:${(100 * d.threshold) / max}%`, title: `threshold ${d.threshold}` })),
    h('span', { class: d.kl > d.threshold ? 'bad' : '' }, d.kl.toFixed(3))))));
  panel.append(list, hist);
  drawHistogram(hist, drift.find((d) => key(d) === selected.feature));
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

export function renderUpstream(report) { return findingsPanel(report, 'upstream_health', 'Upstream health (rows, schema, freshness)'); }

export function renderProbes(report) {
  const p = findingsPanel(report, 'dependency_health', 'Dependency probes');
  const e = findingsPanel(report, 'eval_staleness', 'Eval sets');
  const traffic = (report.verdicts || []).find((x) => x.check === 'traffic_mix');
  const t = traffic && (traffic.drift || []).length ? h('section', { class: 'panel' }, h('h2', {}, 'Traffic mix'),
    traffic.drift.map((d) => h('div', {}, `${d.service}: KL ${d.kl.toFixed(3)} — `,
      (d.bins || []).map((b, i) => `${b} ${(100 * (d.current_share[i] || 0)).toFixed(0)}% (was ${(100 * (d.baseline_share[i] || 0)).toFixed(0)}%)`).join(', '))))
    : null;
  return [p, e, t];
}

export function renderShared(report) {
  const s = report.shared_dependencies || [];
  if (!s.length) return null;
  return h('section', { class: 'panel', 'aria-label': 'Shared dependencies' },
    h('h2', {}, `Shared dependencies of ${report.services.length} paged services`),
    h('table', { class: 'kv' }, h('tbody', {}, s.map((d) => h('tr', {},
      h('td', {}, h('strong', {}, d.service)), h('td', {}, d.alerted_services.join(', ')))))));
}

export function renderOnsets(report) {
  return h('section', { class: 'panel' }, h('h2', {}, 'Onset'),
    (report.onsets || []).map((o) => h('div', {}, `${o.service}/${o.metric}: `,
      o.detected ? `left its band at ${both(ms(o.onset))}` : h('span', { class: 'bad' }, o.note))));
}

// ---- the overlay chart ----

// incidentId: a stored incident, whose alert's own expression (from its
// generatorURL) draws the metric when a metrics source serves it. cohort:
// the named cohort ({dimension, value}), which a toggle draws against the rest.
