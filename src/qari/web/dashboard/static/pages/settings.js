// @ts-check
// Settings tabs: Exchange, Risk parameters, Notifications, Subscription, Security, Data sharing.
// Each route's answer is read as its schema in /openapi.json (the typedefs of api-types.js).
import { api, ApiError, clear, fmtTime, h, optional, passwordHint, plainApiText, statusBadge, STATUS_LABELS, toast } from '../lib.js';
import { refreshBadges } from '../app.js';

/** @typedef {import('../api-types.js').ConnectionPublic} ConnectionPublic */

const TABS = [
  ['exchange', 'Exchange'], ['risk', 'Risk parameters'], ['notifications', 'Notifications'],
  ['subscription', 'Subscription'], ['security', 'Security'], ['data-sharing', 'Data sharing'],
];

// The venues, their key guides and passphrase needs: from GET /exchange/exchanges (the server's venue
// data is the one list); the built-in sandbox first.
let EXCHANGES = {};
const SANDBOX_PROTOCOLS = { bybit: 'Bybit v5', binance: 'Binance spot', okx: 'OKX v5' };

/** @param {import('../api-types.js').VenuePublic[]} venues */
function venuesById(venues) {
  const ordered = venues.slice().sort((a, b) => Number(a.live) - Number(b.live));
  return Object.fromEntries(ordered.map((v) => [v.id, {
    name: v.name, passphrase: v.needs_passphrase, guide: v.key_guide, never: v.key_never, spotStop: v.spot_stop,
    protocol: v.protocol,
  }]));
}

function field(id, label, input, hint) {
  input.id = id;
  const err = h('div', { class: 'error', id: `${id}-error`, role: 'alert' });
  return h('div', { class: 'field', 'data-field': id }, h('label', { for: id }, label), input, hint ? h('div', { class: 'hint' }, hint) : null, err);
}

function setFieldError(form, name, message) {
  const input = form.querySelector(`#${name}`);
  const err = form.querySelector(`#${name}-error`);
  if (input) input.setAttribute('aria-invalid', message ? 'true' : 'false');
  if (err) err.textContent = message || '';
}

/** A 422's per-field messages: {errors: [{field, message}]} → {field: message}. */
function fieldErrors(error) {
  const out = {};
  const list = error.body && (error.body.errors || error.body.detail);
  if (Array.isArray(list)) {
    for (const e of list) {
      const name = e.field || (Array.isArray(e.loc) ? e.loc[e.loc.length - 1] : null);
      if (name) out[name] = e.message || e.msg;
    }
  }
  return out;
}

// ---- Exchange ---------------------------------------------------------------------------------
let lastOutcome = null;
let exchangeKeys = null;

