"""Paid second chances: a failed challenge retried (once, for its retry fee, its first stage on
a fresh account) and a running demo stage reset (once, for its reset fee, the old account
closed and a fresh one opened); every refusal charges and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from propdesk.accounts import services as accounts_services
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.participation import interventions, retries
from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.core.idempotency import IdempotencyConflict
from propdesk.onboarding import kyc
from propdesk.onboarding.kyc_actions import KycRequired
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.sandbox import accounts, orders, ticks
from propdesk.wallet import ledger
from propdesk.wallet.ledger import InsufficientFunds
from propdesk.wallet.models import JournalEntry
from tests.challenges.factories import (
    failed_with_offers,
    fund,
    platform_commands,
    server,
    with_offers,
)
from tests.support import at_once, carry_out_platform_commands

pytestmark = pytest.mark.django_db

D = Decimal


def books(client):
    """What a refusal must leave as it was: the wallet, the entries, the participations, the
    stages and the platform commands."""
    return (
        ledger.balances(client),
        JournalEntry.objects.count(),
        list(Participation.objects.order_by("pk").values_list("pk", "status")),
        list(StageAttempt.objects.order_by("pk").values_list("pk", "status")),
        PlatformCommand.objects.count(),
    )


# --- retry ----------------------------------------------------------------------------------


def test_a_discounted_retrys_wallet_line_says_the_discount_in_the_clients_language(
    active_client, finance, admin
):
    from propdesk.accounts.models import User
    from propdesk.wallet.services import client_memo

    User.objects.filter(pk=active_client.user_id).update(language="es")
    active_client.user.refresh_from_db()
    retry = {"fee": "99", "discount_pct": "20", "discount_days": 7}
    failed, _ = failed_with_offers(active_client, finance, admin, retry=retry)
    made = retries.retry(active_client, failed.pk)
    assert client_memo(made.fee_entry).endswith(", 20% de descuento")
    assert made.fee_entry.memo.endswith(", 20% off")  # the firm's memo stays English


def test_a_failed_challenge_is_retried_for_its_fee_with_a_fresh_first_stage(
    active_client, finance, admin
):
    failed, _ = failed_with_offers(active_client, finance, admin)
    made = retries.retry(active_client, failed.pk)
    assert (made.status, made.retry_of_id, made.version_id) == (
        "active",
        failed.pk,
        failed.version_id,
    )
    assert (made.fee, made.payment, made.currency) == (D("99.00"), "wallet", "USD")
    assert ledger.balances(active_client) == {"USD": D("402.00")}  # 1,000 - 499 - 99
    entry = made.fee_entry
    assert entry.type == JournalEntry.Type.PROP_RETRY_FEE
    assert sorted(p.amount for p in entry.postings.all()) == [D("-99"), D("99")]
    assert failed.reference in entry.memo
    (stage,) = made.attempts.all()
    assert (stage.stage, stage.status, stage.login) == (0, "in_progress", "")
    assert len(platform_commands(stage.subject, PlatformCommand.Kind.OPEN_ACCOUNT)) == 1
    carry_out_platform_commands()
    stage.refresh_from_db()
    assert accounts.account_by_login(stage.login).balance == D("100000.00")
    failed.refresh_from_db()
    assert failed.status == "failed"  # the failed one stays as it was


def test_a_double_submit_retries_once_and_charges_once(active_client, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin)
    first = retries.retry(active_client, failed.pk, idempotency_key="r-1")
    again = retries.retry(active_client, failed.pk, idempotency_key="r-1")
    assert again.pk == first.pk
    with pytest.raises(Conflict) as refused:
        retries.retry(active_client, failed.pk, idempotency_key="r-2")
    assert refused.value.code == "already_retried"
    assert first.reference in refused.value.message
    with pytest.raises(Conflict):
        retries.retry(active_client, failed.pk)
    assert Participation.objects.filter(retry_of=failed).count() == 1
    assert JournalEntry.objects.filter(type=JournalEntry.Type.PROP_RETRY_FEE).count() == 1
    assert ledger.balances(active_client) == {"USD": D("402.00")}
    assert PlatformCommand.objects.filter(kind=PlatformCommand.Kind.OPEN_ACCOUNT).count() == 2


def test_a_key_used_for_a_purchase_is_not_taken_for_a_retry(active_client, finance, admin):
    from propdesk.challenges.participation import services as participation

    failed, _ = failed_with_offers(active_client, finance, admin)
    fund(active_client, finance)
    participation.start(active_client, failed.challenge_id, payment="wallet", idempotency_key="k")
    before = books(active_client)
    with pytest.raises(IdempotencyConflict):
        retries.retry(active_client, failed.pk, idempotency_key="k")
    assert books(active_client) == before


def test_the_discount_applies_within_its_days_of_the_failure(active_client, finance, admin):
    offer = {"fee": "100", "discount_pct": "12.5", "discount_days": 7}
    failed, attempt = failed_with_offers(active_client, finance, admin, retry=offer)
    price = retries.retry_price(failed)
    assert (price.fee, price.full_fee, price.discount_pct) == (D("87.50"), D("100"), D("12.5"))
    assert price.discount_until == attempt.ended_at + timedelta(days=7)
    late = retries.retry_price(failed, attempt.ended_at + timedelta(days=7, seconds=1))
    assert (late.fee, late.discount_pct, late.discount_until) == (D("100"), None, None)
    made = retries.retry(active_client, failed.pk)
    assert made.fee == D("87.50")
    assert ledger.balances(active_client) == {"USD": D("413.50")}


def test_after_the_discount_the_full_fee_is_charged(active_client, finance, admin):
    offer = {"fee": "100", "discount_pct": "50", "discount_days": 1}
    failed, attempt = failed_with_offers(active_client, finance, admin, retry=offer)
    StageAttempt.objects.filter(pk=attempt.pk).update(ended_at=timezone.now() - timedelta(days=2))
    made = retries.retry(active_client, failed.pk)
    assert made.fee == D("100.00")


def test_a_retry_at_the_price_shown_is_refused_once_that_price_has_changed(
    active_client, finance, admin
):
    offer = {"fee": "100", "discount_pct": "20", "discount_days": 3}
    failed, attempt = failed_with_offers(active_client, finance, admin, retry=offer)
    assert retries.retry_price(failed).fee == D("80.00")  # what the page shows
    # The discount ends before the client presses the button.
    StageAttempt.objects.filter(pk=attempt.pk).update(
        ended_at=attempt.ended_at - timedelta(days=3, minutes=1)
    )
    before = books(active_client)
    with pytest.raises(Conflict) as refused:
        retries.retry(active_client, failed.pk, fee="80.00", idempotency_key="shown")
    assert refused.value.code == "price_changed"
    assert "100.00 USD" in refused.value.message
    assert refused.value.extra["fee"] == "100.00"
    assert books(active_client) == before
    made = retries.retry(active_client, failed.pk, fee="100.00", idempotency_key="agreed")
    assert made.fee == D("100.00")


def test_a_retry_price_that_is_no_amount_changes_nothing(active_client, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin)
    before = books(active_client)
    for given in ("eighty", "-99", "1e2", "9" * 100, True, 99.0):
        with pytest.raises(ValidationFailed) as refused:
            retries.retry(active_client, failed.pk, fee=given)
        assert "fee" in refused.value.fields
    assert books(active_client) == before


def test_a_discounted_fee_never_falls_below_a_cent(active_client, finance, admin):
    offer = {"fee": "0.01", "discount_pct": "99.99", "discount_days": 3}
    failed, _ = failed_with_offers(active_client, finance, admin, retry=offer)
    assert retries.retry_price(failed).fee == D("0.01")


def test_a_retry_short_of_money_changes_nothing(active_client, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin, retry={"fee": "501.01"})
    before = books(active_client)
    with pytest.raises(InsufficientFunds):
        retries.retry(active_client, failed.pk, idempotency_key="short")
    assert books(active_client) == before
    fund(active_client, finance, "0.01")
    assert retries.retry(active_client, failed.pk, idempotency_key="short").fee == D("501.01")
    assert ledger.balances(active_client) == {"USD": D("0.00")}


def test_a_running_challenge_is_not_retried(active_client, finance, admin):
    joined, _ = with_offers(active_client, finance, admin)
    before = books(active_client)
    with pytest.raises(Conflict) as refused:
        retries.retry(active_client, joined.pk)
    assert refused.value.code == "not_failed"
    assert books(active_client) == before


def test_a_challenge_without_a_retry_offer_is_not_retried(active_client, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin, retry=None)
    before = books(active_client)
    with pytest.raises(Conflict) as refused:
        retries.retry(active_client, failed.pk)
    assert refused.value.code == "no_retry_offer"
    assert books(active_client) == before


def test_another_clients_challenge_is_not_found(active_client, register, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin)
    other, _ = register(email="other@example.com")
    fund(other, finance)
    before = books(active_client)
    for wanted in (failed.pk, 10**12, "x", None, "-1", "1; drop table"):
        with pytest.raises(NotFound):
            retries.retry(other, wanted)
    assert books(active_client) == before


def test_a_suspended_client_does_not_retry(active_client, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin)
    accounts_services.set_client_suspended(
        active_client.pk, suspended=True, actor=admin, reason="Documents under review"
    )
    before = books(active_client)
    with pytest.raises(Conflict) as refused:
        retries.retry(active_client, failed.pk)
    assert refused.value.code == "client_suspended"
    assert books(active_client) == before


def test_the_kyc_policy_for_joining_a_challenge_applies_to_a_retry(active_client, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin)
    kyc.set_policy(["join_challenge"], actor=admin)
    before = books(active_client)
    with pytest.raises(KycRequired):
        retries.retry(active_client, failed.pk)
    assert books(active_client) == before


def test_an_ended_challenge_sells_no_retry(active_client, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin)
    catalogue.end(failed.challenge_id, actor=admin)
    before = books(active_client)
    with pytest.raises(Conflict) as refused:
        retries.retry(active_client, failed.pk)
    assert refused.value.code == "challenge_ended"
    assert books(active_client) == before


def test_a_retried_challenge_is_not_reinstated(active_client, finance, admin):
    failed, attempt = failed_with_offers(active_client, finance, admin)
    made = retries.retry(active_client, failed.pk)
    with pytest.raises(Conflict, match=made.reference):
        interventions.reinstate(attempt.pk, actor=admin, reason="Bad price")
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_a_reinstated_challenge_is_not_retried(active_client, finance, admin):
    failed, attempt = failed_with_offers(active_client, finance, admin)
    interventions.reinstate(attempt.pk, actor=admin, reason="Bad price")
    with pytest.raises(Conflict) as refused:
        retries.retry(active_client, failed.pk)
    assert refused.value.code == "not_failed"


def test_a_retry_of_a_challenge_starting_live_waits_for_the_live_step(
    active_client, finance, admin
):
    from propdesk.approvals.models import ApprovalRequest
    from tests.challenges.factories import running, stage

    joined, attempt = running(
        active_client, finance, admin, stages=[stage(), stage("live")], retry={"fee": "99"}
    )
    # The live step refused: the participation fails with no stage failed.
    interventions.advance(attempt.pk, actor=admin, reason="Passed elsewhere")
    from propdesk.approvals import services as approvals

    step = ApprovalRequest.objects.get(type_key="prop_live_step")
    approvals.reject(step.pk, actor=admin, reason="Not this time")
    joined.refresh_from_db()
    assert joined.status == "failed"
    step.refresh_from_db()
    assert retries.failed_at(joined) == step.decided_at
    made = retries.retry(active_client, joined.pk)
    assert made.attempts.count() == 1  # a demo first stage opens at once


# --- reset ----------------------------------------------------------------------------------


def test_a_running_stage_is_reset_for_its_fee_on_a_fresh_account(active_client, finance, admin):
    joined, attempt = with_offers(active_client, finance, admin)
    account = accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    fresh = retries.reset(active_client, joined.pk)
    assert (fresh.stage, fresh.status, fresh.reset_of_id) == (0, "in_progress", attempt.pk)
    assert fresh.reset_fee_entry.type == JournalEntry.Type.PROP_RESET_FEE
    assert ledger.balances(active_client) == {"USD": D("452.00")}  # 1,000 - 499 - 49
    attempt.refresh_from_db()
    assert attempt.status == "cancelled"
    assert attempt.explanation == retries.RESET_EXPLANATION
    assert "49.00 USD" in attempt.staff_note
    old = platform_commands(attempt.subject)
    assert [(c.kind, c.payload.get("access")) for c in old[1:]] == [
        ("set_access", "no_trading"),
        ("close_positions", None),
    ]
    assert len(platform_commands(fresh.subject, PlatformCommand.Kind.OPEN_ACCOUNT)) == 1
    carry_out_platform_commands()
    fresh.refresh_from_db()
    assert fresh.login
    assert fresh.login != attempt.login
    new_account = accounts.account_by_login(fresh.login)
    assert new_account.balance == D("100000.00")
    account.refresh_from_db()
    assert account.trading_enabled is False
    assert not account.positions.filter(closed_at__isnull=True).exists()
    joined.refresh_from_db()
    assert joined.status == "active"
    assert joined.current_attempt() == fresh
    monitor.process(server())  # the monitor watches the new stage, not the old one
    fresh.refresh_from_db()
    assert fresh.status == "in_progress"


def test_a_double_submit_resets_once_and_charges_once(active_client, finance, admin):
    joined, attempt = with_offers(active_client, finance, admin)
    first = retries.reset(active_client, joined.pk, attempt_id=attempt.pk, idempotency_key="x")
    again = retries.reset(active_client, joined.pk, attempt_id=attempt.pk, idempotency_key="x")
    assert again.pk == first.pk
    with pytest.raises(Conflict) as refused:
        retries.reset(active_client, joined.pk, attempt_id=attempt.pk, idempotency_key="y")
    assert refused.value.code == "already_reset"
    assert JournalEntry.objects.filter(type=JournalEntry.Type.PROP_RESET_FEE).count() == 1
    assert ledger.balances(active_client) == {"USD": D("452.00")}
    assert StageAttempt.objects.filter(participation=joined).count() == 2
    opened = PlatformCommand.objects.filter(kind=PlatformCommand.Kind.OPEN_ACCOUNT)
    assert opened.count() == 2  # the first stage's and the reset's


def test_a_key_is_one_participations_reset(active_client, finance, admin):
    joined, _ = with_offers(active_client, finance, admin)
    fund(active_client, finance)
    from propdesk.challenges.participation import services as participation

    other = participation.start(active_client, joined.challenge_id, payment="wallet")
    carry_out_platform_commands()
    retries.reset(active_client, joined.pk, idempotency_key="same")
    before = books(active_client)
    with pytest.raises(IdempotencyConflict):
        retries.reset(active_client, other.pk, idempotency_key="same")
    assert books(active_client) == before


def test_a_reset_short_of_money_changes_nothing(active_client, finance, admin):
    joined, _ = with_offers(active_client, finance, admin, reset={"fee": "501.01"})
    before = books(active_client)
    with pytest.raises(InsufficientFunds):
        retries.reset(active_client, joined.pk)
    assert books(active_client) == before


def test_a_stage_is_reset_again_for_another_fee(active_client, finance, admin):
    joined, _ = with_offers(active_client, finance, admin)
    first = retries.reset(active_client, joined.pk)
    carry_out_platform_commands()
    second = retries.reset(active_client, joined.pk)
    assert second.reset_of_id == first.pk
    assert ledger.balances(active_client) == {"USD": D("403.00")}


def refused_reset(client, participation_id, code, **given):
    before = books(client)
    with pytest.raises(Conflict) as refused:
        retries.reset(client, participation_id, **given)
    assert refused.value.code == code, refused.value.message
    assert books(client) == before
    return refused.value


def test_a_stage_whose_account_is_being_prepared_is_not_reset(active_client, finance, admin):
    joined, _ = with_offers(active_client, finance, admin)
    retries.reset(active_client, joined.pk)  # the new account is not open yet
    refusal = refused_reset(active_client, joined.pk, "not_resettable")
    assert "being prepared" in refusal.message


def test_a_live_stage_is_not_reset(active_client, finance, admin):
    from propdesk.approvals import services as approvals
    from propdesk.approvals.models import ApprovalRequest

    joined, attempt = with_offers(active_client, finance, admin)
    interventions.advance(attempt.pk, actor=admin, reason="Passed elsewhere")
    step = ApprovalRequest.objects.get(type_key="prop_live_step")
    approvals.approve(step.pk, actor=admin)
    carry_out_platform_commands()
    assert joined.current_attempt().kind == "live"
    refusal = refused_reset(active_client, joined.pk, "not_resettable")
    assert "live" in refusal.message


def test_a_failed_stage_is_not_reset(active_client, finance, admin):
    failed, attempt = failed_with_offers(active_client, finance, admin)
    refused_reset(active_client, failed.pk, "not_resettable")
    refused_reset(active_client, failed.pk, "not_resettable", attempt_id=attempt.pk)


def test_a_challenge_without_a_reset_offer_is_not_reset(active_client, finance, admin):
    joined, _ = with_offers(active_client, finance, admin, reset=None)
    refused_reset(active_client, joined.pk, "no_reset_offer")


def test_a_stage_set_aside_by_the_monitor_is_not_reset(active_client, finance, admin):
    joined, attempt = with_offers(active_client, finance, admin)
    StageAttempt.objects.filter(pk=attempt.pk).update(monitor_error="Unreadable event")
    refused_reset(active_client, joined.pk, "not_resettable")


def test_a_suspended_clients_stage_is_not_reset(active_client, finance, admin):
    joined, _ = with_offers(active_client, finance, admin)
    accounts_services.set_client_suspended(
        active_client.pk, suspended=True, actor=admin, reason="Documents under review"
    )
    refused_reset(active_client, joined.pk, "client_suspended")


def test_a_paused_stage_may_be_reset(active_client, finance, admin):
    joined, attempt = with_offers(active_client, finance, admin)
    StageAttempt.objects.filter(pk=attempt.pk).update(paused=True)
    fresh = retries.reset(active_client, joined.pk)
    assert fresh.paused is False


def test_an_ended_challenges_running_stage_may_be_reset(active_client, finance, admin):
    joined, _ = with_offers(active_client, finance, admin)
    catalogue.end(joined.challenge_id, actor=admin)
    assert retries.reset(active_client, joined.pk).status == "in_progress"


def test_another_clients_stage_is_not_found(active_client, register, finance, admin):
    joined, attempt = with_offers(active_client, finance, admin)
    other, _ = register(email="other@example.com")
    fund(other, finance)
    before = books(active_client)
    for wanted in (joined.pk, 10**12, "x", None):
        with pytest.raises(NotFound):
            retries.reset(other, wanted)
    with pytest.raises(NotFound):
        retries.reset(other, joined.pk, attempt_id=attempt.pk)
    with pytest.raises(NotFound):
        retries.reset(active_client, joined.pk, attempt_id=10**12)
    assert books(active_client) == before


# --- both fees in the books -------------------------------------------------------------------


def test_both_fees_show_in_the_wallet_history_with_their_participations_reference(
    active_client, finance, admin
):
    from propdesk.wallet import services

    failed, _ = failed_with_offers(active_client, finance, admin)
    made = retries.retry(active_client, failed.pk)
    carry_out_platform_commands()
    retries.reset(active_client, made.pk)
    lines = services.wallet_lines(active_client)
    shown = {line["type_label"]: line for line in lines}
    assert shown["Prop Retry Fee"]["reference"] == made.reference
    assert shown["Prop Retry Fee"]["amount"] == D("-99.00")
    assert failed.reference in shown["Prop Retry Fee"]["memo"]
    assert shown["Prop Reset Fee"]["reference"] == made.reference
    assert shown["Prop Reset Fee"]["amount"] == D("-49.00")
    assert "stage 1" in shown["Prop Reset Fee"]["memo"]


def test_the_transactions_report_filters_totals_and_exports_both_fees(
    active_client, finance, admin
):
    from propdesk.reports import transactions as reports

    failed, _ = failed_with_offers(active_client, finance, admin)
    made = retries.retry(active_client, failed.pk)
    carry_out_platform_commands()
    retries.reset(active_client, made.pk)
    for kind, amount in (("prop_retry_fee", D("99.00")), ("prop_reset_fee", D("49.00"))):
        filters = reports.parse_filters({"type": kind})
        rows, _ = reports.page(reports.transactions(filters))
        assert [(r.reference, reports.firm_side(r)) for r in rows] == [(made.reference, amount)]
        (total,) = reports.totals(filters)
        assert (total["count"], total["credits"], total["debits"]) == (1, amount, D("0.00"))
        csv = "".join(reports.csv_lines(reports.transactions(filters)))
        assert f"{made.reference}" in csv
        assert kind in csv
    found = reports.transactions(reports.parse_filters({"reference": made.reference}))
    assert sorted(found.values_list("entry_type", flat=True)) == [
        "prop_reset_fee",
        "prop_retry_fee",
    ]
    assert ledger.check() == []


# --- racing on PostgreSQL -------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_two_retries_racing_make_one_and_charge_once(active_client, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin)
    outcomes = at_once(
        lambda: retries.retry(active_client, failed.pk, idempotency_key="a"),
        lambda: retries.retry(active_client, failed.pk, idempotency_key="b"),
        lambda: retries.retry(active_client, failed.pk, idempotency_key="a"),
    )
    made = Participation.objects.get(retry_of=failed)
    kinds = sorted("made" if isinstance(o, Participation) else o.code for o in outcomes)
    assert kinds in (
        ["already_retried", "made", "made"],
        ["already_retried", "already_retried", "made"],
    )
    assert all(o.pk == made.pk for o in outcomes if isinstance(o, Participation))
    assert JournalEntry.objects.filter(type=JournalEntry.Type.PROP_RETRY_FEE).count() == 1
    assert ledger.balances(active_client) == {"USD": D("402.00")}
    (stage,) = made.attempts.all()
    assert len(platform_commands(stage.subject, PlatformCommand.Kind.OPEN_ACCOUNT)) == 1


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks")
@pytest.mark.django_db(transaction=True)
def test_two_resets_racing_reset_once_and_charge_once(active_client, finance, admin):
    joined, attempt = with_offers(active_client, finance, admin)
    outcomes = at_once(
        *(
            lambda key=key: retries.reset(
                active_client, joined.pk, attempt_id=attempt.pk, idempotency_key=key
            )
            for key in ("a", "b", "c")
        )
    )
    fresh = StageAttempt.objects.get(reset_of=attempt)
    assert sum(isinstance(o, StageAttempt) for o in outcomes) == 1
    assert sorted(o.code for o in outcomes if not isinstance(o, StageAttempt)) == [
        "already_reset",
        "already_reset",
    ]
    assert JournalEntry.objects.filter(type=JournalEntry.Type.PROP_RESET_FEE).count() == 1
    assert ledger.balances(active_client) == {"USD": D("452.00")}
    assert len(platform_commands(fresh.subject, PlatformCommand.Kind.OPEN_ACCOUNT)) == 1
