"""G04 Not blacklisted: neither on the platform blacklist nor on the user's personal one."""

from __future__ import annotations

from qari.risk.check_result import CheckResult
from qari.risk.context import GateContext

CODE = "G04"
NAME = "not_blacklisted"


def _base(symbol: str) -> str:
    return symbol.split("/")[0].upper()


def _listed(symbol: str, blacklist: frozenset[str]) -> bool:
    entries = {item.upper() for item in blacklist}
    return symbol.upper() in entries or _base(symbol) in entries


def not_blacklisted(ctx: GateContext) -> CheckResult:
    if _listed(ctx.symbol, ctx.platform_blacklist):
        return CheckResult.fail(CODE, NAME, f"{ctx.symbol} is on the platform blacklist")
    if _listed(ctx.symbol, ctx.personal_blacklist):
        return CheckResult.fail(CODE, NAME, f"{ctx.symbol} is on your personal blacklist")
    return CheckResult.ok(CODE, NAME, "not blacklisted")
