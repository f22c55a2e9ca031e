"""The API's side of people: bearer tokens (/auth/token), who am I (/me) and a client's own
settings (PATCH /me: their time zone)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from propdesk.accounts import services
from propdesk.accounts.api_auth import current_client, current_user
from propdesk.accounts.models import Client, User
from propdesk.core.errors import ValidationFailed
from propdesk.core.net import client_ip
from propdesk.core.schema import OneOf
from propdesk.core.schemas import ErrorOut

router = Router(tags=["me"])
# Mounted at /auth. The operation ids are the ones these endpoints had when they lived in
# onboarding: generated clients keep their method names.
auth_router = Router(tags=["auth"])


class ClientOut(Schema):
    id: int
    type: Annotated[str, OneOf(Client.Kind.values)]
    status: Annotated[str, OneOf(Client.Status.values)]
    nationality: str
    phone: str
    referral_code_used: str
    time_zone: str = Field(
        description="The IANA zone the portal shows this client times in; empty: the firm's"
    )
    created_at: datetime
    group: str = Field(
        "",
        description="The client group they are in: it decides the challenges, payment methods "
        "and trading servers offered to them",
    )


class MeOut(Schema):
    id: int
    email: str
    name: str
    kind: Annotated[str, OneOf(User.Kind.values)]
    language: str = Field(
        "en", description="The language of a client's portal and emails (settings.LANGUAGES)"
    )
    role: str | None = None
    permissions: list[str] = []
    client: ClientOut | None = None


def me_out(user: User) -> MeOut:
    client = None
    if user.is_client:
        c = user.client
        client = ClientOut(
            id=c.pk,
            type=c.kind,
            status=c.status,
            nationality=c.nationality.code,
            phone=c.phone,
            referral_code_used=c.referral_code_used,
            time_zone=c.time_zone,
            created_at=c.created_at,
            group=c.group.name if c.group is not None else "",
        )
    return MeOut(
        id=user.pk,
        email=user.email,
        name=user.name,
        kind=user.kind,
        language=user.language,
        role=user.role.name if user.role else None,
        permissions=user.role.permission_codes() if user.role and user.is_staff_user else [],
        client=client,
    )


@router.get("/me", response=MeOut, summary="Who am I")
def me(request: HttpRequest) -> MeOut:
    return me_out(current_user(request))


class MeIn(Schema):
    time_zone: str | None = Field(
        None,
        description="The IANA zone (such as Asia/Tokyo) the portal shows times in; empty: the "
        "firm's. Omitted: unchanged.",
    )
    language: str | None = Field(
        None,
        description="The language of the portal and the emails, one of the firm's (en, es). "
        "Omitted: unchanged.",
    )


@router.patch(
    "/me",
    response={200: MeOut, 403: ErrorOut, 422: ErrorOut},
    summary="Change my settings (a client's time zone and language)",
    description="`validation_error` (422) when the time zone is not an IANA name this server "
    "knows or the language is not one of the firm's; nothing changes then. Staff read times in "
    "the firm's zone (403).",
)
def update_me(request: HttpRequest, payload: MeIn) -> MeOut:
    client = current_client(
        request, "Only clients have settings here; staff read times in the firm's time zone."
    )
    with transaction.atomic():  # both or neither
        if payload.language is not None:
            services.set_language(client, payload.language)
        if payload.time_zone is not None:
            services.set_time_zone(client, payload.time_zone)
    return me_out(client.user)


# --- bearer tokens ------------------------------------------------------------------------------


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


@auth_router.delete(
    "/token",
    response={204: None},
    summary="Revoke the bearer token used",
)
def revoke_token(request: HttpRequest) -> Status[None]:
    token = getattr(request, "bearer_token", None)
    if token is None:
        raise ValidationFailed("Call this with the bearer token to revoke, not a session.")
    services.revoke_token(token)
    return Status(204, None)


TOKEN_ERRORS = {
    401: "`invalid_credentials`: the email or the password is wrong. `two_factor_required`: "
    "this staff member uses two-factor login and sent no `otp`. `invalid_two_factor_code`: the "
    "`otp` is wrong.",
    403: "`two_factor_setup_required`: the staff member's role requires two-factor login and "
    "none is set up yet (set it up in the back office). `registration_pending`, "
    "`registration_rejected`, `account_suspended`: the client may not log in. "
    "`email_not_verified`: the firm requires a verified email and the client has not "
    "followed their verification link yet.",
    422: "`validation_error`: a field is missing or malformed (`fields` says which).",
    429: "`too_many_attempts`: too many wrong passwords or codes; `retry_after` seconds.",
}


@auth_router.post(
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
    user = services.authenticate(
        email=payload.email, password=payload.password, ip=client_ip(request)
    )
    return TokenOut(token=services.issue_token(user, label="api", otp=payload.otp))
