// @ts-check
// Trades: the journal as a table (entry, exit, P&L in USDT and R, duration) filterable by state,
// pair and date, profit by day and by pair, and per trade the plain-English reason, layer results,
// fills and chart; live.
// `/trades` answers `TradeList` (api-types.js, from /openapi.json): every field below is declared.
import { api, clear, fmtDuration, fmtNum, fmtPrice, fmtR, fmtTime, fmtUsdt, h, optional, priceDigits, signClass, table, toast } from '../lib.js';
import { plain, plainText } from '../words.js';
import { candleChart } from './charts.js';

/** @typedef {import('../api-types.js').TradePublic} TradePublic */

/** @param {TradePublic} t */
const tradeId = (t) => String(t.id);
/** @param {TradePublic} t */
const isOpen = (t) => !t.closed_at;
const FILLED = new Set(['open', 'pt1_taken', 'pt2_taken']);

/** @param {import('../api-types.js').LayerResultPublic[]} layers */
export function layerTable(layers) {
  return table([
    { label: 'Layer', value: (l) => `${l.layer} ${l.name}` },
    { label: 'Vote', value: (l) => h('span', { class: `badge ${l.vote === 'agree' ? 'good' : l.vote === 'against' ? 'bad' : ''}` }, l.vote) },
    { label: 'Score', num: true, value: (l) => fmtNum(l.score, 2) },
    { label: 'Why', value: (l) => plainText(l.explanation) },
  ], layers, 'No layer results recorded.');
}

/** @param {import('../api-types.js').FillPublic[]} fills @param {number|undefined} digits */
function fillsTable(fills, digits) {
  return table([
    { label: 'Time', value: (f) => fmtTime(f.at) },
    { label: 'Side', value: (f) => f.side },
    { label: 'Price', num: true, value: (f) => fmtPrice(f.price, digits) },
    { label: 'Qty', num: true, value: (f) => fmtPrice(f.qty) },
    { label: 'Fee', num: true, value: (f) => `${fmtPrice(f.fee)} ${f.fee_currency}` },
  ], fills, 'No fills yet.');
}

/** @param {import('../api-types.js').GateEvaluationPublic | null} gate */
function gateSummary(gate) {
  if (!gate) return null;
  return h('div', {}, h('h2', {}, 'Risk gate'),
    h('p', { class: 'small' }, gate.passed ? `Passed all ${gate.results.length || 16} checks.` : ['Blocked: ', plain(gate.blocking_code), ' — ', plainText(gate.reason)]));
}

/** @param {import('../api-types.js').PositionEventPublic[]} events */
function eventsList(events) {
  if (!events.length) return null;
  return h('div', {}, h('h2', {}, 'What happened'),
    h('ul', { class: 'plain small' }, events.map((e) => h('li', {}, h('span', { class: 'muted' }, fmtTime(e.at)), ' ', e.message ? plainText(e.message) : plain(e.kind)))));
}

/** Seconds the trade has lasted: to its close, or (open) until now. @param {TradePublic} t */
function duration(t) {
  return t.duration_seconds ?? (Date.now() - Date.parse(t.opened_at)) / 1000;
}

/** @param {TradePublic} t */
function stateWord(t) {
  if (isOpen(t)) return h('span', { class: 'badge good' }, plain(t.state));
  return h('span', { class: 'badge' }, plain(t.exit_reason || t.state));
}

/** Ask the engine to close `t` at market; resolves true when the request was recorded.
 * @param {import('../api-types.js').PositionPublic} t */
export async function closePosition(t) {
  if (!confirm(`Close ${t.symbol} now at the market price? Its resting stop is cancelled first.`)) return false;
  try {
    await api('POST', `/positions/${t.id}/close`);
    toast(`${t.symbol}: closing at market on the engine's next pass.`);
    return true;
  } catch (e) { toast(`${t.symbol}: ${e.message}`); return false; }
}

/** "Close now" for a filled position, or "Closing…" while the engine carries out the request.
 * @param {import('../api-types.js').PositionPublic} p */
