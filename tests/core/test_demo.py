from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone, translation

from propdesk.accounts.models import Client, User
from propdesk.approvals.models import ApprovalRequest
from propdesk.demo import seed_demo

pytestmark = pytest.mark.django_db


def test_demo_seeds_staff_per_role_clients_in_each_state_and_a_living_queue():
    logins = seed_demo()
    roles = {role for _, _, role in logins.staff}
    assert roles == {"Administrator", "Compliance", "Finance", "Support"}
    for email, password, _ in logins.staff + logins.clients:
        assert User.objects.get(email=email).check_password(password)
    statuses = set(Client.objects.values_list("status", flat=True))
    assert statuses == {"active", "pending_approval", "rejected", "suspended"}
    pending = ApprovalRequest.objects.filter(status="pending")
    assert pending.filter(type_key="trader_registration").exists()
    assert pending.filter(type_key="ib_registration", current_level=2).exists()
    assert pending.filter(type_key="kyc").exists()
    assert pending.filter(type_key="deposit").exists()
    kyc_states = set(Client.objects.values_list("kyc_status", flat=True))
    assert {"approved", "pending", "not_submitted"} <= kyc_states


def test_demo_clients_have_verified_emails_and_the_portal_shows_no_verify_banner(client):
    logins = seed_demo()
    emails = [email for email, _, _ in logins.clients]
    assert not User.objects.filter(email__in=emails, email_verified_at__isnull=True).exists()
    client.force_login(User.objects.get(email="ivan@example.com"))
    page = client.get("/portal/")
    assert page.status_code == 200
    assert b"verify-email-banner" not in page.content


def test_demo_seeding_twice_changes_nothing():
    seed_demo()
    counts = (User.objects.count(), ApprovalRequest.objects.count())
    seed_demo()
    assert (User.objects.count(), ApprovalRequest.objects.count()) == counts


def test_demo_books_balance():
    from propdesk.wallet import ledger

    seed_demo()
    assert ledger.check() == []
    ivan = Client.objects.get(user__email="ivan@example.com")
    assert ledger.balances(ivan)["USD"] > 0


def test_demo_trading_accounts_open_the_terminal_with_their_printed_password():
    from propdesk.platforms.sandbox import accounts, auth, valuation

    logins = seed_demo()
    assert len(logins.trading) == 2
    for login, password, _ in logins.trading:
        account = auth.authenticate(login, password)
        assert account.group == "demo"
    busy = accounts.account_by_login(logins.trading[0][0])
    assert len(valuation.state(busy).positions) == 2


def test_demo_publishes_its_challenges_and_has_participants_in_every_state():
    from propdesk.challenges.catalogue import offering
    from propdesk.challenges.models import Participation, StageAttempt

    seed_demo()
    names = sorted(v.definition["name"] for v in offering.published_catalogue())
    assert names == [
        "1-Step 100K on Match-Trader",
        "2-Step Challenge 100K",
        "Instant Funding 25K",
        "Quick demo challenge: reach +1% in minutes",
    ]
    ivans = Participation.objects.get(client__user__email="ivan@example.com")
    assert ivans.status == "active"
    statuses = set(Participation.objects.values_list("status", flat=True))
    # Passed needs a last stage that is a demo one; both demo challenges end funded (live).
    assert statuses == {
        "pending_payment",
        "pending_approval",
        "active",
        "failed",
        "rejected",
        "cancelled",
    }
    failed = StageAttempt.objects.get(
        status="failed", participation__client__user__email="jonas@example.com"
    )
    assert failed.verdict["rule"] == "max_daily_loss"  # the monitor's own verdict
    assert "daily" in failed.explanation
    assert StageAttempt.objects.filter(stage=1, status="in_progress").exists()  # verification
    assert StageAttempt.objects.filter(kind="live", status="in_progress").exists()  # funded
    pending = ApprovalRequest.objects.filter(status="pending")
    assert pending.filter(type_key="prop_participation").exists()
    assert pending.filter(type_key="prop_live_step").exists()