async function exchangeTab(root) {
  /** @type {[ConnectionPublic[] | null, import('../api-types.js').EgressIp | null, import('../api-types.js').VenuePublic[] | null]} */
  const [connections, egress, venues] = await Promise.all([optional('/exchange/connections'), optional('/system/egress-ip').catch(() => null), optional('/exchange/exchanges')]);
  if (connections === null || venues === null) { clear(root, h('p', { class: 'muted' }, 'Exchange connections are not available on this server yet.')); return; }
  EXCHANGES = venuesById(venues);
  const result = h('div', { id: 'connect-result', role: 'status' });
  const formResult = h('div', { id: 'connect-form-result', role: 'status' });
  const keysEl = h('div', { id: 'exchange-keys' });

  const showOutcome = (status, text, target = result) => {
    const [, tone] = STATUS_LABELS[status] || ['', ''];
    lastOutcome = target === result ? [status, text] : null;
    clear(target, h('div', { class: `notice ${tone}`, 'data-status': status }, statusBadge(status), ' ', text || ''));
  };
  if (lastOutcome) showOutcome(...lastOutcome);

  async function reloadKeys() {
    drawKeys(await api('GET', '/exchange/connections'));
    refreshBadges();
  }

  // The key check waits on the exchange; past this the page says so instead of spinning forever.
  const VERIFY_TIMEOUT_S = 30;
  const FIELD_NAMES = { exchange: 'Exchange', api_key: 'API key', api_secret: 'API secret', passphrase: 'Passphrase' };

  /** A server message in plain words: no field names, no API paths. */
  const plainMessage = (text) => plainApiText(text)
    .replace(/\b(api_key|api_secret|passphrase)\b/g, (name) => FIELD_NAMES[name].toLowerCase());
  const sentence = (text) => { const t = plainMessage(text).trim(); return t ? t[0].toUpperCase() + t.slice(1) : t; };

  /** `{field: message}` from a 422: "api_key: required — …" details or a validation `errors` list. */
  function keyFieldErrors(e) {
    const out = fieldErrors(e);
    const detail = e.body && typeof e.body.detail === 'string' ? e.body.detail : '';
    const m = detail.match(/^(exchange|api_key|api_secret|passphrase): (.*)$/s);
    if (m) out[m[1]] = m[2];
    if (e.status === 422 && e.body && e.body.status === 'invalid_credentials') out.api_key = 'The exchange did not accept this key and secret. Check both were copied whole.';
    for (const k of Object.keys(out)) if (!(k in FIELD_NAMES)) delete out[k];
    for (const k of Object.keys(out)) out[k] = sentence(out[k]);
    return out;
  }

  function clearFieldErrors() { for (const name of Object.keys(FIELD_NAMES)) setFieldError(form, name, ''); }

  async function submitKey(method, path, body, { replacing = false, venue = 'the exchange', where = result } = {}) {
    clearFieldErrors();
    const other = where === result ? formResult : result;
    clear(other);
    const controller = new AbortController();
    const started = Date.now();
    const busy = form.querySelector('button[type=submit]');
    const line = h('span', {}, `Verifying your key with ${venue}…`);
    clear(where, h('div', { class: 'notice', 'data-status': 'verifying', 'aria-busy': 'true' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', line));
    const tick = setInterval(() => {
      const s = Math.round((Date.now() - started) / 1000);
      line.textContent = `Verifying your key with ${venue}… ${s} s (gives up after ${VERIFY_TIMEOUT_S} s)`;
    }, 1000);
    const timer = setTimeout(() => controller.abort(), VERIFY_TIMEOUT_S * 1000);
    const unchanged = replacing ? 'Nothing was saved: your previous key is unchanged.' : 'Nothing was saved.';
    if (busy) busy.disabled = true;
    try {
      /** @type {ConnectionPublic} */
      const c = await api(method, path, body, { signal: controller.signal });
      apiSecret.value = '';
      passphrase.value = '';
      delete form.dataset.replace;
      formTitle.textContent = 'Connect Exchange';
      showOutcome(c.status, sentence(c.status_detail) || `${c.exchange_name} key …${c.key_hint} verified.`, where);
      await reloadKeys();
      return true;
    } catch (e) {
      lastOutcome = null;
      if (e.name === 'AbortError') {
        clear(where, h('div', { class: 'notice warn', 'data-status': 'timeout', id: 'connect-timeout' },
          `${venue} did not answer within ${VERIFY_TIMEOUT_S} s, so QARI stopped waiting. `,
          replacing ? 'Your previous key stays in use unless the new one shows under “Your keys”; ' : 'The key is saved only if it shows under “Your keys”; ',
          'check there in a minute, or try again.'));
        return false;
      }
      const sandboxDown = path.endsWith('/sandbox'); // the built-in sandbox cannot start: no retry will help
      const errors = keyFieldErrors(e);
      for (const [name, text] of Object.entries(errors)) setFieldError(form, name, text);
      const status = (e.body && (e.body.status || (e.body.detail && e.body.detail.status))) || ((e.status === 503 || e.status === 504) && !sandboxDown ? 'unreachable' : null);
      const text = Object.keys(errors).length && e.status === 422 && !e.body.status
        ? 'Please fix the field marked below.'
        : sentence(e.message);
      if (status) {
        const [, tone] = STATUS_LABELS[status] || [status, 'bad'];
        clear(where, h('div', { class: `notice ${tone}`, 'data-status': status, id: 'connect-refused' }, statusBadge(status), ' ', text, ' ', h('strong', {}, unchanged)));
      } else {
        clear(where, h('div', { class: 'notice bad', id: 'connect-refused' }, text, ' ', h('strong', {}, unchanged)));
      }
      const first = Object.keys(errors)[0];
      if (first) { const input = form.querySelector(`#${first}`); if (input) input.focus(); }
      return false;
    } finally {
      clearInterval(tick);
      clearTimeout(timer);
      if (busy) busy.disabled = false;
    }
  }

  const exchange = h('select', {}, Object.entries(EXCHANGES).map(([id, x]) => h('option', { value: id }, x.name)));
  const apiKey = h('input', { autocomplete: 'off', spellcheck: 'false' });
  const apiSecret = h('input', { type: 'password', autocomplete: 'off' });
  const passphrase = h('input', { type: 'password', autocomplete: 'off' });
  const guide = h('div', { class: 'notice small', id: 'exchange-guide' });
  const passField = field('passphrase', 'Passphrase', passphrase, 'This exchange protects keys with a passphrase you chose when creating the key.');
  const showGuide = () => {
    const x = EXCHANGES[exchange.value];
    passField.hidden = !x.passphrase;
    clear(guide, h('strong', {}, `${x.name}: `), x.guide,
      x.never ? h('div', {}, h('strong', {}, 'Never enable: '), x.never, ' QARI refuses keys that can withdraw or move funds, and does not store them.') : null,
      x.spotStop === 'none' ? h('div', { 'data-spot-stop': 'none' }, `${x.name} cannot hold a spot stop order: QARI's watchdog sells at market when your stop is hit.`) : null);
  };
  exchange.addEventListener('change', showGuide);
  showGuide();

  const formTitle = h('h2', {}, 'Connect Exchange');
  const form = h('form', { class: 'card', id: 'connect-form', novalidate: true },
    formTitle, field('exchange', 'Exchange', exchange), guide,
    field('api_key', 'API key', apiKey), field('api_secret', 'API secret', apiSecret), passField,
    formResult, h('button', { type: 'submit' }, 'Save and verify'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    // One key per exchange: a new key for an exchange already connected replaces the old one.
    const existing = current.find((c) => c.exchange === exchange.value);
    const replacing = form.dataset.replace || (existing && String(existing.id));
    const body = { api_key: apiKey.value.trim(), api_secret: apiSecret.value.trim() };
    if (!replacing) body.exchange = exchange.value;
    if (!passField.hidden && passphrase.value) body.passphrase = passphrase.value;
    // The secret stays in its field until the key is saved: a typo elsewhere must not cost a re-paste.
    const venue = EXCHANGES[exchange.value] ? EXCHANGES[exchange.value].name : exchange.value;
    if (replacing) submitKey('PUT', `/exchange/connections/${replacing}`, body, { replacing: true, venue, where: formResult });
    else submitKey('POST', '/exchange/connections', body, { venue, where: formResult });
  });

  /** @param {ConnectionPublic} c */
  function keyCard(c) {
    const actions = h('div', { class: 'row' },
      h('button', { type: 'button', class: 'secondary', onclick: () => submitKey('POST', `/exchange/connections/${c.id}/verify`, undefined, { replacing: true, venue: c.exchange_name }) }, 'Verify now'),
      h('button', { type: 'button', class: 'secondary', onclick: () => {
        if (c.exchange in EXCHANGES) exchange.value = c.exchange;
        showGuide();
        form.dataset.replace = c.id;
        formTitle.textContent = `Replace the ${c.exchange_name} key`;
        form.scrollIntoView();
        apiKey.focus();
      } }, 'Replace key'),
      h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!confirm(`Delete the ${c.exchange_name} key? Trading on it stops.`)) return;
        try { await api('DELETE', `/exchange/connections/${c.id}`); toast('Key deleted.'); lastOutcome = null; clear(result); await reloadKeys(); } catch (e) { toast(e.message); }
      } }, 'Delete'));
    return h('div', { class: 'card', 'data-connection': c.exchange, 'data-connection-id': c.id },
      h('div', { class: 'row' }, h('strong', { class: 'grow' }, c.exchange_name), statusBadge(c.status)),
      h('div', { class: 'small muted' }, `Key …${c.key_hint} · verified ${fmtTime(c.verified_at)}`),
      c.status_detail ? h('div', { class: 'small' }, sentence(c.status_detail)) : null,
      c.warning ? h('div', { class: 'notice warn small' }, sentence(c.warning)) : null,
      actions);
  }

  /** @type {ConnectionPublic[]} */
  let current = [];
  /** @param {ConnectionPublic[]} list */
  function drawKeys(list) {
    current = list;
    clear(keysEl, list.length ? list.map(keyCard) : h('p', { class: 'muted' }, 'No exchange key yet.'));
  }

  const sandboxButton = h('button', { type: 'button', id: 'connect-sandbox', onclick: () => submitKey('POST', '/exchange/connections/sandbox', {}, { venue: 'the sandbox' }) }, 'Connect the sandbox (paper USDT)');
  const ip = egress && egress.ip;
  // Which exchange's protocol the sandbox speaks (QARI_SANDBOX_PROTOCOL on the server).
  const sandboxProtocol = SANDBOX_PROTOCOLS[(EXCHANGES.sandbox || {}).protocol];
  drawKeys(connections);
  clear(root,
    h('div', { class: 'card' }, h('h2', {}, 'Server IP to whitelist'),
      h('p', {}, 'Restrict your key to this IP address on the exchange: ', h('code', { class: 'ip', id: 'egress-ip' }, ip || 'unknown')),
      egress && egress.hint ? h('p', { class: 'small muted' }, egress.hint) : null),
    h('div', { class: 'card' }, h('h2', {}, 'Try QARI without risk'), h('p', { class: 'small muted' }, 'One click connects the built-in sandbox exchange with paper USDT.'),
      sandboxProtocol ? h('p', { class: 'small muted', id: 'sandbox-protocol' }, `It speaks the ${sandboxProtocol} API, and QARI trades it as it would that exchange.`) : null,
      sandboxButton),
    result,
    h('h2', {}, 'Your keys'), keysEl,
    form);
  exchangeKeys = drawKeys;
}

