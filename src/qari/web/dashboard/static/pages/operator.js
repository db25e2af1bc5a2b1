// @ts-check
// Operator: users with plan and connection status, waivers, platform blacklist, engine and
// platform kill switch, operations of the scaled-out engine (workers, queue depth, the last cycle's
// per-role timings), learning stages (model registry), audit log.
// Each route's answer is read as its schema in /openapi.json (the typedefs of api-types.js).
import { api, clear, fmtTime, h, optional, statusBadge, table, toast } from '../lib.js';

/** @typedef {import('../api-types.js').AdminUserPublic} AdminUserPublic */

const API = {
  users: '/admin/users',
  platform: '/admin/platform',
  audit: '/admin/audit',
  models: '/admin/models',
  operations: '/admin/operations',
  sandboxClock: '/sandbox/clock',
  sandboxSpeed: '/sandbox/speed',
};
const SPEEDS = [1, 60, 120, 600];

export default function operator() {
  let root = null;

  async function act(method, path, body, done) {
    try { await api(method, path, body); toast(done); await draw(); } catch (e) { toast(e.message); }
  }

  /** @param {AdminUserPublic[] | null} users */
  function usersCard(users) {
    if (users === null) return h('div', { class: 'card' }, h('h2', {}, 'Users'), h('p', { class: 'muted' }, 'The user list is not available on this server yet.'));
    /** @param {AdminUserPublic} u */
    const hasWaiver = (u) => u.plan.waiver;
    return h('div', { class: 'card', id: 'users' }, h('h2', {}, `Users (${users.length})`), table([
      { label: 'E-mail', value: (u) => [u.email, u.is_operator ? h('span', { class: 'badge' }, 'operator') : null] },
      { label: 'Plan', value: (u) => {
        const select = h('select', { 'aria-label': `Plan of ${u.email}` }, ['trial', 'pro', 'premium'].map((p) => h('option', { value: p, selected: u.plan.tier === p }, p)));
        select.addEventListener('change', () => act('PUT', `${API.users}/${u.id}/plan`, { tier: select.value }, `Plan set to ${select.value}.`));
        const plan = u.plan;
        return [select, plan.reason ? h('div', { class: `small ${plan.active ? 'muted' : 'bad'}`, 'data-plan-state': plan.active ? 'active' : 'inactive' }, plan.reason) : null];
      } },
      { label: 'Waiver', value: (u) => h('button', { type: 'button', class: 'secondary', onclick: () => act(hasWaiver(u) ? 'DELETE' : 'PUT', `${API.users}/${u.id}/waiver`, undefined, hasWaiver(u) ? 'Waiver revoked.' : 'Waiver granted.') }, hasWaiver(u) ? 'Revoke waiver' : 'Grant waiver') },
      { label: 'Connection', value: (u) => {
        const connections = u.connections;
        if (!connections.length) return h('span', { 'data-user-connection': u.email }, statusBadge(null));
        return h('span', { 'data-user-connection': u.email, 'data-headline': u.connection_status },
          connections.map((c) => h('div', { class: 'small' }, `${c.exchange_name} `, statusBadge(c.status))));
      } },
      { label: 'Since', value: (u) => fmtTime(u.created_at) },
    ], users, 'No users.'));
  }

  /** @param {import('../api-types.js').PlatformPublic | null} platform */
  function platformCard(platform) {
    if (platform === null) return h('div', { class: 'card' }, h('h2', {}, 'Platform'), h('p', { class: 'muted' }, 'Platform controls are not available on this server yet.'));
    const engineOn = platform.engine_enabled;
    const killOn = platform.kill_switch;
    const blacklist = platform.blacklist;
    const input = h('textarea', { id: 'platform-blacklist', rows: 2 });
    input.value = blacklist.join(', ');
    return h('div', { class: 'card', id: 'platform' }, h('h2', {}, 'Platform'),
      h('div', { class: 'row' }, h('span', { class: 'grow' }, 'Engine: ', h('span', { class: `badge ${engineOn ? 'good' : 'warn'}` }, engineOn ? 'on' : 'off')),
        h('button', { type: 'button', class: 'secondary', onclick: () => act('PATCH', API.platform, { engine_enabled: !engineOn }, `Engine switched ${engineOn ? 'off' : 'on'}.`) }, engineOn ? 'Switch engine off' : 'Switch engine on')),
      h('div', { class: 'row', style: 'margin-top:.6rem' }, h('span', { class: 'grow' }, 'Platform kill switch: ', h('span', { class: `badge ${killOn ? 'bad' : 'good'}` }, killOn ? 'ACTIVE — no new entries' : 'clear')),
        h('button', { type: 'button', class: killOn ? 'secondary' : 'danger', onclick: () => act('PATCH', API.platform, { kill_switch: !killOn }, killOn ? 'Kill switch cleared.' : 'Kill switch activated.') }, killOn ? 'Clear kill switch' : 'Activate kill switch')),
      h('div', { class: 'field', style: 'margin-top:.8rem' }, h('label', { for: 'platform-blacklist' }, 'Platform blacklist'), input,
        h('div', { class: 'hint' }, 'No user trades these symbols.')),
      h('button', { type: 'button', onclick: () => act('PUT', `${API.platform}/blacklist`, { symbols: input.value.split(/[\s,;]+/).filter(Boolean) }, 'Blacklist saved.') }, 'Save blacklist'));
  }

  // The scaled-out engine (docs/deploy.md): `qari worker` processes seen through the units they
  // recorded, the broker queue's depth, and the last cycle's time in the scheduler and the workers.
  /** @param {import('../api-types.js').OperationsPublic | null} ops */
  function operationsCard(ops) {
    if (ops === null) return null;
    const secs = (v) => (v == null ? '—' : `${Number(v).toFixed(2)} s`);
    const queue = ops.queue;
    const depth = !ops.task_engine ? 'Units run inside this process (no broker configured).'
      : queue && queue.reachable ? `Queue ${queue.queue}: ${queue.ready} waiting, ${queue.delayed} retrying, ${queue.dead} dead.`
        : `Queue ${queue ? queue.queue : ''}: the broker is unreachable (${queue && queue.error ? queue.error : 'no answer'}).`;
    const last = ops.last_cycle;
    return h('div', { class: 'card', id: 'operations' }, h('h2', {}, 'Operations'),
      h('p', { id: 'operations-queue', class: queue && !queue.reachable ? 'bad' : '' }, depth),
      h('h3', {}, `Workers seen (last ${ops.window_minutes} min): ${ops.workers.length}`),
      table([
        { label: 'Worker', value: (w) => h('span', { class: 'code-word' }, w.name) },
        { label: 'Units', value: (w) => String(w.units) },
        { label: 'Mean unit', value: (w) => secs(w.mean_seconds) },
        { label: 'Last seen', value: (w) => fmtTime(w.last_seen) },
      ], ops.workers, 'No worker recorded a unit recently.'),
      h('h3', {}, 'Last cycle'),
      last === null ? h('p', { class: 'muted' }, 'No cycle yet.') : h('div', { id: 'operations-last-cycle' },
        h('p', { class: 'small muted' }, `Cycle of ${fmtTime(last.at)}`),
        table([
          { label: 'Role', value: (r) => r.role },
          { label: 'What', value: (r) => r.what },
          { label: 'Time', value: (r) => r.time },
        ], [
          ...last.scheduler.map((s) => ({ role: 'scheduler', what: `${s.exchange_id}: ${s.users} users${s.errors ? `, ${s.errors} errors` : ''}`, time: secs(s.seconds) })),
          { role: 'workers', what: `${last.workers.units} entry units on ${last.workers.workers} workers`, time: `mean ${secs(last.workers.mean_seconds)} · max ${secs(last.workers.max_seconds)}` },
        ], '')));
  }

  // The demo market's clock (the built-in sandbox): how fast market time runs; the engine follows it.
  /** @param {import('../api-types.js').SandboxClock | null} clock */
  function sandboxCard(clock) {
    if (clock === null || !clock.adjustable) return null;
    const input = h('input', { id: 'sandbox-speed', type: 'number', min: 1, max: clock.max_speed, step: 1, value: clock.speed });
    const set = (speed) => act('PUT', API.sandboxSpeed, { speed: Number(speed) }, `Demo market speed set to ${speed}×.`);
    return h('div', { class: 'card', id: 'sandbox-clock' }, h('h2', {}, 'Demo market speed'),
      h('p', { class: 'small muted' }, `Market time ${fmtTime(clock.now)} · runs ${clock.speed}× real time (1× is real time). Every time the dashboard shows for the sandbox is on this clock.`),
      h('div', { class: 'row' }, SPEEDS.map((s) => h('button', { type: 'button', class: s === clock.speed ? '' : 'secondary', onclick: () => set(s) }, `${s}×`)),
        h('label', { for: 'sandbox-speed', class: 'small' }, 'Speed'), input,
        h('button', { type: 'button', id: 'sandbox-speed-save', onclick: () => set(input.value) }, 'Set speed')));
  }

  // The learning stages (PRODUCT.md §9): which weights the engine scores with, the registry, training,
  // activation and rollback. A version takes effect when the engine next starts.
  /** @param {import('../api-types.js').ModelsPage | null} models @param {AdminUserPublic[] | null} users */
  function stagesCard(models, users) {
    if (models === null) return null;
    const emails = new Map((users || []).map((u) => [u.id, u.email]));
    const who = (v) => (v.activated_by == null ? (v.activated_at ? 'QARI (automatic: it beat the active version)' : '—') : emails.get(v.activated_by) || `user ${v.activated_by}`);
    const source = (v) => (v.source === 'backtest' ? 'backtest seed (public history)' : 'real trades of consenting users');
    const metric = (v) => {
      const m = v.metrics || {};
      const parts = [['trades', m.trades], ['win rate', m.win_rate], ['average R', m.avg_r], ['profit factor', m.profit_factor]]
        .filter(([, x]) => typeof x === 'number').map(([k, x]) => `${k} ${Math.abs(x) < 10 && !Number.isInteger(x) ? x.toFixed(2) : x}`);
      return parts.length ? parts.join(' · ') : 'layer values measured';
    };
    const enough = models.live_samples >= models.stage2_min_trades;
    const stageWords = models.active_stage === 1 ? 'Stage 1: fixed layer weights' : `Stage ${models.active_stage}: weights learned from outcomes`;
    return h('div', { class: 'card', id: 'learning' }, h('h2', {}, 'Learning stages'),
      h('p', { id: 'learning-active' }, 'The engine scores with ', h('strong', {}, stageWords), ` (version ${models.active_version}).`),
      h('p', { class: 'small muted' }, `${models.live_samples} closed trades of users who share data; Stage 2 can be trained from ${models.stage2_min_trades}. A newly activated version is used from the engine's next start.`),
      h('div', { class: 'row' },
        h('button', { type: 'button', id: 'learning-train', disabled: !enough, title: enough ? '' : `needs ${models.stage2_min_trades} closed trades of consenting users`, onclick: () => act('POST', `${API.models}/train`, undefined, 'Stage 2 trained; activate it below if you want it used.') }, 'Train Stage 2'),
        h('button', { type: 'button', id: 'learning-rollback', class: 'secondary', disabled: models.active_stage === 1, onclick: () => act('POST', `${API.models}/rollback`, undefined, 'Rolled back to the previous version.') }, 'Roll back')),
      table([
        { label: 'Version', value: (v) => [h('span', { class: 'code-word' }, v.version), v.active ? h('span', { class: 'badge good' }, 'active') : null] },
        { label: 'Stage', value: (v) => `Stage ${v.stage}` },
        { label: 'Learned from', value: (v) => [source(v), h('div', { class: 'small muted' }, `${v.samples} samples, ${fmtTime(v.data_from)} → ${fmtTime(v.data_to)}`)] },
        { label: 'Measured', value: metric },
        { label: 'Activated by', value: (v) => [who(v), v.activated_at ? h('div', { class: 'small muted' }, fmtTime(v.activated_at)) : null] },
        { label: '', value: (v) => (v.active || (!v.weights && v.stage !== 3) ? null : h('button', { type: 'button', class: 'secondary', 'data-activate': v.version, onclick: () => act('POST', `${API.models}/activate`, { version: v.version }, `${v.version} activated.`) }, 'Activate')) },
      ], models.versions.slice().reverse(), 'No trained versions yet: the engine uses Stage 1.'));
  }

  /** @param {import('../api-types.js').AuditPublic[] | null} audit */
  function auditCard(audit) {
    return h('div', { class: 'card', id: 'audit' }, h('h2', {}, 'Audit log'), audit === null ? h('p', { class: 'muted' }, 'The audit log is not available on this server yet.') : table([
      { label: 'Time', value: (a) => fmtTime(a.at) },
      { label: 'Who', value: (a) => a.actor_email ?? (a.actor_user_id ? 'a deleted account' : 'QARI (automatic)') },
      { label: 'What happened', value: (a) => h('span', { class: 'code-word', title: a.action }, a.summary || a.action.replaceAll('.', ' ').replaceAll('_', ' ')) },
    ], audit.slice(0, 200), 'Nothing logged yet.'));
  }

  async function draw() {
    let users;
    try { users = await optional(API.users); } catch (e) {
      if (e.status === 403) { clear(root, h('h1', {}, 'Operator'), h('div', { class: 'notice warn' }, 'Only the platform operator can open this page.')); return; }
      throw e;
    }
    const [platform, audit, clock, models, ops] = await Promise.all([optional(API.platform).catch(() => null), optional(API.audit).catch(() => null), optional(API.sandboxClock).catch(() => null), optional(API.models).catch(() => null), optional(API.operations).catch(() => null)]);
    clear(root, h('h1', {}, 'Operator'), usersCard(users), platformCard(platform), operationsCard(ops), stagesCard(models, users), sandboxCard(clock), auditCard(audit));
  }

  return {
    title: 'Operator',
    async render(el) { root = el; await draw(); },
  };
}
