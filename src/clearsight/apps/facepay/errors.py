"""Face-pay's errors: each says what to do, and none of them moved any money."""

from __future__ import annotations

from ...errors import InputError


class IdempotencyKeyReusedError(InputError):
    """The key was used before for a different request: replaying it must not act twice,
    nor answer with another request's result."""

    code = "idempotency_key_reused"
    http_status = 422


class InsufficientBalanceError(InputError):
    code = "insufficient_balance"
    http_status = 402


class AccountClosedError(InputError):
    code = "account_closed"
    http_status = 409


class DisputeWindowClosedError(InputError):
    code = "dispute_window_closed"
    http_status = 409


__all__ = ["AccountClosedError", "DisputeWindowClosedError", "IdempotencyKeyReusedError",
           "InsufficientBalanceError"]