export function closeButton(p, label = 'Close now') {
  if (p.close_requested_at) return h('button', { type: 'button', class: 'secondary', disabled: true, 'data-closing': p.id }, 'Closing…');
  if (!FILLED.has(p.state)) return '';
  const button = h('button', { type: 'button', class: 'danger', 'data-close': p.id, onclick: async () => {
    button.disabled = true;
    if (await closePosition(p)) button.replaceWith(closeButton({ ...p, close_requested_at: new Date().toISOString() }));
    else button.disabled = false;
  } }, label);
  return button;
}

/** "Replay": re-runs a recorded decision from its stored inputs and says whether the result is the
 * same (GET /decisions/{id}/replay): `u{gate id}` for a trade (the analysis and the gate), the
 * analysis decision's id for a scanner row.
 * @param {string|null} decisionId */
export function replayButton(decisionId, label = 'Replay decision') {
  if (!decisionId) return null;
  const out = h('span', { class: 'small muted', 'data-testid': 'replay-result' });
  const button = h('button', { type: 'button', class: 'secondary', 'data-replay': decisionId, onclick: async () => {
    button.disabled = true;
    out.textContent = 'Replaying…';
    try {
      /** @type {import('../api-types.js').DecisionReplay} */
      const r = await api('GET', `/decisions/${decisionId}/replay`);
      const diffs = r.replays.flatMap((p) => p.differences);
      out.textContent = r.identical
        ? `Replayed ${r.replays.map((p) => p.kind).join(' + ')} from the stored inputs: identical.`
        : `Replay differs: ${diffs.join('; ')}`;
    } catch (e) { out.textContent = `Replay failed: ${e.message}`; }
    button.disabled = false;
  } }, label);
  return h('div', { class: 'row', style: 'margin:.5rem 0' }, button, ' ', out);
}

const COLUMNS = ['Pair', 'State', 'Opened', 'Entry', 'Exit', 'P&L', 'R', 'Duration'];

/** @param {TradePublic} t @param {Set<string>} openIds @param {Map<string, any>} charts */
function tradeDetails(t, openIds, charts) {
  const digits = priceDigits(t);
  const pnl = t.pnl_usdt;
  const r = t.pnl_r;
  const explanation = t.explanation;
  const entry = t.blended_entry ?? t.entry_price; // the average price paid once filled; Leg 1's limit before
  const id = tradeId(t);
  const chartBox = h('div', { class: 'chart' });
  const cell = (label, value, cls) => h('span', { class: `cell ${cls || ''}`.trim(), 'data-label': label }, value);
  const el = h('details', { class: 'trade', 'data-trade-id': id, 'data-symbol': t.symbol, open: openIds.has(id) },
    h('summary', { class: 'trade-row' },
      cell('Pair', h('strong', {}, t.symbol)),
      cell('State', stateWord(t)),
      cell('Opened', h('span', { class: 'muted small' }, fmtTime(t.opened_at))),
      cell('Entry', fmtPrice(entry, digits), 'num'),
      cell('Exit', fmtPrice(t.exit_price, digits), 'num'),
      cell('P&L', h('span', { class: signClass(pnl), 'data-testid': 'pnl-usdt' }, fmtUsdt(pnl)), 'num'),
      cell('R', h('span', { class: signClass(r) }, fmtR(r)), 'num'),
      cell('Duration', fmtDuration(duration(t)), 'num')),
    h('div', { class: 'explain', 'data-testid': 'explanation' }, explanation ? plainText(explanation) : 'No explanation recorded.'),
    h('div', { class: 'small muted' }, `Entry ${fmtPrice(entry, digits)} · stop ${fmtPrice(t.stop_price, digits)} · target 1 ${fmtPrice(t.pt1, digits)} · target 2 ${fmtPrice(t.pt2, digits)} · 1R = ${fmtUsdt(t.one_r_usdt)} · fees ${fmtUsdt(t.fees_usdt)}`),
    FILLED.has(t.state) ? h('div', { class: 'row', style: 'margin:.5rem 0' }, closeButton(t, 'Close now at market')) : null,
    h('h2', {}, 'Layer results'), layerTable(t.layer_results),
    gateSummary(t.gate_evaluation),
    replayButton(t.gate_evaluation ? `u${t.gate_evaluation.id}` : null),
    h('h2', {}, 'Fills'), fillsTable(t.fills, digits),
    eventsList(t.events),
    chartBox);
  el.addEventListener('toggle', async () => {
    if (el.open) openIds.add(id); else openIds.delete(id);
    if (el.open && !charts.has(id)) charts.set(id, await candleChart(chartBox, t));
  });
  return el;
}

