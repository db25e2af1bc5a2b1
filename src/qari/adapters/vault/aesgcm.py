"""AES-256-GCM envelope encryption: a random data key per secret, wrapped by the master key.

Both layers use a fresh random 96-bit nonce. The associated data binds each record to its owner
and purpose (user id, exchange, key id, purpose), and the wrap additionally to the key version, so
a ciphertext or wrapped key copied to another row, user or exchange does not decrypt.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from qari.logging import register_secret

KEY_BYTES = 32
NONCE_BYTES = 12


class DecryptionError(Exception):
    """A sealed secret did not open: tampered, moved to another row, or the wrong master key."""


@dataclass(frozen=True, repr=False)
class SealedSecret:
    ciphertext: bytes
    nonce: bytes
    wrapped_key: bytes
    wrap_nonce: bytes
    key_version: int

    def __repr__(self) -> str:
        return f"SealedSecret(key_version={self.key_version}, {len(self.ciphertext)} bytes)"


def associated_data(*, user_id: int, exchange: str, key_id: str, purpose: str) -> bytes:
    """Canonical, unambiguous encoding of the record binding."""
    return json.dumps(["qari-secret-v1", int(user_id), exchange, key_id, purpose]).encode()


def _wrap_aad(aad: bytes, key_version: int) -> bytes:
    return b"qari-dek|" + str(key_version).encode() + b"|" + aad


def fingerprint(master_key: bytes) -> str:
    """A public identifier of a master key (HMAC of a constant); reveals nothing about the key."""
    return hmac.new(master_key, b"qari master key fingerprint v1", hashlib.sha256).hexdigest()


class SecretVault:
    """Seals and opens secrets with one master key of a known version.

    Plaintexts passed in or returned are registered with the log masker, so they are masked in every
    log line the process writes afterwards.
    """

    def __init__(
        self, master_key: bytes, *, key_version: int = 1, reload: Callable[[], bytes | None] | None = None
    ) -> None:
        if len(master_key) != KEY_BYTES:
            raise ValueError("the master key must be 32 bytes (AES-256)")
        self._master = AESGCM(master_key)
        self.key_version = key_version
        self.fingerprint = fingerprint(master_key)
        self._reload = reload
        self._lock = threading.Lock()

    def reload(self, version: int, *, expected_fingerprint: str) -> bool:
        """Pick up a rotated master key from the key source without a restart; adopted as `version`
        only if its fingerprint is `expected_fingerprint` (from the `vault_keys` table)."""
        if self._reload is None:
            return False
        try:
            key = self._reload()
        except Exception:  # an unreadable key source means: no newer key available here
            return False
        if key is None or len(key) != KEY_BYTES:
            return False
        if fingerprint(key) != expected_fingerprint:
            return False
        with self._lock:
            self._master = AESGCM(key)
            self.key_version = version
            self.fingerprint = fingerprint(key)
        return True

    def __repr__(self) -> str:
        return f"SecretVault(key_version={self.key_version})"

    def seal(self, plaintext: str, *, user_id: int, exchange: str, key_id: str, purpose: str) -> SealedSecret:
        register_secret(plaintext)
        aad = associated_data(user_id=user_id, exchange=exchange, key_id=key_id, purpose=purpose)
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(nonce, plaintext.encode(), aad)
        wrap_nonce = os.urandom(NONCE_BYTES)
        wrapped = self._master.encrypt(wrap_nonce, data_key, _wrap_aad(aad, self.key_version))
        return SealedSecret(ciphertext, nonce, wrapped, wrap_nonce, self.key_version)

    def open(self, sealed: SealedSecret, *, user_id: int, exchange: str, key_id: str, purpose: str) -> str:
        aad = associated_data(user_id=user_id, exchange=exchange, key_id=key_id, purpose=purpose)
        data_key = self._unwrap(sealed, aad)
        try:
            plaintext = AESGCM(data_key).decrypt(sealed.nonce, sealed.ciphertext, aad).decode()
        except (InvalidTag, ValueError, UnicodeDecodeError):
            raise DecryptionError("secret does not decrypt: tampered or bound to another record") from None
        register_secret(plaintext)
        return plaintext

    def can_unwrap(
        self, sealed: SealedSecret, *, user_id: int, exchange: str, key_id: str, purpose: str
    ) -> bool:
        aad = associated_data(user_id=user_id, exchange=exchange, key_id=key_id, purpose=purpose)
        try:
            self._unwrap(sealed, aad)
        except DecryptionError:
            return False
        return True

    def rewrap(
        self,
        sealed: SealedSecret,
        new: SecretVault,
        *,
        user_id: int,
        exchange: str,
        key_id: str,
        purpose: str,
    ) -> SealedSecret:
        """The same ciphertext with its data key wrapped by `new`'s master key (the secret stays sealed)."""
        aad = associated_data(user_id=user_id, exchange=exchange, key_id=key_id, purpose=purpose)
        data_key = self._unwrap(sealed, aad)
        wrap_nonce = os.urandom(NONCE_BYTES)
        wrapped = new._master.encrypt(wrap_nonce, data_key, _wrap_aad(aad, new.key_version))
        return SealedSecret(sealed.ciphertext, sealed.nonce, wrapped, wrap_nonce, new.key_version)

    def _unwrap(self, sealed: SealedSecret, aad: bytes) -> bytes:
        if sealed.key_version > self.key_version and self._reload is not None:
            self._try_newer(sealed, aad)
        if sealed.key_version != self.key_version:
            raise DecryptionError(
                f"secret is wrapped by master key version {sealed.key_version}, "
                f"this vault holds version {self.key_version}"
            )
        try:
            data_key = self._master.decrypt(
                sealed.wrap_nonce, sealed.wrapped_key, _wrap_aad(aad, sealed.key_version)
            )
        except (InvalidTag, ValueError):
            raise DecryptionError("data key does not unwrap: wrong master key or tampered record") from None
        if len(data_key) != KEY_BYTES:
            raise DecryptionError("data key has the wrong length")
        return data_key

    def _try_newer(self, sealed: SealedSecret, aad: bytes) -> None:
        """A record wrapped by a newer key (rotated while running): adopt the source's key if it opens it."""
        try:
            key = self._reload() if self._reload else None
        except Exception:  # an unreadable key source: the caller reports the record as undecryptable
            return
        if key is None or len(key) != KEY_BYTES:
            return
        try:
            AESGCM(key).decrypt(sealed.wrap_nonce, sealed.wrapped_key, _wrap_aad(aad, sealed.key_version))
        except (InvalidTag, ValueError):
            return
        with self._lock:
            self._master = AESGCM(key)
            self.key_version = sealed.key_version
            self.fingerprint = fingerprint(key)
