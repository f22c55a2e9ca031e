"""Finance > Payments and Settings > Payment providers: who may see and refund, the refund's
confirm step, secrets sealed and never shown again, Test connection."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from propdesk.core import vault
from propdesk.core.models import AuditRecord
from propdesk.wallet import deposits, sandbox_payments
from propdesk.wallet.models import Payment, PaymentRefund, ProviderAccount
from tests.conftest import logged_in, post_form
from tests.wallet.factories import deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(active_client, sandbox_card, set_method):
    set_method("deposit", "automatic")
    made = deposits.request_deposit(
        active_client, method=sandbox_card.pk, amount="80.00", currency="USD"
    )
    deliver(sandbox_payments.event_for(made, paid=True))
    return Payment.objects.get()


def test_finance_sees_the_payments_and_the_providers_messages(paid, finance):
    browser = logged_in(finance)
    listed = browser.get("/backoffice/finance/payments/?provider=sandbox&status=paid")
    assert f'data-payment="{paid.pk}"' in listed.content.decode()
    assert (
        f'data-payment="{paid.pk}"'
        not in browser.get("/backoffice/finance/payments/?status=expired").content.decode()
    )
    page = browser.get(f"/backoffice/finance/payments/{paid.pk}/").content.decode()
    assert "payment.succeeded" in page
    assert 'id="refund-form"' in page
    assert 'id="sandbox-controls"' in page


def test_support_cannot_see_or_refund_payments(paid, support):
    browser = logged_in(support)
    assert browser.get("/backoffice/finance/payments/").status_code == 403
    refused = post_form(
        browser,
        f"/backoffice/finance/payments/{paid.pk}/refund/",
        {"amount": "10.00", "reason": "x", "confirm": "yes"},
    )
    assert refused.status_code == 403
    assert not PaymentRefund.objects.exists()


def test_a_refund_is_asked_only_after_the_confirm_step(paid, finance, run_jobs, active_client):
    browser = logged_in(finance)
    path = f"/backoffice/finance/payments/{paid.pk}/refund/"
    asked = post_form(browser, path, {"amount": "30.00", "reason": "Duplicate charge"})
    assert 'id="refund-confirm"' in asked.content.decode()
    assert not PaymentRefund.objects.exists()
    post_form(browser, path, {"amount": "30.00", "reason": "Duplicate charge", "confirm": "yes"})
    run_jobs()
    assert PaymentRefund.objects.get().status == "succeeded"
    assert Payment.objects.get().refunded == Decimal("30.00")
    assert AuditRecord.objects.filter(action="payment.refund").count() == 1


def test_the_confirm_posted_twice_asks_for_one_refund(paid, finance, run_jobs, active_client):
    browser = logged_in(finance)
    path = f"/backoffice/finance/payments/{paid.pk}/refund/"
    asked = post_form(browser, path, {"amount": "30.00", "reason": "Duplicate charge"})
    key = re.search(r'name="key" value="([0-9a-f-]{36})"', asked.content.decode()).group(1)
    confirm = {"amount": "30.00", "reason": "Duplicate charge", "confirm": "yes", "key": key}
    post_form(browser, path, confirm)
    post_form(browser, path, confirm)  # a double click, a resent request
    run_jobs()
    assert PaymentRefund.objects.count() == 1
    assert Payment.objects.get().refunded == Decimal("30.00")
    assert AuditRecord.objects.filter(action="payment.refund").count() == 1
    post_form(browser, path, {**confirm, "key": "not-a-key"})
    assert PaymentRefund.objects.count() == 1  # a mangled key: refused, nothing asked


def test_a_providers_secret_is_sealed_never_shown_and_kept_when_left_blank(admin):
    browser = logged_in(admin)
    path = "/backoffice/settings/payment-providers/sandbox/"
    post_form(browser, path, {"enabled": "on", "api_key": "sk_test_secret_1234", "action": "save"})
    account = ProviderAccount.objects.get(kind="sandbox")
    assert "sk_test_secret_1234" not in account.sealed_secrets
    assert "sk_test_secret_1234" in vault.open_sealed(account.sealed_secrets)
    page = browser.get(path).content.decode()
    assert "sk_test_secret_1234" not in page
    assert "leave blank to keep it" in page
    post_form(browser, path, {"enabled": "on", "api_key": "", "action": "save"})  # blank keeps
    tested = post_form(browser, path, {"action": "test"})
    assert tested.status_code == 302
    shown = browser.get(path).content.decode()
    assert "with the key ending 1234" in shown
    audits = AuditRecord.objects.filter(object_type="wallet.ProviderAccount")
    assert "sk_test_secret_1234" not in str(list(audits.values("summary", "before", "after")))
    assert audits.filter(action="payment_provider.test").count() == 1


def test_test_connection_shows_the_reason_it_failed(admin):
    browser = logged_in(admin)
    path = "/backoffice/settings/payment-providers/sandbox/"
    post_form(browser, path, {"enabled": "on", "unreachable": "yes", "action": "save"})
    post_form(browser, path, {"action": "test"})
    assert "cannot be reached" in browser.get(path).content.decode()


def test_the_provider_settings_need_the_settings_permission(finance):
    assert logged_in(finance).get("/backoffice/settings/payment-providers/").status_code == 403


def test_a_remote_provider_is_not_turned_on_without_its_keys_and_nothing_is_saved(admin):
    from propdesk.core.errors import ValidationFailed
    from propdesk.wallet import provider_settings

    with pytest.raises(ValidationFailed) as refused:
        provider_settings.save(
            "stripe", enabled=True, given={"secret_key": "sk_test_only_the_key"}, actor=admin
        )
    assert "webhook_secret" in refused.value.fields
    assert "secret_key" not in refused.value.fields
    assert not ProviderAccount.objects.filter(kind="stripe", enabled=True).exists()
    # Off, the key alone is kept (the rest can follow).
    provider_settings.save(
        "stripe", enabled=False, given={"secret_key": "sk_test_only_the_key"}, actor=admin
    )
    assert ProviderAccount.objects.get(kind="stripe").sealed_secrets


def test_a_sandbox_dispute_is_decided_only_from_its_own_payments_page(paid, active_client, admin):
    from propdesk.wallet.models import SandboxDispute
    from propdesk.wallet.providers import sandbox

    other = deposits.request_deposit(
        active_client, method=paid.method_id, amount="40.00", currency="USD"
    )
    deliver(sandbox_payments.event_for(other, paid=True))
    elsewhere = Payment.objects.get(token=other.checkout_token)
    dispute_id = sandbox.open_dispute(paid.token, Decimal("80.00"))
    browser = logged_in(admin)
    answer = post_form(
        browser,
        f"/backoffice/finance/payments/{elsewhere.pk}/sandbox/",
        {"what": "lose_dispute", "dispute": dispute_id},
    )
    assert answer.status_code == 302
    assert SandboxDispute.objects.get(dispute_id=dispute_id).state == "needs_response"
    post_form(
        browser,
        f"/backoffice/finance/payments/{paid.pk}/sandbox/",
        {"what": "lose_dispute", "dispute": dispute_id},
    )
    assert SandboxDispute.objects.get(dispute_id=dispute_id).state == "lost"
