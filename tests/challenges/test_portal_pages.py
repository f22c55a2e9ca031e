"""The portal's Prop Trading pages: the catalogue a client may start (with a tag filter), a
challenge's details and Start now (paid once from the wallet, refused with a clear message and
nothing charged), and My challenges with the credentials for the owner only, the current
stage's live figures and bars, the next day reset, and why a stage failed."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.test import Client as HttpClient
from django.utils import timezone
from django.utils.html import escape

from propdesk.accounts import services as accounts
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import progress
from propdesk.challenges.participation import services as participation
from propdesk.core.templatetags.money import money
from propdesk.onboarding import kyc
from propdesk.wallet import ledger, services
from propdesk.wallet.models import JournalEntry
from tests.challenges.factories import (
    breach,
    definition,
    next_reset_17_prague,
    pass_stage,
    profit_then_loss,
    running,
    stage,
    trading,
)
from tests.challenges.pages import bar
from tests.conftest import logged_in, post_form
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_step(admin):
    made = catalogue.create(
        definition(name="1-Step 50K", tags=["1-step", "50K"], fee="299.00"), actor=admin
    )
    catalogue.publish(made.pk, actor=admin)
    return made


def fund(client, finance, amount="1000.00"):
    services.adjust(
        client.pk, direction="credit", amount=amount, currency="USD", comment="x", actor=finance
    )


def start_key(page: str) -> str:
    found = re.search(r'name="idempotency_key" value="([^"]+)"', page)
    assert found, "the Start now form carries a one-time key"
    return found.group(1)


def test_the_catalogue_lists_only_published_challenges(active_client, admin, challenge):
    catalogue.create(definition(name="Secret draft"), actor=admin)
    ended = catalogue.create(definition(name="Old one"), actor=admin)
    catalogue.publish(ended.pk, actor=admin)
    catalogue.end(ended.pk, actor=admin)
    page = logged_in(active_client.user).get("/portal/challenges/").content.decode()
    assert "2-Step 100K" in page
    assert "499.00 USD" in page
    assert "Challenge · demo · 100,000 · target 8% · daily loss 5% · max loss 10%" in page
    assert "Funded · live · 100,000 · max loss 10% · 80% profit share" in page
    assert f'href="/portal/challenges/{challenge.pk}/"' in page
    assert "Secret draft" not in page
    assert "Old one" not in page


def test_the_tag_filter_shows_only_the_tagged_challenges(active_client, challenge, one_step):
    http = logged_in(active_client.user)
    everything = http.get("/portal/challenges/").content.decode()
    assert 'data-tag="1-step"' in everything
    assert 'data-tag="2-step"' in everything
    tagged = http.get("/portal/challenges/?tag=1-STEP").content.decode()
    assert f'data-challenge="{one_step.pk}"' in tagged
    assert f'data-challenge="{challenge.pk}"' not in tagged
    none = http.get("/portal/challenges/?tag=nothing").content.decode()
    assert "No challenges tagged nothing" in none


def test_a_count_of_one_day_reads_in_the_singular(active_client, admin):
    rules = {"min_trading_days": 1, "trading_period_days": 1, "inactivity_days": 1}
    one_day = catalogue.create(
        definition(name="One Day", stages=[stage(**rules), stage("live")]), actor=admin
    )
    catalogue.publish(one_day.pk, actor=admin)
    page = logged_in(active_client.user).get(f"/portal/challenges/{one_day.pk}/").content.decode()
    assert "At least 1 trading day<" in page
    assert "Trading period 1 day<" in page
    assert "Fails after 1 inactive day<" in page


def test_the_details_page_shows_the_rules_fee_and_payment_ways(active_client, finance, challenge):
    fund(active_client, finance, "12.50")
    response = logged_in(active_client.user).get(f"/portal/challenges/{challenge.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Profit target 8%" in page
    assert "Max daily loss 5% of the initial balance" in page
    assert "At least 4 trading days" in page
    assert "you keep 80% of the profit" in page
    assert "499.00 USD, not refundable" in page
    assert 'data-balance="USD">12.50 USD<' in page
    assert re.search(r'value="direct" disabled>', page)  # no online method takes USD yet
    assert "no online payment method takes USD" in page


def test_a_direct_purchase_goes_to_the_checkout_and_waits_for_the_payment(
    active_client, challenge, sandbox_card
):
    http = logged_in(active_client.user)
    page = http.get(f"/portal/challenges/{challenge.pk}/").content.decode()
    assert not re.search(r'value="direct" disabled>', page)
    assert "Card (sandbox)" in page
    response = post_form(
        http,
        f"/portal/challenges/{challenge.pk}/",
        {"payment": "direct", "method": sandbox_card.pk, "idempotency_key": "k1"},
    )
    joined = Participation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/portal/pay/{joined.checkout_token}/"  # the pay step
    assert joined.status == "pending_payment"
    assert ledger.balances(active_client) == {}  # nothing taken before the payment
    mine = http.get(f"/portal/my-challenges/{joined.pk}/").content.decode()
    assert f'href="/portal/pay/{joined.checkout_token}/"' in mine
    assert "waits for your payment of 499.00 USD by Card (sandbox)" in mine


def test_a_draft_challenge_has_no_details_page(active_client, admin):
    draft = catalogue.create(definition(name="Secret draft"), actor=admin)
    assert logged_in(active_client.user).get(f"/portal/challenges/{draft.pk}/").status_code == 404


def test_start_now_charges_once_even_when_the_form_is_posted_twice(
    active_client, finance, challenge
):
    fund(active_client, finance)
    http = logged_in(active_client.user)
    key = start_key(http.get(f"/portal/challenges/{challenge.pk}/").content.decode())
    form = {"payment": "wallet", "idempotency_key": key}
    first = post_form(http, f"/portal/challenges/{challenge.pk}/", form)
    again = post_form(http, f"/portal/challenges/{challenge.pk}/", form)
    [joined] = Participation.objects.all()
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == f"/portal/my-challenges/{joined.pk}/"
    assert ledger.balances(active_client) == {"USD": Decimal("501.00")}
    assert JournalEntry.objects.filter(type="prop_trading_fee").count() == 1


def test_each_rendered_form_has_its_own_key(active_client, challenge):
    http = logged_in(active_client.user)
    path = f"/portal/challenges/{challenge.pk}/"
    assert start_key(http.get(path).content.decode()) != start_key(http.get(path).content.decode())


def test_not_enough_in_the_wallet_is_shown_and_charges_nothing(active_client, finance, challenge):
    fund(active_client, finance, "100.00")
    http = logged_in(active_client.user)
    key = start_key(http.get(f"/portal/challenges/{challenge.pk}/").content.decode())
    response = post_form(
        http, f"/portal/challenges/{challenge.pk}/", {"payment": "wallet", "idempotency_key": key}
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert "The wallet holds 100.00 USD; this needs 499.00 USD." in page
    assert "Nothing was charged." in page
    assert ledger.balances(active_client) == {"USD": Decimal("100.00")}
    assert not Participation.objects.exists()


def test_a_missing_kyc_is_shown_with_a_way_to_verify(active_client, finance, challenge, admin):
    kyc.set_policy(["join_challenge"], actor=admin)
    fund(active_client, finance)
    http = logged_in(active_client.user)
    key = start_key(http.get(f"/portal/challenges/{challenge.pk}/").content.decode())
    response = post_form(
        http, f"/portal/challenges/{challenge.pk}/", {"payment": "wallet", "idempotency_key": key}
    )
    assert response.status_code == 403
    assert 'href="/portal/kyc/"' in response.content.decode()
    assert ledger.balances(active_client) == {"USD": Decimal("1000.00")}


def test_a_direct_purchase_without_an_online_method_is_refused(active_client, finance, challenge):
    fund(active_client, finance)
    http = logged_in(active_client.user)
    response = post_form(
        http, f"/portal/challenges/{challenge.pk}/", {"payment": "direct", "idempotency_key": "k"}
    )
    assert response.status_code == 422
    # No online method chosen (none is set up): the use case asks for one.
    assert "Choose one of the online payment methods." in response.content.decode()
    assert ledger.balances(active_client) == {"USD": Decimal("1000.00")}
    assert not Participation.objects.exists()


def test_a_post_without_the_one_time_key_charges_nothing(active_client, finance, challenge):
    fund(active_client, finance)
    http = logged_in(active_client.user)
    response = post_form(http, f"/portal/challenges/{challenge.pk}/", {"payment": "wallet"})
    assert response.status_code == 422
    assert "This form has expired" in response.content.decode()
    assert not Participation.objects.exists()


def test_my_challenges_shows_the_credentials_to_the_owner_only(
    active_client, register, finance, challenge
):
    fund(active_client, finance)
    joined = participation.start(active_client, challenge.pk, payment="wallet")
    carry_out_platform_commands()
    shown = participation.credentials(joined, active_client)
    mine = logged_in(active_client.user)
    listing = mine.get("/portal/my-challenges/").content.decode()
    assert "2-Step 100K" in listing
    assert "Active" in listing
    assert "1 of 3: Challenge" in listing
    response = mine.get(f"/portal/my-challenges/{joined.pk}/")
    page = response.content.decode()
    assert f"<code data-login>{shown['login']}</code>" in page
    assert f"<code data-password>{shown['password']}</code>" in page
    assert "<dd data-server>Sandbox</dd>" in page
    assert 'href="/terminal/login/"' in page
    assert "no-store" in response["Cache-Control"]
    other, _ = register(email="other@example.com")
    theirs = logged_in(other.user)
    assert theirs.get(f"/portal/my-challenges/{joined.pk}/").status_code == 404
    assert "2-Step 100K" not in theirs.get("/portal/my-challenges/").content.decode()


def test_anonymous_visitors_are_sent_to_log_in(challenge):
    anonymous = HttpClient()
    for path in (
        "/portal/challenges/",
        f"/portal/challenges/{challenge.pk}/",
        "/portal/my-challenges/",
        "/portal/my-challenges/1/",
    ):
        response = anonymous.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_start_now_without_the_csrf_token_is_refused(active_client, finance, challenge):
    fund(active_client, finance)
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(active_client.user, backend="propdesk.accounts.backends.EmailBackend")
    response = http.post(
        f"/portal/challenges/{challenge.pk}/", {"payment": "wallet", "idempotency_key": "k"}
    )
    assert response.status_code == 403
    assert not Participation.objects.exists()
    assert ledger.balances(active_client) == {"USD": Decimal("1000.00")}


def test_the_portal_nav_links_to_prop_trading(active_client):
    page = logged_in(active_client.user).get("/portal/").content.decode()
    assert 'href="/portal/challenges/">Prop Trading<' in page
    assert 'href="/portal/my-challenges/">My challenges<' in page


# --- My challenges: the current stage's figures --------------------------------------------------


def usd(amount):
    return f"{money(amount, 'USD')} USD"


def figure(page, name):
    found = re.search(rf'data-figure="{name}">([^<]*)<', page)
    assert found, f"the page shows the {name}"
    return found.group(1)


def reset_shown(reset: datetime) -> str:
    at = reset.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f'<time datetime="{at}">{reset:%Y-%m-%d %H:%M} {reset.tzname()} (Europe/Prague)</time>'


def test_my_challenges_lists_each_running_stages_figures_and_bars(active_client, finance, admin):
    joined, attempt = trading(active_client, finance, admin)
    profit_then_loss(attempt)
    f = progress.figures(attempt)
    page = logged_in(active_client.user).get("/portal/my-challenges/").content.decode()
    assert figure(page, "equity") == usd(f.equity) == "97,760.00 USD"
    assert figure(page, "balance") == usd(f.balance) == "102,880.00 USD"
    assert bar(page, "target") == (
        str(f.target_progress_pct),
        "100",
        "36.00%: profit 2,880.00 USD of 8,000.00 USD",
    )
    assert bar(page, "daily_loss") == (
        str(f.daily_loss_used_pct),
        "100",
        "44.80% of the 5,000.00 USD allowed is used",
    )
    assert bar(page, "max_loss") == (
        str(f.max_loss_used_pct),
        "100",
        "22.40% of the 10,000.00 USD allowed is used",
    )
    assert bar(page, "days") == ("1", "4", "1 of 4 trading days")
    assert "data-stage-status>In progress<" in page
    assert (
        f'hx-get="/portal/my-challenges/{joined.pk}/figures/?shown={attempt.pk}&amp;compact=1"'
        in page
    )


def test_the_bars_are_labelled_for_screen_readers(active_client, finance, admin):
    joined, attempt = trading(active_client, finance, admin)
    profit_then_loss(attempt)
    page = logged_in(active_client.user).get(f"/portal/my-challenges/{joined.pk}/").content.decode()
    for key in ("target", "daily_loss", "max_loss", "days"):
        label = f"bar-{joined.pk}-{key}"
        assert f'aria-labelledby="{label}" aria-describedby="{label}-words"' in page
        assert f'id="{label}"' in page
        assert f'id="{label}-words"' in page


def test_the_participation_page_shows_the_floors_and_the_next_day_reset_in_the_stages_zone(
    active_client, finance, admin
):
    accounts.set_time_zone(active_client, "Europe/Prague")  # the trader reads the stage's zone
    joined, attempt = trading(active_client, finance, admin)
    profit_then_loss(attempt)
    f = progress.figures(attempt)
    before = timezone.now()
    response = logged_in(active_client.user).get(f"/portal/my-challenges/{joined.pk}/")
    after = timezone.now()
    page = response.content.decode()
    assert figure(page, "equity") == usd(f.equity)
    assert figure(page, "balance") == usd(f.balance)
    assert figure(page, "profit") == usd(f.profit) == "2,880.00 USD"
    assert figure(page, "target_balance") == usd(f.target_balance) == "108,000.00 USD"
    assert figure(page, "daily_loss_floor") == usd(f.daily_loss_floor) == "95,000.00 USD"
    assert figure(page, "max_loss_floor") == usd(f.max_loss_floor) == "90,000.00 USD"
    assert figure(page, "open_positions") == "1"
    assert bar(page, "daily_loss")[0] == "44.80"
    # Rendered by the server in the trader's zone: the page reads right without JavaScript.
    shown = {reset_shown(next_reset_17_prague(before)), reset_shown(next_reset_17_prague(after))}
    assert any(text in page for text in shown)
    countdown = int(re.search(r'data-countdown="(\d+)"', page).group(1))
    assert 0 < countdown <= 24 * 3600
    assert "<span data-countdown-left></span>" in page
    assert "/static/challenges/countdown.js" in page  # the script that fills it in
    assert f'hx-get="/portal/my-challenges/{joined.pk}/figures/?shown={attempt.pk}"' in page
    assert 'hx-trigger="every 5s"' in page
    assert "no-store" in response["Cache-Control"]


def test_before_the_first_figures_a_stage_shows_its_starting_balance(active_client, finance, admin):
    joined, _ = trading(active_client, finance, admin)
    page = logged_in(active_client.user).get(f"/portal/my-challenges/{joined.pk}/").content.decode()
    assert figure(page, "equity") == figure(page, "balance") == "100,000.00 USD"
    assert bar(page, "target")[0] == "0.00"
    assert bar(page, "daily_loss") == (
        "0.00",
        "100",
        "Nothing used yet: the limit applies from the first figures of your account",
    )
    assert bar(page, "days") == ("0", "4", "0 of 4 trading days")
    assert "No figures from the account yet" in page


def test_a_failed_stage_shows_why_and_stops_refreshing(active_client, finance, admin):
    accounts.set_time_zone(active_client, "Europe/Prague")  # the trader reads the stage's zone
    joined, attempt = trading(active_client, finance, admin)
    breach(attempt)
    assert attempt.status == "failed"
    assert attempt.explanation
    page = logged_in(active_client.user).get(f"/portal/my-challenges/{joined.pk}/").content.decode()
    assert 'id="participation-status">Failed<' in page
    assert "data-stage-status>Failed<" in page
    headline = progress.headline(attempt)
    assert "fell below the daily floor" in headline
    assert f'<p class="headline" data-headline>{escape(headline)}</p>' in page
    assert f'<pre class="explanation" data-explanation>{escape(attempt.explanation)}</pre>' in page
    assert figure(page, "equity") == usd(progress.figures(attempt).equity) == "94,880.00 USD"
    assert bar(page, "daily_loss")[0] == "100.00"
    assert "hx-get" not in page  # a decided stage no longer moves
    assert "data-countdown=" not in page
    assert f'<tr data-attempt="{attempt.pk}">' in page  # the history
    listing = logged_in(active_client.user).get("/portal/my-challenges/").content.decode()
    assert f'href="/portal/my-challenges/{joined.pk}/#why">Why this stage failed<' in listing
    assert f"<span data-headline>{escape(headline)}</span>" in listing


def test_a_paused_stage_says_trading_is_paused_until_the_day_reset(active_client, finance, admin):
    accounts.set_time_zone(active_client, "Europe/Prague")  # the trader reads the stage's zone
    daily = {"pct": "5", "basis": "prev_day_balance", "action": "pause"}
    joined, attempt = trading(active_client, finance, admin, max_daily_loss=daily)
    breach(attempt)
    assert (attempt.status, attempt.paused) == ("in_progress", True)
    page = logged_in(active_client.user).get(f"/portal/my-challenges/{joined.pk}/").content.decode()
    notice = re.search(r"<p class=\"notice\" data-paused>([^<]*)<", page)
    assert notice, "the page says the stage is paused"
    assert notice.group(1).startswith("Trading is paused until the day reset (")
    assert "17:00 CE" in notice.group(1)  # CET or CEST, in the stage's zone
    assert '<span class="status status-paused">Paused</span>' in page
    assert f"<span data-headline>{escape(progress.headline(attempt))}</span>" in page


def test_the_stage_history_explains_a_passed_stage(active_client, finance, admin):
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    pass_stage(attempt)
    attempt.refresh_from_db()
    following = StageAttempt.objects.get(participation=joined, stage=1)
    page = logged_in(active_client.user).get(f"/portal/my-challenges/{joined.pk}/").content.decode()
    assert f'<tr data-attempt="{attempt.pk}">' in page
    assert f'<tr data-attempt="{following.pk}">' in page
    assert f'<tr data-explanation-of="{attempt.pk}">' in page
    assert escape(attempt.explanation) in page
    assert figure(page, "equity") == "100,000.00 USD"  # the new stage's figures
    assert f"<code data-login>{following.login}</code>" in page


def test_the_figures_fragment_is_the_owners_only(active_client, register, finance, admin):
    joined, attempt = trading(active_client, finance, admin)
    profit_then_loss(attempt)
    path = f"/portal/my-challenges/{joined.pk}/figures/"
    response = logged_in(active_client.user).get(path)
    fragment = response.content.decode()
    assert response.status_code == 200
    assert fragment.lstrip().startswith('<div class="stage-figures"')
    assert "<html" not in fragment
    assert figure(fragment, "equity") == "97,760.00 USD"
    assert figure(fragment, "max_loss_floor") == "90,000.00 USD"
    assert "no-store" in response["Cache-Control"]
    compact = logged_in(active_client.user).get(f"{path}?compact=1").content.decode()
    assert 'data-figure="max_loss_floor"' not in compact
    other, _ = register(email="other@example.com")
    assert logged_in(other.user).get(path).status_code == 404
    missing = "/portal/my-challenges/999999/figures/"
    assert logged_in(active_client.user).get(missing).status_code == 404
    assert logged_in(admin).get(path).status_code == 403  # staff use the back office
    assert HttpClient().get(path).status_code == 302


def test_staff_are_refused_on_my_challenges(active_client, finance, admin):
    joined, _ = trading(active_client, finance, admin)
    for path in ("/portal/my-challenges/", f"/portal/my-challenges/{joined.pk}/"):
        assert logged_in(admin).get(path).status_code == 403


def test_the_fragment_reloads_the_page_once_the_stage_it_showed_is_decided(
    active_client, finance, admin
):
    joined, attempt = trading(active_client, finance, admin)
    http = logged_in(active_client.user)
    path = f"/portal/my-challenges/{joined.pk}/figures/?shown={attempt.pk}"
    assert http.get(path).status_code == 200
    assert "HX-Refresh" not in http.get(path)
    breach(attempt)
    response = http.get(path)
    assert response.status_code == 204
    assert response["HX-Refresh"] == "true"  # for the verdict, the history and the status


def test_a_stage_whose_figures_cannot_be_read_says_so(active_client, finance, admin):
    joined, attempt = trading(active_client, finance, admin)
    StageAttempt.objects.filter(pk=attempt.pk).update(evaluator_state={"not": "a state"})
    http = logged_in(active_client.user)
    for path in (
        "/portal/my-challenges/",
        f"/portal/my-challenges/{joined.pk}/",
        f"/portal/my-challenges/{joined.pk}/figures/",
    ):
        response = http.get(path)
        assert response.status_code == 200
        assert "The figures of this stage are not available at the moment." in (
            response.content.decode()
        )


def test_the_trader_never_reads_the_staffs_reason_or_email(active_client, finance, admin):
    """Advancing and cancelling take a reason "kept in the audit log": the trader's pages and
    the API say the firm decided, never who or why."""
    from propdesk.challenges.participation import interventions

    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage()])
    interventions.advance(attempt.pk, actor=admin, reason="Internal: arbitrage suspected")
    carry_out_platform_commands()
    interventions.cancel(joined.pk, actor=admin, reason="Internal: duplicate identity")
    carry_out_platform_commands()
    http = logged_in(active_client.user)
    seen = [
        http.get("/portal/my-challenges/").content.decode(),
        http.get(f"/portal/my-challenges/{joined.pk}/").content.decode(),
        http.get(f"/portal/my-challenges/{joined.pk}/figures/").content.decode(),
        http.get(f"/api/v1/participations/{joined.pk}").content.decode(),
        http.get("/api/v1/participations").content.decode(),
    ]
    for page in seen:
        assert "Internal:" not in page
        assert admin.email not in page
    assert "The firm passed this stage by hand." in seen[1]
    assert "The firm cancelled this challenge." in seen[1]
    staff_page = logged_in(admin).get(f"/backoffice/prop-trading/participants/{joined.pk}/")
    assert "Internal: arbitrage suspected" in staff_page.content.decode()
