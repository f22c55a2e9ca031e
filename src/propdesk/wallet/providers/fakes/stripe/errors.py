"""Stripe's error answers: an HTTP status and a body `{"error": {"type", "code", "message",
"param", ...}}`.

  https://docs.stripe.com/api/errors  (the statuses: 400 bad request, 401 no valid key, 402
      request failed, 404 not found, 409 conflict, 429 too many requests, 5xx Stripe's; the
      types api_error, card_error, idempotency_error, invalid_request_error)
  https://docs.stripe.com/error-codes  (the codes: resource_missing, parameter_missing,
      parameter_invalid_integer, parameter_unknown, card_declined, charge_already_refunded,
      amount_too_large, rate_limit, ...)
  https://docs.stripe.com/declines/codes  (a decline's `decline_code`)
"""

from __future__ import annotations

from typing import Any

DOCS = "https://stripe.com/docs/error-codes"


class StripeError(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str = "",
        param: str = "",
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.extra = extra

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"{DOCS}/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


def invalid(message: str, *, param: str = "", code: str = "", status: int = 400) -> StripeError:
    return StripeError(status, "invalid_request_error", message, code=code, param=param)


def missing_param(param: str) -> StripeError:
    return invalid(f"Missing required param: {param}.", param=param, code="parameter_missing")


def no_such(kind: str, ident: str, param: str = "id") -> StripeError:
    return invalid(f"No such {kind}: '{ident}'", param=param, code="resource_missing", status=404)


def unrecognized(method: str, path: str) -> StripeError:
    # What Stripe answers for a path it has no route for (no code, no param).
    return invalid(
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
        status=404,
    )
