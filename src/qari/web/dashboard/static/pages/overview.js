// @ts-check
// Overview: portfolio value + equity chart, R-tracker, connection and engine state, open positions.
// Each resource is read as its route's schema in /openapi.json (the typedefs of api-types.js).
import { clear, fmtPrice, fmtR, fmtTime, fmtUsdt, h, makeChart, optional, priceDigits, signClass, statusBadge, table, toSeconds } from '../lib.js';
import { plain } from '../words.js';
import { candleChart } from './charts.js';
import { closeButton } from './trades.js';
import { engineLabel } from '../app.js';

const RESOURCES = {
  portfolio: '/portfolio',
  r_tracker: '/r-tracker',
  connections: '/exchange/connections',
  engine: '/engine/state',
  positions: '/positions',
  trades: '/trades',
};

/** @typedef {import('../api-types.js').MarkedPosition} MarkedPosition */

/**
 * @typedef {object} Resources the answers of RESOURCES' routes (null: not available)
 * @property {import('../api-types.js').PortfolioPublic | null} portfolio
 * @property {import('../api-types.js').RTracker | null} r_tracker
 * @property {import('../api-types.js').ConnectionPublic[] | null} connections
 * @property {import('../api-types.js').EngineState | null} engine
 * @property {import('../api-types.js').PositionList | null} positions
 * @property {import('../api-types.js').TradeList | null} trades
 */

