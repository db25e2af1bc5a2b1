"""EXCHANGES.md §5: the sandbox verifies exactly the signatures ccxt and pybit produce."""

from __future__ import annotations

import pytest

from qari.adapters.simulator.venue import ApiKey

KEY = ApiKey("testkey123", "testsecret456", account_id="a", user_id=1, permissions={})
PREFIX = "1700000000000testkey1235000"


@pytest.mark.parametrize(
    ("payload", "signature"),
    [
        ("", "451fbbc257c6e6b0376b9029d694938be0c0e9190196a06430855ce587d55565"),
        (
            '{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001",'
            '"price":"30000","orderLinkId":"my-1"}',
            "4f370cbaf50376bd52c1e4e3707caf7b04c5e3337fbd11fabdae5fe4342ef6e7",
        ),
        ("category=spot&symbol=BTCUSDT", "cb53ac2c52314bff32b92f8f07fb0b5a75798f13922f65326a4a57bc989df43a"),
    ],
)
def test_sign_when_documented_vector_then_same_hex(payload: str, signature: str) -> None:
    assert KEY.sign(PREFIX + payload) == signature


def test_api_key_repr_when_printed_then_secret_absent() -> None:
    assert "testsecret456" not in repr(KEY)
