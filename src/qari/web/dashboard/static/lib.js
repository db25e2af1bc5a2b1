// @ts-check
// Shared helpers: the /api/v1 client, DOM building, formatting. No framework, no build step.
// What each route answers is declared in /openapi.json; `api-types.js` (generated from it by
// `make api-types`) names those shapes for the pages' JSDoc, so pages read declared fields only.

export class ApiError extends Error {
  constructor(status, body) {
    super(describeError(body) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
  get missing() { return this.status === 404 || this.status === 405; }
}

/** Messages are for people: API paths ("(POST /api/v1/auth/totp/setup)") are dropped. */
function describeError(body) {
  return plainApiText(rawError(body));
}

export function plainApiText(text) {
  return String(text || '').replace(/\s*\((?:GET|POST|PUT|PATCH|DELETE) \/api\/[^)]*\)/g, '').replace(/(?:GET|POST|PUT|PATCH|DELETE) \/api\/v1\/\S+/g, 'this page');
}

function rawError(body) {
  if (!body) return '';
  const d = body.detail;
  if (typeof d === 'string') return d;
  if (d && typeof d === 'object' && !Array.isArray(d)) return d.message || d.detail || JSON.stringify(d);
  if (Array.isArray(d)) return d.map((e) => e.message || e.msg).filter(Boolean).join('; ');
  return body.message || '';
}

function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)((?:qari_)?csrf(?:_token)?|csrftoken|XSRF-TOKEN)=([^;]+)/i);
  return m ? decodeURIComponent(m[2]) : null;
}

export const session = { onUnauthorized: null };

/** Call the documented JSON API. Unsafe methods carry the CSRF token from its cookie. The answer is
 * the route's response schema in /openapi.json (its typedef in api-types.js).
 * @param {string} method @param {string} path @param {unknown} [body]
 * @param {{signal?: AbortSignal}} [options] @returns {Promise<any>} */
export async function api(method, path, body, { signal } = {}) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  /** @type {RequestInit} */
  const init = { method, headers, credentials: 'same-origin', signal };
  if (body !== undefined) { headers['Content-Type'] = 'application/json'; init.body = JSON.stringify(body); }
  if (method !== 'GET') { const token = csrfToken(); if (token) headers['X-CSRF-Token'] = token; }
  const response = await fetch('/api/v1' + path, init);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { detail: text }; }
  if (!response.ok) {
    if (response.status === 401 && session.onUnauthorized && !path.startsWith('/auth/')) session.onUnauthorized();
    throw new ApiError(response.status, data);
  }
  return data;
}

/** GET that resolves to null when the endpoint does not exist (yet) instead of failing the page.
 * @param {string} path @returns {Promise<any>} */
export async function optional(path) {
  try { return await api('GET', path); } catch (e) { if (e.missing) return null; throw e; }
}

/** Build an element: h('div', {class: 'x', onclick: fn}, 'text', child). Text is never parsed as HTML. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) { el.replaceChildren(); append(el, children); return el; }

const number = (v) => (v === null || v === undefined || v === '' ? null : Number(v));

export function fmtNum(v, digits = 2) {
  const n = number(v);
  if (n === null || Number.isNaN(n)) return '—';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
/** A price at the market's precision when `digits` is known (see `priceDigits`), else by magnitude. */
export function fmtPrice(v, digits) {
  const n = number(v);
  if (n === null || Number.isNaN(n)) return '—';
  if (Number.isInteger(digits)) return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const guess = n >= 100 ? 2 : n >= 1 ? 4 : 6;
  return n.toLocaleString('en-US', { maximumFractionDigits: guess });
}
/** The market's price precision as the engine used it: its order prices (entry, stop, targets) are
 * rounded to the venue's tick, so their decimals are the market's. */
