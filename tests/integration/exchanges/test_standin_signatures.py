"""The stand-ins' signature checks reproduce the EXCHANGES.md §5 test vectors (frozen clock
1700000000000 ms, key `testkey123`, secret `testsecret456`, passphrase `testpass789`), so a request
they accept is signed exactly as the real venue requires."""

from __future__ import annotations

from .standins import binance, bitget, bybit, gate, htx, kucoin, mexc, okx

KEY, SECRET, PASSPHRASE, TS = "testkey123", "testsecret456", "testpass789", "1700000000000"
ISO = "2023-11-14T22:13:20.000Z"


def test_bybit_signature_when_section5_vectors_then_identical() -> None:
    body = '{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"30000","orderLinkId":"my-1"}'  # noqa: E501
    assert bybit.signature(SECRET, TS, KEY, "5000", "") == (
        "451fbbc257c6e6b0376b9029d694938be0c0e9190196a06430855ce587d55565"
    )
    assert bybit.signature(SECRET, TS, KEY, "5000", body) == (
        "4f370cbaf50376bd52c1e4e3707caf7b04c5e3337fbd11fabdae5fe4342ef6e7"
    )
    assert bybit.signature(SECRET, TS, KEY, "5000", "category=spot&symbol=BTCUSDT") == (
        "cb53ac2c52314bff32b92f8f07fb0b5a75798f13922f65326a4a57bc989df43a"
    )


def test_binance_signature_when_doc_and_section5_vectors_then_identical() -> None:
    doc_secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    doc_payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"  # noqa: E501
    assert binance.signature(doc_secret, doc_payload) == (
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )
    assert binance.signature(SECRET, f"timestamp={TS}&recvWindow=10000") == (
        "bd56a589438ebf40a23367d2e9c33ed6cb8efca135fde0dcde7695463e48175e"
    )


def test_okx_signature_when_section5_vector_then_identical() -> None:
    assert okx.signature(SECRET, ISO, "GET", "/api/v5/account/config", "") == (
        "LxzlZhVtzRnsen2SUBbIw5JllhvU4CIXs4w3O0oPUtc="
    )


def test_kucoin_signature_and_passphrase_when_section5_vector_then_identical() -> None:
    assert kucoin.signature(SECRET, TS, "GET", "/api/v1/user/api-key", "") == (
        "bNzST/E2tNH0NPI3zDun33Z05xKdrp++KfD2IDqiWik="
    )
    assert kucoin.passphrase_v2(SECRET, PASSPHRASE) == "4j2VXRwSSJAHExMBEVu0JUR0AwDOmcxQ80/Mg6rtAHU="


def test_gate_signature_when_section5_vector_then_matches_published_ends() -> None:
    sign = gate.signature(SECRET, "GET", "/api/v4/account/detail", "", "", "1700000000")
    assert sign.startswith("ea0b9738d964e17f") and sign.endswith("a71f6bfe")
    assert len(sign) == 128


def test_bitget_signature_when_section5_vector_then_identical() -> None:
    assert bitget.signature(SECRET, TS, "GET", "/api/v2/spot/account/info", "") == (
        "UlRqvMnRziHyHUY8sE8KPFjYLTzKt/NEJKjAF83Lmw4="
    )


def test_mexc_signature_when_section5_vector_then_identical() -> None:
    assert mexc.signature(SECRET, f"accessKey={KEY}&timestamp={TS}&recvWindow=5000") == (
        "9d8a5b2f9cd137ea16860a9d124d5d77e88f57bf6fe33da8a7ec839fc1413f86"
    )


def test_htx_signature_when_section5_vector_then_identical() -> None:
    pairs = [
        ("AccessKeyId", KEY),
        ("SignatureMethod", "HmacSHA256"),
        ("SignatureVersion", "2"),
        ("Timestamp", "2023-11-14T22:13:20"),
    ]
    assert (
        htx.signature(SECRET, "GET", "/v2/user/uid", pairs) == "Y+gULfwNXrpHtXHYiws5c+H+mt2MR/XgzEPEfuU2nL4="
    )
