"""One home for how the tests drive the offline demo market (scenarios.py), shared by the API-level
demo test (tests/integration/demo) and the browser first-hour test (tests/browser)."""

from __future__ import annotations

# The limits (issue 17), measured from the one-click sandbox connect, at the default demo speed.
FIRST_POSITION_LIMIT_S = 5 * 60
CLOSED_TRADE_LIMIT_S = 15 * 60

# An hour of market time before ETH/USDT's pullback into its order block (scenarios.py): the fast runs
# start at a known moment, and once in a position run FAST_SPEEDUP times faster through the rally to the
# close; the soak runs start wherever "now" falls in the scenario cycle, at the default speed throughout.
FAST_START = "2026-12-01T12:38:00Z"
FAST_SPEED = 480.0
FAST_SPEEDUP = 3
# Seconds a fast run may take from the connect click before the demo counts as stuck: typically 20-45 s
# on this 2-core machine; a machine loaded by the other test worker lags the accelerated clock.
FAST_LIMIT_S = 150.0
