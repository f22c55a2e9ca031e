from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema, Status

from propdesk.accounts import services as accounts
from propdesk.core.errors import ValidationFailed
from propdesk.core.net import client_ip
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


@router.post("/token", auth=None, response=TokenOut, summary="Get a bearer token")
def token(request: HttpRequest, payload: TokenIn) -> TokenOut:
    user = accounts.authenticate(
        email=payload.email, password=payload.password, ip=client_ip(request)
    )
    return TokenOut(token=accounts.issue_token(user, label="api"))
