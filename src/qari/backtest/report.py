"""report.html: one self-contained file (inline SVG and CSS, no scripts from anywhere).

Equity curve, drawdown, and a price chart per traded symbol with each trade's entry and exit
marked; the trade table carries the plain-English explanation.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from qari.backtest.metrics import EquityPoint, OpenPosition, Summary, TradeRecord, drawdown_series

WIDTH = 960
HEIGHT = 220
PAD = 44
MAX_POINTS = 1200

PriceSeries = Sequence[tuple[int, float]]  # (epoch ms, close)


CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    """USDT as a person reads it: cents, thousands separated."""
    cents = value.quantize(CENT, ROUND_HALF_UP)
    return f"{abs(cents) if cents == 0 else cents:,.2f}"  # never "-0.00"


def to_step(value: Decimal, step: str | None) -> str:
    """A price or quantity rounded to the market's step (tick size / amount step; half up) and shown
    with the step's decimals; unchanged when the market's precision is unknown."""
    try:
        quantum = Decimal(step or "0").normalize()
    except InvalidOperation:
        return str(value)
    if quantum <= 0:
        return str(value)
    steps = (value / quantum).to_integral_value(ROUND_HALF_UP)
    exponent = min(0, int(quantum.as_tuple().exponent))
    return str((steps * quantum).quantize(Decimal(1).scaleb(exponent)))


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.2f} %"


def headline(summary: Summary) -> list[tuple[str, str]]:
    """The figures the console prints and the report's cards show, formatted once for both."""
    pf = "—" if summary.profit_factor is None else f"{summary.profit_factor:.2f}"
    figures = [
        ("Closed trades", str(summary.trades)),
        ("Win rate", f"{summary.win_rate * 100:.1f} %"),
        ("Average R", f"{summary.average_r:.2f}"),
        ("Profit factor", pf),
        ("Net P&L (closed)", f"{money(summary.net_pnl_usdt)} USDT"),
        ("Open at end", str(len(summary.open_positions))),
        ("Unrealised P&L", f"{money(summary.unrealised_pnl_usdt)} USDT"),
        ("End equity", f"{money(summary.end_equity_usdt)} USDT"),
        ("Return", pct(summary.return_pct)),
        ("Market change", pct(summary.market_change_pct)),
        ("Max drawdown", f"{summary.max_drawdown_pct:.2f} %"),
    ]
    return figures


def headline_text(summary: Summary) -> str:
    return ", ".join(f"{label} {value}" for label, value in headline(summary))


def equity_bridge(summary: Summary) -> str:
    """How the end equity adds up, so no figure has to be taken on trust."""
    return (
        f"End equity {money(summary.end_equity_usdt)} = start {money(summary.start_balance_usdt)}"
        f" + closed {money(summary.net_pnl_usdt)} + open {money(summary.unrealised_pnl_usdt)}"
        f" + coin dust and rounding {money(summary.other_equity_usdt)} USDT"
    )


def _downsample(points: Sequence[tuple[float, float]], limit: int = MAX_POINTS) -> list[tuple[float, float]]:
    if len(points) <= limit:
        return list(points)
    step = len(points) / limit
    picked = [points[int(i * step)] for i in range(limit)]
    picked.append(points[-1])
    return picked


class _Frame:
    """Maps data coordinates to the SVG viewport."""

    def __init__(self, xs: Sequence[float], ys: Sequence[float]) -> None:
        self.x0, self.x1 = min(xs), max(xs)
        self.y0, self.y1 = min(ys), max(ys)
        if self.x1 == self.x0:
            self.x1 = self.x0 + 1
        if self.y1 == self.y0:
            self.y1 = self.y0 + 1

    def x(self, value: float) -> float:
        return PAD + (value - self.x0) / (self.x1 - self.x0) * (WIDTH - 2 * PAD)

    def y(self, value: float) -> float:
        return HEIGHT - PAD / 2 - (value - self.y0) / (self.y1 - self.y0) * (HEIGHT - PAD)


def _axis_labels(frame: _Frame, fmt_y: str) -> str:
    start = dt.datetime.fromtimestamp(frame.x0 / 1000, tz=dt.UTC).strftime("%Y-%m-%d")
    end = dt.datetime.fromtimestamp(frame.x1 / 1000, tz=dt.UTC).strftime("%Y-%m-%d")
    top = format(frame.y1, fmt_y)
    bottom = format(frame.y0, fmt_y)
    return (
        f'<text x="{PAD}" y="{HEIGHT - 4}" class="ax">{start}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 4}" class="ax" text-anchor="end">{end}</text>'
        f'<text x="4" y="{PAD / 2 + 4}" class="ax">{top}</text>'
        f'<text x="4" y="{HEIGHT - PAD / 2}" class="ax">{bottom}</text>'
    )


