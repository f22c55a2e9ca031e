"""The trading API as a script uses it: credentials from the CLI, HTTP Basic, JSON."""

from __future__ import annotations

import base64
import json

import pytest
from django.test import Client as HttpClient

from propdesk.cli import main as propdesk
from propdesk.platforms.sandbox.models import Position

pytestmark = pytest.mark.django_db


class Trader:
    def __init__(self, login: str, password: str) -> None:
        token = base64.b64encode(f"{login}:{password}".encode()).decode()
        self.auth = {"HTTP_AUTHORIZATION": f"Basic {token}"}
        self.http = HttpClient()

    def get(self, path: str):
        return self.http.get(f"/api/v1/sandbox{path}", **self.auth)

    def post(self, path: str, body=None):
        return self.http.post(
            f"/api/v1/sandbox{path}",
            data=json.dumps(body or {}),
            content_type="application/json",
            **self.auth,
        )


@pytest.fixture
def trader(capsys):
    assert propdesk(["sandbox", "create-account", "--balance", "100000"]) == 0
    credentials = json.loads(capsys.readouterr().out)
    return Trader(credentials["login"], credentials["password"])


def test_a_script_trades_and_reads_its_events(trader):
    quotes = {q["symbol"]: q for q in trader.get("/quotes").json()}
    assert {"EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "US500"} <= set(quotes)
    opened = trader.post("/orders", {"symbol": "EURUSD", "side": "buy", "volume": "1.00"})
    assert opened.status_code == 201, opened.content
    position = opened.json()
    assert position["open_price"] == quotes["EURUSD"]["ask"]
    state = trader.get("/account").json()
    assert [p["id"] for p in state["positions"]] == [position["id"]]
    assert state["margin"] != "0.00"
    closed = trader.post(f"/positions/{position['id']}/close")
    assert closed.status_code == 200
    deal = closed.json()
    assert deal["entry"] == "out"
    assert trader.get("/account").json()["balance"] == deal["balance_after"]
    history = trader.get("/deals").json()
    assert [d["entry"] for d in history][:2] == ["out", "in"]
    events = trader.get("/events?after=0").json()
    kinds = [e["event"]["type"] for e in events]
    assert kinds.count("deal") == 2
    later = trader.get(f"/events?after={events[1]['cursor']}").json()
    assert [e["cursor"] for e in later] == [e["cursor"] for e in events[2:]]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"symbol": "NOPE", "side": "buy", "volume": "1"}, 422, "validation_error"),
        ({"symbol": "EURUSD", "side": "buy", "volume": "0"}, 422, "validation_error"),
        ({"symbol": "EURUSD", "side": "buy", "volume": "1000"}, 422, "validation_error"),
        ({"symbol": "XAUUSD", "side": "buy", "volume": "90"}, 409, "not_enough_margin"),
        ({"symbol": "EURUSD", "volume": "1"}, 422, "validation_error"),
        ({}, 422, "validation_error"),
    ],
)
def test_refused_orders_say_why_and_change_nothing(trader, body, status, code):
    response = trader.post("/orders", body)
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not Position.objects.exists()


def test_a_wrong_password_or_none_is_401(trader):
    login = trader.get("/account").json()["login"]
    assert Trader(login, "wrong-password").get("/account").status_code == 401
    assert HttpClient().get("/api/v1/sandbox/account").status_code == 401


def test_one_account_cannot_close_anothers_position(trader, capsys):
    assert propdesk(["sandbox", "create-account", "--balance", "5000"]) == 0
    other = json.loads(capsys.readouterr().out)
    intruder = Trader(other["login"], other["password"])
    position = trader.post("/orders", {"symbol": "EURUSD", "side": "sell", "volume": "0.10"})
    response = intruder.post(f"/positions/{position.json()['id']}/close")
    assert response.status_code == 404
    assert Position.objects.get().closed_at is None
    assert intruder.get("/events").json()[-1]["event"]["type"] == "equity"


def test_an_order_retried_under_one_key_opens_one_position(trader):
    body = {"symbol": "EURUSD", "side": "buy", "volume": "0.30"}
    key = {"HTTP_IDEMPOTENCY_KEY": "order-1"}
    first = trader.http.post(
        "/api/v1/sandbox/orders",
        data=json.dumps(body),
        content_type="application/json",
        **trader.auth,
        **key,
    )
    again = trader.http.post(
        "/api/v1/sandbox/orders",
        data=json.dumps(body),
        content_type="application/json",
        **trader.auth,
        **key,
    )
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Position.objects.count() == 1
    other = trader.http.post(
        "/api/v1/sandbox/orders",
        data=json.dumps({**body, "volume": "0.40"}),
        content_type="application/json",
        **trader.auth,
        **key,
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert Position.objects.count() == 1


def test_a_close_retried_under_one_key_returns_the_first_deal(trader):
    position = trader.post("/orders", {"symbol": "EURUSD", "side": "sell", "volume": "0.10"})
    path = f"/api/v1/sandbox/positions/{position.json()['id']}/close"
    key = {"HTTP_IDEMPOTENCY_KEY": "close-1"}
    first = trader.http.post(path, data="{}", content_type="application/json", **trader.auth, **key)
    again = trader.http.post(path, data="{}", content_type="application/json", **trader.auth, **key)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    without_key = trader.http.post(path, data="{}", content_type="application/json", **trader.auth)
    assert without_key.status_code == 404  # closed: only the keyed retry gets the first answer
