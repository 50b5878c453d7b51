// The page's small helpers: building elements and writing times.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'style') el.style.cssText = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export const ms = (ts) => (ts ? Date.parse(ts) : NaN);
export const pad = (n) => String(n).padStart(2, '0');
export function utc(t, seconds = false) {
  const d = new Date(t);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}${seconds ? ':' + pad(d.getUTCSeconds()) : ''} UTC`;
}
export function local(t) {
  const d = new Date(t);
  return `${pad(d.getHours())}:${pad(d.getMinutes())} local`;
}
export function both(t) { return `${utc(t)} (${local(t)})`; }
export function ago(t) {
  const m = Math.round((Date.now() - t) / 60000);
  if (m < 60) return `${m} min ago`;
  if (m < 48 * 60) return `${Math.round(m / 60)} h ago`;
  return `${Math.round(m / 1440)} d ago`;
}
export function relOnset(t, onset) {
  const m = Math.round((onset - t) / 60000);
  return m >= 0 ? `${m} min before onset` : `${-m} min after onset`;
}

// The "data as of" line in the header, now.
export function setAsOf() {
  const now = Date.now();
  document.getElementById('asof').textContent =
    `data as of ${utc(now, true).replace(' UTC', '')} UTC · ${new Date(now).toLocaleTimeString()} local`;
}

// Replaces the page with the error (and says so to the browser tests).
export function showError(e) {
  const main = document.getElementById('main');
  main.replaceChildren(h('div', { class: 'error', role: 'alert' }, String(e.message || e)));
  document.body.dataset.rendered = 'error';
}
