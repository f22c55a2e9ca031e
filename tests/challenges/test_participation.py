"""Starting a challenge: the fee from the wallet (once, exactly, never beyond the balance), the
request, the first stage's account and its credentials for the owner only; a refund when it
is rejected."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import DomainError, NotFound, ValidationFailed
from propdesk.onboarding import kyc
from propdesk.platforms.sandbox import accounts, auth
from propdesk.reports import transactions as reports
from propdesk.wallet import ledger, services
from propdesk.wallet.ledger import InsufficientFunds
from tests.api.conftest import Api
from tests.challenges.factories import definition
from tests.conftest import PASSWORD
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db


def fund(client, finance, amount="1000.00"):
    services.adjust(
        client.pk,
        direction="credit",
        amount=amount,
        currency="USD",
        comment="Top up",
        actor=finance,
    )


def test_paying_from_the_wallet_is_one_fee_entry_and_opens_the_first_stage(
    active_client, finance, challenge
):
    fund(active_client, finance)
    joined = participation.start(active_client, challenge.pk, payment="wallet")
    carry_out_platform_commands()
    assert joined.status == "active"  # the default method is automatic
    assert ledger.balances(active_client) == {"USD": Decimal("501.00")}
    entry = joined.fee_entry
    assert entry.type == "prop_trading_fee"
    assert sorted(p.amount for p in entry.postings.all()) == [Decimal("-499"), Decimal("499")]
    attempt = StageAttempt.objects.get(participation=joined)
    account = accounts.account_by_login(attempt.login)
    assert account.balance == Decimal("100000.00")
    assert account.leverage == 100
    shown = participation.credentials(joined, active_client)
    assert auth.authenticate(shown["login"], shown["password"]).pk == account.pk
    assert shown["server"] == "Sandbox"


def test_the_fee_shows_under_prop_trading_fee_in_the_transactions_report(
    active_client, finance, challenge
):
    fund(active_client, finance)
    participation.start(active_client, challenge.pk, payment="wallet")
    carry_out_platform_commands()
    fees = reports.Filters(type="prop_trading_fee")
    [row] = reports.transactions(fees)
    assert row.amount == Decimal("-499")  # out of the wallet...
    assert reports.firm_side(row) == Decimal("499.00")  # ...and into the firm: In
    [total] = reports.totals(fees)
    assert (total["count"], total["credits"]) == (1, Decimal("499.00"))


def test_not_enough_in_the_wallet_is_a_clear_refusal_and_charges_nothing(
    active_client, finance, challenge
):
    fund(active_client, finance, "100.00")
    with pytest.raises(InsufficientFunds) as refused:
        participation.start(active_client, challenge.pk, payment="wallet")
    assert "100" in refused.value.message
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}
    assert not Participation.objects.exists()


def test_a_retry_under_one_key_charges_once(active_client, finance, challenge):
    fund(active_client, finance)
    first = participation.start(active_client, challenge.pk, payment="wallet", idempotency_key="k1")
    carry_out_platform_commands()
    again = participation.start(active_client, challenge.pk, payment="wallet", idempotency_key="k1")
    carry_out_platform_commands()
    assert first.pk == again.pk
    assert ledger.balances(active_client) == {"USD": Decimal("501.00")}
    second_run = participation.start(active_client, challenge.pk, payment="wallet")
    carry_out_platform_commands()
    assert second_run.pk != first.pk  # several challenges at once are allowed
    assert ledger.balances(active_client) == {"USD": Decimal("2.00")}


def test_a_rejected_participation_gets_its_fee_back_by_a_reversing_entry(
    active_client, finance, challenge, set_method, admin
):
    set_method("prop_participation", "manual")
    fund(active_client, finance)
    joined = participation.start(active_client, challenge.pk, payment="wallet")
    carry_out_platform_commands()
    assert joined.status == "pending_approval"
    assert not StageAttempt.objects.exists()
    request = ApprovalRequest.objects.get(type_key="prop_participation")
    approvals.reject(request.pk, actor=admin, reason="Duplicate purchase")
    joined.refresh_from_db()
    assert joined.status == "rejected"
    assert joined.refund_entry.reverses_id == joined.fee_entry_id
    assert ledger.balances(active_client) == {"USD": Decimal("1000.00")}


def test_a_manual_approval_opens_the_account(active_client, finance, challenge, set_method, admin):
    set_method("prop_participation", "manual")
    fund(active_client, finance)
    joined = participation.start(active_client, challenge.pk, payment="wallet")
    carry_out_platform_commands()
    request = ApprovalRequest.objects.get(type_key="prop_participation")
    assert ("KYC", active_client.get_kyc_status_display()) in participation.details(request)
    approvals.approve(request.pk, actor=admin)
    carry_out_platform_commands()
    joined.refresh_from_db()
    assert joined.status == "active"
    assert joined.current_attempt().stage == 0


@pytest.mark.parametrize(
    ("payment", "field"), [("card", "payment"), (None, "payment"), ("direct", "method")]
)
def test_an_unknown_or_unopened_payment_way_is_refused(
    active_client, finance, challenge, payment, field
):
    fund(active_client, finance)
    with pytest.raises(ValidationFailed) as refused:
        participation.start(active_client, challenge.pk, payment=payment)
    assert field in refused.value.fields
    assert ledger.balances(active_client) == {"USD": Decimal("1000.00")}


def test_kyc_policy_applies(active_client, finance, challenge, admin):
    kyc.set_policy(["join_challenge"], actor=admin)
    fund(active_client, finance)
    with pytest.raises(DomainError) as refused:
        participation.start(active_client, challenge.pk, payment="wallet")
    assert refused.value.code == "kyc_required"
    assert not Participation.objects.exists()


def test_drafts_and_ended_challenges_cannot_be_started(active_client, finance, admin, challenge):
    fund(active_client, finance)
    draft = catalogue.create(definition(name="Draft"), actor=admin)
    with pytest.raises(NotFound):
        participation.start(active_client, draft.pk, payment="wallet")
    catalogue.end(challenge.pk, actor=admin)
    with pytest.raises(NotFound):
        participation.start(active_client, challenge.pk, payment="wallet")


def test_credentials_are_the_owners_only(active_client, register, finance, challenge):
    fund(active_client, finance)
    joined = participation.start(active_client, challenge.pk, payment="wallet")
    carry_out_platform_commands()
    other, _ = register(email="other@example.com")
    with pytest.raises(NotFound):
        participation.credentials(joined, other)
    with pytest.raises(NotFound):
        participation.get_own(other, joined.pk)


def test_the_api_starts_once_per_key_and_shows_credentials_to_the_owner(
    active_client, register, finance, challenge
):
    fund(active_client, finance)
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    path = f"/challenges/{challenge.pk}/participations"
    first = api.call("POST", path, {"payment": "wallet"}, token=token, HTTP_IDEMPOTENCY_KEY="p1")
    again = api.call("POST", path, {"payment": "wallet"}, token=token, HTTP_IDEMPOTENCY_KEY="p1")
    assert first.status_code == again.status_code == 201, first.content
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["credentials"]["server"] == "Sandbox"
    assert [p["id"] for p in api.call("GET", "/participations", token=token).json()] == [
        first.json()["id"]
    ]
    other, _ = register(email="other@example.com")
    other_token = api.token(other.user.email, PASSWORD)
    mine = f"/participations/{first.json()['id']}"
    assert api.call("GET", mine, token=other_token).status_code == 404
    broke = api.call("POST", path, {"payment": "wallet"}, token=other_token)
    assert broke.status_code == 409
    assert broke.json()["code"] == "insufficient_funds"


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_two_purchases_racing_for_one_balance_never_overdraw(active_client, finance, challenge):
    fund(active_client, finance, "600.00")  # one fee of 499, not two
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def buy() -> None:
        try:
            barrier.wait()
            participation.start(active_client, challenge.pk, payment="wallet")
            outcomes.append("joined")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=buy) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["insufficient_funds", "joined"]
    assert ledger.balances(active_client) == {"USD": Decimal("101.00")}
