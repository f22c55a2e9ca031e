"""A direct purchase still waiting for its payment paid from the wallet instead (*Pay from my
wallet* on its page): the fee is taken once; a wallet short of the fee, a purchase no longer
waiting, or another client's purchase is refused and nothing changes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Participation
from propdesk.challenges.participation import paid_online
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import Conflict, NotFound
from propdesk.wallet import ledger
from propdesk.wallet.ledger import InsufficientFunds
from propdesk.wallet.models import JournalEntry
from tests.conftest import logged_in, post_form
from tests.wallet.factories import fund

pytestmark = pytest.mark.django_db


def buy(client, challenge, method):
    return participation.start(client, challenge.pk, payment="direct", method=method.pk)


def test_a_waiting_purchase_is_paid_from_the_wallet_once(
    active_client, admin, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    fund(active_client, admin, amount="600.00")
    paid = paid_online.pay_from_wallet(active_client, joined.pk)
    assert paid.status in ("pending_approval", "active")  # then per the approval policy
    assert paid.fee_entry is not None
    assert ledger.balances(active_client) == {"USD": Decimal("101.00")}
    assert ApprovalRequest.objects.filter(type_key="prop_participation").count() == 1
    with pytest.raises(Conflict):  # a second click
        paid_online.pay_from_wallet(active_client, joined.pk)
    assert ledger.balances(active_client) == {"USD": Decimal("101.00")}
    assert JournalEntry.objects.filter(type="prop_trading_fee").count() == 1
    assert ledger.check() == []


def test_a_wallet_short_of_the_fee_or_another_clients_purchase_changes_nothing(
    active_client, register, admin, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    fund(active_client, admin, amount="100.00")
    with pytest.raises(InsufficientFunds):
        paid_online.pay_from_wallet(active_client, joined.pk)
    other, _ = register()
    fund(other, admin, amount="1000.00")
    with pytest.raises(NotFound):
        paid_online.pay_from_wallet(other, joined.pk)
    joined.refresh_from_db()
    assert joined.status == "pending_payment"
    assert joined.fee_entry is None
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}
    assert ledger.check() == []


def test_the_page_offers_the_wallet_only_when_it_holds_the_fee_and_says_a_refusal(
    active_client, admin, challenge, sandbox_card
):
    joined = buy(active_client, challenge, sandbox_card)
    browser = logged_in(active_client.user)
    page = f"/portal/my-challenges/{joined.pk}/"
    assert 'id="pay-from-wallet"' not in browser.get(page).content.decode()
    answer = post_form(browser, page + "pay-from-wallet/", {})
    assert answer.status_code == 409
    assert 'id="action-error"' in answer.content.decode()
    fund(active_client, admin, amount="499.00")
    assert 'id="pay-from-wallet"' in browser.get(page).content.decode()
    answer = post_form(browser, page + "pay-from-wallet/", {})
    assert answer.status_code == 302
    assert Participation.objects.get().status in ("pending_approval", "active")
    assert ledger.balances(active_client) == {"USD": Decimal("0.00")}
    assert ledger.check() == []
