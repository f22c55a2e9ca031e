"""The JSON API under /api/v1/: one NinjaAPI, routers from each domain, errors rendered once."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.operation import Operation

from propdesk.accounts.api import auth_router as tokens_router
from propdesk.accounts.api import router as accounts_router
from propdesk.accounts.api_auth import api_auth
from propdesk.approvals.api import router as approvals_router
from propdesk.approvals.api import settings_router as approval_settings_router
from propdesk.challenges.catalogue.api import router as challenges_router
from propdesk.challenges.participation.api import (
    participants_router,
    participations_router,
    start_router,
)
from propdesk.challenges.payouts.api import payouts_router
from propdesk.core.errors import DomainError
from propdesk.onboarding.api.kyc import router as kyc_router
from propdesk.onboarding.api.registration import router as registration_router
from propdesk.platforms.sandbox.api import router as sandbox_router
from propdesk.reports.api import reports_router
from propdesk.wallet.api import methods_router as payment_methods_router
from propdesk.wallet.api import router as wallet_router
from propdesk.wallet.api import staff_router as wallets_staff_router


class PropdeskAPI(NinjaAPI):
    """The API with the operation ids it has published: a generated client names its methods by
    them, so moving a module must not rename an operation."""

    # Where operations moved to -> the module their published ids are named after.
    PUBLISHED_AS = {
        "propdesk.challenges.catalogue.api": "propdesk.challenges.api",
        "propdesk.challenges.participation.api": "propdesk.challenges.api",
        "propdesk.reports.api": "propdesk.wallet.api",
        "propdesk.onboarding.api.kyc": "propdesk.onboarding.kyc_api",
        "propdesk.onboarding.api.registration": "propdesk.onboarding.api",
    }

    def get_openapi_operation_id(self, operation: Operation) -> str:
        module = operation.view_func.__module__
        module = self.PUBLISHED_AS.get(module, module)
        return f"{module}_{operation.view_func.__name__}".replace(".", "_")


api = PropdeskAPI(
    title="propdesk API",
    version="1",
    description="Back office and client portal of a prop-trading firm. Authenticate with "
    "`Authorization: Bearer <token>` (from `POST /api/v1/auth/token`) or a browser session. "
    "Staff who owe a second factor are refused everywhere: 401 `two_factor_required` (a token "
    "got without the code) or 403 `two_factor_setup_required` (their role requires two-factor "
    "login and none is set up).",
    urls_namespace="api",
    auth=api_auth,
)

_STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "validation_error",
    429: "too_many_attempts",
}


def _error(request: HttpRequest, status: int, body: dict[str, Any]) -> HttpResponse:
    response = api.create_response(request, body, status=status)
    if status == 429 and "retry_after" in body:
        response["Retry-After"] = str(body["retry_after"])
    return response


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.as_json())


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in location if p not in ("body", "payload", "query", "path")]
    return ".".join(parts) or "body"


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for error in exc.errors:
        name = _field_name(error.get("loc", ()))
        message = str(error.get("msg", "Invalid value."))
        if error.get("type") == "missing":
            message = "This field is required."
        elif error.get("type") == "value_error":
            message = message.removeprefix("Value error, ")  # our own validators' words
        fields.setdefault(name, message)
    body = {"code": "validation_error", "message": "Some fields are not valid.", "fields": fields}
    return _error(request, 422, body)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    body = {"code": "not_authenticated", "message": "Authenticate with a bearer token or log in."}
    return _error(request, 401, body)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    return _error(
        request, status, {"code": _STATUS_CODES.get(status, "error"), "message": str(exc)}
    )


@api.exception_handler(SuspiciousOperation)
def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    body = {"code": "bad_request", "message": "The request is malformed or too large."}
    return _error(request, 400, body)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, {"code": "not_found", "message": "Not found."})


api.add_router("/auth", registration_router)
api.add_router("/auth", tokens_router)
api.add_router("/", accounts_router)
api.add_router("/approvals", approvals_router)
api.add_router("/settings", approval_settings_router)
api.add_router("/kyc", kyc_router)
api.add_router("/wallet", wallet_router)
api.add_router("/wallets", wallets_staff_router)
api.add_router("/payment-methods", payment_methods_router)
api.add_router("/reports", reports_router)
api.add_router("/sandbox", sandbox_router)
api.add_router("/challenges", challenges_router)
api.add_router("/challenges", start_router)
api.add_router("/participations", participations_router)
api.add_router("/participations", payouts_router)
api.add_router("/participants", participants_router)
