"""`{% load certificates %}`: a participation's certificates for the pages that list them, so
that the page's own view need not know of them (`challenges/_portal_certificates.html`,
`challenges/_participant_certificates.html`)."""

from __future__ import annotations

from typing import Any

from django import template

from propdesk.challenges.certificates import services, wording
from propdesk.challenges.models import Certificate, Participation
from propdesk.core.web import person

register = template.Library()


def _row(certificate: Certificate) -> dict[str, Any]:
    return {"c": certificate, "w": wording.of(certificate)}


@register.simple_tag(takes_context=True)
def my_certificates(context: template.Context, participation: Any) -> list[dict[str, Any]]:
    """The logged-in client's certificates of `participation` (none for anyone else)."""
    request = context.get("request")
    user = person(request) if request is not None else None
    client = getattr(user, "client", None) if user is not None and user.is_client else None
    if client is None or not isinstance(participation, Participation):
        return []
    return [_row(c) for c in services.of_participation(participation, client=client)]


@register.simple_tag
def certificates_of(participation: Any) -> list[dict[str, Any]]:
    """Every certificate of `participation` (the back office's participant page)."""
    if not isinstance(participation, Participation):
        return []
    return [_row(c) for c in services.of_participation(participation)]