def test_demo_has_a_challenge_on_the_fake_match_trader_server_waiting_for_the_worker():
    """The seed runs before the fake starts: Tomas's stage waits for its account, whose opening
    command is the worker's (not yet tried, so its first try is not put off)."""
    from propdesk.challenges.models import Participation
    from propdesk.core import vault
    from propdesk.demo_match_trader import API_KEY, CHALLENGE_OFFER, FUNDED_OFFER
    from propdesk.platforms.models import PlatformCommand, TradingServer

    logins = seed_demo(match_trader_url="http://127.0.0.1:8123")
    server = TradingServer.objects.get(name="Match-Trader (demo)")
    assert server.kind == "match_trader"
    assert server.base_url == "http://127.0.0.1:8123"
    assert vault.open_sealed(server.sealed_api_key) == API_KEY
    assert server.offers == {"challenge": CHALLENGE_OFFER.uuid, "funded": FUNDED_OFFER.uuid}
    tomas = Participation.objects.get(client__user__email="tomas@example.com")
    assert tomas.status == "active"
    assert tomas.version.spec.platform == "Match-Trader (demo)"
    assert [s.kind for s in tomas.version.spec.stages] == ["demo", "live"]
    attempt = tomas.current_attempt()
    assert attempt is not None
    assert (attempt.server, attempt.status, attempt.login) == (server, "in_progress", "")
    opening = PlatformCommand.objects.get(server=server, subject=attempt.subject)
    assert (opening.kind, opening.status, opening.attempts) == ("open_account", "pending", 0)
    assert not PlatformCommand.objects.filter(server__kind="sandbox", status="pending").exists()
    assert any(email == "tomas@example.com" for email, _, _ in logins.clients)


def test_a_demo_started_on_another_match_trader_port_moves_its_server_there():
    from propdesk.core import vault
    from propdesk.demo import STAFF
    from propdesk.demo_match_trader import API_KEY, point_at
    from propdesk.platforms.models import TradingServer

    seed_demo(match_trader_url="http://127.0.0.1:8123")
    point_at("http://127.0.0.1:8124", STAFF[0][0])
    server = TradingServer.objects.get(name="Match-Trader (demo)")
    assert server.base_url == "http://127.0.0.1:8124"
    assert vault.open_sealed(server.sealed_api_key) == API_KEY


def test_the_demo_trader_trades_tomass_account_on_the_fake_once_it_is_open():
    """What the demo's trader process does: nothing until the worker opened the account, then
    two positions left open and a quick trade closed; a demo started again trades no more."""
    import threading

    from propdesk.demo_match_trader import API_KEY, tomas_account, trade_when_open
    from propdesk.platforms import adapters
    from tests.platforms.matchtrader.factories import call, start_fake
    from tests.support import carry_out_platform_commands

    fake = start_fake(api_key=API_KEY)
    try:
        seed_demo(match_trader_url=fake.url)
        assert tomas_account() is None  # being prepared
        carry_out_platform_commands()  # the worker's turn, the fake up
        attempt = tomas_account()
        assert attempt is not None
        for _ in range(2):  # the second time: the demo started again
            trade_when_open(threading.Event(), hold=0)
            _, _, held = call(
                fake,
                "POST",
                "/v1/trading-accounts/trading-data/open-positions",
                {"logins": [attempt.login]},
            )
            assert sorted(p["symbol"] for p in held[0]["positions"]) == ["EURUSD", "XAUUSD"]
            deals = adapters.platform(attempt.server).trade_history(attempt.login)
            assert sorted(d.symbol for d in deals if d.entry == "out") == ["GBPUSD"]
    finally:
        fake.stop()


