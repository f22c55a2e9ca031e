"""The portal in Spanish, beyond the pages the walk of test_portal_in_spanish.py opens: logins
that fail (wrong password, suspended, pending, rejected, throttled), password recovery and email
verification, the portal's password change (with and without errors), the page after
registering, a withdrawal's page and the KYC form. Each page is in Spanish, says what it must in
Spanish, and has no English left (the same detector as the walk). The API's refusals are in
Spanish only for a caller whose Accept-Language asks for it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import translation

from propdesk.accounts import recovery
from propdesk.accounts.services import set_client_suspended
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.onboarding import kyc
from propdesk.wallet import services as wallet
from propdesk.wallet import withdrawals
from tests.api.conftest import Api
from tests.conftest import PASSWORD, logged_in, post_form, registration
from tests.onboarding.factories import answers, build_pdf, png_bomb, upload
from tests.wallet.factories import bank_destination
from tests.web.factories import english_left

pytestmark = pytest.mark.django_db


def visitor() -> HttpClient:
    """A browser that chose Spanish with the language chooser, logged in as nobody."""
    http = HttpClient()
    http.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    return http


def in_spanish(page, data: list[str] | None = None) -> str:
    """The page's HTML, once it is known to be in Spanish with no English left."""
    assert page["Content-Language"] == "es"
    html = page.content.decode()
    assert english_left(html, data or []) == []
    return html


def log_in(email: str, password: str = PASSWORD, http: HttpClient | None = None):
    return post_form(http or visitor(), "/login/", {"email": email, "password": password})


# --- logins that fail ---------------------------------------------------------------------------


def test_a_wrong_password_is_refused_in_spanish(active_client):
    page = log_in(active_client.user.email, "not-the-password")
    assert page.status_code == 401
    assert "El correo electrónico o la contraseña no son correctos." in in_spanish(page)


def test_a_suspended_client_is_told_in_spanish(active_client, compliance):
    set_client_suspended(active_client.pk, suspended=True, actor=compliance, reason="Chargeback")
    page = log_in(active_client.user.email)
    assert page.status_code == 403
    html = in_spanish(page)
    assert "Su cuenta está suspendida. Contacte al soporte de la empresa." in html


def test_a_pending_registration_is_told_in_spanish(register, set_method):
    set_method("trader_registration", "manual")
    client, _ = register()
    page = log_in(client.user.email)
    assert page.status_code == 403
    html = in_spanish(page)
    assert "Su registro está pendiente de aprobación." in html


def test_a_rejected_registration_is_told_in_spanish_with_its_reason(
    register, set_method, compliance
):
    set_method("trader_registration", "manual")
    client, request = register()
    approvals.reject(request.pk, actor=compliance, reason="Cuenta duplicada")
    page = log_in(client.user.email)
    assert page.status_code == 403
    html = in_spanish(page, ["Cuenta duplicada"])
    assert "Su registro no fue aprobado: Cuenta duplicada" in html


def test_too_many_failed_logins_are_told_in_spanish_with_the_wait(active_client, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 2
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    http = visitor()
    for _ in range(2):
        log_in(active_client.user.email, "wrong", http)
    page = log_in(active_client.user.email, PASSWORD, http)
    assert page.status_code == 429
    html = in_spanish(page)
    assert "Demasiados inicios de sesión fallidos. Vuelva a intentarlo en " in html
    assert f"en {page['Retry-After']} segundos." in html


# --- password recovery and email verification ---------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/login/forgot/", "/login/forgot/sent/", "/login/verify/again/", "/login/verify/sent/"]
)
def test_the_recovery_pages_are_in_spanish(path, db):
    page = visitor().get(path)
    assert page.status_code == 200
    in_spanish(page)


@pytest.mark.parametrize("path", ["/login/forgot/", "/login/verify/again/"])
def test_asking_for_a_link_with_a_wrong_address_is_refused_in_spanish(path, db):
    page = post_form(visitor(), path, {"email": "not an email"})
    assert page.status_code == 422
    assert "Ingrese un correo electrónico válido." in in_spanish(page)


def test_asking_for_a_reset_link_leads_to_the_sent_page_in_spanish(active_client):
    http = visitor()
    asked = post_form(http, "/login/forgot/", {"email": active_client.user.email})
    assert asked.status_code == 302
    page = http.get(asked["Location"])
    assert page.status_code == 200
    in_spanish(page)


@pytest.mark.parametrize("path", ["/login/reset/xx/yy/", "/login/verify/garbage/"])
def test_an_invalid_link_is_told_in_spanish(path, db):
    page = visitor().get(path)
    assert page.status_code == 400
    assert "no es válido" in in_spanish(page)


