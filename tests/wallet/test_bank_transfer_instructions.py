"""A bank-transfer deposit people can act on: the firm's account (checked when staff set it)
and the reference to quote, shown after the request; only currencies some method takes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from propdesk.core.errors import ValidationFailed
from propdesk.wallet import deposits
from propdesk.wallet.bank_details import iban_is_valid
from propdesk.wallet.models import Deposit, PaymentMethod
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db

IBAN = "CZ6508000000192000145399"
ACCOUNT = {
    "bank_beneficiary": "Propdesk Trading s.r.o.",
    "bank_account": "cz65 0800 0000 1920 0014 5399",
    "bank_bic": "gibaczpx",
    "bank_name": "Česká spořitelna",
}


def _method(admin, *, name="Bank transfer EUR", kind="offline", currencies=("EUR",), **bank):
    return deposits.save_payment_method(
        None,
        name=name,
        kind=kind,
        currencies=list(currencies),
        min_amount="10",
        max_amount="10000",
        actor=admin,
        **bank,
    )


def test_an_iban_is_checked_by_its_check_digits():
    assert iban_is_valid(IBAN)
    assert iban_is_valid("GB82WEST12345698765432")
    assert not iban_is_valid("CZ6608000000192000145399")
    assert not iban_is_valid("CZ65")


def test_staff_set_a_bank_account_and_it_is_stored_tidied(admin):
    method = _method(admin, **ACCOUNT)
    assert method.bank_account == IBAN
    assert method.bank_bic == "GIBACZPX"
    assert method.bank_account_shown == "CZ65 0800 0000 1920 0014 5399"
    assert method.bank_beneficiary == "Propdesk Trading s.r.o."


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bank_account": "CZ6608000000192000145399"}, "bank_account"),  # a digit mistyped
        ({"bank_account": "x" * 60}, "bank_account"),
        ({"bank_account": "12 34 <script>"}, "bank_account"),
        ({"bank_account": ""}, "bank_account"),
        ({"bank_bic": "GIBA"}, "bank_bic"),
        ({"bank_bic": "GIBACZPX1"}, "bank_bic"),
        ({"bank_beneficiary": ""}, "bank_beneficiary"),
        ({"bank_name": ""}, "bank_name"),
        ({"bank_name": "Bank\x00"}, "bank_name"),
        ({"bank_beneficiary": 42}, "bank_beneficiary"),
    ],
)
def test_a_wrong_or_half_bank_account_is_refused_and_saves_nothing(admin, change, field):
    with pytest.raises(ValidationFailed) as refused:
        _method(admin, **{**ACCOUNT, **change})
    assert field in refused.value.fields
    assert not PaymentMethod.objects.exists()


def test_an_online_method_has_no_bank_account(admin):
    with pytest.raises(ValidationFailed) as refused:
        _method(admin, kind="online", provider="sandbox", **ACCOUNT)
    assert "bank_account" in refused.value.fields


def test_an_account_number_that_is_not_an_iban_is_kept_as_typed(admin):
    method = _method(admin, **{**ACCOUNT, "bank_account": "026009593", "bank_bic": ""})
    assert method.bank_account_shown == "026009593"


def test_the_settings_page_saves_the_bank_account_and_names_a_wrong_one(admin):
    http = logged_in(admin)
    form = {
        "name": "Bank transfer EUR",
        "kind": "offline",
        "currencies": ["EUR"],
        "min_amount": "10",
        "max_amount": "10000",
        "enabled": "on",
        **ACCOUNT,
        "bank_account": "CZ66 0800 0000 1920 0014 5399",
    }
    refused = post_form(http, reverse("backoffice:payment_method_new"), form)
    assert refused.status_code in (200, 422)
    assert "IBAN is not valid" in refused.content.decode()
    assert not PaymentMethod.objects.exists()
    saved = post_form(
        http, reverse("backoffice:payment_method_new"), {**form, "bank_account": IBAN}
    )
    assert saved.status_code == 302
    listing = http.get(reverse("backoffice:payment_methods")).content.decode()
    assert "CZ65 0800 0000 1920 0014 5399" in listing


def test_after_a_bank_transfer_deposit_the_client_sees_the_account_and_the_reference(
    admin, active_client
):
    method = _method(admin, **ACCOUNT)
    http = logged_in(active_client.user)
    response = post_form(
        http,
        reverse("portal:deposit"),
        {"method": method.pk, "amount": "500", "currency": "EUR", "idempotency_key": "k"},
    )
    deposit = Deposit.objects.get()
    page = http.get(response["Location"]).content.decode()
    assert 'id="transfer-instructions"' in page
    for shown in ("Propdesk Trading s.r.o.", "CZ65 0800 0000 1920 0014 5399", "GIBACZPX"):
        assert shown in page
    assert f'data-field="reference"><strong>{deposit.reference}</strong>' in page
    assert "500.00 EUR" in page


def test_another_client_cannot_open_someone_elses_deposit(admin, active_client, register):
    method = _method(admin, **ACCOUNT)
    deposit = deposits.request_deposit(active_client, method=method.pk, amount="50", currency="EUR")
    other, _ = register()
    other.status = active_client.status
    other.save()
    page = logged_in(other.user).get(reverse("portal:deposit_detail", args=[deposit.pk]))
    assert page.status_code == 404


def test_the_deposit_form_offers_only_currencies_some_method_takes(admin, active_client):
    _method(admin, **ACCOUNT)
    _method(admin, name="Card", kind="online", provider="sandbox", currencies=("USD",))
    _method(admin, name="Closed", currencies=("GBP",))
    PaymentMethod.objects.filter(name="Closed").update(enabled=False)
    page = logged_in(active_client.user).get(reverse("portal:deposit")).content.decode()
    assert '<option value="EUR"' in page
    assert '<option value="USD"' in page
    assert '<option value="GBP"' not in page
    assert 'data-currencies="EUR"' in page


@pytest.mark.parametrize("currency", ["GBP", "XXX", "", "EUR<script>"])
def test_a_currency_no_method_takes_is_refused_clearly_and_changes_nothing(
    admin, active_client, currency
):
    method = _method(admin, **ACCOUNT)
    http = logged_in(active_client.user)
    response = post_form(
        http,
        reverse("portal:deposit"),
        {"method": method.pk, "amount": "50", "currency": currency, "idempotency_key": "k"},
    )
    assert response.status_code == 422
    assert "No payment method takes this currency" in response.content.decode() or (
        "required" in response.content.decode()
    )
    assert not Deposit.objects.exists()


def test_the_service_refuses_a_currency_no_method_takes(admin, active_client):
    _method(admin, **ACCOUNT)
    with pytest.raises(ValidationFailed) as refused:
        deposits.request_deposit(
            active_client, method="Bank transfer EUR", amount="50", currency="GBP"
        )
    assert refused.value.fields["currency"] == "No payment method takes GBP; choose one of: EUR."
    assert not Deposit.objects.exists()
