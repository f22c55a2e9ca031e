from __future__ import annotations

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from propdesk.accounts import services as accounts
from propdesk.core.errors import ValidationFailed
from propdesk.core.net import client_ip
from propdesk.core.schemas import ErrorOut
from propdesk.onboarding.services import register_client

router = Router(tags=["auth"])


class RegisterIn(Schema):
    type: str
    name: str
    email: str
    password: str
    nationality: str
    phone: str
    referral_code: str | None = None


class RegisterOut(Schema):
    id: int
    status: str


class TokenIn(Schema):
    email: str
    password: str
    otp: str | None = Field(
        None,
        max_length=64,
        description="Staff with two-factor login: the code from the authenticator app, "
        "or a recovery code (used up).",
    )


class TokenOut(Schema):
    token: str


@router.post("/register", auth=None, response={201: RegisterOut}, summary="Register a client")
def register(request: HttpRequest, payload: RegisterIn) -> Status[RegisterOut]:
    client, _ = register_client(
        kind=payload.type,
        name=payload.name,
        email=payload.email,
        password=payload.password,
        nationality=payload.nationality,
        phone=payload.phone,
        referral_code=payload.referral_code,
        ip=client_ip(request),
    )
    return Status(201, RegisterOut(id=client.pk, status=client.status))


@router.delete("/token", response={204: None}, summary="Revoke the bearer token used")
def revoke_token(request: HttpRequest) -> Status[None]:
    token = getattr(request, "bearer_token", None)
    if token is None:
        raise ValidationFailed("Call this with the bearer token to revoke, not a session.")
    accounts.revoke_token(token)
    return Status(204, None)


TOKEN_ERRORS = {
    401: "`invalid_credentials`: the email or the password is wrong. `two_factor_required`: "
    "this staff member uses two-factor login and sent no `otp`. `invalid_two_factor_code`: the "
    "`otp` is wrong.",
    403: "`two_factor_setup_required`: the staff member's role requires two-factor login and "
    "none is set up yet (set it up in the back office). `registration_pending`, "
    "`registration_rejected`, `account_suspended`: the client may not log in.",
    422: "`validation_error`: a field is missing or malformed (`fields` says which).",
    429: "`too_many_attempts`: too many wrong passwords or codes; `retry_after` seconds.",
}


@router.post(
    "/token",
    auth=None,
    response={200: TokenOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    summary="Get a bearer token",
    description="Staff with two-factor login send their code as `otp`. A staff token got "
    "without it stops working once the staff member has two-factor login or their role "
    "requires it.",
    openapi_extra={
        "responses": {status: {"description": text} for status, text in TOKEN_ERRORS.items()}
    },
)
def token(request: HttpRequest, payload: TokenIn) -> TokenOut:
    user = accounts.authenticate(
        email=payload.email, password=payload.password, ip=client_ip(request)
    )
    return TokenOut(token=accounts.issue_token(user, label="api", otp=payload.otp))