def test_the_set_password_page_and_its_errors_are_in_spanish(active_client):
    user = active_client.user
    http = visitor()
    opened = http.get(recovery.reset_path(user, recovery.reset_tokens.make_token(user)))
    assert opened.status_code == 302
    page = http.get(opened["Location"])
    assert page.status_code == 200
    in_spanish(page, [user.email])
    mismatch = post_form(
        http,
        opened["Location"],
        {"new_password": "a-brand-new-passphrase-7", "new_password2": "something else 8"},
    )
    assert mismatch.status_code == 422
    assert "Las dos contraseñas no coinciden." in in_spanish(mismatch, [user.email])
    too_short = post_form(http, opened["Location"], {"new_password": "x", "new_password2": "x"})
    assert too_short.status_code == 422
    in_spanish(too_short, [user.email])
    done = post_form(
        http,
        opened["Location"],
        {"new_password": "a-brand-new-passphrase-7", "new_password2": "a-brand-new-passphrase-7"},
    )
    assert done.status_code == 302
    login_page = http.get(done["Location"])
    assert "Su contraseña fue cambiada." in in_spanish(login_page)


def test_the_email_verified_page_is_in_spanish(active_client):
    user = active_client.user
    page = visitor().get(reverse("verify_email", args=[recovery.verification_token(user)]))
    assert page.status_code == 200
    in_spanish(page, [user.email, user.name])


# --- the portal's password change ---------------------------------------------------------------


@pytest.fixture
def spanish_client(register, set_method):
    set_method("trader_registration", "automatic")
    client, _ = register(language="es")
    return client


def test_the_password_change_page_and_its_errors_are_in_spanish(spanish_client):
    http = logged_in(spanish_client.user)
    path = reverse("portal:password")
    data = [spanish_client.user.name, spanish_client.user.email]
    in_spanish(http.get(path), data)
    wrong = post_form(
        http,
        path,
        {
            "current_password": "not-mine",
            "new_password": "a-brand-new-passphrase-7",
            "new_password2": "a-brand-new-passphrase-7",
        },
    )
    assert wrong.status_code == 422
    in_spanish(wrong, data)
    mismatch = post_form(
        http,
        path,
        {"current_password": PASSWORD, "new_password": "x", "new_password2": "y"},
    )
    assert mismatch.status_code == 422
    assert "Las dos contraseñas no coinciden." in in_spanish(mismatch, data)
    changed = post_form(
        http,
        path,
        {
            "current_password": PASSWORD,
            "new_password": "a-brand-new-passphrase-7",
            "new_password2": "a-brand-new-passphrase-7",
        },
    )
    assert changed.status_code == 302
    assert "Su contraseña fue cambiada." in in_spanish(http.get(changed["Location"]), data)


# --- after registering, a withdrawal, the KYC form ------------------------------------------------


@pytest.mark.parametrize("method", ["automatic", "manual"])
def test_the_page_after_registering_is_in_spanish(method, set_method):
    set_method("trader_registration", method)
    form = registration(language="es")
    form["type"] = form.pop("kind")
    form.pop("referral_code")
    form["password_again"] = form["password"]
    form["time_zone"] = "America/Mexico_City"
    http = visitor()
    sent = post_form(http, "/portal/register/", form)
    assert sent.status_code == 302, sent.content.decode()
    page = http.get(sent["Location"])
    assert page.status_code == 200
    in_spanish(page, [form["name"], form["email"]])


def test_a_withdrawals_page_is_in_spanish(spanish_client, finance, bank_transfer):
    wallet.adjust(
        spanish_client.pk,
        direction="credit",
        amount="1000.00",
        currency="USD",
        comment="Funding",
        actor=finance,
    )
    destination = bank_destination()
    made = withdrawals.request_withdrawal(
        spanish_client,
        method=bank_transfer.pk,
        amount="400.00",
        currency="USD",
        destination=destination,
    )
    http = logged_in(spanish_client.user)
    path = reverse("portal:withdrawal_detail", kwargs={"withdrawal_id": made.pk})
    data = [
        spanish_client.user.name,
        spanish_client.user.email,
        made.reference,
        bank_transfer.name,
        *destination.values(),
        "DE89 3704 0044 0532 0130 00",
    ]
    waiting = http.get(path)
    assert waiting.status_code == 200
    html = in_spanish(waiting, data)
    assert "<dt>Pagar a</dt>" in html
    assert "<dt>Titular de la cuenta</dt>" in html
    request = ApprovalRequest.objects.get(type_key="withdrawal", payload__withdrawal_id=made.pk)
    approvals.reject(request.pk, actor=finance, reason="Titular distinto")
    rejected = http.get(path)
    assert rejected.status_code == 200
    in_spanish(rejected, [*data, "Titular distinto"])


def firms_words(client, kyc_form) -> list[str]:
    """The client's own data and the firm's form: its names, questions and choices are the
    firm's words."""
    return [
        client.user.name,
        client.user.email,
        kyc_form.name,
        kyc_form.description,
        *(d.label for d in kyc_form.documents.all()),
        "Date of birth",
        "Country of residence",
        "Identity document type",
        "Middle name",
        "Passport",
        "ID card",
    ]


