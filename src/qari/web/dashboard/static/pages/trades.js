// Trades: history with the plain-English reason, layer results and fills; filterable; live.
import { clear, fmtNum, fmtPrice, fmtR, fmtTime, fmtUsdt, h, items, optional, pick, signClass, table } from '../lib.js';
import { candleChart } from './charts.js';

const tradeId = (t) => String(pick(t, 'id') ?? `${t.symbol}-${pick(t, 'opened_at')}`);
const isOpen = (t) => !pick(t, 'closed_at');

export function layerTable(layers) {
  const list = Array.isArray(layers) ? layers : Object.entries(layers || {}).map(([code, v]) => ({ code, ...(typeof v === 'object' ? v : { vote: v }) }));
  return table([
    { label: 'Layer', value: (l) => `${pick(l, 'code', 'layer') ?? ''} ${pick(l, 'name') ?? ''}`.trim() },
    { label: 'Vote', value: (l) => { const v = String(pick(l, 'vote', 'agrees') ?? ''); return h('span', { class: `badge ${v === 'agree' || v === 'true' ? 'good' : v === 'against' ? 'bad' : ''}` }, v === 'true' ? 'agree' : v === 'false' ? 'no' : v); } },
    { label: 'Score', num: true, value: (l) => fmtNum(pick(l, 'score'), 2) },
    { label: 'Why', value: (l) => pick(l, 'reason', 'explanation', 'summary') ?? '' },
  ], list, 'No layer results recorded.');
}

function fillsTable(fills) {
  return table([
    { label: 'Time', value: (f) => fmtTime(pick(f, 'at', 'time', 'filled_at', 'timestamp')) },
    { label: 'Side', value: (f) => pick(f, 'side') ?? '' },
    { label: 'Price', num: true, value: (f) => fmtPrice(pick(f, 'price')) },
    { label: 'Qty', num: true, value: (f) => fmtPrice(pick(f, 'qty', 'quantity', 'amount', 'qty_base')) },
    { label: 'Fee', num: true, value: (f) => `${fmtPrice(pick(f, 'fee', 'fee_cost'))} ${pick(f, 'fee_currency', 'fee_asset') ?? ''}` },
  ], items(fills), 'No fills yet.');
}

function gateSummary(gate) {
  if (!gate) return null;
  const results = items(gate.results);
  return h('div', {}, h('h2', {}, 'Risk gate'),
    h('p', { class: 'small' }, gate.passed ? `Passed all ${results.length || 16} checks.` : `Blocked by ${gate.blocking_code}: ${gate.reason}`));
}

function eventsList(events) {
  if (!events.length) return null;
  return h('div', {}, h('h2', {}, 'What happened'),
    h('ul', { class: 'plain small' }, events.map((e) => h('li', {}, h('span', { class: 'muted' }, fmtTime(e.at)), ' ', e.message || e.kind))));
}

function tradeDetails(t, openIds, charts) {
  const pnl = pick(t, 'pnl_usdt');
  const r = pick(t, 'pnl_r', 'r_multiple');
  const explanation = pick(t, 'explanation', 'reason', 'entry_reason');
  const id = tradeId(t);
  const chartBox = h('div', { class: 'chart' });
  const el = h('details', { class: 'trade', 'data-trade-id': id, open: openIds.has(id) },
    h('summary', {},
      h('strong', {}, t.symbol),
      h('span', { class: `badge ${isOpen(t) ? 'good' : ''}` }, isOpen(t) ? pick(t, 'state') || 'open' : (pick(t, 'exit_reason') || 'closed').replaceAll('_', ' ')),
      h('span', { class: 'muted small' }, fmtTime(pick(t, 'opened_at'))),
      h('span', { class: signClass(pnl) }, fmtUsdt(pnl)),
      h('span', { class: signClass(r) }, fmtR(r))),
    h('div', { class: 'explain', 'data-testid': 'explanation' }, explanation || 'No explanation recorded.'),
    h('div', { class: 'small muted' }, `Entry ${fmtPrice(pick(t, 'blended_entry', 'entry_price'))} · stop ${fmtPrice(pick(t, 'stop_price', 'initial_stop'))} · PT1 ${fmtPrice(pick(t, 'pt1'))} · PT2 ${fmtPrice(pick(t, 'pt2'))} · 1R = ${fmtUsdt(pick(t, 'one_r_usdt'))} · fees ${fmtUsdt(pick(t, 'fees_usdt'))}`),
    h('h2', {}, 'Layer results'), layerTable(pick(t, 'layer_results', 'layers') || []),
    gateSummary(pick(t, 'gate_evaluation')),
    h('h2', {}, 'Fills'), fillsTable(pick(t, 'fills') || []),
    eventsList(pick(t, 'events') || []),
    chartBox);
  el.addEventListener('toggle', async () => {
    if (el.open) openIds.add(id); else openIds.delete(id);
    if (el.open && !charts.has(id)) charts.set(id, await candleChart(chartBox, t));
  });
  return el;
}

export default function trades() {
  let list = [];
  const openIds = new Set();
  const charts = new Map();
  const filters = { symbol: '', status: 'all', outcome: 'all' };
  let listEl = null;

  function matches(t) {
    if (filters.symbol && !String(t.symbol).toUpperCase().includes(filters.symbol.toUpperCase())) return false;
    if (filters.status === 'open' && !isOpen(t)) return false;
    if (filters.status === 'closed' && isOpen(t)) return false;
    const r = Number(pick(t, 'pnl_r', 'pnl_usdt') ?? 0);
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
    clear(listEl, elements.length ? elements : h('p', { class: 'muted' }, list.length ? 'No trade matches these filters.' : 'No trades yet. When the engine trades, each trade appears here with its explanation.'));
  }

  function control(label, input, key) {
    input.addEventListener('input', () => { filters[key] = input.value; drawList(); });
    return h('div', { class: 'grow' }, h('label', { for: input.id }, label), input);
  }

  return {
    title: 'Trades',
    async render(root) {
      const data = await optional('/trades');
      if (data === null) { clear(root, h('h1', {}, 'Trades'), h('p', { class: 'muted' }, 'Trade history is not available on this server yet.')); return; }
      list = items(data, 'trades');
      listEl = h('div', { class: 'card', id: 'trade-list' });
      const select = (id, options) => h('select', { id }, options.map(([v, l]) => h('option', { value: v }, l)));
      clear(root, h('h1', {}, 'Trades'),
        h('div', { class: 'card row' },
          control('Symbol', h('input', { id: 'filter-symbol', placeholder: 'e.g. BTC' }), 'symbol'),
          control('Status', select('filter-status', [['all', 'All'], ['open', 'Open'], ['closed', 'Closed']]), 'status'),
          control('Outcome', select('filter-outcome', [['all', 'All'], ['win', 'Winners'], ['loss', 'Losers']]), 'outcome')),
        listEl);
      drawList();
    },
    onChange(resource, payload) {
      if (resource !== 'trades') return;
      list = items(payload, 'trades');
      drawList();
    },
    destroy() { for (const chart of charts.values()) if (chart) chart.remove(); },
  };
}
