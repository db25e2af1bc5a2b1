// @ts-check
// The dashboard shell: who is logged in, which page is shown, and the live-update stream.
import { api, clear, h, optional, session, STATUS_LABELS, toast } from './lib.js';

const PAGES = {
  login: () => import('./pages/auth.js').then((m) => m.loginPage),
  register: () => import('./pages/auth.js').then((m) => m.registerPage),
  overview: () => import('./pages/overview.js').then((m) => m.default),
  trades: () => import('./pages/trades.js').then((m) => m.default),
  scanner: () => import('./pages/scanner.js').then((m) => m.default),
  settings: () => import('./pages/settings.js').then((m) => m.default),
  operator: () => import('./pages/operator.js').then((m) => m.default),
};
const PUBLIC = new Set(['login', 'register']);

/** @type {{me: import('./api-types.js').UserPublic | null, page: any, events: EventSource | null}} */
export const state = { me: null, page: null, events: null };
const main = document.getElementById('main');

export function navigate(path, replace = false) {
  if (replace) history.replaceState({}, '', path); else history.pushState({}, '', path);
  route();
}

function pathParts() {
  const parts = location.pathname.replace(/^\/app\/?/, '').split('/').filter(Boolean);
  return { name: parts[0] || 'overview', rest: parts.slice(1) };
}

async function loadMe() {
  try { state.me = await api('GET', '/me'); } catch { state.me = null; }
  return state.me;
}

let navigation = 0; // the latest route() call; an older one still loading must not touch the page

async function route() {
  const mine = ++navigation;
  const stale = () => mine !== navigation;
  const { name, rest } = pathParts();
  if (state.page && state.page.destroy) state.page.destroy();
  state.page = null;
  live.seen = {}; // the next page draws from its own reads
  if (!PAGES[name]) { clear(main, h('h1', {}, 'Page not found'), h('a', { href: '/app/overview', 'data-link': true }, 'Go to Overview')); return; }
  if (!PUBLIC.has(name) && !state.me && !(await loadMe())) { if (!stale()) navigate('/app/login', true); return; }
  if (stale()) return;
  if (PUBLIC.has(name) && state.me) { navigate('/app/overview', true); return; }
  showShell(!PUBLIC.has(name));
  const factory = await PAGES[name]();
  if (stale()) return;
  const page = factory({ rest, me: state.me, navigate, reloadMe: loadMe, onLogin });
  state.page = page;
  document.title = `${page.title} · QARI`;
  // Each navigation renders into its own view: when a newer one replaces it, this page's late
  // writes land in a detached element instead of over the newer page.
  const view = h('div', { class: 'view' }, h('p', { class: 'muted' }, 'Loading…'));
  clear(main, view);
  try {
    await page.render(view);
  } catch (e) {
    clear(view, h('h1', {}, page.title), h('div', { class: 'notice bad' }, `Could not load this page: ${e.message}`));
  }
}

function showShell(visible) {
  document.getElementById('topbar').hidden = !visible;
  if (!visible) { closeEvents(); return; }
  document.getElementById('nav-operator').hidden = !(state.me && state.me.is_operator);
  for (const a of /** @type {NodeListOf<HTMLAnchorElement>} */ (document.querySelectorAll('#nav a'))) {
    const prefix = a.dataset.prefix || a.getAttribute('href');
    a.classList.toggle('active', location.pathname.startsWith(prefix));
  }
  openEvents();
  refreshBadges();
}

async function onLogin() {
  await loadMe();
  navigate('/app/overview', true);
}

// ---- status badges in the top bar -------------------------------------------------------------
export async function refreshBadges() {
  const conn = document.getElementById('conn-badge');
  const engine = document.getElementById('engine-badge');
  try {
    setConnectionBadge(conn, (await optional('/exchange/connections')) || []);
  } catch { conn.textContent = 'Connection: ?'; }
  try {
    const st = await optional('/engine/state');
    setEngineBadge(engine, st);
  } catch { engine.textContent = 'Engine: ?'; }
  try { setAutoTrading(await optional('/settings/risk')); } catch { setAutoTrading(null); }
  try { // why the server is degraded (sandbox data unreadable, engine failing), on the badge
    const health = /** @type {import('./api-types.js').Health | null} */ (await optional('/health'));
    if (health && health.status === 'degraded') {
      engine.className = 'badge bad';
      engine.textContent = 'Engine: degraded';
      engine.title = (health.reasons || []).join('\n');
    }
  } catch { /* the engine badge above stands */ }
}

// ---- pause / resume auto-trading (the user's own switch: gate check 01) ------------------------
/** @param {import('./api-types.js').RiskSettingsPublic | null} settings */
function setAutoTrading(settings) {
  const button = document.getElementById('auto-trading');
  const known = settings !== null;
  button.hidden = !known;
  if (!known) return;
  const on = settings.auto_trading;
  button.dataset.on = String(on);
  button.className = `badge-button ${on ? 'good' : 'warn'}`;
  button.textContent = on ? 'Auto-trading on · Pause' : 'Auto-trading paused · Resume';
  button.title = on ? 'New trades open automatically. Pause: no new entries; open positions keep their stops and targets.' : 'No new entries. Resume to let QARI open trades again.';
}

