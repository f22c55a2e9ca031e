"""The back office's side of the trading platforms: Settings > Trading platforms, and the
sandbox's trading accounts (state, positions, history; disable/enable; balance operations)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client as HttpClient

from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from propdesk.platforms.models import TradingServer
from propdesk.platforms.sandbox import accounts, orders, ticks, valuation
from propdesk.platforms.sandbox.models import Account, Deal
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db
D = Decimal

SERVERS = "/backoffice/settings/trading-platforms/"
ACCOUNTS = "/backoffice/trading/accounts/"


@pytest.fixture
def account() -> Account:
    made, _password = accounts.create_account(
        accounts.default_server(), group="demo", leverage=100, balance="100000"
    )
    return made


def fresh(account: Account) -> Account:
    return Account.objects.get(pk=account.pk)


def page_of(account: Account) -> str:
    return f"{ACCOUNTS}{account.login}/"


def server_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Firm Sandbox 2",
        "kind": "sandbox",
        "demo_groups": "demo-a, demo-b",
        "live_groups": "funded",
        "enabled": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def balance_form(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {"amount": "250.50", "comment": "Goodwill credit"}
    data.update(overrides)
    return data


# --- who may see and do what ---------------------------------------------------------------------


def view_pages(account: Account) -> list[str]:
    return [ACCOUNTS, page_of(account), SERVERS]


def test_anonymous_visitor_is_sent_to_login(account):
    for path in view_pages(account):
        response = HttpClient().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_clients_cannot_open_the_trading_pages(active_client, account):
    http = logged_in(active_client.user)
    for path in [*view_pages(account), f"{SERVERS}new/"]:
        assert http.get(path).status_code == 403


def test_staff_without_platforms_view_are_kept_out(compliance, account):
    http = logged_in(compliance)
    for path in view_pages(account):
        response = http.get(path)
        assert response.status_code == 403
        assert b"Not allowed" in response.content
    assert b"Trading accounts" not in http.get("/backoffice/clients/").content


@pytest.mark.parametrize("role", ["Administrator", "Finance", "Support"])
def test_roles_with_platforms_view_see_the_pages_and_the_menu(staff_factory, account, role):
    http = logged_in(staff_factory(role))
    for path in view_pages(account):
        assert http.get(path).status_code == 200
    menu = http.get(ACCOUNTS).content.decode()
    assert "Trading accounts" in menu
    assert "Trading platforms" in menu


def test_support_sees_no_staff_forms_and_cannot_post_them(support, account):
    http = logged_in(support)
    page = http.get(page_of(account)).content.decode()
    assert "Disable trading" not in page
    assert 'name="amount"' not in page
    assert "New trading server" not in http.get(SERVERS).content.decode()
    disable = post_form(http, f"{page_of(account)}disable/", {"reason": "abuse"})
    credit = post_form(http, f"{page_of(account)}balance/", balance_form())
    edit = post_form(http, f"{SERVERS}new/", server_form())
    assert disable.status_code == credit.status_code == edit.status_code == 403
    assert fresh(account).trading_enabled
    assert fresh(account).balance == D("100000.00")
    assert not TradingServer.objects.filter(name="Firm Sandbox 2").exists()
    assert not AuditRecord.objects.filter(object_type="sandbox_account").exists()


def test_a_staff_post_without_the_csrf_token_is_refused(admin, account):
    response = logged_in(admin).post(f"{page_of(account)}balance/", balance_form())
    assert response.status_code == 403
    assert fresh(account).balance == D("100000.00")


# --- Settings > Trading platforms ----------------------------------------------------------------


def test_administrator_creates_a_trading_server_and_the_save_is_audited(admin):
    http = logged_in(admin)
    assert http.get(f"{SERVERS}new/").status_code == 200
    response = post_form(http, f"{SERVERS}new/", server_form())
    assert response.status_code == 302
    server = TradingServer.objects.get(name="Firm Sandbox 2")
    assert server.demo_groups == ["demo-a", "demo-b"]
    assert server.live_groups == ["funded"]
    assert server.enabled
    record = AuditRecord.objects.get(action=AuditAction.TRADING_SERVER_CREATE)
    assert record.actor == admin
    assert record.before is None
    assert record.after["demo_groups"] == ["demo-a", "demo-b"]
    assert "Firm Sandbox 2" in http.get(SERVERS).content.decode()


def test_editing_a_server_records_before_and_after(admin):
    server = accounts.default_server()
    http = logged_in(admin)
    form = http.get(f"{SERVERS}{server.pk}/").content.decode()
    assert 'value="demo"' in form
    response = post_form(
        http,
        f"{SERVERS}{server.pk}/",
        server_form(
            name="Sandbox", demo_groups="demo, , demo-2,", live_groups="live", enabled=None
        ),
    )
    assert response.status_code == 302
    server.refresh_from_db()
    assert server.demo_groups == ["demo", "demo-2"]
    assert not server.enabled
    record = AuditRecord.objects.get(action=AuditAction.TRADING_SERVER_UPDATE)
    assert record.before["demo_groups"] == ["demo"]
    assert record.before["enabled"] is True
    assert record.after["demo_groups"] == ["demo", "demo-2"]
    assert record.after["enabled"] is False


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "sandbox"}, "name", "already exists"),
        ({"name": "  "}, "name", "required"),
        ({"kind": "ctrader"}, "kind", "Select a valid choice"),
        ({"demo_groups": "", "live_groups": " , "}, "demo_groups", "at least one group"),
        ({"demo_groups": "demo, live", "live_groups": "Live"}, "live_groups", "not both"),
        ({"demo_groups": "demo, x, demo"}, "demo_groups", "listed twice"),
        ({"live_groups": "g" * 61}, "live_groups", "at most 60 characters"),
        ({"demo_groups": "demo\x07bell"}, "demo_groups", "control characters"),
    ],
)
def test_bad_server_input_shows_field_errors_and_saves_nothing(admin, overrides, field, message):
    accounts.default_server()
    before = list(TradingServer.objects.values())
    response = post_form(logged_in(admin), f"{SERVERS}new/", server_form(**overrides))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    assert list(TradingServer.objects.values()) == before
    assert not AuditRecord.objects.filter(
        action__in=[AuditAction.TRADING_SERVER_CREATE, AuditAction.TRADING_SERVER_UPDATE]
    ).exists()


# --- Trading accounts: the list and the account page ---------------------------------------------


def test_the_list_shows_balance_and_equity_and_finds_a_login(support, account):
    other, _ = accounts.create_account(
        accounts.default_server(), group="live", leverage=50, balance="5000"
    )
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08510"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    ticks.apply_tick("EURUSD", D("1.08710"), D("1.08720"))
    http = logged_in(support)
    response = http.get(ACCOUNTS)
    rows = {row.account.login: row for row in response.context["rows"]}
    assert rows[account.login].equity == D("100200.00")
    assert rows[other.login].equity == D("5000.00")
    page = response.content.decode()
    assert "100,200.00" in page
    assert "1:50" in page
    found = http.get(ACCOUNTS, {"q": other.login}).context["rows"]
    assert [row.account.login for row in found] == [other.login]


def test_the_account_page_shows_state_positions_with_profit_and_history(support, account):
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08512"))
    position = orders.place_order(account, symbol="EURUSD", side="buy", volume="1.00")
    ticks.apply_tick("EURUSD", D("1.08612"), D("1.08624"))
    response = logged_in(support).get(page_of(account))
    assert response.status_code == 200
    state = response.context["state"]
    assert state.equity == D("100100.00")
    assert state.positions[0].profit == D("100.00")
    page = response.content.decode()
    assert f'data-position="{position.pk}"' in page
    assert "1.08512" in page  # the open price, in the instrument's digits
    assert "<td data-profit>100.00</td>" in page
    assert '<dd data-state="equity">100,100.00 USD</dd>' in page
    assert "Initial deposit" in page  # the history's first deal


# --- disable and enable trading ------------------------------------------------------------------


def test_disabling_trading_stops_orders_and_is_audited_and_enabling_restores(admin, account):
    http = logged_in(admin)
    response = post_form(http, f"{page_of(account)}disable/", {"reason": "Hedging across accounts"})
    assert response.status_code == 302
    assert not fresh(account).trading_enabled
    assert fresh(account).disabled_reason == "Hedging across accounts"
    with pytest.raises(orders.TradingDisabled):
        orders.place_order(fresh(account), symbol="EURUSD", side="buy", volume="1.00")
    record = AuditRecord.objects.get(action=AuditAction.TRADING_ACCOUNT_DISABLE)
    assert record.actor == admin
    assert record.object_id == account.login
    assert record.before["trading_enabled"] is True
    assert record.after["trading_enabled"] is False
    assert "Hedging across accounts" in http.get(page_of(account)).content.decode()

    assert post_form(http, f"{page_of(account)}enable/", {"reason": ""}).status_code == 302
    assert fresh(account).trading_enabled
    assert fresh(account).disabled_reason == ""
    assert AuditRecord.objects.filter(action=AuditAction.TRADING_ACCOUNT_ENABLE).count() == 1


def test_disabling_needs_a_reason_and_changes_nothing_without_one(admin, account):
    response = post_form(logged_in(admin), f"{page_of(account)}disable/", {"reason": "  "})
    assert response.status_code == 422
    assert "Reason is required." in response.content.decode()
    assert fresh(account).trading_enabled
    assert not AuditRecord.objects.filter(object_type="sandbox_account").exists()


def test_disabling_a_disabled_account_is_refused_with_a_clear_message(admin, account):
    http = logged_in(admin)
    post_form(http, f"{page_of(account)}disable/", {"reason": "Review"})
    again = post_form(http, f"{page_of(account)}disable/", {"reason": "Again"})
    assert again.status_code == 409
    assert "already disabled" in again.content.decode()
    assert fresh(account).disabled_reason == "Review"
    assert AuditRecord.objects.filter(action=AuditAction.TRADING_ACCOUNT_DISABLE).count() == 1


# --- balance operations --------------------------------------------------------------------------


def test_a_credit_and_a_debit_move_the_balance_write_deals_and_are_audited(admin, account):
    http = logged_in(admin)
    credit = post_form(http, f"{page_of(account)}balance/", balance_form(amount="250.50"))
    assert credit.status_code == 302
    debit = post_form(
        http, f"{page_of(account)}balance/", balance_form(amount="-1,000", comment="Fee")
    )
    assert debit.status_code == 302
    said = [str(m) for m in http.get(page_of(account)).context["messages"]]
    assert any("Balance operation of -1,000.00 USD" in m for m in said)
    assert any("the balance is 99,250.50 USD." in m for m in said)
    assert fresh(account).balance == D("99250.50")
    deals = list(Deal.objects.filter(account=account, kind="balance").order_by("id"))
    assert [d.profit for d in deals] == [D("100000.00"), D("250.50"), D("-1000.00")]
    assert deals[-1].reason == Deal.Reason.STAFF
    records = list(
        AuditRecord.objects.filter(action=AuditAction.TRADING_ACCOUNT_ADJUST_BALANCE).order_by("id")
    )
    assert [(r.before["balance"], r.after["balance"]) for r in records] == [
        ("100000.00", "100250.50"),
        ("100250.50", "99250.50"),
    ]
    assert records[0].actor == admin
    assert records[1].after["comment"] == "Fee"
    assert records[0].summary.endswith(": +250.50 USD: Goodwill credit")
    page = http.get(page_of(account)).content.decode()
    assert "Goodwill credit" in page


def test_a_double_submitted_balance_form_moves_the_money_once(admin, account):
    http = logged_in(admin)
    data = balance_form(amount="100", idempotency_key="form-1")
    first = post_form(http, f"{page_of(account)}balance/", data)
    again = post_form(http, f"{page_of(account)}balance/", data)
    assert first.status_code == again.status_code == 302
    assert fresh(account).balance == D("100100.00")
    assert (
        AuditRecord.objects.filter(action=AuditAction.TRADING_ACCOUNT_ADJUST_BALANCE).count() == 1
    )
    reused = post_form(http, f"{page_of(account)}balance/", {**data, "amount": "999"})
    assert reused.status_code == 409
    assert fresh(account).balance == D("100100.00")


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (balance_form(amount="0"), 422, "non-zero"),
        (balance_form(amount="ten"), 422, "written like &quot;1000.50&quot; or &quot;1,000"),
        (balance_form(amount="1.005"), 422, "USD has 2 decimals."),
        (balance_form(amount="NaN"), 422, "Amount must be a number written like"),
        (balance_form(amount="-1,00.00"), 422, "commas only between groups of three digits"),
        (balance_form(amount="2000000000"), 422, "at most a billion"),
        (balance_form(amount=""), 422, "This field is required."),
        (balance_form(comment="   "), 422, "This field is required."),
        (balance_form(comment="x" * 201), 422, "at most 200 characters"),
        (balance_form(amount="-100000.01"), 409, "more than the account&#x27;s free margin"),
    ],
)
def test_bad_balance_operations_are_refused_and_change_nothing(
    admin, account, data, status, message
):
    response = post_form(logged_in(admin), f"{page_of(account)}balance/", data)
    assert response.status_code == status
    assert message in response.content.decode()
    assert fresh(account).balance == D("100000.00")
    assert Deal.objects.filter(account=account).count() == 1  # the initial deposit
    assert not AuditRecord.objects.filter(
        action=AuditAction.TRADING_ACCOUNT_ADJUST_BALANCE
    ).exists()


def test_a_debit_may_not_take_the_margin_of_open_positions(admin, account):
    ticks.apply_tick("EURUSD", D("1.08500"), D("1.08510"))
    orders.place_order(account, symbol="EURUSD", side="buy", volume="10.00")
    free = valuation.state(fresh(account)).free_margin
    response = post_form(
        logged_in(admin),
        f"{page_of(account)}balance/",
        balance_form(amount=f"-{free + D('0.01')}"),
    )
    assert response.status_code == 409
    assert fresh(account).balance == D("100000.00")
    assert not AuditRecord.objects.filter(
        action=AuditAction.TRADING_ACCOUNT_ADJUST_BALANCE
    ).exists()


def test_an_unknown_login_is_not_found(admin):
    http = logged_in(admin)
    assert http.get(f"{ACCOUNTS}999999999/").status_code == 404
    assert post_form(http, f"{ACCOUNTS}999999999/balance/", balance_form()).status_code == 404