def test_tomass_trades_on_the_fake_reach_his_stage_through_the_monitor():
    """The demo's monitor pulls the fake's events like the sandbox's: Tomas's positions and his
    closed quick trade are in his stage's figures."""
    import threading

    from propdesk.challenges.monitoring import monitor, progress
    from propdesk.demo_match_trader import API_KEY, tomas_account, trade_when_open
    from tests.platforms.matchtrader.factories import start_fake
    from tests.support import carry_out_platform_commands

    fake = start_fake(api_key=API_KEY)
    try:
        seed_demo(match_trader_url=fake.url)
        carry_out_platform_commands()
        attempt = tomas_account()
        assert attempt is not None
        monitor.process(attempt.server)  # his first snapshot
        trade_when_open(threading.Event(), hold=0)
        monitor.process(attempt.server)
        shown = progress.figures(tomas_account())
        assert shown is not None
        assert shown.open_positions == 2
        assert shown.balance == Decimal("99985.00")  # the quick trade: GBPUSD's spread, 15
    finally:
        fake.stop()


def test_demo_staff_log_in_with_their_printed_password_alone():
    """Two-factor login is the firm's choice: the demo requires it of no role."""
    from django.test import Client as HttpClient

    from tests.conftest import post_form

    logins = seed_demo()
    for email, password, _ in logins.staff:
        http = HttpClient(enforce_csrf_checks=True)
        response = post_form(http, "/login/", {"email": email, "password": password})
        assert response["Location"] == "/backoffice/", email
        assert http.get("/backoffice/").status_code == 200


def test_demo_kyc_documents_are_kept_and_handed_to_the_compliance_officer():
    import hashlib

    from propdesk.onboarding.models import KycDocument
    from tests.conftest import logged_in

    seed_demo()
    http = logged_in(User.objects.get(email="compliance@propdesk.demo"))
    kept = KycDocument.objects.all()
    assert {d.content_type for d in kept} == {"image/png", "application/pdf"}
    for document in kept:
        response = http.get(f"/documents/kyc/{document.token}/")
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        assert hashlib.sha256(body).hexdigest() == document.sha256


def _quick_attempt(email: str = "rosa@example.com") -> Any:
    from propdesk.challenges.models import Participation

    joined = Participation.objects.get(client__user__email=email)
    assert joined.version.definition["name"].startswith("Quick demo challenge")
    attempt = joined.current_attempt()
    assert attempt is not None
    return attempt


def test_the_demo_has_a_quick_challenge_participant_close_to_the_target():
    from propdesk.platforms.sandbox import accounts

    logins = seed_demo()
    rosa = (
        "rosa@example.com",
        "demo-client-2026",
        "quick demo challenge, 20 USD short of its +1% target",
    )
    assert rosa in logins.clients
    attempt = _quick_attempt()
    assert attempt.status == "in_progress"
    account = accounts.account_by_login(attempt.login)
    # +1% of 10,000 is 10,100: a closed +80 trade leaves 20 to make, and no position open.
    assert account.balance == Decimal("10080.00")
    assert not account.positions.filter(closed_at__isnull=True).exists()


