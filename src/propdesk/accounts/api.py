from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from propdesk.accounts.api_auth import current_user
from propdesk.accounts.models import User

router = Router(tags=["me"])


class ClientOut(Schema):
    id: int
    type: str
    status: str
    nationality: str
    phone: str
    referral_code_used: str
    created_at: datetime


class MeOut(Schema):
    id: int
    email: str
    name: str
    kind: str
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
            created_at=c.created_at,
        )
    return MeOut(
        id=user.pk,
        email=user.email,
        name=user.name,
        kind=user.kind,
        role=user.role.name if user.role else None,
        permissions=user.role.permission_codes() if user.role and user.is_staff_user else [],
        client=client,
    )


@router.get("/me", response=MeOut, summary="Who am I")
def me(request: HttpRequest) -> MeOut:
    return me_out(current_user(request))
