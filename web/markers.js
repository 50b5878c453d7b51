// Change markers on the overlay chart and their tooltip: one marker per
// change, those closer than MERGE_PX merged into one with a count.
import { both, h, ms, relOnset } from './dom.js';

export const MIXED_COLOR = '#e6e8ee';
const MERGE_PX = 8;

// Draws the markers on uPlot `u` (colorOf: a change kind's colour).
export function drawMarkers(u, changes, inScope, onset, now, start, end, colorOf) {
  const over = u.over;
  const x = (t) => u.valToPos(t / 1000, 'x');
  const width = over.clientWidth;
  // Shade what comes after the onset, and mark the onset and the alert.
  const side = (px) => (px > width - 70 ? 'left:auto;right:4px' : '');
  if (onset >= start && onset <= end) {
    over.append(h('div', { class: 'after-zone', style: `left:${x(onset)}px;width:${Math.max(0, x(Math.min(now, end)) - x(onset))}px` }));
    over.append(h('div', { class: 'event-line onset', style: `left:${x(onset)}px`, 'data-mark': 'onset' }, h('span', { style: `top:auto;bottom:2px;${side(x(onset))}` }, 'onset')));
  }
  if (now >= start && now <= end) {
    over.append(h('div', { class: 'event-line alert', style: `left:${x(now)}px`, 'data-mark': 'alert' }, h('span', { style: `top:auto;bottom:20px;${side(x(now))}` }, 'alert')));
  }
  const inWindow = changes.map((c) => ({ c, t: ms(c.time) })).filter(({ t }) => t >= start && t <= end)
    .map((e) => ({ ...e, px: x(e.t) })).sort((a, b) => a.px - b.px);
  // Markers closer than MERGE_PX merge into one with a count.
  const groups = [];
  for (const e of inWindow) {
    const g = groups[groups.length - 1];
    if (g && e.px - g[g.length - 1].px < MERGE_PX) g.push(e);
    else groups.push([e]);
  }
  for (const g of groups) {
    const px = g.reduce((s, e) => s + e.px, 0) / g.length;
    const kinds = new Set(g.map((e) => e.c.kind));
    const color = kinds.size === 1 ? colorOf(g[0].c.kind) : MIXED_COLOR;
    const allAfter = g.every((e) => e.t > onset);
    const unrelated = g.every((e) => !inScope.has(e.c.id));
    const label = g.length === 1 ? `${g[0].c.kind} ${g[0].c.id} on ${g[0].c.service}, ${relOnset(g[0].t, onset)}`
      : `${g.length} changes: ${g.map((e) => e.c.id).join(', ')}`;
    const attrs = { class: `marker${allAfter ? ' after' : ''}${unrelated ? ' unrelated' : ''}`, type: 'button',
      'aria-label': label, style: `left:${Math.min(width, Math.max(0, px))}px;--c:${unrelated ? '#6b7280' : color}` };
    if (g.length === 1) attrs['data-change-id'] = g[0].c.id;
    else attrs['data-change-ids'] = g.map((e) => e.c.id).join(' ');
    const m = h('button', attrs, h('span', { class: 'stem' }), h('span', { class: 'head' }),
      g.length > 1 ? h('span', { class: 'count' }, g.length) : null);
    const show = () => showTooltip(m, g, onset, inScope);
    m.addEventListener('mouseenter', show);
    m.addEventListener('focus', show);
    m.addEventListener('mouseleave', hideTooltipSoon);
    m.addEventListener('blur', hideTooltipSoon);
    m.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') hideTooltip(); });
    over.append(m);
  }
}

// How a change arrived, as the tooltip names it.
const ORIGINS = { api: 'API', cloudevents: 'CloudEvents', cdevents: 'CDEvents', aws_health: 'AWS Health', github: 'GitHub' };
function originName(o) { return o ? (ORIGINS[o] || o) : 'bundle'; }

let hideTimer = null;
function showTooltip(anchor, group, onset, inScope) {
  clearTimeout(hideTimer);
  const tip = document.getElementById('tooltip');
  tip.replaceChildren(...group.map(({ c, t }) => {
    const version = c.version ? `${c.version}${c.previous_version ? ' ← ' + c.previous_version : ''}` : '';
    return h('div', { class: 'chg', 'data-tooltip-change': c.id },
      h('div', {}, h('span', { class: 'id' }, c.id), ` · ${c.kind} · ${c.service}`),
      h('div', { class: 'origin' }, `via ${originName(c.origin)}${c.source ? ' · ' + c.source : ''}`),
      version ? h('div', {}, version) : null,
      (c.actor || c.summary) ? h('div', {}, [c.actor && `by ${c.actor}`, c.summary].filter(Boolean).join(' — ')) : null,
      h('div', {}, h('span', { class: `rel ${t <= onset ? 'before' : 'after'}` }, relOnset(t, onset)), ` · ${both(t)}`),
      c.url ? h('div', {}, /^https?:\/\//i.test(c.url)
        ? h('a', { href: c.url, target: '_blank', rel: 'noopener noreferrer' }, c.url)
        : h('span', { class: 'muted' }, c.url)) : null,
      inScope.has(c.id) ? null : h('div', { class: 'muted' }, 'not on this service, its dependencies or consumers'));
  }));
  tip.hidden = false;
  const r = anchor.getBoundingClientRect();
  const tw = tip.offsetWidth, th = tip.offsetHeight;
  let left = r.left + r.width / 2 + 10;
  if (left + tw > window.innerWidth - 8) left = r.left - tw - 10;
  tip.style.left = `${Math.max(8, left)}px`;
  tip.style.top = `${Math.min(window.innerHeight - th - 8, Math.max(8, r.top + 20))}px`;
}
function hideTooltip() { document.getElementById('tooltip').hidden = true; }
function hideTooltipSoon() { clearTimeout(hideTimer); hideTimer = setTimeout(hideTooltip, 250); }
document.getElementById('tooltip').addEventListener('mouseenter', () => clearTimeout(hideTimer));
document.getElementById('tooltip').addEventListener('mouseleave', hideTooltipSoon);
document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') hideTooltip(); });
