from __future__ import annotations

import dataclasses
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qari.adapters.vault import DecryptionError, SealedSecret, SecretVault

BIND = {"user_id": 7, "exchange": "bybit", "key_id": "AKEY1234", "purpose": "api_secret"}


@pytest.fixture
def vault() -> SecretVault:
    return SecretVault(os.urandom(32))


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@given(plaintext=st.text(min_size=0, max_size=200))
@settings(max_examples=50, deadline=None)
def test_seal_open_when_same_binding_then_round_trip(plaintext: str) -> None:
    vault = SecretVault(b"k" * 32)
    sealed = vault.seal(plaintext, **BIND)
    assert vault.open(sealed, **BIND) == plaintext
    if len(plaintext.encode()) >= 8:  # shorter byte strings can occur in random ciphertext by chance
        assert plaintext.encode() not in sealed.ciphertext


@pytest.mark.parametrize("field", ["ciphertext", "nonce", "wrapped_key", "wrap_nonce"])
def test_open_when_any_single_bit_flipped_then_decryption_error(vault: SecretVault, field: str) -> None:
    sealed = vault.seal("s3cret-value-ABCDEF", **BIND)
    value: bytes = getattr(sealed, field)
    for bit in range(len(value) * 8):
        tampered = dataclasses.replace(sealed, **{field: _flip(value, bit)})
        with pytest.raises(DecryptionError):
            vault.open(tampered, **BIND)


def test_open_when_tag_bits_flipped_then_decryption_error(vault: SecretVault) -> None:
    sealed = vault.seal("s3cret-value-ABCDEF", **BIND)
    body, tag = sealed.ciphertext[:-16], sealed.ciphertext[-16:]
    for bit in range(128):
        with pytest.raises(DecryptionError):
            vault.open(dataclasses.replace(sealed, ciphertext=body + _flip(tag, bit)), **BIND)


@pytest.mark.parametrize(
    "other",
    [
        {**BIND, "user_id": 8},
        {**BIND, "exchange": "binance"},
        {**BIND, "key_id": "AKEY9999"},
        {**BIND, "purpose": "passphrase"},
    ],
)
def test_open_when_moved_to_another_binding_then_decryption_error(vault: SecretVault, other: dict) -> None:
    sealed = vault.seal("s3cret-value-ABCDEF", **BIND)
    with pytest.raises(DecryptionError):
        vault.open(sealed, **other)


def test_open_when_other_master_key_then_decryption_error(vault: SecretVault) -> None:
    sealed = vault.seal("s3cret-value-ABCDEF", **BIND)
    with pytest.raises(DecryptionError):
        SecretVault(os.urandom(32)).open(sealed, **BIND)


def test_seal_when_100000_encryptions_then_no_repeated_nonce() -> None:
    vault = SecretVault(os.urandom(32))
    nonces: set[bytes] = set()
    wrap_nonces: set[bytes] = set()
    for i in range(100_000):
        sealed = vault.seal("x", user_id=i, exchange="bybit", key_id="k", purpose="p")
        nonces.add(sealed.nonce)
        wrap_nonces.add(sealed.wrap_nonce)
        assert len(sealed.nonce) == 12
    assert len(nonces) == 100_000
    assert len(wrap_nonces) == 100_000


def test_rewrap_when_rotated_then_only_new_key_opens() -> None:
    old, new = SecretVault(os.urandom(32), key_version=1), SecretVault(os.urandom(32), key_version=2)
    sealed = old.seal("rotate-me-123456", **BIND)
    rewrapped = old.rewrap(sealed, new, **BIND)
    assert rewrapped.key_version == 2
    assert new.open(rewrapped, **BIND) == "rotate-me-123456"
    with pytest.raises(DecryptionError):
        old.open(rewrapped, **BIND)


def test_sealed_secret_repr_when_printed_then_no_bytes() -> None:
    sealed = SealedSecret(b"\x01" * 20, b"\x02" * 12, b"\x03" * 48, b"\x04" * 12, 1)
    assert "\\x01" not in repr(sealed)
