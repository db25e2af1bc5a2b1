// @ts-check
// Price chart for one position or trade: candles with entry / stop / target lines and fill markers.
import { h, makeChart, optional, toSeconds } from '../lib.js';

/**
 * What a chart is drawn for: a position or trade (`PositionPublic`, `MarkedPosition`, `TradePublic`),
 * or a pair with the fills of all its trades.
 * @typedef {object} ChartSubject
 * @property {string} symbol
 * @property {string} [exchange]
 * @property {string|null} [entry_price]
 * @property {string|null} [blended_entry]
 * @property {string|null} [stop_price]
 * @property {string|null} [pt1]
 * @property {string|null} [pt2]
 * @property {import('../api-types.js').FillPublic[]} [fills]
 */

const TIMEFRAME_SECONDS = { '15m': 900, '1h': 3600, '4h': 14400, '1d': 86400 };

/** @param {ChartSubject} subject @param {string} timeframe @param {number} limit */
function candlePath(subject, timeframe, limit) {
  const q = new URLSearchParams({ symbol: subject.symbol, timeframe, limit: String(limit) });
  if (subject.exchange) q.set('exchange', subject.exchange);
  return `/market/candles?${q}`;
}

/** @param {ChartSubject} subject */
function lines(subject) {
  const out = [];
  /** @param {string|null|undefined} price @param {string} title @param {string} color */
  const add = (price, title, color, style = 0) => { if (price != null) out.push({ price: Number(price), title, color, lineStyle: style, lineWidth: 1, axisLabelVisible: true }); };
  add(subject.blended_entry ?? subject.entry_price, 'entry', '#0f5b8d');
  add(subject.stop_price, 'stop', '#b42318', 2);
  add(subject.pt1, 'PT1', '#127a3e', 2);
  add(subject.pt2, 'PT2', '#127a3e', 2);
  return out;
}

/** A marker per fill, on the bar that holds it (markers need a bar's own time). */
/** @param {ChartSubject} subject @param {number} barSeconds @param {number} first @param {number} last */
function markers(subject, barSeconds, first, last) {
  return (subject.fills || []).map((f) => {
    const buy = f.side === 'buy';
    const t = toSeconds(f.at);
    return { time: Math.floor(t / barSeconds) * barSeconds, position: buy ? 'belowBar' : 'aboveBar', color: buy ? '#127a3e' : '#b42318', shape: buy ? 'arrowUp' : 'arrowDown', text: `${buy ? 'buy' : 'sell'} ${f.price ?? ''}` };
  }).filter((m) => Number.isFinite(m.time) && m.time >= first && m.time <= last).sort((a, b) => a.time - b.time);
}

/** Draw the chart into `el`; resolves to the chart (or null when no candles are available).
 * @param {HTMLElement} el @param {ChartSubject} subject */
export async function candleChart(el, subject, { timeframe = '15m', limit = 200 } = {}) {
  /** @type {import('../api-types.js').Candles | null} */
  const data = await optional(candlePath(subject, timeframe, limit)).catch(() => null);
  const candles = (data ? data.candles : []).map(([ms, open, high, low, close]) => ({ time: toSeconds(ms), open, high, low, close }));
  if (!candles.length) { el.replaceChildren(h('p', { class: 'muted' }, 'No price data for this symbol yet.')); el.dataset.chart = 'empty'; return null; }
  const chart = makeChart(el);
  if (!chart) return null;
  const levels = lines(subject);
  const prices = levels.map((l) => l.price).filter(Number.isFinite);
  // Keep the stop and targets in view even when the candles stay between them.
  const autoscaleInfoProvider = (original) => {
    const info = original();
    if (!info || !info.priceRange || !prices.length) return info;
    const { minValue, maxValue } = info.priceRange;
    return { ...info, priceRange: { minValue: Math.min(minValue, ...prices), maxValue: Math.max(maxValue, ...prices) } };
  };
  const series = chart.addCandlestickSeries({ upColor: '#127a3e', downColor: '#b42318', wickUpColor: '#127a3e', wickDownColor: '#b42318', borderVisible: false, autoscaleInfoProvider });
  candles.sort((a, b) => a.time - b.time);
  series.setData(candles);
  for (const line of levels) series.createPriceLine(line);
  series.setMarkers(markers(subject, TIMEFRAME_SECONDS[timeframe] || 900, candles[0].time, candles[candles.length - 1].time));
  chart.timeScale().fitContent();
  el.dataset.chart = 'ready'; // drawn with data (screenshots and tests wait for this)
  return chart;
}