// ---- Risk parameters --------------------------------------------------------------------------
async function riskTab(root) {
  /** @type {import('../api-types.js').RiskSettingsPublic | null} */
  const data = await optional('/settings/risk');
  if (data === null) { clear(root, h('p', { class: 'muted' }, 'Risk settings are not available on this server yet.')); return; }
  const s = data;
  const message = h('div', { role: 'status' });
  const num = (value, attrs = {}) => h('input', { type: 'number', inputmode: 'decimal', step: 'any', value, ...attrs });
  const inputs = {
    auto_trading: h('input', { type: 'checkbox', checked: Boolean(s.auto_trading) }),
    allocation_mode: h('select', {}, h('option', { value: 'percent' }, '% of free USDT'), h('option', { value: 'fixed' }, 'Fixed USDT per trade')),
    allocation_value: num(s.allocation_value),
    max_positions: num(s.max_positions, { step: 1, min: 1, max: data.plan_capacity }),
    stop_loss_pct: num(s.stop_loss_pct, { min: 10, max: 30 }),
    daily_loss_limit_r: num(s.daily_loss_limit_r, { min: 0.1, max: 2 }),
    weekly_loss_limit_r: num(s.weekly_loss_limit_r, { min: 0.1, max: 5 }),
    spread_limit_bps: num(s.spread_limit_bps, { step: 1, min: 1, max: 100 }),
    cooldown_hours: num(s.cooldown_hours, { step: 1, min: 1, max: 720 }),
    personal_blacklist: h('textarea', { rows: 2, placeholder: 'DOGE, PEPE/USDT' }),
  };
  inputs.allocation_mode.value = s.allocation_mode;
  inputs.personal_blacklist.value = s.personal_blacklist.join(', ');
  const form = h('form', { class: 'card', id: 'risk-form', novalidate: true },
    h('h2', {}, 'Risk parameters'), message,
    h('div', { class: 'field row' }, inputs.auto_trading, h('label', { for: 'auto_trading' }, 'Auto-trading on'), h('div', { class: 'error', id: 'auto_trading-error' })),
    h('div', { class: 'grid' },
      field('allocation_mode', 'Per-trade allocation', inputs.allocation_mode),
      field('allocation_value', 'Allocation amount', inputs.allocation_value, '5 – 10,000,000 USDT, or 0.1 – 100 % of free USDT.'),
      field('max_positions', 'Max open positions', inputs.max_positions, `Your plan allows up to ${data.plan_capacity}.`),
      field('stop_loss_pct', 'Stop-loss %', inputs.stop_loss_pct, 'Between 10 % and 30 % from the entry.'),
      field('daily_loss_limit_r', 'Daily loss limit (R)', inputs.daily_loss_limit_r, 'Stop new entries after this loss today. At most 2R.'),
      field('weekly_loss_limit_r', 'Weekly loss limit (R)', inputs.weekly_loss_limit_r, 'Stop new entries after this loss this week. At most 5R.'),
      field('spread_limit_bps', 'Spread limit (bps)', inputs.spread_limit_bps, '1 bp = 0.01 %. Skip markets with a wider spread.'),
      field('cooldown_hours', 'Cooldown after a stop-loss (hours)', inputs.cooldown_hours)),
    field('personal_blacklist', 'Personal blacklist', inputs.personal_blacklist, 'Symbols QARI must never trade for you, separated by commas.'),
    h('button', { type: 'submit', id: 'save-risk' }, 'Save risk parameters'));
  inputs.auto_trading.id = 'auto_trading';

  const clientCheck = (name, value) => {
    const n = Number(value);
    const between = (lo, hi, msg) => (value === '' || Number.isNaN(n) ? 'must be a number' : n < lo || n > hi ? msg : '');
    switch (name) {
      case 'stop_loss_pct': return between(10, 30, 'stop-loss must be between 10 % and 30 % (never tighter, never wider)');
      case 'daily_loss_limit_r': return between(0.1, 2, 'the daily limit can be stricter than 2R, never looser');
      case 'weekly_loss_limit_r': return between(0.1, 5, 'the weekly limit can be stricter than 5R, never looser');
      case 'max_positions': return between(1, data.plan_capacity, `your plan allows at most ${data.plan_capacity} open positions`);
      default: return '';
    }
  };
  for (const [name, input] of Object.entries(inputs)) {
    input.addEventListener('change', () => setFieldError(form, name, clientCheck(name, input.value)));
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear(message);
    for (const name of Object.keys(inputs)) setFieldError(form, name, '');
    const body = {
      auto_trading: inputs.auto_trading.checked,
      allocation_mode: inputs.allocation_mode.value,
      allocation_value: inputs.allocation_value.value,
      max_positions: inputs.max_positions.value,
      stop_loss_pct: inputs.stop_loss_pct.value,
      daily_loss_limit_r: inputs.daily_loss_limit_r.value,
      weekly_loss_limit_r: inputs.weekly_loss_limit_r.value,
      spread_limit_bps: inputs.spread_limit_bps.value,
      cooldown_hours: inputs.cooldown_hours.value,
      personal_blacklist: inputs.personal_blacklist.value.split(/[\s,;]+/).filter(Boolean),
    };
    try {
      /** @type {import('../api-types.js').RiskSettingsPublic} */
      const saved = await api('PUT', '/settings/risk', body);
      inputs.personal_blacklist.value = saved.personal_blacklist.join(', ');
      clear(message, h('div', { class: 'notice good', id: 'risk-saved' }, 'Risk parameters saved.'));
    } catch (e) {
      const errors = e instanceof ApiError ? fieldErrors(e) : {};
      for (const [name, text] of Object.entries(errors)) setFieldError(form, name, text);
      const count = Object.keys(errors).length;
      clear(message, h('div', { class: 'notice bad', id: 'risk-rejected' }, count ? `Not saved: ${count} value${count > 1 ? 's need' : ' needs'} fixing (see below).` : e.message));
    }
  });
  clear(root, form);
}

