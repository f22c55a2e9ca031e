"""POST /api/v1/auth/register: a trader or an introducing broker registers."""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from propdesk.accounts.models import Client
from propdesk.core.net import client_ip
from propdesk.core.schema import OneOf
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
    time_zone: str | None = Field(
        None, description="IANA name such as Asia/Tokyo; omitted or empty: the firm's time zone"
    )


class RegisterOut(Schema):
    id: int
    status: Annotated[str, OneOf(Client.Status.values)]


@router.post(
    "/register",
    auth=None,
    response={201: RegisterOut},
    summary="Register a client",
)
def register(request: HttpRequest, payload: RegisterIn) -> Status[RegisterOut]:
    client, _ = register_client(
        kind=payload.type,
        name=payload.name,
        email=payload.email,
        password=payload.password,
        nationality=payload.nationality,
        phone=payload.phone,
        referral_code=payload.referral_code,
        time_zone=payload.time_zone,
        ip=client_ip(request),
    )
    return Status(201, RegisterOut(id=client.pk, status=client.status))