/** @param {import('../api-types.js').ProfitSummary | null} summary */
function profitTables(summary) {
  if (!summary) return h('p', { class: 'muted' }, 'Profit summary is not available on this server yet.');
  /** @param {import('../api-types.js').ProfitBucket} b */
  const money = (b) => h('span', { class: signClass(b.pnl_usdt) }, fmtUsdt(b.pnl_usdt));
  /** @param {'day'|'symbol'} key @param {string} label */
  const rows = (key, label) => [
    { label, value: (/** @type {any} */ b) => b[key] },
    { label: 'Trades', num: true, value: (b) => `${b.trades} (${b.wins} won)` },
    { label: 'P&L', num: true, value: money },
    { label: 'R', num: true, tone: (b) => signClass(b.pnl_r), value: (b) => fmtR(b.pnl_r) },
  ];
  return h('div', { class: 'grid' },
    h('div', { id: 'profit-by-day' }, h('h2', {}, 'Profit by day'), table(rows('day', 'Day (UTC)'), summary.by_day, 'No closed trades in this period.')),
    h('div', { id: 'profit-by-pair' }, h('h2', {}, 'Profit by pair'), table(rows('symbol', 'Pair'), summary.by_pair, 'No closed trades in this period.')));
}

export default function trades() {
  /** @type {TradePublic[]} */
  let list = [];
  const openIds = new Set();
  const charts = new Map();
  const filters = { symbol: '', status: 'all', outcome: 'all', from: '', to: '' };
  let listEl = null;
  let profitEl = null;
  let symbolSelect = null;
  let pairEl = null;
  let pairChart = null;
  let pairKey = '';

  /** With one pair chosen: its price with every one of its trades' buys and sells marked. */
  async function drawPairChart() {
    const symbol = filters.symbol;
    const shown = list.filter((t) => t.symbol === symbol);
    const key = symbol ? JSON.stringify(shown.map((t) => [t.id, t.fills.length])) : '';
    if (key === pairKey) return;
    pairKey = key;
    if (pairChart) { pairChart.remove(); pairChart = null; }
    pairEl.hidden = !symbol;
    if (!symbol) { clear(pairEl); return; }
    const box = h('div', { class: 'chart', id: 'pair-chart' });
    clear(pairEl, h('h2', {}, `${symbol}: every trade on the chart`), h('p', { class: 'small muted' }, 'Green arrows are buys, red arrows sells (4-hour candles).'), box);
    const subject = { symbol, exchange: shown[0] && shown[0].exchange, fills: shown.flatMap((t) => t.fills) };
    const chart = await candleChart(box, subject, { timeframe: '4h', limit: 500 });
    if (pairEl.contains(box)) pairChart = chart; else if (chart) chart.remove();
  }

  /** @param {TradePublic} t */
  const dayOf = (t) => t.opened_at.slice(0, 10);

  /** @param {TradePublic} t */
  function matches(t) {
    if (filters.symbol && t.symbol !== filters.symbol) return false;
    if (filters.status === 'open' && !isOpen(t)) return false;
    if (filters.status === 'closed' && isOpen(t)) return false;
    if (filters.from && dayOf(t) < filters.from) return false;
    if (filters.to && dayOf(t) > filters.to) return false;
    const r = Number(t.pnl_usdt ?? 0);
    if (filters.outcome === 'win' && !(r > 0)) return false;
    if (filters.outcome === 'loss' && !(r < 0)) return false;
    return true;
  }

  let drawn = new Map(); // trade id -> { key, el }: unchanged trades keep their element (and open chart)

  function dropChart(id) {
    const chart = charts.get(id);
    if (chart) chart.remove();
    charts.delete(id);
  }

  function drawSymbols() {
    const symbols = [...new Set(list.map((t) => t.symbol))].sort();
    const chosen = symbolSelect.value;
    clear(symbolSelect, h('option', { value: '' }, 'All pairs'), symbols.map((s) => h('option', { value: s }, s)));
    symbolSelect.value = symbols.includes(chosen) ? chosen : '';
  }

  function drawList() {
    const shown = list.filter(matches);
    const next = new Map();
    const elements = shown.map((t) => {
      const id = tradeId(t);
      const key = JSON.stringify(t);
      const old = drawn.get(id);
      if (old && old.key === key) { next.set(id, old); return old.el; }
      dropChart(id);
      const el = tradeDetails(t, openIds, charts);
      next.set(id, { key, el });
      return el;
    });
    for (const id of drawn.keys()) if (!next.has(id)) dropChart(id);
    drawn = next;
    const head = h('div', { class: 'trade-row trade-head', 'aria-hidden': 'true' }, COLUMNS.map((c, i) => h('span', { class: `cell ${i >= 3 ? 'num' : ''}` }, c)));
    clear(listEl, elements.length ? [head, elements] : h('p', { class: 'muted' }, list.length ? 'No trade matches these filters.' : 'No trades yet. When the engine trades, each trade appears here with its explanation.'));
  }

  async function drawProfit() {
    const q = new URLSearchParams();
    if (filters.from) q.set('since', `${filters.from}T00:00:00Z`);
    if (filters.to) q.set('until', new Date(Date.parse(`${filters.to}T00:00:00Z`) + 86400000).toISOString());
    const summary = await optional(`/trades/summary${q.size ? `?${q}` : ''}`).catch(() => null);
    clear(profitEl, profitTables(summary));
  }

  function control(label, input, key, also) {
    input.addEventListener('input', () => { filters[key] = input.value; drawList(); drawPairChart(); if (also) also(); });
    return h('div', { class: 'grow' }, h('label', { for: input.id }, label), input);
  }

  return {
    title: 'Trades',
    async render(root) {
      /** @type {import('../api-types.js').TradeList | null} */
      const data = await optional('/trades?limit=500');
      if (data === null) { clear(root, h('h1', {}, 'Trades'), h('p', { class: 'muted' }, 'Trade history is not available on this server yet.')); return; }
      list = data.trades;
      listEl = h('div', { class: 'card', id: 'trade-list' });
      profitEl = h('div', { class: 'card', id: 'profit' });
      pairEl = h('div', { class: 'card', id: 'pair', hidden: true });
      const select = (id, options) => h('select', { id }, options.map(([v, l]) => h('option', { value: v }, l)));
      symbolSelect = h('select', { id: 'filter-symbol' });
      drawSymbols();
      clear(root, h('h1', {}, 'Trades'),
        h('div', { class: 'card row filters' },
          control('Pair', symbolSelect, 'symbol'),
          control('State', select('filter-status', [['all', 'All'], ['open', 'Open'], ['closed', 'Closed']]), 'status'),
          control('Outcome', select('filter-outcome', [['all', 'All'], ['win', 'Winners'], ['loss', 'Losers']]), 'outcome'),
          control('Opened from', h('input', { id: 'filter-from', type: 'date' }), 'from', drawProfit),
          control('Opened until', h('input', { id: 'filter-to', type: 'date' }), 'to', drawProfit)),
        pairEl, listEl, profitEl);
      drawList();
      await drawProfit();
    },
    onChange(resource, payload) {
      if (resource !== 'trades') return;
      list = payload.trades;
      drawSymbols();
      drawList();
      drawProfit();
      drawPairChart();
    },
    destroy() { for (const chart of charts.values()) if (chart) chart.remove(); if (pairChart) pairChart.remove(); },
  };
}