def _polyline(points: Sequence[tuple[float, float]], frame: _Frame, css: str) -> str:
    coords = " ".join(f"{frame.x(x):.1f},{frame.y(y):.2f}" for x, y in points)
    return f'<polyline class="{css}" points="{coords}"/>'


def _svg(body: str, title: str) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(title)}">'
        f"<title>{html.escape(title)}</title>{body}</svg>"
    )


def equity_svg(equity: Sequence[EquityPoint]) -> str:
    if not equity:
        return "<p>No equity data.</p>"
    points = _downsample([(p.at.timestamp() * 1000, float(p.equity)) for p in equity])
    frame = _Frame([x for x, _ in points], [y for _, y in points])
    return _svg(_axis_labels(frame, ",.2f") + _polyline(points, frame, "eq"), "Equity curve (USDT)")


def drawdown_svg(equity: Sequence[EquityPoint]) -> str:
    if not equity:
        return "<p>No equity data.</p>"
    dd = drawdown_series([p.equity for p in equity])
    points = _downsample([(p.at.timestamp() * 1000, -v * 100) for p, v in zip(equity, dd, strict=True)])
    frame = _Frame([x for x, _ in points], [y for _, y in points] + [0.0])
    return _svg(_axis_labels(frame, ".2f") + _polyline(points, frame, "dd"), "Drawdown (%)")