export function priceDigits(subject) {
  let digits = null;
  for (const key of ['entry_price', 'stop_price', 'pt1', 'pt2']) {
    const text = subject && subject[key];
    if (typeof text !== 'string' || !/^-?\d+(\.\d+)?$/.test(text)) continue;
    digits = Math.max(digits ?? 0, (text.split('.')[1] || '').length);
  }
  return digits === null ? undefined : Math.min(digits, 8);
}
/** "2d 4h", "3h 05m", "12m", "40s". */
export function fmtDuration(seconds) {
  const s = number(seconds);
  if (s === null || Number.isNaN(s) || s < 0) return '—';
  const d = Math.floor(s / 86400); const hr = Math.floor((s % 86400) / 3600); const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${hr}h`;
  if (hr) return `${hr}h ${String(m).padStart(2, '0')}m`;
  return m ? `${m}m` : `${Math.floor(s)}s`;
}
export const fmtUsdt = (v) => (number(v) === null ? '—' : `${fmtNum(v)} USDT`);
export function fmtR(v) {
  const n = number(v);
  if (n === null || Number.isNaN(n)) return '—';
  return `${n > 0 ? '+' : ''}${n.toFixed(2)}R`;
}
export function fmtTime(v) {
  if (!v) return '—';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
}
export function signClass(v) { const n = number(v); return n === null ? '' : n > 0 ? 'pos' : n < 0 ? 'neg' : ''; }

export function unavailable(what) {
  return h('p', { class: 'muted' }, `${what} is not available on this server yet.`);
}

let toastTimer = 0;

/** @param {string} message */
export function toast(message) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 3500);
}

export const STATUS_LABELS = {
  connected: ['Connected', 'good'],
  invalid_credentials: ['Invalid Credentials', 'bad'],
  key_or_ip_rejected: ['Key or IP rejected', 'bad'],
  permissions_error: ['Permissions Error', 'bad'],
  unreachable: ['Exchange unreachable — retrying', 'warn'],
};

export function statusBadge(status) {
  const [label, tone] = STATUS_LABELS[status] || [status ? String(status) : 'Not connected', ''];
  return h('span', { class: `badge ${tone}`, 'data-status': status || 'none' }, label);
}

export function table(columns, rows, empty) {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  // `reflow`: on a phone each row becomes a small card of "label: value" lines (style.css).
  return h('div', { class: 'table-wrap' }, h('table', { class: 'reflow' },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : null }, c.label)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, columns.map((c) => {
      const value = c.value(row);
      return h('td', { class: [c.num ? 'num' : '', c.tone ? c.tone(row) : ''].join(' ').trim() || null, 'data-label': c.label || null }, h('span', {}, value));
    }))))));
}

/** A Lightweight Charts chart in `el`, or a note when the library is not loaded. */
export function makeChart(el, options = {}) {
  const lib = /** @type {any} */ (window).LightweightCharts;
  if (!lib) { el.replaceChildren(h('p', { class: 'muted' }, 'Charts are unavailable (charting library not loaded).')); return null; }
  const chart = lib.createChart(el, {
    autoSize: true,
    layout: { background: { color: '#ffffff' }, textColor: '#5d6b7a', fontFamily: 'system-ui, sans-serif' },
    grid: { vertLines: { color: '#f0f2f5' }, horzLines: { color: '#f0f2f5' } },
    rightPriceScale: { borderColor: '#dde3ea' },
    timeScale: { borderColor: '#dde3ea', timeVisible: true },
    ...options,
  });
  return chart;
}

export const toSeconds = (t) => Math.floor((typeof t === 'number' ? (t > 1e12 ? t / 1000 : t) : Date.parse(t) / 1000));

/** The password rules as the server states them (one home: GET /auth/password-rules). */
export async function passwordHint() {
  const data = await optional('/auth/password-rules').catch(() => null);
  const rules = data && Array.isArray(data.rules) ? data.rules : [];
  if (!rules.length) return 'At least 12 characters, mixing letters, digits and symbols.';
  return h('span', { id: 'password-rules' }, 'The password needs: ', h('ul', { class: 'plain' }, rules.map((r) => h('li', {}, r))));
}