// ---- Notifications ----------------------------------------------------------------------------
const ALERT_LABELS = {
  entry_leg1: 'Entry (leg 1)', entry_leg2: 'Entry (leg 2)', stop_loss: 'Stop-loss hit', pt1: 'Profit target 1',
  pt2: 'Profit target 2', trailing_exit: 'Trailing-stop exit', kill_switch_tripped: 'Kill switch tripped',
  kill_switch_cleared: 'Kill switch cleared', key_invalid: 'API key invalid', key_permissions_changed: 'API key permissions changed',
  exchange_unreachable: 'Exchange unreachable', trial_ending: 'Free trial ending',
  guard_refused: 'Order refused by the guard', guard_halt: 'Trading halted: activity outside QARI',
  model_trained: 'Learning: new model trained (operator)',
};

async function notificationsTab(root) {
  /** @type {[import('../api-types.js').AlertPreferences | null, import('../api-types.js').TelegramStatus | null]} */
  const [prefs, telegram] = await Promise.all([optional('/notifications/preferences').catch(() => null), optional('/notifications/telegram').catch(() => null)]);
  const linkBox = h('div', { id: 'telegram-link' });
  const card = h('div', { class: 'card' }, h('h2', {}, 'Telegram alerts'));
  if (telegram === null && prefs === null) { clear(root, card, h('p', { class: 'muted' }, 'Alerts are not available on this server yet.')); return; }
  if (telegram && telegram.enabled === false) card.append(h('div', { class: 'notice warn', id: 'telegram-off' }, telegram.message || 'Telegram alerts are switched off on this server.'));
  if (telegram && telegram.enabled === false) {
    // Nothing to link until the operator configures a bot.
  } else if (telegram && telegram.linked) {
    card.append(h('p', {}, 'Linked to Telegram. '), h('button', { type: 'button', class: 'secondary', onclick: async () => { await api('DELETE', '/notifications/telegram/link'); toast('Telegram unlinked.'); notificationsTab(root); } }, 'Unlink'));
  } else {
    card.append(h('button', { type: 'button', onclick: async () => {
      try {
        /** @type {import('../api-types.js').TelegramLinkCode} */
        const link = await api('POST', '/notifications/telegram/link');
        clear(linkBox, h('p', {}, 'Open this link on your phone and press Start: ', h('a', { href: link.deep_link, rel: 'noopener' }, link.deep_link)), h('p', { class: 'small muted' }, `Or send /start ${link.code} to the bot.`));
      } catch (e) { clear(linkBox, h('div', { class: 'notice bad' }, e.message)); }
    } }, 'Link Telegram'), linkBox);
  }
  const prefsCard = h('div', { class: 'card' }, h('h2', {}, 'Which alerts'));
  const events = prefs ? prefs.preferences : null;
  if (events) {
    for (const [kind, on] of Object.entries(events)) {
      const box = h('input', { type: 'checkbox', id: `pref-${kind}`, checked: on });
      box.addEventListener('change', async () => {
        try { await api('PUT', '/notifications/preferences', { preferences: { [kind]: box.checked } }); events[kind] = box.checked; toast('Saved.'); } catch (e) { toast(e.message); box.checked = !box.checked; }
      });
      prefsCard.append(h('div', { class: 'row' }, box, h('label', { for: `pref-${kind}` }, ALERT_LABELS[kind] || kind.replaceAll('_', ' '))));
    }
  } else prefsCard.append(h('p', { class: 'muted' }, 'Per-alert preferences are not available yet.'));
  clear(root, card, prefsCard);
}

