"""Client order ids spelled within one venue's rules, so that every venue accepts them and a lookup by
client id finds the order again (ARCHITECTURE rule 6: the id is persisted before the order is sent).

The rules per venue are data in `qari.adapters.exchanges.capabilities`; this module only applies them.
QARI's id is `<namespace><user><sep><position><sep><role><seq>`: deterministic, and its owner prefix
(`<namespace><user><sep>`) tells QARI's orders apart from the user's own. `sep` is `-` where the venue
allows it and the letter `x` where only letters and digits are allowed (OKX): user and position ids are
digits, so the prefix stays unambiguous either way.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

LETTERS_DIGITS = frozenset(string.ascii_letters + string.digits)


@dataclass(frozen=True, slots=True)
class ClientIdRules:
    """`max_length` and `charset` as the venue counts them for the id QARI passes to ccxt; `sent_prefix`
    is what ccxt or the venue puts in front of it and reports back (Gate: `t-`)."""

    max_length: int
    charset: frozenset[str] = LETTERS_DIGITS
    sent_prefix: str = ""

    @property
    def separator(self) -> str:
        return "-" if "-" in self.charset else "x"

    def owner_prefix(self, namespace: str, user_id: int) -> str:
        return f"{namespace}{user_id}{self.separator}"

    def build(self, namespace: str, user_id: int, position_id: int, role: str, seq: int) -> str:
        """The id, or ValueError if it cannot be spelled within the rules (never silently cut: a cut
        id could collide with another order's)."""
        sep = self.separator
        cid = f"{self.owner_prefix(namespace, user_id)}{position_id}{sep}{role}{seq}"
        self.check(cid)
        return cid

    def check(self, cid: str) -> None:
        bad = sorted({c for c in cid if c not in self.charset})
        if bad or not cid or len(cid) > self.max_length:
            raise ValueError(
                f"client order id {cid!r} breaks the venue's rules (at most {self.max_length} characters"
                + (f"; not allowed: {''.join(bad)!r}" if bad else "")
                + ")"
            )

    def from_venue(self, reported: str | None) -> str | None:
        """The id as QARI built it, from the one the venue reports (its `sent_prefix` taken off)."""
        if not reported:
            return None
        if self.sent_prefix and reported.startswith(self.sent_prefix):
            return reported[len(self.sent_prefix) :]
        return reported


STRICTEST = ClientIdRules(max_length=28)
"""Valid on every supported venue (letters and digits, Gate's 28): used where no venue rule is given."""
