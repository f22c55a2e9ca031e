"""Certificates in the back office: a participant's page lists them
(`challenges/_participant_certificates.html`) and staff download their PDFs here."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from propdesk.challenges.certificates import document, services
from propdesk.challenges.permissions import CHALLENGES_VIEW
from propdesk.core.web import staff_view


@require_GET
@staff_view(CHALLENGES_VIEW)
def certificate_pdf(request: HttpRequest, certificate_id: int) -> HttpResponse:
    return document.response(services.get(certificate_id))
