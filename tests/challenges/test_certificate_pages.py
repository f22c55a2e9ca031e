"""Certificates' pages: anyone with the code sees who achieved what at its public address (a
guessed, malformed or huge code is not found, alike, and guessing is throttled); only the
owner downloads it from the portal; staff see a participant's on their page."""

from __future__ import annotations

import io
import re
import secrets

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils.html import escape
from pypdf import PdfReader

from propdesk.challenges.certificates import services
from propdesk.challenges.models import Certificate
from tests.challenges.factories import funded, paid_payout, pass_stage, running, stage
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def certificate(active_client, finance, admin):
    """The certificate of a stage the monitor passed (+8,880 on 100,000)."""
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    pass_stage(attempt)
    return Certificate.objects.get(attempt=attempt)


def unmasked(page: bytes) -> str:
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", page.decode())


def public(code: str) -> str:
    return f"/certificates/{code}/"


# --- the public page -----------------------------------------------------------------------------


def test_anyone_with_the_code_sees_who_achieved_what(certificate, active_client, settings):
    page = HttpClient().get(public(certificate.code))
    assert page.status_code == 200
    html = page.content.decode()
    for said in (
        escape(active_client.user.name),
        "Certificate of achievement",
        "passed stage 1 of 2 in 2-Step 100K",
        "100,000.00 USD",
        "8,880.00 USD (8.88%)",
        certificate.figures["issued_on"],
        certificate.reference,
        escape(settings.PROPDESK_FIRM_NAME),
        reverse("certificate_pdf", kwargs={"code": certificate.code}),
    ):
        assert said in html, said
    # Nothing about the trader beyond the name and the figures on the certificate.
    user = active_client.user
    for private in (user.email, active_client.phone, certificate.attempt.login):
        assert private not in html
    assert page["X-Robots-Tag"] == "noindex, nofollow"


def test_the_public_pdf_is_the_certificate(certificate):
    answer = HttpClient().get(reverse("certificate_pdf", kwargs={"code": certificate.code}))
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    assert answer["Content-Disposition"] == f'attachment; filename="{certificate.reference}.pdf"'
    text = PdfReader(io.BytesIO(answer.content)).pages[0].extract_text()
    assert certificate.reference in text
    assert certificate.code in text


def test_a_payout_certificate_says_what_was_paid(active_client, finance, admin):
    _, live = funded(active_client, finance, admin)
    made = services.issue_for_payout(paid_payout(live, profit="2500.00"))
    html = HttpClient().get(public(made.code)).content.decode()
    assert "Payout certificate" in html
    assert "received a payout of 2,000.00 USD as a funded trader in 2-Step 100K" in html


@pytest.mark.parametrize(
    "code",
    [
        "Tt7otvz2awdEoYsVj5I5RnVfk0U0_Ktd",  # well formed, issued to nobody
        "short",
        "A" * 33,
        "A" * 5000,
        "ÄÖÜ" + "A" * 29,
        "%27%20OR%201%3D1--" + "A" * 14,
    ],
)
def test_a_guessed_malformed_or_huge_code_is_not_found_alike(certificate, code):
    http = HttpClient()
    answer = http.get(public(code))
    assert answer.status_code == 404
    assert certificate.code not in answer.content.decode()
    unknown = http.get(public(secrets.token_urlsafe(24)))
    # It says nothing of how near it came: the same page (but for the masked CSRF token).
    assert unmasked(answer.content) == unmasked(unknown.content)
    assert http.get(f"{public(code)}pdf/").status_code == 404


def test_a_code_one_character_off_is_not_found(certificate):
    near = certificate.code[:-1] + ("A" if certificate.code[-1] != "A" else "B")
    assert HttpClient().get(public(near)).status_code == 404


def test_wrong_codes_from_one_address_are_throttled_right_ones_too(certificate, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 3
    http = HttpClient(REMOTE_ADDR="203.0.113.7")
    for _ in range(3):
        assert http.get(public(secrets.token_urlsafe(24))).status_code == 404
    refused = http.get(public(certificate.code))
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    said = refused.content.decode()
    assert "Too many wrong certificate codes from your address" in said
    assert "failed logins" not in said  # nobody tried to log in
    assert http.get(f"{public(certificate.code)}pdf/").status_code == 429
    # Another address is not held back by them.
    assert HttpClient(REMOTE_ADDR="198.51.100.9").get(public(certificate.code)).status_code == 200


# --- the portal ----------------------------------------------------------------------------------


def test_the_trader_finds_and_downloads_their_certificate(certificate, active_client):
    http = logged_in(active_client.user)
    page = http.get(
        reverse(
            "portal:my_challenge", kwargs={"participation_id": certificate.attempt.participation_id}
        )
    )
    html = page.content.decode()
    assert 'id="certificates"' in html
    download = reverse("portal:my_certificate_pdf", kwargs={"certificate_id": certificate.pk})
    assert download in html
    assert public(certificate.code) in html
    answer = http.get(download)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/pdf"
    assert answer["Content-Disposition"].startswith("attachment;")
    assert answer.content.startswith(b"%PDF-")


def test_another_client_cannot_download_it(certificate, register):
    other, _ = register()
    download = reverse("portal:my_certificate_pdf", kwargs={"certificate_id": certificate.pk})
    assert logged_in(other.user).get(download).status_code == 404
    assert (
        logged_in(other.user)
        .get(reverse("portal:my_certificate_pdf", kwargs={"certificate_id": 10**12}))
        .status_code
        == 404
    )
    anonymous = HttpClient().get(download)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))


def test_a_challenge_without_a_certificate_lists_none(active_client, finance, admin):
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage("live")])
    page = logged_in(active_client.user).get(
        reverse("portal:my_challenge", kwargs={"participation_id": joined.pk})
    )
    assert page.status_code == 200
    assert 'id="certificates"' not in page.content.decode()


# --- the back office -----------------------------------------------------------------------------


def test_staff_see_the_participants_certificates_and_download_them(certificate, admin):
    http = logged_in(admin)
    page = http.get(
        reverse(
            "backoffice:participant",
            kwargs={"participation_id": certificate.attempt.participation_id},
        )
    )
    html = page.content.decode()
    download = reverse("backoffice:certificate_pdf", kwargs={"certificate_id": certificate.pk})
    assert download in html
    assert public(certificate.code) in html
    assert certificate.reference in html
    answer = http.get(download)
    assert answer.status_code == 200
    assert answer.content.startswith(b"%PDF-")


def test_a_client_cannot_use_the_back_office_download(certificate, active_client):
    download = reverse("backoffice:certificate_pdf", kwargs={"certificate_id": certificate.pk})
    assert logged_in(active_client.user).get(download).status_code == 403
