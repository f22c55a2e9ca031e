"""Prop Trading > Participants in the back office: the list with each participant's stage,
status, equity and progress bars (live, filtered, exported as CSV), and a participant's page
with the curve, trades, stage history, why a stage failed, and the staff interventions, each
through interventions.py with the permission it needs."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from propdesk.accounts.services import save_role
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.participation import interventions
from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox import feed, orders, ticks
from propdesk.wallet import ledger
from propdesk.wallet.models import JournalEntry
from tests.challenges.factories import breached, move, running, server, stage
from tests.conftest import logged_in, post_form
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db
# What staff may do to a running challenge, each audited with the reason.
INTERVENTIONS = [
    AuditAction.STAGE_ADVANCE,
    AuditAction.STAGE_REINSTATE,
    AuditAction.STAGE_RETRY,
    AuditAction.PARTICIPATION_CANCEL,
]
D = Decimal

LIST = "/backoffice/prop-trading/participants/"


def page_of(joined: Participation) -> str:
    return f"{LIST}{joined.pk}/"


def text(response) -> str:
    return response.content.decode()


def row_of(html: str, joined: Participation) -> str:
    found = re.search(rf'<tr data-participation="{joined.pk}">(.*?)</tr>', html, re.S)
    assert found, f"no row for participation #{joined.pk}"
    return found.group(1)


def bar(html: str, key: str) -> str:
    found = re.search(rf'data-bar="{key}"[^>]*><progress value="([^"]+)"', html)
    assert found, f"no {key} bar"
    return found.group(1)


def opened(client, finance, admin, *, volume="1.00"):
    """A stage in progress with one open position."""
    joined, attempt = running(client, finance, admin, stages=[stage(), stage(), stage("live")])
    account = sandbox_accounts.account_by_login(attempt.login)
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume=volume)
    monitor.process(server())
    return joined, attempt, account, position


@pytest.fixture
def onboarding(staff_factory, admin):
    """Staff whose role sees clients but not prop trading."""
    save_role(
        None,
        name="Onboarding",
        description="",
        permission_codes=["clients.view"],
        actor=admin,
    )
    return staff_factory("Onboarding")


# --- the list ------------------------------------------------------------------------------------


def test_the_list_shows_stage_status_equity_and_the_used_percentages(active_client, finance, admin):
    joined, *_ = breached(active_client, finance, admin)
    response = logged_in(admin).get(LIST)
    assert response.status_code == 200
    row = row_of(text(response), joined)
    assert active_client.user.email in row
    assert "2-Step 100K" in row
    assert "1 of 2" in row
    assert 'data-status="failed"' in row
    assert "94,880.00 USD" in row  # equity, as the back office writes amounts
    assert bar(row, "daily") == "100.00"  # the whole daily allowance used: the breach
    assert bar(row, "max") == "51.20"  # 5,120 of the 10,000 max loss
    assert bar(row, "target") == "0.00"


def test_the_menu_leads_to_participants(admin):
    response = logged_in(admin).get("/backoffice/")
    assert f'href="{LIST}"' in text(response)


def test_the_list_asks_the_same_queries_however_many_participants_it_shows(
    active_client, register, finance, admin, django_assert_max_num_queries
):
    breached(active_client, finance, admin)
    http = logged_in(admin)
    http.get(LIST)  # the session and the like, warmed
    with CaptureQueriesContext(connection) as one:
        assert http.get(LIST).status_code == 200
    for n in range(4):
        other, _ = register(email=f"more{n}@example.com")
        running(other, finance, admin, stages=[stage(), stage("live")])
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = http.get(LIST)
    assert text(response).count("<tr data-participation=") == 5
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert http.get(f"{LIST}rows/").status_code == 200


def test_the_rows_refresh_themselves_with_the_monitors_latest_figures(
    active_client, finance, admin
):
    joined, _, _, _ = opened(active_client, finance, admin, volume="10.00")
    http = logged_in(admin)
    page = text(http.get(f"{LIST}?status=active"))
    assert re.search(
        r'<tbody id="participant-rows" hx-get="/backoffice/prop-trading/participants/rows/'
        r'\?status=active" hx-trigger="every \d+s"',
        page,
    )
    assert "99,880.00 USD" in row_of(text(http.get(f"{LIST}rows/?status=active")), joined)
    move(feed.Feed(), "1.08300", "1.08312")  # -2,120 on the open position
    monitor.process(server())
    row = row_of(text(http.get(f"{LIST}rows/?status=active")), joined)
    assert "97,880.00 USD" in row
    assert bar(row, "daily") == "42.40"  # 2,120 of the 5,000 allowed today


def test_filters_keep_only_the_status_challenge_and_stage_asked_for(
    active_client, register, finance, admin
):
    failed, *_ = breached(active_client, finance, admin)
    other, _ = register(email="other@example.com")
    moving, first = running(other, finance, admin, stages=[stage(), stage(), stage("live")])
    interventions.advance(first.pk, actor=admin, reason="Passed on the old server")
    carry_out_platform_commands()
    http = logged_in(admin)

    shown = text(http.get(f"{LIST}?status=failed"))
    assert f'data-participation="{failed.pk}"' in shown
    assert f'data-participation="{moving.pk}"' not in shown

    shown = text(http.get(f"{LIST}?challenge={moving.challenge_id}"))
    assert f'data-participation="{moving.pk}"' in shown
    assert f'data-participation="{failed.pk}"' not in shown

    shown = text(http.get(f"{LIST}?stage=2"))
    assert f'data-participation="{moving.pk}"' in shown
    assert f'data-participation="{failed.pk}"' not in shown
    assert "No participants match." in text(http.get(f"{LIST}?status=cancelled"))


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("challenge=abc", "No such challenge"),
        ("challenge=999999", "No such challenge"),
        ("challenge=" + "9" * 30, "No such challenge"),
        ("status=won", "Status is one of"),
        ("stage=0", "Stage is a number from 1"),
        ("stage=two", "Stage is a number from 1"),
        ("stage=21", "Stage is a number from 1"),
        ("stage=-1", "Stage is a number from 1"),
    ],
)
def test_a_bad_filter_says_what_is_wrong_instead_of_failing(
    active_client, finance, admin, query, said
):
    joined, *_ = breached(active_client, finance, admin)
    http = logged_in(admin)
    response = http.get(f"{LIST}?{query}")
    assert response.status_code == 422
    assert said in text(response)
    assert f'data-participation="{joined.pk}"' in text(response)  # the bad filter is left out
    exported = http.get(f"{LIST}?{query}&format=csv")
    assert exported.status_code == 422  # no file that ignores what was asked
    assert exported["Content-Type"].startswith("text/html")


def test_the_csv_has_a_header_exact_figures_and_defused_formulas(
    active_client, register, finance, admin
):
    joined, *_ = breached(active_client, finance, admin)
    tricky, _ = register(name="=HYPERLINK(1)", email="tricky@example.com")
    waiting, _ = running(tricky, finance, admin, stages=[stage(), stage("live")])
    response = logged_in(admin).get(f"{LIST}?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert "participants-" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [int(r["participation"]) for r in rows] == [waiting.pk, joined.pk]  # newest first
    failed = rows[1]
    assert failed["status"] == "failed"
    assert failed["stage"] == "1"
    assert failed["equity"] == "94880.00"
    assert failed["daily_loss_floor"] == "95000.00"
    assert failed["daily_loss_used_pct"] == "100.00"
    assert failed["max_loss_floor"] == "90000.00"
    assert failed["max_loss_used_pct"] == "51.20"
    assert failed["target_balance"] == "108000.00"
    assert rows[0]["client"] == "'=HYPERLINK(1)"
    only = logged_in(admin).get(f"{LIST}?status=failed&format=csv")
    lines = b"".join(only.streaming_content).decode().splitlines()
    assert lines[0].startswith("participation,started,client,email,challenge")
    assert len(lines) == 2


# --- a participant's page ------------------------------------------------------------------------


def test_a_failed_stage_shows_why_with_the_floor_and_how_it_is_made(active_client, finance, admin):
    joined, attempt, *_ = breached(active_client, finance, admin)
    response = logged_in(admin).get(page_of(joined))
    assert response.status_code == 200
    html = text(response)
    verdict = re.search(r'<p id="explanation">(.*?)</p>', html, re.S)
    assert verdict
    line = verdict.group(1)
    assert "Equity 94,880.00" in line
    assert "fell below the daily floor 95,000.00" in line
    assert "closing balance 100,000.00" in line
    assert "5% of 100,000.00" in line
    assert "floor = 100000.00 - 5000.00 = 95000.00" in html  # the evaluator's own arithmetic
    assert 'data-stage-status="failed"' in html
    assert f'data-attempt="{attempt.pk}"' in html  # the stage history
    assert 'data-figure="daily_floor">95,000.00 USD' in html


def test_the_page_carries_the_curve_with_its_floors_and_target_and_the_trades(
    active_client, finance, admin
):
    joined, *_ = breached(active_client, finance, admin)
    html = text(logged_in(admin).get(page_of(joined)))
    data = re.search(
        r'<script id="participant-curve" type="application/json">(.*?)</script>', html, re.S
    )
    assert data
    chart = json.loads(data.group(1))
    assert chart["currency"] == "USD"
    assert chart["points"][-1]["low"] == "94880.00"
    assert {line["key"]: line["value"] for line in chart["lines"]} == {
        "target": "108000.00",
        "daily": "95000.00",
        "max": "90000.00",
    }
    assert "/static/challenges/chart.js" in html
    deals = re.findall(r'<tr data-deal="(\d+)">', html)
    assert len(deals) == 2  # the initial deposit and the buy
    assert "Initial deposit" in html


def test_advance_is_refused_while_a_position_is_open_and_goes_through_once_closed(
    active_client, finance, admin
):
    joined, attempt, account, position = opened(active_client, finance, admin)
    http = logged_in(admin)
    html = text(http.get(page_of(joined)))
    assert 'id="advance-form"' not in html
    assert 'id="advance-blocked"' in html
    refused = post_form(
        http,
        f"{page_of(joined)}advance/",
        {"reason": "Passed on the old server", "attempt": attempt.pk},
    )
    assert refused.status_code == 409
    assert "1 open position(s)" in text(refused)
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"

    orders.close_position(account, position.pk)
    assert 'id="advance-form"' in text(http.get(page_of(joined)))
    done = post_form(
        http,
        f"{page_of(joined)}advance/",
        {"reason": "Passed on the old server", "attempt": attempt.pk},
    )
    assert done.status_code == 302
    attempt.refresh_from_db()
    assert attempt.status == "passed"
    assert joined.current_attempt().stage == 1
    record = AuditRecord.objects.get(action=AuditAction.STAGE_ADVANCE)
    assert (record.actor, "Passed on the old server" in record.summary) == (admin, True)
    html = text(http.get(page_of(joined)))
    assert "advanced." in html
    assert "Advanced by" in html  # stage 1's note in the history


def test_an_advance_of_a_stage_that_is_no_longer_running_is_refused(active_client, finance, admin):
    joined, attempt, *_ = breached(active_client, finance, admin)
    response = post_form(
        logged_in(admin), f"{page_of(joined)}advance/", {"reason": "Try", "attempt": attempt.pk}
    )
    assert response.status_code == 409
    assert 'id="action-error"' in text(response)
    assert "Only a stage in progress can be advanced" in text(response)


def test_a_stage_failed_in_error_is_reinstated_from_the_page(active_client, finance, admin):
    joined, attempt, _, _, price_feed = breached(active_client, finance, admin)
    move(price_feed, "1.08500", "1.08512")  # the bad price is gone
    http = logged_in(admin)
    assert 'id="reinstate-form"' in text(http.get(page_of(joined)))
    response = post_form(
        http,
        f"{page_of(joined)}reinstate/",
        {"reason": "Bad tick from the price source", "attempt": attempt.pk},
    )
    assert response.status_code == 302
    carry_out_platform_commands()
    attempt.refresh_from_db()
    joined.refresh_from_db()
    assert (attempt.status, joined.status) == ("in_progress", "active")
    assert sandbox_accounts.account_by_login(attempt.login).trading_enabled is True
    html = text(http.get(page_of(joined)))
    assert 'id="reinstate-form"' not in html
    assert 'id="explanation"' not in html


def test_cancel_with_a_refund_posts_a_reversing_entry(active_client, finance, admin):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    paid = ledger.balances(active_client)["USD"]
    http = logged_in(admin)
    assert "Refund the fee" in text(http.get(page_of(joined)))
    response = post_form(
        http, f"{page_of(joined)}cancel/", {"reason": "Chargeback on the card", "refund": "on"}
    )
    assert response.status_code == 302
    carry_out_platform_commands()
    joined.refresh_from_db()
    attempt.refresh_from_db()
    assert (joined.status, attempt.status) == ("cancelled", "cancelled")
    refund = JournalEntry.objects.get(pk=joined.refund_entry_id)
    assert refund.reverses_id == joined.fee_entry_id
    assert ledger.balances(active_client)["USD"] == paid + joined.fee
    assert sandbox_accounts.account_by_login(attempt.login).trading_enabled is False
    html = text(http.get(page_of(joined)))
    assert 'id="refunded"' in html
    assert 'id="cancel-form"' not in html  # a cancelled participation cannot be cancelled again
    assert 'id="no-actions"' in html


def test_an_intervention_without_a_reason_changes_nothing(active_client, finance, admin):
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage("live")])
    response = post_form(logged_in(admin), f"{page_of(joined)}cancel/", {"reason": "  "})
    assert response.status_code == 422
    assert 'id="reason-errors"' in text(response)
    joined.refresh_from_db()
    assert joined.status == "active"
    assert not AuditRecord.objects.filter(action__in=INTERVENTIONS).exists()


def test_a_stage_of_another_participation_is_not_found(active_client, register, finance, admin):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    other, _ = register(email="other@example.com")
    theirs, _ = running(other, finance, admin, stages=[stage(), stage("live")])
    http = logged_in(admin)
    assert http.get(f"{page_of(theirs)}?attempt={attempt.pk}").status_code == 404
    response = post_form(
        http, f"{page_of(theirs)}advance/", {"reason": "Wrong page", "attempt": attempt.pk}
    )
    assert response.status_code == 404
    attempt.refresh_from_db()
    assert attempt.status == "in_progress"
    assert http.get(f"{LIST}999999/").status_code == 404


def test_finance_may_act_by_default(active_client, finance, admin):
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage("live")])
    assert 'id="cancel-form"' in text(logged_in(finance).get(page_of(joined)))


# --- who may see and act -------------------------------------------------------------------------


def test_support_sees_the_page_without_buttons_and_is_refused_on_post(
    active_client, finance, admin, support
):
    joined, attempt, *_ = breached(active_client, finance, admin)
    http = logged_in(support)
    response = http.get(page_of(joined))
    assert response.status_code == 200
    html = text(response)
    assert "fell below the daily floor" in html
    assert "Staff actions" not in html
    assert '<form method="post" action="/backoffice/prop-trading' not in html
    for action in ("advance", "reinstate", "cancel"):
        refused = post_form(
            http, f"{page_of(joined)}{action}/", {"reason": "Not mine", "attempt": attempt.pk}
        )
        assert refused.status_code == 403
    attempt.refresh_from_db()
    assert attempt.status == "failed"
    assert not AuditRecord.objects.filter(action__in=INTERVENTIONS).exists()


@pytest.mark.parametrize("path", ["", "rows/", "{id}/", "{id}/figures/", "?format=csv"])
def test_clients_and_staff_without_the_permission_get_nothing(
    active_client, finance, admin, onboarding, path
):
    joined, attempt, *_ = breached(active_client, finance, admin)
    url = LIST + path.format(id=joined.pk)
    for user in (active_client.user, onboarding):
        response = logged_in(user).get(url)
        assert response.status_code == 403
        assert b"94880" not in response.content
        assert attempt.login.encode() not in response.content


def test_a_client_cannot_post_an_intervention(active_client, finance, admin):
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage("live")])
    response = post_form(
        logged_in(active_client.user),
        f"{page_of(joined)}cancel/",
        {"reason": "Mine", "refund": "on"},
    )
    assert response.status_code == 403
    joined.refresh_from_db()
    assert joined.status == "active"


def test_anonymous_visitors_are_sent_to_log_in(active_client, finance, admin):
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage("live")])
    response = HttpClient().get(page_of(joined))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_stage_whose_saved_state_cannot_be_read_still_lists(active_client, finance, admin):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    StageAttempt.objects.filter(pk=attempt.pk).update(
        evaluator_state={"not": "a state"}, monitor_error="ValueError: not a state"
    )
    http = logged_in(admin)
    assert http.get(LIST).status_code == 200
    html = text(http.get(page_of(joined)))
    assert 'id="monitor-error"' in html
    assert "cannot be read" in html


def test_a_stage_set_aside_is_retried_from_its_page(active_client, finance, admin):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    good = StageAttempt.objects.get(pk=attempt.pk).evaluator_state
    StageAttempt.objects.filter(pk=attempt.pk).update(
        evaluator_state={"not": "a state"}, monitor_error="ValueError: not a state"
    )
    http = logged_in(admin)
    assert 'id="retry-form"' in text(http.get(page_of(joined)))
    refused = post_form(
        http, f"{page_of(joined)}retry/", {"reason": "Try again", "attempt": attempt.pk}
    )
    assert refused.status_code == 409
    assert "still cannot be evaluated" in text(refused)
    StageAttempt.objects.filter(pk=attempt.pk).update(evaluator_state=good)
    done = post_form(
        http, f"{page_of(joined)}retry/", {"reason": "State restored", "attempt": attempt.pk}
    )
    assert done.status_code == 302
    html = text(http.get(page_of(joined)))
    assert "is watched again" in html
    assert 'id="monitor-error"' not in html
    assert AuditRecord.objects.filter(action=AuditAction.STAGE_RETRY).count() == 1
