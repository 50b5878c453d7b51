// The "Where" panel: which cohort of the alerted metric carries the drop
// (triage-tree.md, Cohorts), in words, and per dimension the values'
// contributions with their weights as small bars, the named one marked.
import { h } from './dom.js';

const pct = (x) => `${Math.round(100 * (x || 0))}%`;
const num = (x) => (typeof x === 'number' ? x.toFixed(2) : '—');

// The named cohort as {dimension, value}, or null when the drop is spread.
export function namedCohort(report) {
  const c = report.cohort_localization;
  return c && c.dimension ? c : null;
}

export function renderWhere(report) {
  const dims = report.cohorts || [];
  if (!dims.length) return null;
  const named = namedCohort(report);
  const words = named
    ? `${named.dimension}=${named.value} carries ${pct(named.contribution)} of the drop with ` +
      `${pct(named.weight)} of traffic (${num(named.baseline)} → ${num(named.current)})`
    : `Spread over ${dims.map((d) => d.dimension).join(', ')}: no cohort carries the drop`;
  return h('section', { class: 'panel where', 'aria-label': 'Where',
    'data-cohort': named ? `${named.dimension}=${named.value}` : 'spread' },
  h('h2', {}, 'Where'),
  h('div', { class: named ? 'where-named' : 'muted' }, words),
  dims.map((d) => h('div', { class: 'cohort-dim', 'data-dimension': d.dimension },
    h('div', { class: 'muted' }, `${d.dimension} — share of the drop (bar) and of traffic` +
      (d.weights_from_requests ? ' (from requests)' : ' (equal weights)')),
    h('table', { class: 'bars' }, h('tbody', {}, (d.values || []).map((v) => {
      const isNamed = named && named.dimension === d.dimension && named.value === v.value;
      return h('tr', { 'data-value': v.value, class: isNamed ? 'named' : '' },
        h('td', {}, v.value),
        h('td', { class: 'bar-cell' }, h('span', { class: 'bar',
          style: `width:${Math.max(0, Math.min(100, 100 * (v.contribution || 0)))}%` })),
        h('td', {}, `${pct(v.contribution)} of the drop`),
        h('td', { class: 'muted' }, `${pct(v.weight)} of traffic`),
        h('td', { class: 'muted' }, `${num(v.baseline)} → ${num(v.current)}${v.left_band ? '' : ' (in band)'}`));
    }))))));
}
