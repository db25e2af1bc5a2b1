"""One analysis pass over freqtrade-style candle files, as `qari scan` and the benchmark run it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from qari.analysis.engine import analyse_many
from qari.analysis.verdict import Verdict
from qari.core.market import CandleSeries, MarketContext
from qari.core.time import from_ms
from qari.market.candle_files import discover, load_candle_file
from qari.market.snapshots import build_snapshots

LOAD_TIMEFRAMES = ("15m", "1h", "4h", "1d")


def normalise_pair(text: str) -> str:
    """ "btc_usdt", "BTC-USDT" or "BTC/USDT" → "BTC/USDT"."""
    t = text.strip().upper().replace("_", "/").replace("-", "/")
    return t if "/" in t else f"{t}/USDT"


def load_series(data_dir: Path, pairs: Iterable[str] | None = None) -> dict[str, dict[str, CandleSeries]]:
    """Load the analysis timeframes (15m or 1h, 4h, 1d) per symbol; 1h only where 15m is missing."""
    files = discover(data_dir)
    wanted = {normalise_pair(p) for p in pairs} if pairs else None
    symbols = sorted({s for s, tf in files if tf in LOAD_TIMEFRAMES})
    out: dict[str, dict[str, CandleSeries]] = {}
    for symbol in symbols:
        if wanted is not None and symbol not in wanted and symbol != "BTC/USDT":
            continue
        tfs = [tf for tf in ("15m", "4h", "1d") if (symbol, tf) in files]
        if "15m" not in tfs or "4h" not in tfs or "1d" not in tfs:
            tfs.append("1h")
        out[symbol] = {tf: load_candle_file(files[(symbol, tf)]) for tf in tfs if (symbol, tf) in files}
    return out


def run_pass(
    series: Mapping[str, Mapping[str, CandleSeries]],
    at_ms: int,
    symbols: list[str],
    context: MarketContext | None = None,
) -> dict[str, Verdict]:
    snaps = build_snapshots(series, at_ms, symbols=symbols, context=context)
    return analyse_many(snaps)


def scan_entry(v: Verdict) -> dict[str, Any]:
    """One symbol in `qari scan --json`: exactly layers, score, agreeing and candidate."""
    return {
        "layers": [r.to_dict() for r in v.layers],
        "score": v.score,
        "agreeing": v.agreeing,
        "candidate": v.candidate.to_dict() if v.candidate else None,
    }


def to_json(at_ms: int, verdicts: Mapping[str, Verdict]) -> str:
    """Byte-stable JSON: sorted keys, floats already rounded by the layers, no NaN."""
    body: dict[str, Any] = {
        "at": from_ms(at_ms).isoformat().replace("+00:00", "Z"),
        "symbols": {s: scan_entry(v) for s, v in sorted(verdicts.items())},
    }
    return json.dumps(body, sort_keys=True, allow_nan=False, ensure_ascii=False)


def to_text(at_ms: int, verdicts: Mapping[str, Verdict]) -> str:
    lines = [f"QARI scan at {from_ms(at_ms).isoformat()}"]
    for symbol, v in sorted(verdicts.items()):
        veto = f" vetoes={','.join(v.vetoes)}" if v.vetoes else ""
        lines.append(f"\n{symbol}  score={v.score:.3f}  agreeing={v.agreeing}{veto}")
        for r in v.layers:
            lines.append(f"  L{r.layer:02d} {r.name:<20} {r.vote!s:<8} {r.score:.2f}  {r.explanation}")
        c = v.candidate
        if c is None:
            lines.append("  candidate: none")
        else:
            lines.append(
                f"  CANDIDATE entry {c.entry_low}–{c.entry_high} stop {c.stop} PT1 {c.pt1} PT2 {c.pt2}\n"
                f"  {c.explanation}"
            )
    return "\n".join(lines)