def price_svg(
    symbol: str, prices: PriceSeries, trades: Sequence[TradeRecord], tick: str | None = None
) -> str:
    if not prices:
        return "<p>No price data.</p>"
    points = _downsample([(float(ms), close) for ms, close in prices])
    ys = (
        [y for _, y in points]
        + [float(t.entry_price) for t in trades]
        + [float(t.exit_price) for t in trades]
    )
    frame = _Frame([x for x, _ in points], ys)
    marks: list[str] = []
    for n, t in enumerate(trades, start=1):
        ex, ey = frame.x(t.entry_time.timestamp() * 1000), frame.y(float(t.entry_price))
        xx, xy = frame.x(t.exit_time.timestamp() * 1000), frame.y(float(t.exit_price))
        css = "win" if t.pnl_usdt > 0 else "loss"
        tip = html.escape(
            f"#{n} {t.symbol} entry {to_step(t.entry_price, tick)} at {t.entry_time:%Y-%m-%d %H:%M} → exit "
            f"{to_step(t.exit_price, tick)} ({t.exit_reason}) {t.r_multiple:.2f}R"
        )
        marks.append(
            f'<g class="{css}"><title>{tip}</title>'
            f'<line x1="{ex:.1f}" y1="{ey:.2f}" x2="{xx:.1f}" y2="{xy:.2f}"/>'
            f'<path d="M{ex:.1f},{ey - 7:.2f} l-5,9 h10 z" class="entry"/>'
            f'<circle cx="{xx:.1f}" cy="{xy:.2f}" r="4" class="exit"/></g>'
        )
    body = _axis_labels(frame, ",.6g") + _polyline(points, frame, "px") + "".join(marks)
    return _svg(body, f"{symbol} close with trades")


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
svg{width:100%;max-width:960px;height:auto;background:#fff;border:1px solid #dde2ea;border-radius:6px}
.eq{fill:none;stroke:#2563eb;stroke-width:1.6}.dd{fill:none;stroke:#dc2626;stroke-width:1.4}
.px{fill:none;stroke:#64748b;stroke-width:1}.ax{font-size:11px;fill:#64748b}
.win line{stroke:#16a34a;stroke-dasharray:3 2}.loss line{stroke:#dc2626;stroke-dasharray:3 2}
.entry{fill:#16a34a}.win .exit{fill:#16a34a}.loss .exit{fill:#dc2626}
table{border-collapse:collapse;font-size:12px;margin-top:8px}td,th{border:1px solid #dde2ea;padding:3px 6px}
th{background:#eef1f5;text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:8px}
.card{background:#fff;border:1px solid #dde2ea;border-radius:6px;padding:8px}
.card b{display:block;font-size:18px}
td.why{max-width:520px}
"""


def _cards(summary: Summary) -> str:
    shown = [
        *headline(summary),
        ("Expectancy", f"{money(summary.expectancy_usdt)} USDT"),
        ("Sharpe", f"{summary.sharpe:.2f}"),
        ("Exposure", f"{summary.exposure_pct:.1f} %"),
        ("Fees", f"{money(summary.fees_usdt)} USDT"),
    ]
    return (
        '<div class="grid">'
        + "".join(
            f'<div class="card">{html.escape(label)}<b>{html.escape(str(value))}</b></div>'
            for label, value in shown
        )
        + "</div>"
    )


def _counts_table(title: str, counts: Mapping[str, int], names: Mapping[str, str] | None = None) -> str:
    if not counts:
        return f"<p>No {html.escape(title.lower())}.</p>"
    names = names or {}
    rows = "".join(
        f"<tr><td>{html.escape(' — '.join(x for x in (k, names.get(k, '')) if x))}</td><td>{v}</td></tr>"
        for k, v in sorted(counts.items())
    )
    return f"<table><tr><th>{html.escape(title)}</th><th>Count</th></tr>{rows}</table>"


def _open_table(positions: Sequence[OpenPosition], precision: Mapping[str, Mapping[str, str]]) -> str:
    if not positions:
        return "<p>None: every position was closed by the end.</p>"
    head = (
        "<tr><th>Symbol</th><th>Entry</th><th>Entry price</th><th>Quantity</th><th>Stop</th>"
        "<th>Last price</th><th>Unrealised P&amp;L USDT</th></tr>"
    )
    rows = []
    for p in positions:
        step = precision.get(p.symbol, {})
        cells = (
            p.symbol,
            f"{p.entry_time:%Y-%m-%d %H:%M}",
            to_step(p.entry_price, step.get("price")),
            to_step(p.quantity, step.get("amount")),
            to_step(p.stop, step.get("price")),
            to_step(p.mark_price, step.get("price")),
            money(p.unrealised_pnl_usdt),
        )
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _trades_table(trades: Sequence[TradeRecord], precision: Mapping[str, Mapping[str, str]]) -> str:
    if not trades:
        return "<p>No trades.</p>"
    head = (
        "<tr><th>#</th><th>Symbol</th><th>Entry</th><th>Exit</th><th>Entry price</th><th>Exit price</th>"
        "<th>Stop</th><th>PT1</th><th>PT2</th><th>Reason</th><th>P&amp;L USDT</th><th>R</th>"
        "<th>Layers</th><th>Why</th></tr>"
    )
    rows = []
    for n, t in enumerate(trades, start=1):
        tick = precision.get(t.symbol, {}).get("price")
        cells = (
            n,
            t.symbol,
            f"{t.entry_time:%Y-%m-%d %H:%M}",
            f"{t.exit_time:%Y-%m-%d %H:%M}",
            to_step(t.entry_price, tick),
            to_step(t.exit_price, tick),
            to_step(t.initial_stop, tick),
            to_step(t.pt1, tick),
            to_step(t.pt2, tick),
            t.exit_reason,
            money(t.pnl_usdt),
            f"{t.r_multiple:.2f}",
            ",".join(str(n) for n in t.layers_agreed),
        )
        tds = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
        rows.append(f'<tr>{tds}<td class="why">{html.escape(t.explanation)}</td></tr>')
    return f"<table>{head}{''.join(rows)}</table>"


def render_report(
    summary: Summary,
    trades: Sequence[TradeRecord],
    equity: Sequence[EquityPoint],
    prices: Mapping[str, PriceSeries],
    *,
    title: str = "QARI backtest",
) -> str:
    by_symbol: dict[str, list[TradeRecord]] = {}
    for t in trades:
        by_symbol.setdefault(t.symbol, []).append(t)
    ticks = {symbol: step.get("price") for symbol, step in summary.precision.items()}
    charts = "".join(
        f"<h3>{html.escape(symbol)}</h3>"
        f"{price_svg(symbol, prices.get(symbol, ()), symbol_trades, ticks.get(symbol))}"
        for symbol, symbol_trades in sorted(by_symbol.items())
    )
    blocks = _counts_table("Check", summary.gate_blocks, summary.gate_block_names)
    period = ""
    if summary.start and summary.end:
        period = f"{summary.start:%Y-%m-%d %H:%M} → {summary.end:%Y-%m-%d %H:%M} UTC"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(period)}</p>"
        f'<p class="headline">{html.escape(headline_text(summary))}</p>'
        f"<p>{html.escape(equity_bridge(summary))}</p>"
        f"{_cards(summary)}"
        f"<h2>Open positions at the end (marked to the last price)</h2>"
        f"{_open_table(summary.open_positions, summary.precision)}"
        f"<h2>Equity curve</h2>{equity_svg(equity)}"
        f"<h2>Drawdown</h2>{drawdown_svg(equity)}"
        f"<h2>Trades on price</h2>{charts or '<p>No trades.</p>'}"
        f"<h2>Gate blocks per check</h2>{blocks}"
        f"<h2>Exit reasons</h2>{_counts_table('Exit reason', summary.exit_reasons)}"
        f"<h2>Trades</h2>{_trades_table(trades, summary.precision)}"
        "</body></html>\n"
    )
