"""Settings > KYC's "Trade": while the firm blocks trading until KYC is approved, a client whose
KYC is not approved can place no order on their challenge's account, in the web terminal or
through the trading API; the refusal says why (403 `kyc_required`) and changes nothing. Reading
the account and prices, and closing a position (reducing risk), stay open; an approved client,
and an account that is no client's, trade as before."""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from django.test import Client as HttpClient

from propdesk.accounts.models import Client
from propdesk.challenges.participation import services as participation
from propdesk.onboarding import kyc
from propdesk.platforms.sandbox import accounts, orders, ticks
from propdesk.platforms.sandbox.models import Position
from tests.challenges.factories import running, stage
from tests.onboarding.factories import answers, documents

pytestmark = pytest.mark.django_db
D = Decimal
ORDER = {"symbol": "EURUSD", "side": "buy", "volume": "1.00"}


def api(credentials: dict[str, str]) -> tuple[HttpClient, dict[str, str]]:
    token = base64.b64encode(f"{credentials['login']}:{credentials['password']}".encode())
    return HttpClient(), {"HTTP_AUTHORIZATION": f"Basic {token.decode()}"}


def post(credentials: dict[str, str], path: str, body: dict[str, str] | None = None):
    http, auth = api(credentials)
    return http.post(
        f"/api/v1/sandbox{path}",
        data=json.dumps(body or {}),
        content_type="application/json",
        **auth,
    )


def get(credentials: dict[str, str], path: str):
    http, auth = api(credentials)
    return http.get(f"/api/v1/sandbox{path}", **auth)


@pytest.fixture
def stage_account(active_client, finance, admin) -> dict[str, str]:
    """The login and password of the client's first challenge stage; the EURUSD price set."""
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage("live")])
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    found = participation.credentials(joined, active_client)
    assert found is not None
    return found


@pytest.fixture
def trade_blocked(admin) -> None:
    kyc.set_policy(["trade"], actor=admin)


def test_trade_is_one_of_the_actions_the_policy_may_block():
    from propdesk.onboarding import kyc_actions

    assert kyc_actions.catalogue()["trade"] == "Trade"


def test_by_default_a_client_without_kyc_trades(active_client, stage_account):
    assert active_client.kyc_status != Client.KycStatus.APPROVED
    assert kyc.policy().blocked_actions == []
    assert post(stage_account, "/orders", ORDER).status_code == 201


def test_the_trading_api_refuses_an_order_with_403_kyc_required_and_changes_nothing(
    active_client, stage_account, trade_blocked
):
    response = post(stage_account, "/orders", ORDER)
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "kyc_required"
    assert body["message"] == "Verify your identity before you trade: your KYC is not submitted."
    assert not Position.objects.exists()
    # Looking stays open.
    assert get(stage_account, "/account").status_code == 200
    assert get(stage_account, "/quotes").status_code == 200
    assert get(stage_account, "/positions").json() == []


def test_a_position_opened_before_the_block_may_still_be_closed(
    admin, active_client, stage_account
):
    opened = post(stage_account, "/orders", ORDER)
    assert opened.status_code == 201
    kyc.set_policy(["trade"], actor=admin)
    assert post(stage_account, "/orders", ORDER).status_code == 403
    closed = post(stage_account, f"/positions/{opened.json()['id']}/close")
    assert closed.status_code == 200, closed.content
    assert Position.objects.get().closed_at is not None


def terminal(credentials: dict[str, str]) -> HttpClient:
    """A browser logged in to the web terminal with the account's own credentials."""
    browser = HttpClient()
    logged = browser.post(
        "/terminal/login/",
        {"login": credentials["login"], "password": credentials["password"]},
    )
    assert logged.status_code == 302
    return browser


def test_the_terminal_shows_the_refusal_and_opens_nothing(stage_account, trade_blocked):
    browser = terminal(stage_account)
    response = browser.post("/terminal/", {"symbol": "EURUSD", "volume": "1.00", "side": "buy"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "Verify your identity before you trade: your KYC is not submitted." in page
    assert not Position.objects.exists()
    assert browser.get("/terminal/state/").status_code == 200  # the figures still update


def test_every_action_the_policy_may_block_has_its_own_sentence_for_the_client():
    from propdesk.onboarding.kyc import _BEFORE_YOU
    from propdesk.onboarding.kyc_actions import catalogue

    assert set(catalogue()) <= set(_BEFORE_YOU)


def test_a_spanish_client_reads_the_refusal_in_spanish_whole(
    active_client, stage_account, trade_blocked
):
    active_client.user.language = "es"
    active_client.user.save(update_fields=["language"])
    browser = terminal(stage_account)
    response = browser.post("/terminal/", {"symbol": "EURUSD", "volume": "1.00", "side": "buy"})
    assert response.status_code == 403
    assert (
        "Verifique su identidad antes de operar (estado de su KYC: no enviado)."
        in response.content.decode()
    )
    assert not Position.objects.exists()


def test_an_approved_client_trades_under_the_policy(
    active_client, stage_account, trade_blocked, kyc_form, set_method
):
    set_method("kyc", "automatic")
    kyc.submit(active_client, form_id=kyc_form.pk, values=answers(), files=documents())
    active_client.refresh_from_db()
    assert active_client.kyc_status == Client.KycStatus.APPROVED
    assert post(stage_account, "/orders", ORDER).status_code == 201


def test_an_account_that_is_no_clients_is_not_held_by_the_policy(trade_blocked):
    account, _ = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="100000"
    )
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    assert position.closed_at is None