// ---- Subscription -----------------------------------------------------------------------------
async function subscriptionTab(root, ctx) {
  /** @type {import('../api-types.js').UserPublic | null} */
  const me = (await ctx.reloadMe()) || ctx.me;
  if (!me) { clear(root, h('p', { class: 'muted' }, 'Your plan could not be read.')); return; }
  const plan = me.plan;
  const daysLeft = Math.max(0, Math.ceil((Date.parse(plan.trial_ends_at) - Date.now()) / 86400000));
  clear(root, h('div', { class: 'card', id: 'subscription' }, h('h2', {}, 'Your plan'),
    h('div', { class: 'big' }, plan.name),
    plan.tier === 'trial' ? h('p', {}, `${daysLeft} day${daysLeft === 1 ? '' : 's'} of free trial left (ends ${fmtTime(plan.trial_ends_at)}).`) : null,
    plan.waiver ? h('p', { class: 'notice good' }, 'An operator waiver covers your subscription.') : null,
    h('p', {}, `Capacity: up to ${plan.capacity} open positions at a time.`),
    h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Plan'), h('th', {}, 'Price'), h('th', { class: 'num' }, 'Positions'))),
      h('tbody', {}, [['Free Trial', '3 months free', 5], ['Pro', '$49/month', 10], ['Premium', '$99/month + personal model', 20]].map(([n, p, c]) => h('tr', {}, h('td', {}, n), h('td', {}, p), h('td', { class: 'num' }, c)))))));
}

