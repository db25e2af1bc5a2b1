// Plain English for the codes the engine records (gate checks, exit reasons, states, vetoes, chart
// terms). The one home of these labels: every page shows `plain(code)`, with the code as its tooltip.
import { h } from './lib.js';

const WORDS = {
  // Risk gate checks (G01–G16)
  G01: 'Auto-trading is on', G02: 'Subscription active', G03: 'Market tradable', G04: 'Not on a blacklist',
  G05: 'No position already open on this pair', G06: 'Plan has room for another position', G07: 'Enough free USDT',
  G08: 'Order above the exchange minimum', G09: 'Spread narrow enough', G10: 'No other entry in progress on this pair',
  G11: 'No recent stop-loss on this pair (cooldown)', G12: 'Not too correlated with open positions',
  G13: 'Reward at least twice the risk', G14: 'Daily and weekly loss limits not reached', G15: 'Stop-loss within 10–30 %',
  G16: 'Exchange key healthy',
  trading_active: 'Auto-trading is on', subscription_valid: 'Subscription active', symbol_tradable: 'Market tradable',
  not_blacklisted: 'Not on a blacklist', no_duplicate: 'No position already open on this pair', tier_capacity: 'Plan has room for another position',
  capital_available: 'Enough free USDT', minimum_order_size: 'Order above the exchange minimum', spread_limit: 'Spread narrow enough',
  concurrency_lock: 'No other entry in progress on this pair', cooldown_clear: 'No recent stop-loss on this pair (cooldown)',
  correlation: 'Not too correlated with open positions', risk_reward: 'Reward at least twice the risk',
  kill_switch_clear: 'Daily and weekly loss limits not reached', stop_in_band: 'Stop-loss within 10–30 %', key_healthy: 'Exchange key healthy',
  // Exit reasons
  stop_loss: 'Stop-loss hit', break_even: 'Stopped out at break-even', trailing_stop: 'Trailing stop hit',
  pt2_and_trail: 'Both targets taken, rest trailed out', leg1_expired: 'Entry order expired unfilled',
  entry_rejected: 'Entry order refused by the exchange', dust: 'Closed (remainder too small to sell)', manual: 'Closed by you',
  // Position states
  pending: 'Waiting for the entry to fill', open: 'Open', pt1_taken: 'Target 1 taken', pt2_taken: 'Target 2 taken, trailing',
  closed: 'Closed', expired: 'Entry expired', canceled: 'Entry cancelled',
  // Layer vetoes and chart terms
  htf_bearish: 'Daily and 4h trend are down', btc_bearish_break: 'BTC broke down on the 4h (alts paused)',
  CHoCH: 'trend turn (change of character)', BOS: 'trend continuation (break of structure)',
  SFP: 'failed breakout (swing failure)', OB: 'order block',
};

// The 11 analysis layers by number (their names as the analysis package gives them).
const LAYERS = ['', 'Market structure', 'Liquidity & SFP', 'Order blocks & FVG', 'Volume', 'Sentiment', 'Fibonacci',
  'Indicators', 'Order book', 'VWAP', 'Session context', 'BTC dominance'];

/** A layer by number, its name in words with "L3" as the tooltip. */
export function layer(n) {
  const name = LAYERS[Number(n)];
  return name ? h('span', { class: 'code-word', title: `L${n}`, 'data-code': `L${n}` }, name) : `L${n}`;
}

/** The plain words for `code`, or the code itself tidied up when it has none. */
export function words(code) {
  if (code === null || code === undefined || code === '') return '';
  const key = String(code);
  return WORDS[key] || WORDS[key.toLowerCase()] || key.replaceAll('_', ' ');
}

/** An element showing the plain words, with the raw code as tooltip (and data-code for tests). */
export function plain(code, attrs = {}) {
  if (code === null || code === undefined || code === '') return '';
  return h('span', { class: 'code-word', title: String(code), 'data-code': String(code), ...attrs }, words(code));
}

const TERMS = /\b(G(?:0[1-9]|1[0-6])(?:\s+[a-z_]+)?|CHoCH|BOS|SFP|htf_bearish|btc_bearish_break|leg1_expired|pt2_and_trail|trailing_stop|stop_loss|break_even)\b/g;

/** Free text from the engine ("G09 spread_limit: 45 bps", "15m CHoCH confirmed") with every known
 * code replaced by its words; the original text stays available as the tooltip. */
export function plainText(text) {
  if (!text) return '';
  const out = String(text).replace(TERMS, (match) => words(match.split(/\s+/)[0]));
  return out === text ? text : h('span', { class: 'code-word', title: text }, out);
}
