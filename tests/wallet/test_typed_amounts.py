"""Amounts people type into pages may group their thousands as the pages show them
("1,000.00"); a grouping that is not well formed is refused, naming the format, and changes
nothing. The JSON API keeps the plain spelling. Amounts the wallet's pages, reviews and
notifications print carry the same grouping."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.notifications.models import Notification
from propdesk.wallet import deposits, ledger, services, withdrawals
from propdesk.wallet.models import Deposit, JournalEntry, PaymentMethod
from tests.api.conftest import Api
from tests.conftest import PASSWORD, logged_in, post_form
from tests.wallet.factories import bank_destination

pytestmark = pytest.mark.django_db

FORMAT = 'must be a number written like "1000.50" or "1,000.50"'


def _deposit(http, method, amount, currency="USD"):
    data = {"method": method.pk, "amount": amount, "currency": currency, "idempotency_key": "k"}
    return post_form(http, reverse("portal:deposit"), data)


@pytest.mark.parametrize(
    ("typed", "asked"),
    [
        ("1,000.00", "1000.00"),
        (" 9,999.5 ", "9999.50"),
        ("1,000", "1000.00"),
        ("1000.00", "1000.00"),  # the plain spelling still reads
    ],
)
def test_a_deposit_typed_with_thousands_separators_is_taken(
    active_client, bank_transfer, typed, asked
):
    response = _deposit(logged_in(active_client.user), bank_transfer, typed)
    assert response.status_code == 302
    assert Deposit.objects.get().amount == Decimal(asked)


@pytest.mark.parametrize(
    "typed",
    [
        "1,00.00",
        "1,,000",
        "1.000,00",
        ",100",
        "100,",
        "1,0000",
        "0,100",
        "1 000",
        "1_000",
        "\uff11,\uff10\uff10\uff10",  # full-width digits
        "1,000\u200b",
        "<script>1,000</script>",
        "1,000,000,000,000,000,000,000",
        "9" * 29,
        "1," * 20 + "000",
        "1" + ",000" * 200,  # a huge well-formed grouping
    ],
)
def test_a_badly_grouped_or_hostile_amount_is_refused_naming_the_format(
    active_client, bank_transfer, typed
):
    response = _deposit(logged_in(active_client.user), bank_transfer, typed)
    assert response.status_code == 422
    page = response.content.decode()
    assert FORMAT in page.replace("&quot;", '"') or "is too large" in page
    assert not Deposit.objects.exists()


def test_an_amount_longer_than_the_field_is_refused(active_client, bank_transfer):
    response = _deposit(logged_in(active_client.user), bank_transfer, "9" * 31)
    assert response.status_code == 422
    assert "at most 30 characters" in response.content.decode()
    assert not Deposit.objects.exists()


def test_a_grouped_amount_outside_the_methods_limits_says_them_grouped(
    active_client, bank_transfer
):
    response = _deposit(logged_in(active_client.user), bank_transfer, "20,000.00")
    assert response.status_code == 422
    assert "Bank transfer takes between 50.00 and 10,000.00." in response.content.decode()
    assert not Deposit.objects.exists()


def test_a_withdrawal_typed_with_separators_holds_that_amount(active_client, finance, admin):
    services.adjust(
        active_client.pk,
        direction="credit",
        amount="5000",
        currency="USD",
        comment="x",
        actor=finance,
    )
    method = deposits.save_payment_method(
        None,
        name="Bank payout",
        kind="offline",
        currencies=["USD"],
        min_amount="10",
        max_amount="100000",
        payout_to="bank",
        actor=admin,
    )
    http = logged_in(active_client.user)
    data = {
        "method": method.pk,
        "amount": "1,250.00",
        "currency": "USD",
        "idempotency_key": "w",
        **bank_destination(),
    }
    response = post_form(http, reverse("portal:withdraw"), data)
    assert response.status_code == 302
    assert ledger.balances(active_client) == {"USD": Decimal("3750.00")}


def test_staff_adjust_with_separators_and_a_bad_grouping_posts_nothing(active_client, finance):
    http = logged_in(finance)
    path = f"/backoffice/clients/{active_client.pk}/adjust/"
    data = {
        "direction": "credit",
        "currency": "USD",
        "comment": "Compensation",
        "idempotency_key": "a",
    }
    post_form(http, path, {**data, "amount": "1,00.00"})
    assert not JournalEntry.objects.exists()
    page = http.get(f"/backoffice/clients/{active_client.pk}/").content.decode()
    assert "Adjustment not made: Amount " + FORMAT in page.replace("&quot;", '"')

    post_form(http, path, {**data, "amount": "12,345.67", "idempotency_key": "b"})
    assert ledger.balances(active_client) == {"USD": Decimal("12345.67")}


def test_the_api_keeps_the_plain_spelling(active_client, finance):
    api = Api()
    token = api.token(finance.email, PASSWORD)
    body = {"direction": "credit", "amount": "1,000.00", "currency": "USD", "comment": "x"}
    response = api.call("POST", f"/wallets/{active_client.pk}/adjustments", body, token=token)
    assert response.status_code == 422
    assert "digit separators" in response.json()["fields"]["amount"]
    assert not JournalEntry.objects.exists()


def test_a_reviewer_amends_a_deposit_with_separators_and_the_client_is_told_what_was_credited(
    active_client, bank_transfer, finance
):
    _deposit(logged_in(active_client.user), bank_transfer, "2,000.00")
    request = ApprovalRequest.objects.get(type_key="deposit")
    staff = logged_in(finance)
    review = staff.get(reverse("backoffice:approval_review", args=[request.pk])).content.decode()
    assert "2,000.00 USD" in review
    assert "2000.00 USD" not in review  # the request's detail lines too
    assert 'name="amount" value="2,000.00"' in review  # the amount to credit, as shown

    bad = post_form(
        staff,
        reverse("backoffice:approval_approve", args=[request.pk]),
        {"level": 1, "amount": "1,50.00", "bank_reference": "FT-9", "comment": ""},
    )
    assert bad.status_code == 422
    assert "Amount to credit " + FORMAT in bad.content.decode().replace("&quot;", '"')
    request.refresh_from_db()
    assert request.is_pending

    post_form(
        staff,
        reverse("backoffice:approval_approve", args=[request.pk]),
        {"level": 1, "amount": "1,500.00", "bank_reference": "FT-9", "comment": ""},
    )
    assert ledger.balances(active_client) == {"USD": Decimal("1500.00")}
    note = Notification.objects.filter(user=active_client.user).latest("id")
    assert note.title == "Your deposit of 1,500.00 USD was approved"
    assert (
        f"your deposit of 1,500.00 USD (reference {request.reference}) was approved and is in "
        "your wallet." in note.body
    )
    history = staff.get(reverse("backoffice:approval_review", args=[request.pk])).content
    assert "Amount amended from 2,000.00 to 1,500.00 USD." in history.decode()


def test_a_withdrawal_paid_in_part_tells_the_client_what_came_back(active_client, finance, admin):
    services.adjust(
        active_client.pk,
        direction="credit",
        amount="3000",
        currency="USD",
        comment="x",
        actor=finance,
    )
    method = PaymentMethod.objects.create(
        name="Payout",
        kind="offline",
        currencies=["USD"],
        min_amount=1,
        max_amount=100000,
        payout_to="bank",
    )
    made = withdrawals.request_withdrawal(
        active_client,
        method=method.pk,
        amount="2500",
        currency="USD",
        destination=bank_destination(),
        idempotency_key="w",
    )
    request = ApprovalRequest.objects.get(type_key="withdrawal")
    review = logged_in(finance).get(reverse("backoffice:approval_review", args=[request.pk]))
    assert "2,500.00 USD (held from the wallet)" in review.content.decode()
    approvals.approve(request.pk, actor=finance, amount="2000")
    note = Notification.objects.filter(user=active_client.user).latest("id")
    assert (
        f"your withdrawal (reference {made.reference}) was approved: 2,000.00 USD is on its way "
        "to IBAN DE89 •••• 3000. The other 500.00 USD is back in your wallet." in note.body
    )
