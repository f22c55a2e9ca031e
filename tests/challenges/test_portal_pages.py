"""The portal's Prop Trading pages: the catalogue a client may start (with a tag filter), a
challenge's details and Start now (paid once from the wallet, refused with a clear message and
nothing charged), and My challenges with the credentials for the owner only."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client as HttpClient

from propdesk.challenges import catalogue, participation
from propdesk.challenges.models import Participation
from propdesk.onboarding import kyc
from propdesk.wallet import ledger, services
from propdesk.wallet.models import JournalEntry
from tests.challenges.test_catalogue import definition
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def challenge(admin):
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return made


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
    assert re.search(r'value="direct" disabled>', page)
    assert "coming soon" in page


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
    assert "The wallet holds 100 USD; this needs 499." in page
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


def test_direct_purchase_is_refused_on_the_form(active_client, finance, challenge):
    fund(active_client, finance)
    http = logged_in(active_client.user)
    response = post_form(
        http, f"/portal/challenges/{challenge.pk}/", {"payment": "direct", "idempotency_key": "k"}
    )
    assert response.status_code == 422
    assert "Direct purchase is not open yet" in response.content.decode()
    assert ledger.balances(active_client) == {"USD": Decimal("1000.00")}


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
