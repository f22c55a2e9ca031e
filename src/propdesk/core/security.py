"""The headers every dynamic response carries: a Content-Security-Policy, a Permissions-Policy,
and `Cache-Control: private, no-store`. (Django's SecurityMiddleware does HSTS, the HTTPS
redirect, nosniff, Referrer-Policy and Cross-Origin-Opener-Policy from the settings.)

A response that sets one of these headers itself keeps its own: a KYC document's stricter
policy, a view's own caching. Static files never get here (WhiteNoise answers them first, with
their long caching)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning
from django.http import HttpRequest, HttpResponse
from django.http.request import validate_host

# Scripts and styles come only from our own static files: no inline code, no eval, so markup
# slipped into a page cannot run. The rest closes what a page never needs.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # data: for the page icon (`href="data:,"`) and Swagger UI's inline SVG icons.
        "img-src 'self' data:",
        # No plugins at all; a PDF identity document is shown in a frame of our own origin.
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        # Nobody frames our pages (the same as X-Frame-Options: DENY, for current browsers).
        "frame-ancestors 'none'",
    ]
)

# Browser features no page of ours uses, refused to the page and anything it embeds.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
)

# Every page is either someone's own (credentials, KYC, money) or carries their CSRF token: no
# browser or proxy keeps a copy, and the back button after logging out shows nothing.
NO_STORE = "private, no-store"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.setdefault("Cache-Control", NO_STORE)
        return response


@register(Tags.security, deploy=True)
def check_site_url(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """PROPDESK_SITE_URL is where emails' links and the payment provider's webhooks go: it must
    be the site as it is served, or those links break and webhooks bounce."""
    site = urlsplit(settings.PROPDESK_SITE_URL)
    problems: list[CheckMessage] = []
    if settings.SECURE_SSL_REDIRECT and site.scheme != "https":
        problems.append(
            CheckWarning(
                f"PROPDESK_SITE_URL ({settings.PROPDESK_SITE_URL}) is not https:// but the site "
                "redirects every request to HTTPS.",
                hint="A webhook posted to http:// is redirected and arrives without its body. "
                "Set PROPDESK_SITE_URL to the https:// address of the site.",
                id="propdesk.W001",
            )
        )
    if not validate_host(site.hostname or "", settings.ALLOWED_HOSTS):
        problems.append(
            CheckWarning(
                f"The host of PROPDESK_SITE_URL ({site.hostname}) is not in "
                "PROPDESK_ALLOWED_HOSTS.",
                hint="The site refuses requests for that host: links in emails and webhooks "
                "would get 400 Bad Request.",
                id="propdesk.W002",
            )
        )
    return problems
