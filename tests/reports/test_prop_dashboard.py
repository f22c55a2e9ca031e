"""Prop Trading > Dashboard: fees and refunds per currency, participants by status, the pass
rate per stage, the funded amount and the broker's loss on failures, exact, for a period and a
challenge; bad filters are named; the page is for staff who may see the challenges."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from propdesk.accounts import services as accounts
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.monitoring.progress import figures as stage_figures
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import ValidationFailed
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox import feed, orders, ticks
from propdesk.reports import prop_dashboard as dashboard
from propdesk.wallet import services
from tests.challenges.factories import definition, move, pass_stage, server, stage
from tests.conftest import PASSWORD, logged_in
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db
D = Decimal
PAGE = "/backoffice/prop-trading/dashboard/"


def fund(client, finance, currency="USD"):
    services.adjust(
        client.pk,
        direction="credit",
        amount="2000.00",
        currency=currency,
        comment="Top up",
        actor=finance,
    )


def offer(admin, **changes):
    changes.setdefault(
        "stages", [{**stage(), "name": "Challenge"}, {**stage("live"), "name": "Funded"}]
    )
    made = catalogue.create(definition(**changes), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return made


def join(client, finance, challenge, currency="USD"):
    fund(client, finance, currency)
    joined = participation.start(client, challenge.pk, payment="wallet")
    carry_out_platform_commands()
    return joined


def pass_first_stage(joined, admin):
    """+8,880 on 100,000 closed, the day closed: passed; the live step approved."""
    pass_stage(joined.current_attempt())
    step = ApprovalRequest.objects.get(type_key="prop_live_step", status="pending")
    approvals.approve(step.pk, actor=admin)
    carry_out_platform_commands()


def breach(attempt):
    """-5,120 floating on 100,000: equity 94,880 under the daily floor of 95,000."""
    account = sandbox_accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    monitor.process(server())
    move(feed.Feed(), "1.08000", "1.08012")
    monitor.process(server())
    attempt.refresh_from_db()
    assert attempt.status == "failed"
    return attempt


@pytest.fixture
def scene(register, set_method, finance, admin):
    """A 2-step USD challenge (fee 499): Alice passed stage 1 and trades live, Bob failed
    stage 1, Carol was rejected and refunded; a 1-step EUR challenge (fee 299): Dave runs it."""
    set_method("trader_registration", "automatic")
    usd = offer(admin)
    eur = offer(
        admin,
        name="1-Step 50K",
        currency="EUR",
        fee="299.00",
        stages=[{**stage(), "name": "Evaluation", "balance": "50000"}],
    )
    people = {name: register(name=name)[0] for name in ("Alice", "Bob", "Carol", "Dave")}
    alice = join(people["Alice"], finance, usd)
    pass_first_stage(alice, admin)
    bob = join(people["Bob"], finance, usd)
    failed = breach(bob.current_attempt())
    set_method("prop_participation", "manual")
    carol = join(people["Carol"], finance, usd)
    request = ApprovalRequest.objects.get(type_key="prop_participation", status="pending")
    approvals.reject(request.pk, actor=admin, reason="Duplicate purchase")
    set_method("prop_participation", "automatic")
    dave = join(people["Dave"], finance, eur, "EUR")
    return {
        "usd": usd,
        "eur": eur,
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "dave": dave,
        "failed": failed,
    }


def everything():
    return dashboard.figures(None, None, None)


def by_currency(lines):
    return {line.currency: line for line in lines}


# --- the figures -----------------------------------------------------------------------------


def test_fees_and_refunds_are_summed_per_currency_and_never_added_together(scene):
    fees = by_currency(everything().fees)
    assert set(fees) == {"EUR", "USD"}
    usd, eur = fees["USD"], fees["EUR"]
    assert (usd.paid, usd.collected, usd.refunds, usd.refunded) == (3, D("1497.00"), 1, D("499.00"))
    assert usd.net == D("998.00")
    assert (eur.paid, eur.collected, eur.refunds, eur.refunded) == (1, D("299.00"), 0, D("0.00"))


def test_participants_are_counted_by_status(scene):
    shown = everything()
    counts = {s.status: s.count for s in shown.statuses}
    assert counts == {
        "pending_payment": 0,
        "pending_approval": 0,
        "active": 2,  # Alice (live) and Dave
        "passed": 0,
        "failed": 1,
        "rejected": 1,
        "cancelled": 0,
    }
    assert shown.participants == 4


def test_the_pass_rate_counts_the_stages_passed_out_of_those_concluded(scene):
    [first] = everything().stages
    assert first.label == "2-Step 100K · Stage 1 (Challenge)"
    assert (first.challenge_id, first.stage, first.passed, first.failed) == (
        scene["usd"].pk,
        0,
        1,
        1,
    )
    assert first.rate_pct == D("50.0")


def test_the_funded_amount_is_the_size_of_the_live_stages_in_progress(scene):
    live = scene["alice"].current_attempt()
    assert (live.kind, live.status) == ("live", "in_progress")
    [funded] = everything().funded
    assert (funded.currency, funded.accounts, funded.amount) == ("USD", 1, D("100000.00"))


def test_the_brokers_loss_is_the_equity_at_the_failure_less_the_initial_balance(scene):
    failed = scene["failed"]
    [failure] = [o for o in failed.evaluator_state["outcomes"] if o["kind"] == "failed"]
    at_failure = D(failure["explanation"]["snapshot"]["equity"])
    assert at_failure == stage_figures(failed).equity == D("94880.00")
    [loss] = everything().losses
    assert (loss.currency, loss.failures) == ("USD", 1)
    assert loss.demo == at_failure - D("100000") == D("-5120.00")
    assert (loss.live, loss.total) == (D("0.00"), D("-5120.00"))


def test_a_live_stage_failing_is_a_live_loss_with_no_pass_rate_and_is_no_longer_funded(
    register, set_method, finance, admin
):
    set_method("trader_registration", "automatic")
    challenge = offer(admin, stages=[{**stage("live"), "name": "Funded"}])
    trader, _ = register()
    joined = join(trader, finance, challenge)
    approvals.approve(ApprovalRequest.objects.get(type_key="prop_live_step").pk, actor=admin)
    carry_out_platform_commands()
    assert dashboard.figures(None, None, None).funded[0].amount == D("100000.00")
    breach(joined.current_attempt())
    shown = dashboard.figures(None, None, None)
    assert shown.funded == []
    [loss] = shown.losses
    assert (loss.demo, loss.live, loss.total) == (D("0.00"), D("-5120.00"), D("-5120.00"))
    [live] = shown.stages
    assert (live.kind, live.passed, live.failed, live.rate_pct) == ("live", 0, 1, None)


def test_the_challenge_filter_keeps_to_one_challenge(scene):
    usd = dashboard.figures(None, None, scene["usd"].pk)
    assert [f.currency for f in usd.fees] == ["USD"]
    assert usd.participants == 3
    assert [s.challenge_id for s in usd.stages] == [scene["usd"].pk]
    eur = dashboard.figures(None, None, scene["eur"].pk)
    assert [(f.currency, f.collected) for f in eur.fees] == [("EUR", D("299.00"))]
    assert {s.status: s.count for s in eur.statuses}["active"] == 1
    assert (eur.stages, eur.funded, eur.losses) == ([], [], [])


def test_the_date_filter_leaves_out_an_older_participation(
    register, set_method, finance, admin, monkeypatch
):
    set_method("trader_registration", "automatic")
    challenge = offer(admin)
    older, newer = register()[0], register()[0]
    ten_days_ago = timezone.now() - timedelta(days=10)
    with monkeypatch.context() as past:
        past.setattr(timezone, "now", lambda: ten_days_ago)
        join(older, finance, challenge)
    join(newer, finance, challenge)
    today = timezone.localdate()
    recent = dashboard.figures(today - timedelta(days=2), today, None)
    assert [(f.paid, f.collected) for f in recent.fees] == [(1, D("499.00"))]
    assert recent.participants == 1
    back_then = dashboard.figures(None, today - timedelta(days=5), None)
    assert [(f.paid, f.collected) for f in back_then.fees] == [(1, D("499.00"))]
    assert back_then.participants == 1
    assert everything().participants == 2


def test_a_refund_counts_on_the_day_it_is_made_not_the_day_of_the_fee(
    register, set_method, finance, admin, monkeypatch
):
    set_method("trader_registration", "automatic")
    set_method("prop_participation", "manual")
    challenge = offer(admin)
    trader, _ = register()
    ten_days_ago = timezone.now() - timedelta(days=10)
    with monkeypatch.context() as past:
        past.setattr(timezone, "now", lambda: ten_days_ago)
        join(trader, finance, challenge)
    request = ApprovalRequest.objects.get(type_key="prop_participation", status="pending")
    approvals.reject(request.pk, actor=admin, reason="Duplicate purchase")
    today = timezone.localdate()
    [line] = dashboard.figures(today, today, None).fees
    assert (line.paid, line.collected, line.refunds, line.refunded) == (
        0,
        D("0.00"),
        1,
        D("499.00"),
    )
    assert line.net == D("-499.00")
    assert dashboard.figures(today, today, None).participants == 0  # it started back then


def test_the_figures_take_a_fixed_number_of_queries(scene, django_assert_max_num_queries):
    with django_assert_max_num_queries(11):  # 11th: the coupons' discounts
        everything()


# --- the filters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"date_from": "2024-13-01"}, "date_from", "Give a date as YYYY-MM-DD."),
        ({"date_to": "yesterday"}, "date_to", "Give a date as YYYY-MM-DD."),
        ({"date_from": "2024-05-02", "date_to": "2024-05-01"}, "date_to", "The end is before"),
        ({"challenge": "abc"}, "challenge", "No such challenge."),
        ({"challenge": "999999"}, "challenge", "No such challenge."),
    ],
)
def test_bad_filters_are_named(params, field, message):
    with pytest.raises(ValidationFailed) as refused:
        dashboard.parse_filters(params)
    assert message in refused.value.fields[field]


def test_good_filters_are_read(scene):
    read = dashboard.parse_filters(
        {"date_from": "2024-05-01", "date_to": "2024-05-31", "challenge": str(scene["usd"].pk)}
    )
    assert (str(read.date_from), str(read.date_to), read.challenge_id) == (
        "2024-05-01",
        "2024-05-31",
        scene["usd"].pk,
    )


# --- the page --------------------------------------------------------------------------------


def test_the_page_shows_the_figures_and_links_the_fees_to_the_transactions_report(scene, admin):
    http = logged_in(admin)
    response = http.get(PAGE)
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert 'data-collected="1497.00"' in html
    assert 'data-refunded="499.00"' in html
    assert 'data-net="998.00"' in html
    assert "2-Step 100K · Stage 1 (Challenge)" in html
    assert "50.0%" in html
    assert 'data-amount="100000.00"' in html
    assert 'data-total="-5120.00"' in html
    assert f'href="{PAGE}"' in html  # the menu's link
    link = "/backoffice/reports/transactions/?type=prop_trading_fee&currency=USD"
    assert link in html
    report = unescape(http.get(link).content.decode())
    # One sign on both pages: a fee is money the firm receives, "In", positive, and the
    # report's In for the fees is what the dashboard says was collected.
    assert "In 499.00 USD" in report
    assert "-499.00" not in report
    assert "<td>1,497.00</td>" in report
    net = "/backoffice/reports/transactions/?type=prop_trading_fee&currency=USD&status=completed"
    assert net in html
    without_refunded = unescape(http.get(net).content.decode())
    assert "<td>998.00</td>" in without_refunded  # the dashboard's net


def test_the_fee_link_carries_the_period(scene, admin):
    html = unescape(logged_in(admin).get(PAGE, {"date_from": "2024-01-01"}).content.decode())
    assert "type=prop_trading_fee&currency=USD&date_from=2024-01-01" in html


def test_bad_filters_on_the_page_are_said_and_the_rest_still_shows(scene, admin):
    response = logged_in(admin).get(PAGE, {"date_from": "2024-13-01", "challenge": "999999"})
    assert response.status_code == 200
    html = unescape(response.content.decode())
    assert "date_from: Give a date as YYYY-MM-DD." in html
    assert "No such challenge." in html
    assert 'value="2024-13-01" aria-invalid="true"' in html  # kept, to be put right
    assert "All dates" in html
    assert 'data-collected="1497.00"' in html


def test_anonymous_visitors_go_to_login_and_clients_are_kept_out(active_client):
    assert HttpClient().get(PAGE)["Location"].startswith("/login/?next=")
    assert logged_in(active_client.user).get(PAGE).status_code == 403


def test_staff_without_the_challenges_permission_are_refused(admin, support):
    accounts.save_role(
        None, name="Cashier", description="", permission_codes=["wallet.view"], actor=admin
    )
    cashier = accounts.create_staff_user(
        email="cashier@firm.test",
        name="Cashier",
        role_name="Cashier",
        password=PASSWORD,
        actor=admin,
    )
    assert logged_in(cashier).get(PAGE).status_code == 403
    assert logged_in(support).get(PAGE).status_code == 200
