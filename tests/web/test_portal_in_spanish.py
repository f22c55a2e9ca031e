"""The portal in Spanish has no English left: a Spanish client walks its pages (and a visitor
the login and registration pages with the language chooser's cookie) and no text on them is an
English entry of the catalogue or reads as English. What the test itself made (names, emails,
challenge names, references, logins) is taken out first: that is data, not the portal's words.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import translation

from propdesk.challenges.certificates import services as certificates
from propdesk.notifications.services import notify
from propdesk.wallet import deposits
from tests.challenges.factories import breach, funded, paid_payout, take_profit, trading
from tests.conftest import logged_in
from tests.web.factories import english_left

pytestmark = pytest.mark.django_db


@pytest.fixture
def spanish(register, set_method, finance, admin, kyc_form):
    """A client who registered in Spanish (the registration's approval notice is written in
    Spanish) with a funded challenge (a trade, a paid payout and its certificate), a deposit
    waiting for a transfer, and a notification."""
    set_method("trader_registration", "automatic")
    active_client, _ = register(language="es")
    assert active_client.user.language == "es"
    joined, live = funded(active_client, finance, admin)
    take_profit(live)
    payout = paid_payout(live)
    certificate = certificates.issue_for_payout(payout)
    method = deposits.save_payment_method(
        None,
        name="Transferencia",
        kind="offline",
        currencies=["USD"],
        min_amount="50",
        max_amount="10000",
        instructions="IBAN CZ65 0800 0000 1920 0014 5399",
        bank_beneficiary="Propdesk s.r.o.",
        bank_account="CZ6508000000192000145399",
        bank_name="Banco Uno",
        payout_to="bank",
        actor=admin,
    )
    deposit = deposits.request_deposit(
        active_client, method=method.pk, amount="100", currency="USD"
    )
    notify(active_client.user, title="Aviso", body="Texto del aviso")
    # A challenge paid from the wallet (a fee entry) whose first stage the rules failed: its
    # page says why in Spanish.
    tried, failed = trading(active_client, finance, admin)
    breach(failed)
    assert failed.status == "failed"
    data = [
        active_client.user.name,
        active_client.user.email,
        active_client.phone,
        active_client.referral_code or "",
        joined.definition.name if hasattr(joined, "definition") else "",
        joined.reference,
        deposit.reference,
        payout.reference,
        certificate.reference,
        str(live.login),
        live.server.name,
        method.name,
        "Propdesk s.r.o.",
        "Banco Uno",
        tried.reference,
        str(failed.login),
        failed.server.name,
        # The firm's KYC form (its names are the firm's words, in the firm's language).
        kyc_form.name,
        kyc_form.description,
        *(d.label for d in kyc_form.documents.all()),
    ]
    return {
        "client": active_client,
        "participation": joined,
        "failed": tried,
        "live": live,
        "deposit": deposit,
        "certificate": certificate,
        "data": [d for d in data if d],
    }


def portal_pages(made) -> list[str]:
    p = made["participation"]
    challenge_page = reverse("portal:my_challenge", kwargs={"participation_id": p.pk})
    failed_page = reverse("portal:my_challenge", kwargs={"participation_id": made["failed"].pk})
    return [
        reverse("portal:home"),
        reverse("portal:profile"),
        reverse("portal:challenges"),
        reverse("portal:challenge", kwargs={"challenge_id": p.challenge_id}),
        reverse("portal:my_challenges"),
        challenge_page,
        *(f"{challenge_page}?tab={tab}" for tab in ("chart", "trades", "payouts")),
        failed_page,
        f"{failed_page}?tab=chart",
        reverse("portal:wallet"),
        reverse("portal:deposit"),
        reverse("portal:deposit_detail", kwargs={"deposit_id": made["deposit"].pk}),
        reverse("portal:withdraw"),
        reverse("portal:notifications"),
        reverse("portal:kyc"),
        reverse("portal:referrals"),
        reverse("certificate", kwargs={"code": made["certificate"].code}),
    ]


def test_a_spanish_client_finds_no_english_on_the_portal(spanish):
    http = logged_in(spanish["client"].user)
    challenge_names = [str(spanish[p].challenge.name) for p in ("participation", "failed")]
    left = {}
    for path in portal_pages(spanish):
        page = http.get(path)
        assert page.status_code == 200, path
        assert page["Content-Language"] == "es"
        found = english_left(page.content.decode(), [*spanish["data"], *challenge_names])
        if found:
            left[path] = found
    assert left == {}


@pytest.mark.parametrize("path", ["/login/", "/portal/register/"])
def test_a_visitor_who_chose_spanish_reads_the_login_and_registration_pages_in_spanish(path):
    http = HttpClient()
    http.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    page = http.get(path)
    assert page.status_code == 200
    assert page["Content-Language"] == "es"
    assert english_left(page.content.decode(), []) == []


def test_the_browser_language_is_followed_when_nothing_was_chosen():
    page = HttpClient().get("/login/", headers={"accept-language": "es-MX,es;q=0.9,en;q=0.5"})
    assert "Iniciar sesión" in page.content.decode()
    assert HttpClient().get("/login/").content.decode().count("Log in") >= 2


def test_the_detector_catches_a_string_left_unwrapped():
    """What the walk relies on: English written straight into a page is found."""
    with translation.override("es"):
        html = (
            "<p>Su billetera</p><p>Deposit to your wallet</p><button>Withdraw</button>"
            '<p title="Open the web terminal">x</p><p>Pending approval of the firm</p>'
        )
    assert english_left(html, []) == [
        "Deposit to your wallet",
        "Withdraw",
        "Open the web terminal",
        "Pending approval of the firm",
    ]


def test_the_browser_scripts_get_their_words_in_spanish_from_the_page(spanish):
    """The scripts write no English of their own: the chart's legend and the day reset's
    countdown read their words from the page, in the client's language."""
    http = logged_in(spanish["client"].user)
    page = reverse("portal:my_challenge", kwargs={"participation_id": spanish["participation"].pk})
    chart = http.get(f"{page}?tab=chart").content.decode()
    assert 'data-words-equity="Capital"' in chart
    assert 'data-words-balance="Saldo"' in chart
    overview = http.get(page).content.decode()
    assert 'data-countdown-in="se reinicia en {time}"' in overview
    assert 'data-countdown-now="reiniciándose ahora"' in overview


def test_a_failed_stage_says_why_in_spanish_without_the_rules_english_record(spanish):
    """The verdict is the notification's sentence in Spanish, with Spanish figures; the rules'
    step-by-step record (written in English for the firm) is left out; the status and the
    wallet's fee entry read in Spanish."""
    http = logged_in(spanish["client"].user)
    failed = spanish["failed"]
    page = http.get(reverse("portal:my_challenge", kwargs={"participation_id": failed.pk}))
    html = page.content.decode()
    assert (
        '<p class="headline" data-headline>Su capital bajó a 94.880,00, por debajo del límite '
        "de pérdida diaria de 95.000,00.</p>"
    ) in html
    assert "data-explanation" not in html
    assert "fell below" not in html
    assert "data-stage-status>No superada<" in html
    wallet = http.get(reverse("portal:wallet")).content.decode()
    assert "Tarifa del desafío" in wallet
    assert "Prop Trading Fee" not in wallet
    assert f"Tarifa de {failed.version.spec.name}" in wallet  # its line, in Spanish too


def test_the_language_chooser_names_each_language_in_its_own_words():
    http = HttpClient()
    http.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    page = http.get("/login/").content.decode()
    assert '<option value="en" lang="en">English</option>' in page
    assert '<option value="es" lang="es" selected>Español</option>' in page
