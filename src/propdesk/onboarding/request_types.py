"""Trader and IB registration, as request types of the approval engine."""

from __future__ import annotations

from propdesk.accounts import permissions
from propdesk.accounts.models import Client, User
from propdesk.approvals import registry
from propdesk.approvals.models import ApprovalRequest
from propdesk.approvals.registry import Method, RequestType
from propdesk.core.status import move_status

TRADER_REGISTRATION = "trader_registration"
IB_REGISTRATION = "ib_registration"
TYPE_FOR_KIND = {Client.Kind.TRADER: TRADER_REGISTRATION, Client.Kind.IB: IB_REGISTRATION}


def _activate(request: ApprovalRequest, actor: User | None) -> None:
    client = Client.objects.select_for_update().get(pk=request.client_id)
    move_status(client, Client.Status.ACTIVE, Client.TRANSITIONS, what="client")
    client.save(update_fields=["status"])


def _refuse(request: ApprovalRequest, actor: User | None) -> None:
    client = Client.objects.select_for_update().get(pk=request.client_id)
    move_status(client, Client.Status.REJECTED, Client.TRANSITIONS, what="client")
    client.rejection_reason = request.rejection_reason
    client.save(update_fields=["status", "rejection_reason"])


def _details(request: ApprovalRequest) -> list[tuple[str, str]]:
    client = request.client
    return [
        ("Registering as", client.get_kind_display()),
        ("Name", client.user.name),
        ("Email", client.user.email),
        ("Phone", client.phone),
        ("Nationality", f"{client.nationality.name} ({client.nationality.code})"),
        ("Referral code", client.referral_code_used or "—"),
    ]


for kind, key, label, order in (
    (Client.Kind.TRADER, TRADER_REGISTRATION, "Trader registration", 10),
    (Client.Kind.IB, IB_REGISTRATION, "IB registration", 20),
):
    registry.register(
        RequestType(
            key=key,
            label=label,
            review_permission=permissions.REGISTRATIONS_REVIEW,
            default_method=Method.MANUAL,
            allowed_methods=(Method.AUTOMATIC, Method.MANUAL),
            on_approve=_activate,
            on_reject=_refuse,
            details=_details,
            order=order,
            description=f"A new {kind.label.lower()} asks to open an account in the portal.",
        )
    )