document.getElementById('auto-trading').addEventListener('click', async (event) => {
  const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
  const on = button.dataset.on === 'true';
  button.disabled = true;
  try {
    setAutoTrading(await api('PUT', '/settings/risk', { auto_trading: !on }));
    toast(on ? 'Auto-trading paused: no new entries. Open positions keep their stops and targets.' : 'Auto-trading resumed.');
  } catch (e) { toast(`Auto-trading: ${e.message}`); } finally { button.disabled = false; }
});

/** @param {HTMLElement} el @param {import('./api-types.js').ConnectionPublic[]} list */
function setConnectionBadge(el, list) {
  const best = list.find((c) => c.status === 'connected') || list[0];
  const [label, tone] = best ? STATUS_LABELS[best.status] || [best.status, ''] : ['No exchange', 'warn'];
  el.className = `badge ${tone}`;
  el.textContent = best ? `${best.exchange}: ${label}` : label;
}

/** @param {import('./api-types.js').EngineState | null} st @returns {[string, string]} */
export function engineLabel(st) {
  if (!st) return ['n/a', ''];
  if (!st.platform_engine_enabled) return ['paused by operator', 'warn'];
  if (st.platform_kill_switch) return ['kill switch', 'bad'];
  if (st.running) return [`running (${st.mode})`, 'good'];
  return [st.state, st.state === 'failed' ? 'bad' : 'warn'];
}

function setEngineBadge(el, st) {
  const [label, tone] = engineLabel(st);
  el.className = `badge ${tone}`;
  el.textContent = `Engine: ${label}`;
}

// ---- live updates (server-sent events) --------------------------------------------------------
// The stream says what changed (`change`: the resources that show it); this refetches those, once
// per burst, and hands the fresh JSON to the badges and the page. No polling while the stream is up;
// while it is down (EventSource reconnects by itself) or taken over by another tab of this login
// (`replaced`), everything is refreshed every FALLBACK_MS. The tab brought to front takes it back.
const FALLBACK_MS = 60000;
const BURST_MS = 150;
const live = { paths: {}, stale: new Set(), timer: null, fallback: null, resync: false, seen: {} };
const VOLATILE = new Set(['as_of', 'now']); // clock fields: a resource differing only there is unchanged

function deliver(resource, data) {
  const digest = JSON.stringify(data, (key, value) => (VOLATILE.has(key) ? undefined : value));
  if (live.seen[resource] === digest) return; // an event whose refetch shows nothing new: no redraw
  live.seen[resource] = digest;
  if (resource === 'connections') setConnectionBadge(document.getElementById('conn-badge'), data);
  if (resource === 'engine') setEngineBadge(document.getElementById('engine-badge'), data);
  if (resource === 'risk_settings') setAutoTrading(data);
  if (state.page && state.page.onChange) state.page.onChange(resource, data);
}

function refetchSoon(resources) {
  for (const resource of resources) if (live.paths[resource]) live.stale.add(resource);
  if (live.timer || !live.stale.size) return;
  live.timer = setTimeout(async () => {
    live.timer = null;
    const names = [...live.stale];
    live.stale.clear();
    await Promise.all(names.map(async (resource) => {
      let data = null;
      try { data = await optional(live.paths[resource]); } catch { return; }
      if (data !== null) deliver(resource, data);
    }));
  }, BURST_MS);
}

function startFallback() {
  live.resync = true;
  if (live.fallback) return;
  live.fallback = setInterval(() => { refreshBadges(); refetchSoon(Object.keys(live.paths)); }, FALLBACK_MS);
}

function stopFallback() {
  if (live.fallback) { clearInterval(live.fallback); live.fallback = null; }
}

function openEvents() {
  if (state.events) return;
  const source = new EventSource('/api/v1/events/stream');
  const dot = document.getElementById('live-dot');
  source.onerror = () => { dot.classList.remove('on'); startFallback(); };
  source.addEventListener('ready', (event) => {
    try { live.paths = JSON.parse(event.data).resources || {}; } catch { return; }
    dot.classList.add('on');
    stopFallback();
    if (live.resync) { live.resync = false; refetchSoon(Object.keys(live.paths)); } // missed while away
  });
  source.addEventListener('change', (event) => {
    let payload = {};
    try { payload = JSON.parse(event.data); } catch { return; }
    refetchSoon(Array.isArray(payload.resources) ? payload.resources : []);
  });
  source.addEventListener('logged_out', () => session.onUnauthorized());
  source.addEventListener('replaced', () => { // another tab of this login took the stream
    source.close();
    if (state.events === source) state.events = null;
    dot.classList.remove('on');
    startFallback();
  });
  state.events = source;
}

function closeEvents() {
  if (state.events) { state.events.close(); state.events = null; }
  stopFallback();
  document.getElementById('live-dot').classList.remove('on');
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && state.me && !document.getElementById('topbar').hidden) openEvents();
});

// ---- wiring -----------------------------------------------------------------------------------
session.onUnauthorized = () => { state.me = null; closeEvents(); navigate('/app/login', true); };

document.addEventListener('click', (event) => {
  const a = /** @type {Element} */ (event.target).closest('a[data-link]');
  if (!a || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', route);
document.getElementById('logout').addEventListener('click', async () => {
  try { await api('POST', '/auth/logout'); } catch (e) { toast(`Logout: ${e.message}`); }
  state.me = null;
  closeEvents();
  navigate('/app/login', true);
});

route();
