"""Amounts are ASCII decimal text (or a JSON integer) wherever money or a quantity is taken,
and names lose the invisible characters that let one person pass for another."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.accounts.models import User
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Challenge
from propdesk.core.errors import ValidationFailed
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox import orders
from propdesk.platforms.sandbox.models import Position
from propdesk.wallet import deposits, ledger
from propdesk.wallet import services as wallet
from propdesk.wallet.models import Deposit, JournalEntry, Withdrawal
from tests.challenges.factories import definition
from tests.conftest import PASSWORD, logged_in, registration
from tests.wallet.factories import bank_destination

pytestmark = pytest.mark.django_db

# The spellings of a hundred (full-width, Arabic-Indic; a thousand; an exponent), and
# JSON `true`, which used to debit 1.00.
SPELLINGS = ["\uff11\uff10\uff10", "\u0661\u0660\u0660", "1_000", "1E+2", True]


@pytest.fixture
def cash_desk(admin):
    """A method that takes anything from 1 to 100,000, so that only the spelling is wrong."""
    return deposits.save_payment_method(
        None,
        name="Cash desk",
        kind="offline",
        currencies=["USD"],
        min_amount="1",
        max_amount="100000",
        payout_to="bank",
        actor=admin,
    )


def _credit(client, admin):
    wallet.adjust(
        client.pk, direction="credit", amount="5000", currency="USD", comment="x", actor=admin
    )


def _refused(response, field):
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["fields"]


@pytest.mark.parametrize("amount", SPELLINGS)
def test_a_wallet_adjustment_refuses_odd_amount_spellings(api, admin, active_client, amount):
    body = {"direction": "debit", "amount": amount, "currency": "USD", "comment": "fee"}
    _credit(active_client, admin)
    token = api.token(admin.email, PASSWORD)
    response = api.call("POST", f"/wallets/{active_client.pk}/adjustments", body, token=token)
    _refused(response, "amount")
    assert ledger.balances(active_client) == {"USD": Decimal("5000.00")}


@pytest.mark.parametrize("amount", SPELLINGS)
def test_a_deposit_refuses_odd_amount_spellings(api, active_client, cash_desk, amount):
    token = api.token(active_client.user.email, PASSWORD)
    body = {"amount": amount, "currency": "USD", "method": cash_desk.pk}
    _refused(api.call("POST", "/wallet/deposits", body, token=token), "amount")
    assert not Deposit.objects.exists()


@pytest.mark.parametrize("amount", SPELLINGS)
def test_a_withdrawal_refuses_odd_amount_spellings(api, admin, active_client, cash_desk, amount):
    _credit(active_client, admin)
    token = api.token(active_client.user.email, PASSWORD)
    body = {
        "amount": amount,
        "currency": "USD",
        "method": cash_desk.pk,
        "destination": bank_destination(),
    }
    _refused(api.call("POST", "/wallet/withdrawals", body, token=token), "amount")
    assert not Withdrawal.objects.exists()
    assert ledger.balances(active_client) == {"USD": Decimal("5000.00")}


@pytest.mark.parametrize("amount", SPELLINGS)
def test_an_amended_approval_refuses_odd_amount_spellings(
    api, admin, active_client, cash_desk, amount
):
    made = deposits.request_deposit(
        active_client, method=cash_desk.pk, amount="500", currency="USD"
    )
    request = ApprovalRequest.objects.get(type_key="deposit", payload__deposit_id=made.pk)
    token = api.token(admin.email, PASSWORD)
    response = api.call("POST", f"/approvals/{request.pk}/approve", {"amount": amount}, token=token)
    _refused(response, "amount")
    request.refresh_from_db()
    assert (request.status, request.amount) == ("pending", Decimal("500.00"))


@pytest.mark.parametrize("fee", SPELLINGS)
def test_a_challenge_fee_refuses_odd_spellings(api, admin, fee):
    token = api.token(admin.email, PASSWORD)
    _refused(api.call("POST", "/challenges", definition(fee=fee), token=token), "fee")
    assert not Challenge.objects.exists()


@pytest.mark.parametrize("pct", ["\uff18", "1E+1", "8_0", True, 8.5])
def test_a_challenge_rule_refuses_odd_spellings(api, admin, pct):
    made = definition()
    made["stages"][0]["rules"]["profit_target_pct"] = pct
    token = api.token(admin.email, PASSWORD)
    _refused(api.call("POST", "/challenges", made, token=token), "stages.0.rules")
    assert not Challenge.objects.exists()


@pytest.mark.parametrize("volume", SPELLINGS)
def test_a_sandbox_order_refuses_odd_volume_spellings(volume):
    account, _ = sandbox_accounts.create_account(
        sandbox_accounts.default_server(), group="demo", leverage=100, balance="100000"
    )
    with pytest.raises(ValidationFailed) as caught:
        orders.place_order(account, symbol="EURUSD", side="buy", volume=volume)
    assert "volume" in caught.value.fields
    assert not Position.objects.exists()


@pytest.mark.parametrize("threshold", ["\uff11\uff10\uff10", "1E+2", "1_000"])
def test_an_approval_threshold_refuses_odd_spellings(api, admin, threshold):
    token = api.token(admin.email, PASSWORD)
    body = {"method": "partial", "threshold": threshold}
    _refused(api.call("PUT", "/settings/approval-methods/deposit", body, token=token), "threshold")
    assert approvals.policy_for("deposit").threshold is None


def test_a_json_integer_is_an_exact_amount_and_a_json_fraction_is_refused(
    api, admin, active_client
):
    token = api.token(admin.email, PASSWORD)
    path = f"/wallets/{active_client.pk}/adjustments"
    body = {"direction": "credit", "currency": "USD", "comment": "welcome"}
    assert api.call("POST", path, {**body, "amount": 100}, token=token).status_code == 201
    refused = api.call("POST", path, {**body, "amount": 0.1}, token=token)
    _refused(refused, "amount")
    assert "not exact" in refused.json()["fields"]["amount"]
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}
    assert JournalEntry.objects.count() == 1


# --- names -----------------------------------------------------------------------------------


def _register(api, **overrides):
    data = registration(**overrides)
    data["type"] = data.pop("kind")
    data.pop("referral_code")
    return api.call("POST", "/auth/register", data)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("\u202eeoD enaJ", "eoD enaJ"),  # shown as "Jane Doe" with the override
        ("Ja\u200bne\u2060 Doe\ufeff", "Jane Doe"),
        ("Jane\u00a0\u00a0Doe", "Jane Doe"),
        ("Jose\u0301 \u2066Doe\u2069", "Jos\u00e9 Doe"),  # NFC: the accent joins its letter
    ],
)
def test_a_registration_name_loses_invisible_characters(api, typed, stored):
    response = _register(api, name=typed)
    assert response.status_code == 201, response.content
    assert User.objects.get(client__pk=response.json()["id"]).name == stored


@pytest.mark.parametrize("typed", ["\u200b\u200d", "\u202e \u2066", "\u3164"])
def test_a_name_of_invisible_characters_only_is_refused(api, typed):
    response = _register(api, name=typed)
    _refused(response, "name")
    assert not User.objects.filter(kind=User.Kind.CLIENT).exists()


def test_a_look_alike_name_cannot_pass_for_another_in_the_approvals_queue(
    api, compliance, set_method
):
    set_method("trader_registration", "manual")
    assert _register(api, name="Jane Doe", email="jane@example.com").status_code == 201
    impostor = _register(api, name="Ja\u200bne\u202f Doe", email="j4ne@example.com")
    assert impostor.status_code == 201
    token = api.token(compliance.email, PASSWORD)
    listed = api.call("GET", "/approvals?type=trader_registration", token=token).json()["items"]
    assert sorted((i["client"]["name"], i["client"]["email"]) for i in listed) == [
        ("Jane Doe", "j4ne@example.com"),
        ("Jane Doe", "jane@example.com"),
    ]
    page = logged_in(compliance).get(
        "/backoffice/approvals/queue/trader_registration/", {"q": "Jane Doe"}
    )
    shown = page.content.decode()
    assert "j4ne@example.com" in shown  # a search for the name finds both: nothing hides
    assert "\u200b" not in shown


def test_an_email_is_kept_in_its_plain_form(api, set_method):
    set_method("trader_registration", "automatic")
    full_width = "\uff4a\uff41\uff4e\uff45@Example.com"
    response = _register(api, email=full_width)
    assert response.status_code == 201, response.content
    user = User.objects.get(client__pk=response.json()["id"])
    assert user.email == "jane@example.com"
    assert api.token(full_width, PASSWORD)
    again = _register(api, email="ja\u200bne@example.com")
    _refused(again, "email")


def test_an_email_that_normalising_makes_too_long_is_refused_not_a_500(api):
    lengthens = "a@" + ".".join(["\u3316" * 10] * 5) + ".jp"  # 59 typed, 309 after NFKC
    body = {
        "type": "trader",
        "name": "Jane Doe",
        "email": lengthens,
        "password": "a-long-passphrase",
        "nationality": "CZ",
        "phone": "+420601234599",
    }
    response = api.call("POST", "/auth/register", body)
    assert response.status_code == 422
    assert "254" in response.json()["fields"]["email"]
