"""The web terminal through Django's test client: its own login (throttled, the session rotated),
orders and closes through its forms, refusals that say why and change nothing, one account per
session, and CSRF on every POST."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client as HttpClient
from django.utils import timezone

from propdesk.platforms.sandbox import accounts, history, orders, ticks
from propdesk.platforms.sandbox.models import Account, Position
from propdesk.platforms.terminal import SESSION_KEY
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db
D = Decimal


class Terminal:
    """A browser on the terminal: CSRF checks on, the token taken from the cookie."""

    def __init__(self) -> None:
        self.http = HttpClient(enforce_csrf_checks=True)

    def token(self) -> str:
        if "csrftoken" not in self.http.cookies:
            self.http.get("/terminal/login/")
        return self.http.cookies["csrftoken"].value

    def get(self, path: str):
        return self.http.get(path)

    def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True):
        body = dict(data or {})
        if csrf:
            body["csrfmiddlewaretoken"] = self.token()
        return self.http.post(path, body)

    def log_in(self, login: str, password: str):
        return self.post("/terminal/login/", {"login": login, "password": password})

    def state(self) -> dict:
        response = self.get("/terminal/state/")
        assert response.status_code == 200, response.content
        return response.json()


def new_account() -> tuple[Account, str]:
    return accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="100000"
    )


def tick(symbol: str, bid: str, ask: str) -> None:
    ticks.apply_tick(symbol, D(bid), D(ask))


@pytest.fixture
def account() -> tuple[Account, str]:
    tick("EURUSD", "1.08500", "1.08512")
    return new_account()


@pytest.fixture
def terminal(account: tuple[Account, str]) -> Terminal:
    browser = Terminal()
    assert browser.log_in(account[0].login, account[1]).status_code == 302
    return browser


def open_positions(account: Account) -> list[Position]:
    return list(account.positions.filter(closed_at__isnull=True))


def fresh(account: Account) -> Account:
    return Account.objects.get(pk=account.pk)


# --- logging in ----------------------------------------------------------------------------------


def test_a_trader_logs_in_with_the_accounts_login_and_password(account):
    trading, password = account
    browser = Terminal()
    response = browser.log_in(trading.login, password)
    assert response.status_code == 302
    assert response["Location"] == "/terminal/"
    page = browser.get("/terminal/")
    assert page.status_code == 200
    assert page.context["account"]["login"] == trading.login
    assert page.context["account"]["balance"] == "100000.00"
    # The page groups the thousands as every page does (terminal.js does the same as it polls).
    assert '<span data-account="balance" data-money>100,000.00</span> USD' in page.content.decode()
    assert browser.http.session[SESSION_KEY]["account"] == trading.pk


def test_logging_in_gives_a_new_session_key(account):
    trading, password = account
    browser = Terminal()
    before = browser.http.session.session_key
    browser.log_in(trading.login, password)
    assert browser.http.cookies["sessionid"].value != before
    assert not SessionStore().exists(before)


@pytest.mark.parametrize("which", ["password", "login"])
def test_wrong_credentials_get_a_clear_error_and_no_session(account, which):
    trading, password = account
    login, secret = (trading.login, "not-it") if which == "password" else ("999999999", password)
    browser = Terminal()
    response = browser.log_in(login, secret)
    assert response.status_code == 401
    assert "Wrong login or password." in response.content.decode()
    assert SESSION_KEY not in browser.http.session
    assert browser.get("/terminal/state/").status_code == 401


def test_an_empty_form_is_asked_for_both_fields(account):
    response = Terminal().log_in("", "")
    assert response.status_code == 401
    assert "Give the account&#x27;s login and password." in response.content.decode()


def test_the_login_throttle_refuses_even_the_right_password_after_repeated_failures(
    account, settings
):
    settings.LOGIN_THROTTLE_BACKOFF_SECONDS = 60
    trading, password = account
    browser = Terminal()
    for _ in range(5):
        assert browser.log_in(trading.login, "wrong-guess").status_code == 401
    response = browser.log_in(trading.login, password)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert SESSION_KEY not in browser.http.session


def test_an_open_terminal_page_goes_from_the_login_form_to_the_terminal(terminal):
    response = terminal.get("/terminal/login/")
    assert response.status_code == 302
    assert response["Location"] == "/terminal/"


def test_log_out_ends_the_terminal_session(terminal):
    response = terminal.post("/terminal/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/terminal/login/"
    assert terminal.get("/terminal/state/").status_code == 401
    assert terminal.get("/terminal/")["Location"] == "/terminal/login/"


def test_a_new_account_password_ends_its_terminal_sessions(terminal, account):
    # No use case changes a sandbox password yet; the session must not outlive one that does.
    Account.objects.filter(pk=account[0].pk).update(password=make_password("new-password-1"))
    assert terminal.get("/terminal/state/").status_code == 401
    assert terminal.get("/terminal/")["Location"] == "/terminal/login/"


# --- no terminal session -------------------------------------------------------------------------


def test_without_a_terminal_session_pages_go_to_its_login_and_json_answers_401(account):
    browser = Terminal()
    assert browser.get("/terminal/")["Location"] == "/terminal/login/"
    for path in ("/terminal/state/", "/terminal/tables/"):
        response = browser.get(path)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"
    order = {"symbol": "EURUSD", "volume": "1.00", "side": "buy"}
    assert browser.post("/terminal/", order)["Location"] == "/terminal/login/"
    assert browser.post("/terminal/positions/1/close/")["Location"] == "/terminal/login/"
    assert not Position.objects.exists()


def test_a_portal_login_is_not_a_terminal_session(account, admin):
    http = logged_in(admin)
    assert http.get("/terminal/")["Location"] == "/terminal/login/"
    assert http.get("/terminal/state/").status_code == 401


# --- orders and closes ---------------------------------------------------------------------------


def test_a_buy_from_the_order_form_opens_a_position_at_the_ask(terminal, account):
    response = terminal.post(
        "/terminal/",
        {"symbol": "EURUSD", "volume": "1.00", "sl": "1.08000", "tp": "1.09000", "side": "buy"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/terminal/?symbol=EURUSD&volume=1.00"
    [position] = open_positions(account[0])
    assert (position.side, position.volume, position.open_price) == ("buy", D("1.00"), D("1.08512"))
    assert (position.sl, position.tp) == (D("1.08000"), D("1.09000"))
    page = terminal.get(response["Location"]).content.decode()
    assert f"Bought 1.00 EURUSD at 1.08512 (position #{position.pk})." in page
    assert f'data-position="{position.pk}"' in page


def test_a_sell_fills_at_the_bid(terminal, account):
    terminal.post("/terminal/", {"symbol": "EURUSD", "volume": "0.50", "side": "sell"})
    [position] = open_positions(account[0])
    assert (position.side, position.open_price) == ("sell", D("1.08500"))


@pytest.mark.parametrize(
    ("order", "status", "message"),
    [
        ({"volume": "0.001"}, 422, "Volume is between 0.01 and 100.00."),
        ({"volume": "abc"}, 422, "A number."),
        ({"symbol": "NOPE"}, 422, "Unknown symbol."),
        ({"side": "hold"}, 422, "Side is &quot;buy&quot; or &quot;sell&quot;."),
        ({"sl": "1.09000"}, 422, "Stop loss 1.09000 must be below the current bid 1.08500."),
        ({"tp": "1.08000"}, 422, "Take profit 1.08000 must be above the current bid 1.08500."),
        ({"sl": "1.085001"}, 422, "A positive price with at most 5 decimals."),
        ({"volume": "100"}, 409, "This order needs 108512.00 USD of margin"),
    ],
)
def test_a_refused_order_shows_the_services_message_and_changes_nothing(
    terminal, account, order, status, message
):
    response = terminal.post(
        "/terminal/", {"symbol": "EURUSD", "volume": "1.00", "side": "buy", **order}
    )
    assert response.status_code == status
    assert message in response.content.decode()
    assert not open_positions(account[0])
    assert fresh(account[0]).balance == D("100000.00")
    assert [d.kind for d in accounts.history(account[0])] == ["balance"]


def test_an_order_on_a_disabled_account_says_so(terminal, account):
    accounts.set_trading_enabled(account[0], False, reason="Daily loss limit")
    response = terminal.post("/terminal/", {"symbol": "EURUSD", "volume": "1.00", "side": "buy"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "Trading is disabled on this account." in page
    # Why is the firm's to say (the portal explains a verdict; a staff reason stays internal).
    assert "Daily loss limit" not in page
    assert not open_positions(account[0])


def test_closing_a_position_books_its_profit_into_the_balance_and_history(terminal, account):
    terminal.post("/terminal/", {"symbol": "EURUSD", "volume": "1.00", "side": "buy"})
    [position] = open_positions(account[0])
    tick("EURUSD", "1.08600", "1.08612")
    response = terminal.post(f"/terminal/positions/{position.pk}/close/")
    assert response.status_code == 302
    assert response["Location"] == "/terminal/"
    assert not open_positions(account[0])
    assert fresh(account[0]).balance == D("100088.00")
    page = terminal.get("/terminal/")
    text = page.content.decode()
    assert f"Position #{position.pk} closed at 1.08600: profit 88.00 USD." in text
    out = page.context["deals"][0]
    assert (out["entry"], out["price"], out["profit"], out["balance_after"]) == (
        "out",
        "1.08600",
        "88.00",
        "100088.00",
    )
    assert page.context["account"]["balance"] == "100088.00"
    assert 'data-field="balance_after">100,088.00<' in text


def test_closing_a_closed_position_says_it_is_not_open(terminal, account):
    terminal.post("/terminal/", {"symbol": "EURUSD", "volume": "1.00", "side": "buy"})
    [position] = open_positions(account[0])
    terminal.post(f"/terminal/positions/{position.pk}/close/")
    balance = fresh(account[0]).balance
    terminal.post(f"/terminal/positions/{position.pk}/close/")
    assert "No such open position." in terminal.get("/terminal/").content.decode()
    assert fresh(account[0]).balance == balance


# --- one account per session ---------------------------------------------------------------------


def test_the_state_endpoint_shows_the_sessions_own_account_in_exact_text(terminal, account):
    other, _ = new_account()
    orders.place_order(other, symbol="EURUSD", side="buy", volume="2.00")
    state = terminal.state()
    assert state["account"]["login"] == account[0].login
    assert state["account"]["balance"] == "100000.00"
    assert state["account"]["margin"] == "0.00"
    assert state["account"]["free_margin"] == "100000.00"
    assert state["account"]["margin_level"] == ""
    assert state["positions"] == []
    quotes = {q["symbol"]: q for q in state["quotes"]}
    assert quotes["EURUSD"] == {"symbol": "EURUSD", "bid": "1.08500", "ask": "1.08512"}


def test_the_state_endpoint_values_open_positions_at_the_latest_quote(terminal, account):
    terminal.post("/terminal/", {"symbol": "EURUSD", "volume": "1.00", "side": "buy"})
    tick("EURUSD", "1.08450", "1.08462")
    state = terminal.state()
    [position] = state["positions"]
    assert position["open_price"] == "1.08512"
    assert position["current_price"] == "1.08450"
    assert position["profit"] == "-62.00"
    assert position["volume"] == "1.00"
    assert state["account"]["equity"] == "99938.00"
    assert state["account"]["profit"] == "-62.00"
    assert state["account"]["margin"] == "1085.12"
    assert state["last_deal"] == accounts.history(account[0])[0].pk


def test_a_session_cannot_close_another_accounts_position(terminal, account):
    other, _ = new_account()
    theirs = orders.place_order(other, symbol="EURUSD", side="buy", volume="1.00")
    terminal.post(f"/terminal/positions/{theirs.pk}/close/")
    assert "No such open position." in terminal.get("/terminal/").content.decode()
    assert open_positions(other) == [theirs]
    assert fresh(other).balance == D("100000.00")


def test_the_tables_fragment_lists_the_sessions_positions_and_deals(terminal, account):
    other, _ = new_account()
    orders.place_order(other, symbol="EURUSD", side="sell", volume="1.00")
    terminal.post("/terminal/", {"symbol": "EURUSD", "volume": "1.00", "side": "buy"})
    response = terminal.get("/terminal/tables/")
    assert response.status_code == 200
    [mine] = open_positions(account[0])
    assert [p["id"] for p in response.context["positions"]] == [str(mine.pk)]
    assert response.context["last_deal"] == accounts.history(account[0])[0].pk
    assert 'id="history"' in response.content.decode()


# --- CSRF ----------------------------------------------------------------------------------------


def test_every_post_needs_the_csrf_token(account):
    trading, password = account
    browser = Terminal()
    login = {"login": trading.login, "password": password}
    assert browser.post("/terminal/login/", login, csrf=False).status_code == 403
    assert browser.log_in(trading.login, password).status_code == 302
    order = {"symbol": "EURUSD", "volume": "1.00", "side": "buy"}
    assert browser.post("/terminal/", order, csrf=False).status_code == 403
    assert not open_positions(trading)
    browser.post("/terminal/", order)
    [position] = open_positions(trading)
    assert browser.post(f"/terminal/positions/{position.pk}/close/", csrf=False).status_code == 403
    assert open_positions(trading) == [position]
    assert browser.post("/terminal/logout/", csrf=False).status_code == 403
    assert browser.get("/terminal/state/").status_code == 200


def test_the_terminal_never_shows_the_reason_staff_gave_for_disabling(terminal, account, admin):
    from propdesk.platforms import services as platforms

    platforms.set_trading(
        account[0].login, enabled=False, reason="Suspected bonus abuse", actor=admin
    )
    page = terminal.get("/terminal/").content.decode()
    assert "Trading is disabled on this account." in page
    assert "Suspected bonus abuse" not in page
    assert admin.email not in page


def test_the_chart_endpoint_gives_one_bid_per_interval_at_the_instruments_digits(terminal):
    start = history.bucket(timezone.now()) - timedelta(minutes=2)
    for seconds, bid in ((-15, "151.61"), (2, "151.52"), (5, "151.5"), (-31 * 60, "150")):
        at = start + timedelta(seconds=seconds)  # the last: older than the chart shows
        ticks.apply_tick("USDJPY", D(bid), D(bid) + D("0.014"), at=at)
    chart = terminal.get("/terminal/chart/?symbol=USDJPY").json()
    assert chart["digits"] == 3
    assert [p["bid"] for p in chart["points"]] == [
        "151.610",
        "151.500",
    ]  # 151.52 overwritten in its interval
    assert history.prune() == 0


def test_the_chart_endpoint_refuses_unknown_symbols_and_strangers(terminal):
    for symbol in ("NOPE", "", "x" * 500, "<script>"):
        response = terminal.get(f"/terminal/chart/?symbol={symbol}")
        assert response.status_code == 404
    assert Terminal().get("/terminal/chart/?symbol=EURUSD").status_code == 401


# --- in Spanish ----------------------------------------------------------------------------------


def test_a_browser_asking_for_spanish_reads_the_terminal_and_its_refusals_in_spanish(account):
    trading, password = account
    browser = Terminal()
    browser.http.defaults["HTTP_ACCEPT_LANGUAGE"] = "es-MX,es;q=0.9"
    wrong = browser.log_in(trading.login, "not-it")
    assert wrong.status_code == 401
    assert "Login o contraseña incorrectos." in wrong.content.decode()
    assert browser.log_in(trading.login, password).status_code == 302
    page = browser.get("/terminal/")
    assert page["Content-Language"] == "es"
    html = page.content.decode()
    assert "Nueva orden" in html
    assert 'placeholder="opcional"' in html
    assert 'title="Operar EURUSD"' in html
    refused = browser.post("/terminal/", {"symbol": "EURUSD", "volume": "0.001", "side": "buy"})
    assert refused.status_code == 422
    assert "El volumen está entre 0.01 y 100.00." in refused.content.decode()
    level = browser.post(
        "/terminal/", {"symbol": "EURUSD", "volume": "1.00", "side": "buy", "sl": "1.09000"}
    )
    assert level.status_code == 422
    assert "El stop loss 1.09000 debe estar por debajo del bid actual 1.08500." in (
        level.content.decode()
    )
    margin = browser.post("/terminal/", {"symbol": "EURUSD", "volume": "100", "side": "buy"})
    assert margin.status_code == 409
    assert "Esta orden necesita 108512.00 USD de margen" in margin.content.decode()
    bought = browser.post("/terminal/", {"symbol": "EURUSD", "volume": "1.00", "side": "buy"})
    [position] = open_positions(trading)
    done = browser.get(bought["Location"]).content.decode()
    assert f"Compra de 1.00 EURUSD a 1.08512 (posición #{position.pk})." in done
    assert '<td data-field="entry">Entrada</td>' in done
    # The JSON endpoints keep their codes; only the message is in the reader's language.
    browser.post("/terminal/logout/")
    answer = browser.get("/terminal/state/")
    assert answer.status_code == 401
    assert answer.json()["code"] == "not_authenticated"
    assert answer.json()["message"] == "Primero inicie sesión en el terminal."


def test_a_clients_account_reads_the_terminal_in_the_language_the_client_chose(
    active_client, finance, admin
):
    """The client's own choice wins over the browser's, as in the portal."""
    from propdesk.challenges.participation import services as participation
    from tests.challenges.factories import running, stage

    joined, _ = running(active_client, finance, admin, stages=[stage(), stage("live")])
    active_client.user.language = "es"
    active_client.user.save(update_fields=["language"])
    found = participation.credentials(joined, active_client)
    assert found is not None
    tick("EURUSD", "1.08500", "1.08512")
    browser = Terminal()
    browser.http.defaults["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    assert browser.log_in(found["login"], found["password"]).status_code == 302
    page = browser.get("/terminal/")
    assert page["Content-Language"] == "es"
    assert "Nueva orden" in page.content.decode()
    refused = browser.post("/terminal/", {"symbol": "EURUSD", "volume": "0.001", "side": "buy"})
    assert "El volumen está entre 0.01 y 100.00." in refused.content.decode()

    active_client.user.language = "en"
    active_client.user.save(update_fields=["language"])
    assert "New order" in browser.get("/terminal/").content.decode()
