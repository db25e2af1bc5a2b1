"""QARI's error tree. Foreign errors (ccxt, HTTP) are translated once, at the adapter edge.

QariError
├── RetryableError              transient: back off and try again (reads only)
│   ├── ExchangeUnavailableError    network, 5xx, maintenance, rate limit
│   └── ClockSkewError              timestamp outside the venue's window: resync, retry once
├── OutcomeUnknownError         an order was sent and no answer came: look it up, never resend
├── RejectedError               the venue or the gate said no; do not retry as is
│   ├── InvalidCredentialsError     wrong/expired/revoked key, bad signature or passphrase
│   ├── PermissionDeniedError       key lacks a permission, or the IP is not whitelisted
│   ├── InsufficientFundsError
│   ├── OrderRejectedError          size/precision/price rules
│   └── OrderNotFoundError
└── FatalError                  configuration or programming errors: stop and tell the operator
"""

from __future__ import annotations


class QariError(Exception):
    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class RetryableError(QariError): ...


class ExchangeUnavailableError(RetryableError): ...


class ExchangeMaintenanceError(ExchangeUnavailableError):
    """The venue said it is under maintenance (its code for that is in its error table)."""


class ClockSkewError(RetryableError): ...


class OutcomeUnknownError(QariError): ...


class RejectedError(QariError): ...


class InvalidCredentialsError(RejectedError): ...


class KeyOrIpRejectedError(InvalidCredentialsError):
    """The venue cannot tell a bad key from a server IP missing on the key's whitelist (Binance -2015)."""


class PermissionDeniedError(RejectedError): ...


class InsufficientFundsError(RejectedError): ...


class OrderRejectedError(RejectedError): ...


class OrderNotFoundError(RejectedError): ...


class FatalError(QariError): ...
