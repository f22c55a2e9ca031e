"""Certificates' pages outside the back office: the trader's download of their own (the list is
on their challenge's page, `challenges/_portal_certificates.html`) and the public page and PDF
anyone holding a code may open, without logging in."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from propdesk.challenges.certificates import document, services, wording
from propdesk.challenges.models import Certificate
from propdesk.core.errors import Throttled
from propdesk.core.net import client_ip
from propdesk.core.web import actor, client_view, person


@require_GET
@client_view
def my_certificate_pdf(request: HttpRequest, certificate_id: int) -> HttpResponse:
    """The owner's download; anyone else's certificate is not found."""
    return document.response(services.own(actor(request).client, certificate_id))


def _verified(request: HttpRequest, code: str) -> Certificate | HttpResponse:
    try:
        return services.verify(code, ip=client_ip(request))
    except Throttled as throttled:
        wait = int(throttled.extra.get("retry_after", 1))
        # The login throttle counts the wrong codes, but nobody here tried to log in.
        refused = Throttled(
            f"Too many wrong certificate codes from your address. Try again in {wait} "
            f"second{'' if wait == 1 else 's'}.",
            extra={"retry_after": wait},
        )
        user = person(request)
        layout = "backoffice/base.html" if user and user.is_staff_user else "portal/base.html"
        response = render(
            request, "core/error.html", {"error": refused, "layout": layout}, status=429
        )
        response["Retry-After"] = str(wait)
        return response


@require_GET
def certificate(request: HttpRequest, code: str) -> HttpResponse:
    """The public page: who, what, the figures and when, as issued; nothing more about them."""
    found = _verified(request, code)
    if isinstance(found, HttpResponse):
        return found
    response = render(
        request,
        "challenges/certificate.html",
        {"c": found, "w": wording.of(found), "url": wording.verification_url(found)},
    )
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_GET
def certificate_pdf(request: HttpRequest, code: str) -> HttpResponse:
    found = _verified(request, code)
    if isinstance(found, HttpResponse):
        return found
    return document.response(found)