// ---- Security ---------------------------------------------------------------------------------
async function securityTab(root, ctx) {
  /** @type {import('../api-types.js').UserPublic} */
  const me = ctx.me;
  const current = h('input', { type: 'password', autocomplete: 'current-password' });
  const fresh = h('input', { type: 'password', autocomplete: 'new-password' });
  const pwMessage = h('div', { role: 'status' });
  const pwForm = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Change password'), pwMessage,
    field('current_password', 'Current password', current), field('new_password', 'New password', fresh, await passwordHint()),
    h('button', { type: 'submit' }, 'Change password'));
  pwForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('POST', '/auth/password', { current_password: current.value, new_password: fresh.value });
      clear(pwMessage, h('div', { class: 'notice good' }, 'Password changed.'));
      current.value = ''; fresh.value = '';
    } catch (e) { clear(pwMessage, h('div', { class: 'notice bad' }, e.message)); }
  });
  const tfa = h('div', { class: 'card', id: 'two-factor' }, h('h2', {}, 'Two-factor login (TOTP)'));
  const enabled = me.totp_enabled;
  const box = h('div', {});
  if (enabled) {
    const code = h('input', { inputmode: 'numeric', maxlength: 6 });
    const password = h('input', { type: 'password', autocomplete: 'current-password' });
    tfa.append(h('p', { class: 'notice good', id: 'totp-on' }, 'Two-factor login is on.'), field('totp_off_password', 'Password', password), field('totp_off', 'Code from the app', code),
      h('button', { type: 'button', class: 'secondary', onclick: async () => {
        try { await api('POST', '/auth/totp/disable', { password: password.value, code: code.value.trim() }); toast('Two-factor login switched off.'); ctx.me = await ctx.reloadMe(); securityTab(root, ctx); } catch (e) { clear(box, h('div', { class: 'notice bad' }, e.message)); }
      } }, 'Switch off'), box);
  } else {
    tfa.append(h('p', {}, 'Protect your account with an authenticator app.'), h('button', { type: 'button', id: 'totp-setup', onclick: async () => {
      try {
        /** @type {import('../api-types.js').TotpEnrolment} */
        const setup = await api('POST', '/auth/totp/setup');
        const code = h('input', { inputmode: 'numeric', maxlength: 6 });
        clear(box, h('p', {}, 'Scan this code with your authenticator app (Google Authenticator, Aegis, 1Password…):'),
          setup.qr_svg ? h('img', { id: 'totp-qr', class: 'qr', src: setup.qr_svg, width: 220, height: 220, alt: 'QR code of your two-factor secret' }) : null,
          h('p', { class: 'small' }, 'Or type this secret in by hand: ', h('code', { id: 'totp-secret' }, setup.secret || '')),
          field('totp_on', 'Code from the app', code, 'The 6-digit code the app shows now.'),
          h('button', { type: 'button', id: 'totp-confirm', onclick: async () => {
            const error = box.querySelector('#totp_on-error');
            error.textContent = '';
            try { await api('POST', '/auth/totp/enable', { code: code.value.trim() }); toast('Two-factor login is on.'); ctx.me = await ctx.reloadMe(); securityTab(root, ctx); } catch (e) { error.textContent = e.message; code.focus(); }
          } }, 'Confirm'));
      } catch (e) { clear(box, h('div', { class: 'notice bad' }, e.message)); }
    } }, 'Set up two-factor login'), box);
  }
  clear(root, pwForm, tfa);
}