def test_trading_on_the_sandbox_passes_the_quick_demo_challenges_first_stage():
    """Seeded demo data, then what a trader does in the terminal: buy one lot of gold, the feed
    moves the price 1.50 up, close; the stage passes at the day's close (00:00 UTC)."""
    from propdesk.challenges.models import StageAttempt
    from propdesk.challenges.monitoring import monitor
    from propdesk.demo import move_price
    from propdesk.platforms.sandbox import accounts, orders

    seed_demo()
    attempt = _quick_attempt()
    account = accounts.account_by_login(attempt.login)
    server = accounts.default_server()
    position = orders.place_order(account, symbol="XAUUSD", side="buy", volume="1.00")
    move_price("XAUUSD", Decimal("1.50"))
    deal = orders.close_position(account, position.pk)
    assert deal.profit > Decimal("20")
    monitor.process(server)
    assert StageAttempt.objects.get(pk=attempt.pk).status == "in_progress"  # the day is open
    midnight = (timezone.now() + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    monitor.close_days(midnight + timedelta(seconds=1))
    passed = StageAttempt.objects.get(pk=attempt.pk)
    assert passed.status == "passed"
    assert passed.verdict["status"] == "passed"
    following = StageAttempt.objects.filter(participation=attempt.participation, stage=1)
    waiting = ApprovalRequest.objects.filter(
        type_key="prop_live_step", client=attempt.participation.client, status="pending"
    )
    assert following.exists() or waiting.exists()  # funded next, or the firm's live step


def test_the_quick_demo_stage_is_not_passed_while_short_of_the_target():
    from propdesk.challenges.models import StageAttempt
    from propdesk.challenges.monitoring import monitor
    from propdesk.demo import move_price
    from propdesk.platforms.sandbox import accounts, orders

    seed_demo()
    attempt = _quick_attempt()
    account = accounts.account_by_login(attempt.login)
    position = orders.place_order(account, symbol="XAUUSD", side="buy", volume="0.10")
    move_price("XAUUSD", Decimal("1.00"))
    orders.close_position(account, position.pk)  # about +7: 10,087 is short of 10,100
    monitor.process(accounts.default_server())
    monitor.close_days(timezone.now() + timedelta(days=1, hours=1))
    assert StageAttempt.objects.get(pk=attempt.pk).status == "in_progress"


def test_the_demo_funded_trader_was_paid_a_payout_as_profit_share():
    from propdesk.challenges.models import Payout
    from propdesk.platforms.sandbox import accounts
    from propdesk.wallet import ledger
    from propdesk.wallet.models import JournalEntry

    seed_demo()
    payout = Payout.objects.get(client__user__email="lena@example.com")
    assert (payout.status, payout.profit, payout.trader_share) == (
        "paid",
        Decimal("200.00"),
        Decimal("140.00"),
    )
    assert payout.entry.type == JournalEntry.Type.PROFIT_SHARE
    account = accounts.account_by_login(payout.attempt.login)
    assert account.balance == Decimal("25000.00")  # the profit is off the funded account
    assert ledger.wallet(payout.client, "USD").balance >= Decimal("140.00")
    assert payout.attempt.status == "in_progress"


def test_the_demo_offers_jonas_a_retry_and_ivan_a_reset():
    from propdesk.challenges.models import Participation
    from propdesk.challenges.participation import retries
    from propdesk.wallet import ledger

    seed_demo()
    failed = Participation.objects.get(client__user__email="jonas@example.com")
    offers = retries.offers_for(failed, None)
    assert offers.retry is not None
    assert offers.retry.fee > 0
    assert ledger.wallet(failed.client, "USD").balance >= offers.retry.fee  # he can take it
    running = Participation.objects.get(
        client__user__email="ivan@example.com",
        status="active",
        challenge__name="2-Step Challenge 100K",
    )
    assert retries.offers_for(running, None).reset_fee is not None


def test_the_demo_has_a_spanish_trader_told_of_her_failed_stage_in_spanish():
    from propdesk.challenges.models import ChallengeAlerts
    from propdesk.notifications.events import spec
    from propdesk.notifications.models import Notification, NotificationTemplate

    seed_demo()
    sofia = User.objects.get(email="sofia@example.com")
    assert sofia.language == "es"
    failed = Notification.objects.get(user=sofia, event="stage.failed")
    with translation.override("es"):
        ending = str(spec("stage.failed").subject).rsplit("}}", 1)[-1].strip()
    assert ending != "has ended"  # the catalogue's Spanish, not the English
    assert failed.title.endswith(ending)
    assert ChallengeAlerts.objects.filter(daily_loss_percent=80).count() == 4
    assert NotificationTemplate.objects.filter(event="stage.passed").count() == 2