export default function overview() {
  /** @type {Resources} */
  const data = { portfolio: null, r_tracker: null, connections: null, engine: null, positions: null, trades: null };
  const slots = {};
  let chart = null;
  let series = null;
  let detail = null;

  function portfolioCard() {
    const p = data.portfolio;
    const card = (...body) => h('div', { class: 'card', id: 'portfolio' }, h('h2', {}, 'Portfolio value'), ...body);
    if (!p || !p.connected) return card(h('p', { class: 'muted' }, 'Connect an exchange to see your portfolio.'));
    if (p.total_usdt == null) return card(h('p', { class: 'notice warn small' }, p.error || 'The exchange could not be reached.'));
    return card(h('div', { class: 'big', 'data-testid': 'portfolio-value' }, fmtUsdt(p.total_usdt)),
      h('div', { class: 'small muted' }, `Free ${fmtUsdt(p.free_usdt)} · in orders ${fmtUsdt(p.locked_usdt)} · positions ${fmtUsdt(p.positions_usdt)}`));
  }

  function rLine(label, used, limit) {
    const u = Math.max(0, -Number(used || 0));
    const l = Number(limit || 1);
    const share = Math.min(100, (u / l) * 100);
    return h('div', {},
      h('div', { class: 'row' }, h('span', { class: 'grow' }, label), h('strong', { class: signClass(used) }, fmtR(used ?? 0)), h('span', { class: 'muted small' }, `limit −${Number(l).toFixed(1)}R`)),
      h('div', { class: `rbar ${share >= 100 ? 'tripped' : ''}` }, h('span', { style: `width:${share}%` })));
  }

  function rCard() {
    const r = data.r_tracker; // both windows always carry realised_r and limit_r
    const body = r
      ? [rLine('Today', r.today.realised_r, Math.abs(Number(r.today.limit_r))),
        rLine('This week', r.week.realised_r, Math.abs(Number(r.week.limit_r))),
        r.halted
          ? h('div', { class: 'notice bad small', id: 'kill-switch' }, `Kill switch active: ${r.reason || 'loss limit reached'}. No new entries until ${fmtTime(r.halted_until)}; open positions keep their stops.`)
          : h('div', { class: 'small muted' }, 'Kill switch clear.')]
      : [h('p', { class: 'muted' }, 'No realised R yet.')];
    return h('div', { class: 'card', id: 'r-tracker' }, h('h2', {}, 'R-tracker'), body);
  }

  function connectionCard() {
    const list = data.connections || [];
    return h('div', { class: 'card', id: 'connection' }, h('h2', {}, 'Exchange'),
      list.length
        ? list.map((c) => h('div', { class: 'row' }, h('strong', {}, c.exchange), statusBadge(c.status), h('span', { class: 'muted small' }, c.key_hint ? `key …${c.key_hint}` : '')))
        : [h('p', {}, 'No exchange connected. '), h('a', { href: '/app/settings/exchange', 'data-link': true, class: 'button' }, 'Connect an exchange')]);
  }

  function engineCard() {
    const st = data.engine;
    const [label, tone] = engineLabel(st);
    return h('div', { class: 'card', id: 'engine' }, h('h2', {}, 'Engine'),
      st ? [h('span', { class: `badge ${tone}` }, label),
        h('div', { class: 'small muted' }, `Last cycle: ${fmtTime(st.last_cycle_at)}${st.cycles != null ? ` · ${st.cycles} cycles` : ''}`),
        st.error ? h('div', { class: 'small notice bad' }, st.error) : null]
        : h('p', { class: 'muted' }, 'Engine state is not available.'));
  }

  /** @param {MarkedPosition} p */
  function targets(p) {
    const list = [p.pt1, p.pt2].filter((x) => x !== null);
    return list.length ? list.map((v) => fmtPrice(v, priceDigits(p))).join(' / ') : '—';
  }

  /** The positions marked at the last price (the portfolio view); unmarked when it is unavailable.
   * @returns {MarkedPosition[]} */
  function positions() {
    if (data.portfolio) return data.portfolio.positions;
    const unmarked = { mark_price: null, value_usdt: null, unrealised_pnl_usdt: null, unrealised_r: null };
    return data.positions ? data.positions.positions.map((p) => ({ ...p, ...unmarked })) : [];
  }

  function positionsCard() {
    const list = positions();
    /** @type {{label: string, num?: boolean, tone?: (p: MarkedPosition) => string, value: (p: MarkedPosition) => any}[]} */
    const columns = [
      { label: 'Symbol', value: (p) => h('a', { href: '#', onclick: (e) => { e.preventDefault(); showDetail(p); } }, p.symbol) },
      { label: 'State', value: (p) => plain(p.state) },
      // the average price paid once filled; Leg 1's limit price while pending
      { label: 'Entry', num: true, value: (p) => fmtPrice(p.blended_entry ?? p.entry_price, priceDigits(p)) },
      { label: 'Stop', num: true, value: (p) => fmtPrice(p.stop_price, priceDigits(p)) + (p.stop_mode === 'watchdog' ? ` · ${p.stop_protection}` : '') },
      { label: 'Targets', num: true, value: targets },
      { label: 'Mark', num: true, value: (p) => fmtPrice(p.mark_price, priceDigits(p)) },
      { label: 'Unrealised', num: true, tone: (p) => signClass(p.unrealised_pnl_usdt), value: (p) => fmtUsdt(p.unrealised_pnl_usdt) },
      { label: 'R', num: true, tone: (p) => signClass(p.unrealised_r), value: (p) => fmtR(p.unrealised_r) },
      { label: '', value: (p) => closeButton(p) },
    ];
    return h('div', { class: 'card', id: 'positions' }, h('h2', {}, `Open positions (${list.length})`), table(columns, list, 'No open positions.'));
  }

  /** The portfolio's equity curve; without one (exchange unreachable), closed trades' P&L summed.
   * @returns {{time: number, value: number}[]} */
  function equityPoints() {
    const curve = (data.portfolio && data.portfolio.equity) || [];
    if (curve.length) return curve.map((pt) => ({ time: toSeconds(pt.time), value: Number(pt.value) }));
    let total = 0;
    const closed = (data.trades ? data.trades.trades : []).filter((t) => t.closed_at && t.pnl_usdt !== null);
    return closed
      .sort((a, b) => toSeconds(a.closed_at) - toSeconds(b.closed_at))
      .map((t) => { total += Number(t.pnl_usdt); return { time: toSeconds(t.closed_at), value: total }; });
  }

  function drawEquity() {
    if (!series) return;
    const seen = new Map();
    for (const pt of equityPoints()) if (Number.isFinite(pt.time) && Number.isFinite(pt.value)) seen.set(pt.time, pt);
    const points = [...seen.values()].sort((a, b) => a.time - b.time);
    series.setData(points);
    chart.timeScale().fitContent();
    slots.equityEmpty.hidden = points.length > 1;
    slots.equityChart.dataset.chart = points.length ? 'ready' : 'empty';
  }

  /** @param {MarkedPosition} position */
  async function showDetail(position) {
    clear(slots.detail, h('h2', {}, `${position.symbol} — price, entry, stop and targets`), h('div', { class: 'chart', id: 'position-chart' }));
    if (detail) detail.remove();
    detail = await candleChart(slots.detail.querySelector('#position-chart'), position);
  }

  const builders = { portfolio: portfolioCard, r_tracker: rCard, connections: connectionCard, engine: engineCard, positions: positionsCard };

  function redraw(resource) {
    const targets = resource === 'portfolio' ? ['portfolio', 'positions'] : [resource];
    for (const name of targets) {
      if (builders[name] && slots[name]) { const fresh = builders[name](); slots[name].replaceWith(fresh); slots[name] = fresh; }
    }
    if (resource === 'portfolio' || resource === 'trades') drawEquity();
  }

  return {
    title: 'Overview',
    async render(root) {
      const entries = await Promise.all(Object.entries(RESOURCES).map(async ([k, path]) => [k, await optional(path).catch(() => null)]));
      for (const [k, v] of entries) data[k] = v;
      for (const [k, build] of Object.entries(builders)) slots[k] = build();
      const chartBox = h('div', { class: 'chart', id: 'equity-chart' });
      slots.equityChart = chartBox;
      slots.equityEmpty = h('p', { class: 'muted small', id: 'equity-empty' }, 'The equity curve starts when your first position opens: open positions are marked at the last price, closed trades step it.');
      slots.detail = h('div', { class: 'card', id: 'position-detail', hidden: true });
      clear(root, h('h1', {}, 'Overview'),
        h('div', { class: 'grid' }, slots.portfolio, slots.r_tracker, slots.connections, slots.engine),
        h('div', { class: 'card' }, h('h2', {}, 'Equity'), slots.equityEmpty, chartBox),
        slots.positions, slots.detail);
      chart = makeChart(chartBox);
      if (chart) {
        // A sane axis: USDT with cents, and at least ±0.5 % of the value in view, so a few cents of
        // movement on a 10,000 USDT account do not fill the chart like a crash.
        const autoscaleInfoProvider = (original) => {
          const info = original();
          if (!info || !info.priceRange) return info;
          const { minValue, maxValue } = info.priceRange;
          const middle = (minValue + maxValue) / 2;
          const half = Math.max((maxValue - minValue) / 2, Math.abs(middle) * 0.005, 1);
          return { ...info, priceRange: { minValue: middle - half * 1.1, maxValue: middle + half * 1.1 } };
        };
        series = chart.addAreaSeries({ lineColor: '#0f5b8d', topColor: 'rgba(15,91,141,.25)', bottomColor: 'rgba(15,91,141,0)', lineType: 1, priceFormat: { type: 'price', precision: 2, minMove: 0.01 }, autoscaleInfoProvider });
        drawEquity();
      }
      slots.detail.hidden = false;
      clear(slots.detail, h('p', { class: 'muted small' }, 'Pick a position to see its chart with entry, stop and targets.'));
    },
    onChange(resource, payload) {
      if (!(resource in RESOURCES)) return;
      data[resource] = payload;
      redraw(resource);
    },
    destroy() { if (chart) chart.remove(); if (detail) detail.remove(); },
  };
}
