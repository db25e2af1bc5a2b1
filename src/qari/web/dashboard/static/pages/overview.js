// Overview: portfolio value + equity chart, R-tracker, connection and engine state, open positions.
import { clear, fmtPrice, fmtR, fmtTime, fmtUsdt, h, items, makeChart, optional, pick, priceDigits, signClass, statusBadge, table, toSeconds } from '../lib.js';
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

export default function overview() {
  const data = {};
  const slots = {};
  let chart = null;
  let series = null;
  let detail = null;

  function portfolioCard() {
    const p = data.portfolio;
    const card = (...body) => h('div', { class: 'card', id: 'portfolio' }, h('h2', {}, 'Portfolio value'), ...body);
    if (!p || p.connected === false) return card(h('p', { class: 'muted' }, 'Connect an exchange to see your portfolio.'));
    if (p.total_usdt === undefined) return card(h('p', { class: 'notice warn small' }, p.error || 'The exchange could not be reached.'));
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
    const r = data.r_tracker; // `RTracker` of /openapi.json: both windows always carry realised_r and limit_r
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
    const list = items(data.connections, 'connections');
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
        h('div', { class: 'small muted' }, `Last cycle: ${fmtTime(st.last_cycle_at)}${st.cycles !== undefined ? ` · ${st.cycles} cycles` : ''}`),
        st.error ? h('div', { class: 'small notice bad' }, st.error) : null]
        : h('p', { class: 'muted' }, 'Engine state is not available.'));
  }

  function targets(p) {
    const list = pick(p, 'targets') || [pick(p, 'pt1_price', 'pt1'), pick(p, 'pt2_price', 'pt2')].filter((x) => x !== undefined);
    return list.length ? list.map((v) => fmtPrice(v, priceDigits(p))).join(' / ') : '—';
  }

  function positionsCard() {
    // The portfolio view carries the same positions marked at the last price; prefer it.
    const marked = data.portfolio && Array.isArray(data.portfolio.positions) ? data.portfolio.positions : null;
    const list = marked || items(data.positions, 'positions');
    const columns = [
      { label: 'Symbol', value: (p) => h('a', { href: '#', onclick: (e) => { e.preventDefault(); showDetail(p); } }, p.symbol) },
      { label: 'State', value: (p) => plain(pick(p, 'state', 'status') || '') },
      { label: 'Entry', num: true, value: (p) => fmtPrice(pick(p, 'blended_entry', 'entry_price'), priceDigits(p)) },
      { label: 'Stop', num: true, value: (p) => fmtPrice(pick(p, 'stop_price', 'stop', 'stop_loss'), priceDigits(p)) + (p.stop_mode === 'watchdog' ? ` · ${p.stop_protection}` : '') },
      { label: 'Targets', num: true, value: targets },
      { label: 'Mark', num: true, value: (p) => fmtPrice(pick(p, 'mark_price', 'last_price'), priceDigits(p)) },
      { label: 'Unrealised', num: true, tone: (p) => signClass(pick(p, 'unrealised_pnl_usdt')), value: (p) => fmtUsdt(pick(p, 'unrealised_pnl_usdt')) },
      { label: 'R', num: true, tone: (p) => signClass(pick(p, 'unrealised_r')), value: (p) => fmtR(pick(p, 'unrealised_r')) },
      { label: '', value: (p) => closeButton(p) },
    ];
    return h('div', { class: 'card', id: 'positions' }, h('h2', {}, `Open positions (${list.length})`), table(columns, list, 'No open positions.'));
  }

  function equityPoints() {
    const p = data.portfolio;
    const curve = items(p && pick(p, 'equity', 'equity_curve', 'history'));
    if (curve.length) return curve.map((pt) => ({ time: toSeconds(pick(pt, 'time', 'at', 't')), value: Number(pick(pt, 'value', 'equity', 'total_usdt')) }));
    let total = 0;
    return items(data.trades, 'trades')
      .filter((t) => pick(t, 'closed_at', 'exit_time') && pick(t, 'pnl_usdt', 'realized_pnl_usdt') !== undefined)
      .sort((a, b) => toSeconds(pick(a, 'closed_at', 'exit_time')) - toSeconds(pick(b, 'closed_at', 'exit_time')))
      .map((t) => { total += Number(pick(t, 'pnl_usdt', 'realized_pnl_usdt')); return { time: toSeconds(pick(t, 'closed_at', 'exit_time')), value: total }; });
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

  async function showDetail(position) {
    clear(slots.detail, h('h2', {}, `${position.symbol} — price, entry, stop and targets`), h('div', { class: 'chart', id: 'position-chart' }));
    if (detail) detail.remove();
    detail = await candleChart(slots.detail.querySelector('#position-chart'), position, items(data.trades, 'trades'));
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
