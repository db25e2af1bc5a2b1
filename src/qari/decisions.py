"""Decisions as data: what one analysis or one gate saw and said, and its exact replay.

An *analysis decision* (per cycle, exchange and symbol) keeps the closed candles the analysis read
(only its windows, warm-up included: `analysis.context.read_windows`) as content-hashed, compressed
blobs, the other context data, the engine and weights versions, and the verdict with every layer's
vote, score and evidence. A *user decision* is the gate evaluation already journaled per user and
candidate, plus the `GateContext` its 16 checks read. Replay re-runs the analysis (or the gate) on the
stored inputs only and diffs the result against the record: identical inputs and code give none.

Everything here is pure (no database): the persistence adapter stores `AnalysisRecord`s and blobs. It
sits beside `ports.py`, not in `engine/`, because the engine writes these records, persistence stores
them, and services, web and learning read their versions: every ring shares the format, so it may
import only the core rings (analysis, risk, learning's stages), never an adapter.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
import json
import math
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
from pydantic import TypeAdapter

import qari
from qari.analysis.confluence import weighted_score
from qari.analysis.context import read_windows
from qari.analysis.engine import analyse, screen
from qari.analysis.layer import LayerResult, Vote
from qari.analysis.verdict import Verdict
from qari.analysis.weights import WeightSet, stage1
from qari.core.market import CandleSeries, MarketContext, MarketSnapshot, OrderBook, Ticker
from qari.core.time import timeframe_ms
from qari.learning.stages import Stage3Model, scored
from qari.risk.context import GateContext
from qari.risk.gate import GateDecision, evaluate_gate

METHODS: dict[str, Callable[[MarketSnapshot, WeightSet | None], Verdict]] = {
    "analyse": analyse,
    "screen": screen,
}
_GATE_CONTEXT = TypeAdapter(GateContext)


# ------------------------------------------------------------------------------------ versions


@cache
def engine_version() -> str:
    """The package version plus a fingerprint of the analysis source: a replay under other analysis
    code says so instead of reporting a mysterious difference."""
    digest = hashlib.sha256()
    root = resources.files("qari.analysis")
    stack = [root]
    files = []
    while stack:
        node = stack.pop()
        for child in node.iterdir():
            if child.is_dir():
                stack.append(child)
            elif child.name.endswith((".py", ".json")):
                files.append(child)
    for f in sorted(files, key=lambda f: str(f)):
        digest.update(f.name.encode())
        digest.update(f.read_bytes())
    return f"{qari.__version__}+{digest.hexdigest()[:12]}"


def weights_json(weights: WeightSet) -> dict[str, Any]:
    return {
        "name": weights.name,
        "points": {str(i + 1): p for i, p in enumerate(weights.points)},
        "threshold": weights.threshold,
        "min_agreeing": weights.min_agreeing,
        "ele_min_agreeing": weights.ele_min_agreeing,
    }


def weights_version(weights: WeightSet) -> str:
    text = json.dumps(weights_json(weights), sort_keys=True)
    return f"{weights.name}:{hashlib.sha256(text.encode()).hexdigest()[:12]}"


# ------------------------------------------------------------------------------------- candles

_INT = np.dtype("<i8")
CHUNK = 64  # candles per stored chunk (aligned on time: open time // (timeframe * CHUNK))
_FLOAT = np.dtype("<f8")


def candle_hash(series: CandleSeries) -> str:
    """Content hash of a candle window (timeframe, times, OHLCV): equal windows share one blob."""
    digest = hashlib.sha256(series.timeframe.encode())
    for column in _columns(series):
        digest.update(column.tobytes())
    return digest.hexdigest()


def _columns(series: CandleSeries) -> list[np.ndarray]:
    return [
        np.ascontiguousarray(series.ts, dtype=_INT),
        *(
            np.ascontiguousarray(c, dtype=_FLOAT)
            for c in (series.open, series.high, series.low, series.close, series.volume)
        ),
    ]


def pack_candles(series: CandleSeries) -> bytes:
    """Byte-shuffled (each 8-byte value's bytes grouped by position) then zlib: exact float64 bits,
    about a third of the raw size on real candles."""
    raw = np.stack([c.view(np.uint8).reshape(-1, 8) for c in _columns(series)])  # (6, n, 8)
    return zlib.compress(np.ascontiguousarray(raw.transpose(0, 2, 1)).tobytes(), 6)


def unpack_candles(symbol: str, timeframe: str, blob: bytes) -> CandleSeries:
    flat = np.frombuffer(zlib.decompress(blob), dtype=np.uint8)
    n = flat.size // 48
    cols = np.ascontiguousarray(flat.reshape(6, 8, n).transpose(0, 2, 1))
    ts = cols[0].reshape(-1).view(_INT).astype(np.int64)
    o, h, lo, c, v = (cols[i].reshape(-1).view(_FLOAT).astype(np.float64) for i in range(1, 6))
    return CandleSeries(symbol, timeframe, ts, o, h, lo, c, v)


# -------------------------------------------------------------------------------------- record


@dataclass(frozen=True, slots=True)
class AnalysisRecord:
    """One analysis decision, ready to store: `inputs` and `verdict` are JSON; `blobs` by hash."""

    symbol: str
    at_ms: int
    method: str
    engine_version: str
    weights_version: str
    inputs: dict[str, Any]
    verdict: dict[str, Any]
    blobs: dict[str, tuple[str, int, bytes]]  # hash -> (timeframe, candles, packed)


def _array(values: np.ndarray | None) -> list[Any] | None:
    if values is None:
        return None
    return [None if not np.isfinite(x) else float(x) for x in np.asarray(values, dtype=np.float64)]


def chunks(series: CandleSeries, window: CandleSeries) -> list[CandleSeries]:
    """`window` (a tail of `series`' closed candles) widened back to the start of its first time
    bucket of `CHUNK` candles and cut at bucket starts: every chunk but the newest is complete and
    the same from cycle to cycle, so a new candle costs one small chunk, not a whole window. The
    extra older candles change nothing: the analysis keeps the last candles of each window."""
    if not len(window):
        return [window]
    span = timeframe_ms(series.timeframe) * CHUNK
    first = int(window.ts[0]) // span * span
    start = int(np.searchsorted(series.ts, first, side="left"))
    stop = int(np.searchsorted(series.ts, int(window.ts[-1]), side="right"))
    wide = series.window(start, stop)
    cuts = [0, *(np.flatnonzero(np.diff(wide.ts // span)) + 1).tolist(), len(wide)]
    return [wide.window(a, b) for a, b in itertools.pairwise(cuts)]


def _series_refs(
    series: Mapping[str, CandleSeries], at_ms: int, blobs: dict[str, tuple[str, int, bytes]]
) -> dict[str, list[str]]:
    refs: dict[str, list[str]] = {}
    for tf, window in read_windows(series, at_ms).items():
        refs[tf] = []
        for chunk in chunks(series[tf], window):
            key = candle_hash(chunk)
            if key not in blobs:
                blobs[key] = (tf, len(chunk), pack_candles(chunk))
            refs[tf].append(key)
    return refs


def _ticker_json(t: Ticker | None) -> dict[str, Any] | None:
    if t is None:
        return None
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in dataclasses.asdict(t).items()}


def _book_json(b: OrderBook | None) -> dict[str, Any] | None:
    if b is None:
        return None
    return {
        "bids": [[str(p), str(q)] for p, q in b.bids],
        "asks": [[str(p), str(q)] for p, q in b.asks],
        "ts_ms": b.ts_ms,
    }


def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """Everything the verdict says, as JSON values (what a replay must reproduce exactly)."""
    c = verdict.candidate
    return _normal(
        {
            "symbol": verdict.symbol,
            "at_ms": verdict.at_ms,
            "score": verdict.score,
            "agreeing": verdict.agreeing,
            "vetoes": list(verdict.vetoes),
            "screened": verdict.screened,
            "layers": [{**r.to_dict(), "veto": r.veto} for r in verdict.layers],
            "candidate": None
            if c is None
            else {
                **c.to_dict(),
                "symbol": c.symbol,
                "layers_agreed": list(c.layers_agreed),
                "score": c.score,
                "setup": c.setup,
            },
        }
    )


def _normal(value: Any) -> Any:
    """The value as it reads back from a JSON column (tuples become lists, keys strings)."""
    return json.loads(json.dumps(value))


def record_analysis(
    snapshot: MarketSnapshot,
    verdict: Verdict,
    *,
    method: str = "analyse",
    weights: WeightSet | None = None,
    model: str | None = None,
) -> AnalysisRecord:
    """`model`: the active Stage 3 version that scaled the verdict's score (None: none did)."""
    weights = weights or stage1()
    blobs: dict[str, tuple[str, int, bytes]] = {}
    ctx = snapshot.context
    inputs = {
        "symbol": snapshot.symbol,
        "at_ms": snapshot.at_ms,
        "series": _series_refs(snapshot.series, snapshot.at_ms, blobs),
        "book": _book_json(snapshot.book),
        "ticker": _ticker_json(snapshot.ticker),
        "context": {
            "funding_rate": ctx.funding_rate,
            "fear_greed": ctx.fear_greed,
            "open_interest": _array(ctx.open_interest),
            "btc_dominance": _array(ctx.btc_dominance),
            "btc_dominance_ts": None
            if ctx.btc_dominance_ts is None
            else [int(x) for x in ctx.btc_dominance_ts],
            "btc": None if ctx.btc is None else _series_refs(ctx.btc, snapshot.at_ms, blobs),
        },
        "weights": weights_json(weights),
    }
    if model is not None:
        inputs["model"] = model
    return AnalysisRecord(
        snapshot.symbol,
        snapshot.at_ms,
        method,
        engine_version(),
        weights_version(weights),
        _normal(inputs),
        verdict_json(verdict),
        blobs,
    )


def _float_array(values: list[Any] | None) -> np.ndarray | None:
    if values is None:
        return None
    return np.array([np.nan if x is None else x for x in values], dtype=np.float64)


def _joined(parts: list[CandleSeries]) -> CandleSeries:
    first = parts[0]
    if len(parts) == 1:
        return first
    cat = [
        np.concatenate([getattr(p, f) for p in parts])
        for f in ("ts", "open", "high", "low", "close", "volume")
    ]
    return CandleSeries(first.symbol, first.timeframe, *cat)


def candle_refs(inputs: Mapping[str, Any]) -> set[str]:
    """Every candle chunk hash a record's inputs name."""
    named = [inputs["series"], inputs["context"].get("btc") or {}]
    return {key for refs in named for keys in refs.values() for key in keys}


def rebuild_snapshot(inputs: Mapping[str, Any], blobs: Mapping[str, bytes]) -> MarketSnapshot:
    """The snapshot a record's inputs describe; `blobs` by hash (a missing one raises KeyError)."""
    symbol = str(inputs["symbol"])

    def series(refs: Mapping[str, list[str]], owner: str) -> dict[str, CandleSeries]:
        return {tf: _joined([unpack_candles(owner, tf, blobs[k]) for k in keys]) for tf, keys in refs.items()}

    c = inputs["context"]
    btc_symbol = "BTC/" + symbol.split("/")[-1]
    book = inputs.get("book")
    ticker = inputs.get("ticker")
    return MarketSnapshot(
        symbol,
        int(inputs["at_ms"]),
        series(inputs["series"], symbol),
        book=None
        if book is None
        else OrderBook(
            symbol,
            tuple((Decimal(p), Decimal(q)) for p, q in book["bids"]),
            tuple((Decimal(p), Decimal(q)) for p, q in book["asks"]),
            book["ts_ms"],
        ),
        ticker=None
        if ticker is None
        else Ticker(
            ticker["symbol"],
            Decimal(ticker["last"]),
            None if ticker["bid"] is None else Decimal(ticker["bid"]),
            None if ticker["ask"] is None else Decimal(ticker["ask"]),
            None if ticker["quote_volume_24h"] is None else Decimal(ticker["quote_volume_24h"]),
            ticker["ts_ms"],
        ),
        context=MarketContext(
            funding_rate=c["funding_rate"],
            open_interest=_float_array(c["open_interest"]),
            fear_greed=c["fear_greed"],
            btc_dominance=_float_array(c["btc_dominance"]),
            btc=None if c["btc"] is None else series(c["btc"], btc_symbol),
            btc_dominance_ts=None
            if c["btc_dominance_ts"] is None
            else np.array(c["btc_dominance_ts"], dtype=np.int64),
        ),
    )


# -------------------------------------------------------------------------------------- replay


@dataclass(frozen=True, slots=True)
class Replay:
    """What a replay found: `differences` empty means the decision was reproduced exactly."""

    decision_id: str
    kind: str  # "analysis" | "gate"
    differences: list[str]
    notes: list[str]  # version changes etc.: context for a difference, not a difference themselves

    @property
    def identical(self) -> bool:
        return not self.differences


def diff(recorded: Any, replayed: Any, path: str = "") -> list[str]:
    """Every leaf where two JSON values differ, as `path: recorded -> replayed`."""
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        out: list[str] = []
        for key in sorted(set(recorded) | set(replayed), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in recorded or key not in replayed:
                out.append(f"{sub}: {recorded.get(key, '<absent>')!r} -> {replayed.get(key, '<absent>')!r}")
            else:
                out.extend(diff(recorded[key], replayed[key], sub))
        return out
    if isinstance(recorded, list) and isinstance(replayed, list) and len(recorded) == len(replayed):
        pairs = enumerate(zip(recorded, replayed, strict=True))
        return [d for i, (a, b) in pairs for d in diff(a, b, f"{path}[{i}]")]
    if recorded != replayed:
        return [f"{path or '.'}: {recorded!r} -> {replayed!r}"]
    return []


def replay_analysis(
    decision_id: str,
    *,
    method: str,
    engine: str,
    weights: str,
    inputs: Mapping[str, Any],
    verdict: Mapping[str, Any],
    blobs: Mapping[str, bytes],
    model: Stage3Model | None = None,
) -> Replay:
    """`model`: the registry's Stage 3 model the record names (`inputs["model"]`), scoring as the
    engine did (`learning.stages.scored`)."""
    snapshot = rebuild_snapshot(inputs, blobs)
    weight_set = WeightSet.from_mapping(inputs["weights"])
    replayed = verdict_json(scored(METHODS[method](snapshot, weight_set), model, weight_set))
    notes = []
    if inputs.get("model") is not None and model is None:
        notes.append(f"Stage 3 model {inputs['model']} is not in the registry: replayed without it")
    if engine != engine_version():
        notes.append(f"recorded by engine {engine}, replayed by {engine_version()}")
    if weights != weights_version(weight_set):
        notes.append(f"recorded weights {weights}, replayed with {weights_version(weight_set)}")
    return Replay(decision_id, "analysis", diff(dict(verdict), replayed), notes)


# ---------------------------------------------------------------------------------------- gate


def _finite_json(value: Any) -> Any:
    """Non-finite floats as the strings pydantic reads back ("nan", "inf"): strict JSON (PostgreSQL
    rejects NaN tokens) that still validates to the same GateContext."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, list):
        if _finite_numbers(value):
            return value  # the common list, daily closes: nothing to change
        return [_finite_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite_json(v) for k, v in value.items()}
    return value


def _finite_numbers(values: list[Any]) -> bool:
    """Whether `values` holds only finite numbers, by one C-level sum (no call per element). A list
    with anything else, or whose sum overflows, takes the element-wise path."""
    try:
        return math.isfinite(math.fsum(values))
    except (TypeError, OverflowError):
        return False


def personal_scoring(weights: WeightSet, layers: Sequence[LayerResult]) -> dict[str, Any]:
    """A Premium user's own scoring of a shared candidate: the weights (and their version), the layer
    results they were applied to and the score, so the user decision replays exactly."""
    return _normal(
        {
            "weights_version": weights_version(weights),
            "weights": weights_json(weights),
            "layers": [[r.layer, r.vote.value, r.score] for r in layers],
            "score": weighted_score(tuple(layers), weights),
        }
    )


def _rescore(scoring: Mapping[str, Any]) -> dict[str, Any]:
    weights = WeightSet.from_mapping(scoring["weights"])
    layers = [LayerResult(int(c), "", Vote(v), float(x)) for c, v, x in scoring["layers"]]
    return personal_scoring(weights, layers)


def gate_inputs(
    ctx: GateContext, analysis_at: dt.datetime | None = None, scoring: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The gate's inputs as JSON (pydantic's dataclass serialisation: Decimals as exact strings), the
    cycle time of the analysis decision that made the candidate and, for a Premium user, the personal
    scoring that let the candidate through (`personal_scoring`)."""
    out = {
        "context": _finite_json(_GATE_CONTEXT.dump_python(ctx, mode="json")),
        "engine_version": engine_version(),
        "analysis_at": None if analysis_at is None else analysis_at.isoformat(),
    }
    if scoring is not None:
        out["scoring"] = _normal(dict(scoring))
    return out


def gate_results_json(decision: GateDecision) -> list[dict[str, Any]]:
    return [
        {"code": r.code, "name": r.name, "passed": r.passed, "reason": r.reason} for r in decision.results
    ]


def replay_gate(decision_id: str, inputs: Mapping[str, Any], results: list[dict[str, Any]]) -> Replay:
    ctx = _GATE_CONTEXT.validate_python(inputs["context"])
    replayed = gate_results_json(evaluate_gate(ctx))
    notes = []
    if inputs.get("engine_version") != engine_version():
        notes.append(f"recorded by engine {inputs.get('engine_version')}, replayed by {engine_version()}")
    differences = diff(_normal(results), _normal(replayed))
    scoring = inputs.get("scoring")
    if scoring is not None:
        differences += diff(dict(scoring), _rescore(scoring), "scoring")
    return Replay(decision_id, "gate", differences, notes)
