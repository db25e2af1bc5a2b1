"""The secret vault: AES-256-GCM envelope encryption with a master key kept apart from the database."""

from qari.adapters.vault.aesgcm import DecryptionError, SealedSecret, SecretVault

__all__ = ["DecryptionError", "SealedSecret", "SecretVault"]