def test_the_kyc_form_and_its_errors_are_in_spanish(spanish_client, kyc_form):
    http = logged_in(spanish_client.user)
    path = reverse("portal:kyc_submit", kwargs={"form_id": kyc_form.pk})
    data = firms_words(spanish_client, kyc_form)
    assert "PDF, JPEG o PNG, de 10 MB como máximo." in in_spanish(http.get(path), data)
    refused = post_form(http, path, {"date_of_birth": "17.5.1990"})
    assert refused.status_code == 422
    html = in_spanish(refused, data)
    assert "Date of birth: ingrese una fecha como AAAA-MM-DD." in html
    assert "Identity document: súbalo, por favor." in html


# --- the API: Spanish only when the caller asks for it ------------------------------------------


def test_the_apis_login_refusals_follow_the_callers_accept_language(active_client):
    """An anonymous script that sends no Accept-Language keeps the English answers it always
    had (a call with a client's token is in the client's language: the next test)."""
    api = Api()
    wrong = {"email": active_client.user.email, "password": "not-the-password"}
    english = api.call("POST", "/auth/token", wrong)
    assert english.status_code == 401
    assert english.json()["message"] == "The email or the password is not right."
    spanish = api.call("POST", "/auth/token", wrong, HTTP_ACCEPT_LANGUAGE="es")
    assert spanish.status_code == 401
    assert spanish.json()["code"] == "invalid_credentials"
    assert spanish.json()["message"] == "El correo electrónico o la contraseña no son correctos."
    empty = api.call(
        "POST", "/auth/token", {"email": "", "password": ""}, HTTP_ACCEPT_LANGUAGE="es"
    )
    assert empty.status_code == 422
    assert empty.json()["fields"] == {
        "email": "El correo electrónico es obligatorio.",
        "password": "La contraseña es obligatoria.",
    }


def test_an_api_call_by_token_is_in_its_users_language_not_the_callers_header(
    spanish_client, compliance, admin
):
    """As on the pages: a client's own choice wins, staff read the firm's default."""
    kyc.set_policy(["withdraw"], actor=admin)
    api = Api()
    client_token = api.token(spanish_client.user.email, PASSWORD)
    order = {"method": "bank", "amount": "10.00", "currency": "USD"}
    refused = api.call(
        "POST", "/wallet/withdrawals", order, token=client_token, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert refused.status_code == 403
    assert refused["Content-Language"] == "es"
    assert refused.json() == {
        "code": "kyc_required",
        "message": "Verifique su identidad antes de retirar fondos (estado de su KYC: no enviado).",
        "action": "withdraw",
        "kyc_status": "not_submitted",
    }
    staff_token = api.token(compliance.email, PASSWORD)
    staff = api.call("GET", "/approvals", token=staff_token, HTTP_ACCEPT_LANGUAGE="es")
    assert staff.status_code == 200
    assert staff["Content-Language"] == settings.LANGUAGE_CODE


def test_the_kyc_content_checks_refuse_a_file_in_spanish(spanish_client, kyc_form):
    http = logged_in(spanish_client.user)
    path = reverse("portal:kyc_submit", kwargs={"form_id": kyc_form.pk})
    scripted = build_pdf(catalog=b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>")
    http.get(path)  # the form's page sets the CSRF cookie
    refused = http.post(
        path,
        {
            **answers(),
            "identity_document": upload("id.png", png_bomb(20_000)),
            "proof_of_address": upload("bill.pdf", scripted),
            "csrfmiddlewaretoken": http.cookies["csrftoken"].value,
        },
    )
    assert refused.status_code == 422
    html = in_spanish(refused, firms_words(spanish_client, kyc_form))
    assert "50 megapíxeles y 20.000 píxeles por lado" in html
    assert "este PDF contiene JavaScript; suba en su lugar un escaneo" in html


def test_the_masked_account_of_a_withdrawal_is_in_spanish(spanish_client, finance, bank_transfer):
    wallet.adjust(
        spanish_client.pk,
        direction="credit",
        amount="1000.00",
        currency="USD",
        comment="Funding",
        actor=finance,
    )
    destination = {**bank_destination(), "account": "123456781234"}
    made = withdrawals.request_withdrawal(
        spanish_client,
        method=bank_transfer.pk,
        amount="400.00",
        currency="USD",
        destination=destination,
    )
    assert made.paid_to is not None
    with translation.override("es"):
        assert made.paid_to.masked == "Cuenta •••• 1234"
    with translation.override("en"):
        assert made.paid_to.masked == "Account •••• 1234"
    page = logged_in(spanish_client.user).get(reverse("portal:wallet"))
    assert "Cuenta •••• 1234" in page.content.decode()