// ---- Data sharing -----------------------------------------------------------------------------
async function dataSharingTab(root) {
  /** @type {import('../api-types.js').DataSharing | null} */
  const data = await optional('/settings/data-sharing');
  if (data === null) { clear(root, h('p', { class: 'muted' }, 'Data-sharing settings are not available on this server yet.')); return; }
  const box = h('input', { type: 'checkbox', id: 'learning_consent', checked: Boolean(data.learning_consent) });
  box.addEventListener('change', async () => {
    try { await api('PUT', '/settings/data-sharing', { learning_consent: box.checked }); toast(box.checked ? 'Thank you: your anonymised outcomes will help the models.' : 'Consent withdrawn.'); } catch (e) { toast(e.message); box.checked = !box.checked; }
  });
  clear(root, h('div', { class: 'card' }, h('h2', {}, 'Collective learning'),
    h('p', {}, 'QARI can learn from anonymised trade outcomes: R-multiples and layer results only — never your e-mail, user id or amounts in USDT.'),
    h('div', { class: 'row' }, box, h('label', { for: 'learning_consent' }, 'Share my anonymised trade outcomes'))));
}

const RENDER = { exchange: exchangeTab, risk: riskTab, notifications: notificationsTab, subscription: subscriptionTab, security: securityTab, 'data-sharing': dataSharingTab };

export default function settings(ctx) {
  const tab = RENDER[ctx.rest[0]] ? ctx.rest[0] : 'exchange';
  return {
    title: `Settings · ${TABS.find(([id]) => id === tab)[1]}`,
    async render(root) {
      const body = h('div', { id: `tab-${tab}` });
      clear(root, h('h1', {}, 'Settings'),
        h('nav', { class: 'tabs' }, TABS.map(([id, label]) => h('a', { href: `/app/settings/${id}`, 'data-link': true, class: id === tab ? 'active' : null }, label))),
        body);
      await RENDER[tab](body, ctx);
    },
    onChange(resource, data) {
      if (resource === 'connections' && tab === 'exchange' && exchangeKeys) exchangeKeys(data);
    },
    destroy() { exchangeKeys = null; },
  };
}
