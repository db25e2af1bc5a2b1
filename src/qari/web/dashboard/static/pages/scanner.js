// @ts-check
// Scanner: the latest cycle — symbols, scores, which layers agreed, and which gate check blocked what.
// `/scans/latest` answers the `LatestScan` schema of /openapi.json (qari/web/schemas/scans.py; its
// typedef in api-types.js): the fields below are read by those names, not guessed.
import { clear, fmtNum, fmtTime, h, optional, table } from '../lib.js';
import { replayButton } from './trades.js';
import { layer, plain, plainText } from '../words.js';

/** @param {import('../api-types.js').ScanResult} row */
function agreed(row) {
  const list = row.layers_agreed;
  return list.length ? list.map((n, i) => [i ? ', ' : '', layer(n)]) : '—';
}

export default function scanner() {
  /** @type {{scan: import('../api-types.js').LatestScan | null, gate: import('../api-types.js').GateEvaluationList | null}} */
  const data = { scan: null, gate: null };
  let scanEl = null;
  let gateEl = null;

  function drawScan() {
    const scan = data.scan;
    if (!scan) { clear(scanEl, h('h2', {}, 'Latest scan'), h('p', { class: 'muted' }, 'No scan cycle has run yet.')); return; }
    const rows = scan.results; // best score first (ties by symbol), as the API sends them
    clear(scanEl, h('h2', {}, 'Latest scan'),
      h('p', { class: 'small muted' }, `Cycle ${scan.cycle_id} · ${scan.exchange} · ${fmtTime(scan.finished_at)} · ${rows.length} symbols · ${scan.candidates} candidates · exchange ${scan.health}`),
      scan.error ? h('div', { class: 'notice warn small' }, scan.error) : null,
      scan.entries_allowed === false ? h('div', { class: 'notice warn small' }, 'New entries are paused on this exchange right now.') : null,
      scan.why_nothing_entered ? h('div', { class: 'notice small', id: 'why-nothing-entered' }, `Nothing entered: ${scan.why_nothing_entered}`) : null,
      table([
        { label: 'Symbol', value: (r) => r.symbol },
        { label: 'Score', num: true, value: (r) => fmtNum(r.score, 2) },
        { label: 'Agreeing layers', value: agreed },
        { label: 'Setup', value: (r) => (r.candidate ? h('span', { class: 'badge good' }, 'candidate') : (r.vetoes.length ? h('span', { class: 'badge bad' }, 'vetoed') : h('span', { class: 'badge' }, 'no setup'))) },
        { label: 'Risk gate', value: (r) => (r.gate ? h('span', { class: `badge ${r.gate.passed ? 'good' : 'bad'}` }, r.gate.passed ? 'passed' : ['blocked: ', plain(r.gate.blocking_code)]) : '—') },
        { label: 'Why', value: (r) => (r.why ? plainText(r.why) : r.gate && !r.gate.passed ? plainText(r.gate.reason) : r.vetoes.map((v, i) => [i ? '; ' : '', plain(v)])) },
        { label: 'Replay', value: (r) => replayButton(r.decision_id, 'Replay') ?? '—' },
      ], rows, 'The latest cycle produced no results.'));
  }

  function drawGate() {
    const rows = data.gate ? data.gate.evaluations : [];
    clear(gateEl, h('h2', {}, 'Risk gate decisions'),
      data.gate === null ? h('p', { class: 'muted' }, 'Gate decisions are not available on this server yet.') : table([
        { label: 'Time', value: (g) => fmtTime(g.at) },
        { label: 'Symbol', value: (g) => g.symbol },
        { label: 'Result', value: (g) => h('span', { class: `badge ${g.passed ? 'good' : 'bad'}` }, g.passed ? 'passed' : 'blocked') },
        { label: 'Blocked by', value: (g) => plain(g.blocking_code) },
        { label: 'Why', value: (g) => plainText(g.reason) },
      ], rows, 'No candidate reached the risk gate yet.'));
  }

  return {
    title: 'Scanner',
    async render(root) {
      [data.scan, data.gate] = await Promise.all([optional('/scans/latest').catch(() => null), optional('/gate-evaluations').catch(() => null)]);
      scanEl = h('div', { class: 'card', id: 'scan' });
      gateEl = h('div', { class: 'card', id: 'gate' });
      clear(root, h('h1', {}, 'Scanner'), scanEl, gateEl);
      drawScan();
      drawGate();
    },
    onChange(resource, payload) {
      if (resource === 'scan') { data.scan = payload; drawScan(); }
      if (resource === 'gate_evaluations') { data.gate = payload; drawGate(); }
    },
  };
}
