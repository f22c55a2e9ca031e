"""What a decision tells the client: the catalogue's event of the request's type
(docs/notifications.md), raised in the deciding transaction."""

from __future__ import annotations

from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext

from propdesk.approvals.models import ApprovalRequest
from propdesk.approvals.registry import RequestType
from propdesk.core.text import in_sentence
from propdesk.notifications import events


def _named(label: str) -> str:
    """A request type's name inside a sentence, in the active language: "Trader Registration"
    reads "your trader registration"; an acronym stays."""
    return in_sentence(gettext(label))


# Lazy: written when the event is rendered, in the client's language (the webhooks' English).
request_name = lazy(_named, str)


def event_of(rtype: RequestType, *, approved: bool) -> str | None:
    """The catalogue's event a decision of this type raises (None: the domain raises its own)."""
    if approved and not rtype.event_on_approval:
        return None
    return f"{rtype.event or 'request'}.{'approved' if approved else 'rejected'}"


def tell_client(
    request: ApprovalRequest, rtype: RequestType, *, approved: bool, reason: str, message: str
) -> None:
    """The decision's event to the client, in the deciding transaction. The reviewer's comment
    is internal: it stays with the request; `message` is written for the client."""
    key = event_of(rtype, approved=approved)
    if key is None:
        return
    data: dict[str, Any] = {"reference": request.reference}
    if not rtype.event:
        data["request"] = request_name(rtype.label)
    if request.amount is not None and request.currency:
        data.update(amount=request.amount, currency=request.currency)
    data.update(rtype.event_data(request))
    if not approved:
        data["reason"] = reason
    events.emit(key, user=request.client.user, data=data, message=message)
