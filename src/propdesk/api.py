"""The JSON API under /api/v1/: one NinjaAPI, routers from each domain, errors rendered once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation

from propdesk.accounts.api import auth_router as tokens_router
from propdesk.accounts.api import router as accounts_router
from propdesk.accounts.api_auth import api_auth
from propdesk.approvals.api import router as approvals_router
from propdesk.approvals.api import settings_router as approval_settings_router
from propdesk.challenges.catalogue.api import router as challenges_router
from propdesk.challenges.growth.api import referrals_router
from propdesk.challenges.participation.api import (
    participants_router,
    participations_router,
    start_router,
)
from propdesk.challenges.payouts.api import payouts_router
from propdesk.core.errors import DomainError
from propdesk.core.openapi import declare_errors
from propdesk.core.schemas import ErrorOut
from propdesk.onboarding.api.kyc import router as kyc_router
from propdesk.onboarding.api.registration import router as registration_router
from propdesk.platforms.sandbox.api import router as sandbox_router
from propdesk.reports.api import reports_router
from propdesk.wallet.api import methods_router as payment_methods_router
from propdesk.wallet.api import router as wallet_router
from propdesk.wallet.api import staff_router as wallets_staff_router


class PropdeskAPI(NinjaAPI):
    """The API with readable, stable operation ids: a generated client names its methods by them
    (`listChallenges` becomes `list_challenges`), so they are written down here once, never
    derived from where the code lives. An operation missing from the table is a programming
    error that the schema's generation reports at once."""

    # The view function (module.name) -> its published operation id.
    OPERATION_IDS = {
        "propdesk.onboarding.api.registration.register": "registerClient",
        "propdesk.accounts.api.revoke_token": "revokeToken",
        "propdesk.accounts.api.token": "createToken",
        "propdesk.accounts.api.me": "getMe",
        "propdesk.accounts.api.update_me": "updateMe",
        "propdesk.approvals.api.list_requests": "listApprovalRequests",
        "propdesk.approvals.api.counts": "countApprovalRequests",
        "propdesk.approvals.api.get_request": "getApprovalRequest",
        "propdesk.approvals.api.approve": "approveRequest",
        "propdesk.approvals.api.reject": "rejectRequest",
        "propdesk.approvals.api.add_note": "addApprovalNote",
        "propdesk.approvals.api.list_policies": "listApprovalMethods",
        "propdesk.approvals.api.get_policy": "getApprovalMethod",
        "propdesk.approvals.api.put_policy": "setApprovalMethod",
        "propdesk.onboarding.api.kyc.forms": "listKycForms",
        "propdesk.onboarding.api.kyc.submit": "submitKyc",
        "propdesk.onboarding.api.kyc.status": "getKycStatus",
        "propdesk.wallet.api.wallet": "getWallet",
        "propdesk.wallet.api.transactions": "listWalletTransactions",
        "propdesk.wallet.api.deposit": "requestDeposit",
        "propdesk.wallet.api.withdraw": "requestWithdrawal",
        "propdesk.wallet.api.my_withdrawals": "listWithdrawals",
        "propdesk.wallet.api.my_withdrawal": "getWithdrawal",
        "propdesk.wallet.api.adjust": "adjustWallet",
        "propdesk.wallet.api.payment_methods": "listPaymentMethods",
        "propdesk.reports.api.transactions_report": "reportTransactions",
        "propdesk.reports.api.prop_dashboard_report": "reportPropDashboard",
        "propdesk.platforms.sandbox.api.token": "sandboxCreateToken",
        "propdesk.platforms.sandbox.api.revoke_token": "sandboxRevokeToken",
        "propdesk.platforms.sandbox.api.account": "sandboxGetAccount",
        "propdesk.platforms.sandbox.api.quotes": "sandboxListQuotes",
        "propdesk.platforms.sandbox.api.order": "sandboxPlaceOrder",
        "propdesk.platforms.sandbox.api.positions": "sandboxListPositions",
        "propdesk.platforms.sandbox.api.close": "sandboxClosePosition",
        "propdesk.platforms.sandbox.api.deals": "sandboxListDeals",
        "propdesk.platforms.sandbox.api.events": "sandboxListEvents",
        "propdesk.challenges.catalogue.api.create": "createChallenge",
        "propdesk.challenges.catalogue.api.listing": "listChallenges",
        "propdesk.challenges.catalogue.api.save_draft": "saveChallengeDraft",
        "propdesk.challenges.catalogue.api.publish": "publishChallenge",
        "propdesk.challenges.catalogue.api.end": "endChallenge",
        "propdesk.challenges.catalogue.api.duplicate": "duplicateChallenge",
        "propdesk.challenges.catalogue.api.detail": "getChallenge",
        "propdesk.challenges.participation.api.start": "joinChallenge",
        "propdesk.challenges.participation.api.quote": "quoteChallenge",
        "propdesk.challenges.participation.api.my_participations": "listParticipations",
        "propdesk.challenges.participation.api.my_participation": "getParticipation",
        "propdesk.challenges.participation.api.retry": "retryParticipation",
        "propdesk.challenges.participation.api.reset": "resetParticipation",
        "propdesk.challenges.payouts.api.my_payouts": "listPayouts",
        "propdesk.challenges.payouts.api.request_payout": "requestPayout",
        "propdesk.challenges.participation.api.participants_listing": "listParticipants",
        "propdesk.challenges.growth.api.my_referrals": "listMyReferrals",
        "propdesk.api.no_such_operation": "noSuchOperation",  # not in the schema
    }

    IDEMPOTENT = "`idempotency_key_reused` (the Idempotency-Key was used for another request)"
    # The operations the domain may refuse in its current state (409), with their codes.
    CONFLICTS = {
        "approveRequest": "`already_decided`, `stale_level` (`level` is not the request's "
        "level now), `invalid_transition`, `insufficient_funds` (a withdrawal or a payout the "
        "wallet no longer covers).",
        "rejectRequest": "`already_decided`, `stale_level`, `invalid_transition`.",
        "addApprovalNote": "`conflict`.",
        "setApprovalMethod": "`conflict`.",
        "submitKyc": "`kyc_not_open` (approved already, or a submission awaits review).",
        "requestDeposit": "`too_many_pending` (deposits awaiting review), "
        "`too_many_awaiting_payment` (card payments not made), " + IDEMPOTENT + ".",
        "requestWithdrawal": "`insufficient_funds`, `too_many_pending`, " + IDEMPOTENT + ".",
        "adjustWallet": "`insufficient_funds` (a debit larger than the balance), "
        + IDEMPOTENT
        + ".",
        "saveChallengeDraft": "`conflict` (an ended challenge is not edited).",
        "publishChallenge": "`conflict` (ended, or no draft to publish).",
        "endChallenge": "`invalid_transition`, `conflict`.",
        "duplicateChallenge": "`conflict`.",
        "joinChallenge": "`challenge_ended`, `insufficient_funds`, `too_many_awaiting_payment`, "
        "`validation_error` naming `coupon` (a code that cannot be used), " + IDEMPOTENT + ".",
        "retryParticipation": "`not_failed`, `already_retried`, `no_retry_offer`, "
        "`challenge_ended`, `price_changed`, `insufficient_funds`, " + IDEMPOTENT + ".",
        "resetParticipation": "`no_reset_offer`, `not_resettable`, `already_reset`, "
        "`insufficient_funds`, " + IDEMPOTENT + ".",
        "requestPayout": "`payout_not_eligible` (with `eligibility`), `conflict`, "
        + IDEMPOTENT
        + ".",
        "sandboxPlaceOrder": "`order_refused`, `market_closed`, `not_enough_margin`, "
        "`trading_disabled`, " + IDEMPOTENT + ".",
        "sandboxClosePosition": "`order_refused`, `market_closed`, `trading_disabled`, "
        + IDEMPOTENT
        + ".",
    }
    # Throttled (429): the logins (a password or a code is checked) and registration.
    THROTTLED = {
        "createToken",
        "registerClient",
        "sandboxCreateToken",
        *(
            op
            for op in OPERATION_IDS.values()
            if op.startswith("sandbox")  # HTTP Basic: every call checks the password
        ),
    }

    # Not found (404) by what the body names: a payment method not offered to the client's
    # group (client groups) is not found, as if it did not exist.
    NOT_FOUND_BY_BODY = {"requestDeposit", "requestWithdrawal"}

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        """The schema, with every operation's error answers declared (core.openapi)."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        declare_errors(
            schema,
            error_schema=ErrorOut.model_json_schema(),
            throttled=self.THROTTLED,
            conflicts=self.CONFLICTS,
            not_found=self.NOT_FOUND_BY_BODY,
        )
        return schema

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        """ninja's URLs, each answering a method its path does not take with the API's JSON
        error (ninja's own answer is a text/html "Method not allowed")."""
        found = super()._get_urls()
        for url in found:
            if isinstance(url, URLPattern):
                url.callback = _json_not_allowed(url.callback)
        return found

    def get_openapi_operation_id(self, operation: Operation) -> str:
        view = operation.view_func
        name = f"{view.__module__}.{view.__name__}"
        try:
            return self.OPERATION_IDS[name]
        except KeyError:
            raise LookupError(f"{name} has no operation id in PropdeskAPI.OPERATION_IDS") from None


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


def _json_not_allowed(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @functools.wraps(view)  # keeps csrf_exempt: the API authenticates by token or session
    def answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if response.status_code != 405 or "json" in response.get("Content-Type", ""):
            return response
        # ninja lists them from a set: sorted, the header is the same on every call
        allowed = ", ".join(sorted(filter(None, response.get("Allow", "").split(", "))))
        body = {"code": "method_not_allowed", "message": f"This path takes: {allowed}."}
        refused = _error(request, 405, body)
        refused["Allow"] = allowed
        return refused

    return answer


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
api.add_router("/", referrals_router)
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

# Last, so that it matches only what nothing else does: a path under /api/v1/ that names no
# operation (`/approvals/AAA`, where an id is a number) answers the API's JSON 404, never the
# site's HTML page.
nowhere = Router()


@nowhere.api_operation(
    ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"],
    "/{path:rest}",
    auth=None,
    include_in_schema=False,
)
def no_such_operation(request: HttpRequest, rest: str) -> HttpResponse:
    return _error(request, 404, {"code": "not_found", "message": "No such API operation."})


api.add_router("", nowhere)
