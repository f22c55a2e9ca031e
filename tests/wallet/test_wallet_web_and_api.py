from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.wallet import ledger, services
from propdesk.wallet.models import JournalEntry
from tests.api.conftest import Api
from tests.conftest import PASSWORD, logged_in, post_form

pytestmark = pytest.mark.django_db


def test_staff_adjust_through_the_api_once_per_idempotency_key(active_client, finance):
    api = Api()
    token = api.token(finance.email, PASSWORD)
    body = {"direction": "credit", "amount": "250.00", "currency": "EUR", "comment": "Refund"}
    path = f"/wallets/{active_client.pk}/adjustments"
    first = api.call("POST", path, body, token=token, HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.call("POST", path, body, token=token, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["balances"] == [{"currency": "EUR", "balance": "250.00"}]
    assert JournalEntry.objects.count() == 1


@pytest.mark.parametrize("amount", ["-1", "0", "abc", "1.234", ""])
def test_bad_api_amounts_are_422_and_post_nothing(active_client, finance, amount):
    api = Api()
    token = api.token(finance.email, PASSWORD)
    body = {"direction": "credit", "amount": amount, "currency": "USD", "comment": "x"}
    response = api.call("POST", f"/wallets/{active_client.pk}/adjustments", body, token=token)
    assert response.status_code == 422
    assert "amount" in response.json()["fields"]
    assert not JournalEntry.objects.exists()


def test_client_reads_own_wallet_and_movements_but_cannot_adjust(active_client, finance):
    from propdesk.wallet import services

    services.adjust(
        active_client.pk,
        direction="credit",
        amount="12.34",
        currency="USD",
        comment="Promo",
        actor=finance,
    )
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    assert api.call("GET", "/wallet", token=token).json() == {
        "balances": [{"currency": "USD", "balance": "12.34"}]
    }
    [line] = api.call("GET", "/wallet/transactions", token=token).json()["items"]
    assert line["amount"] == "12.34"
    assert line["type"] == "adjustment"
    body = {"direction": "credit", "amount": "1", "currency": "USD", "comment": "me"}
    forbidden = api.call("POST", f"/wallets/{active_client.pk}/adjustments", body, token=token)
    assert forbidden.status_code == 403


def test_finance_adjusts_from_the_client_page_and_a_double_click_posts_once(active_client, finance):
    http = logged_in(finance)
    page = http.get(f"/backoffice/clients/{active_client.pk}/").content.decode()
    assert "Adjust the wallet" in page
    data = {
        "direction": "credit",
        "amount": "99.99",
        "currency": "USD",
        "comment": "Compensation",
        "idempotency_key": "form-abc",
    }
    for _ in range(2):
        response = post_form(http, f"/backoffice/clients/{active_client.pk}/adjust/", data)
        assert response.status_code == 302
    assert ledger.balances(active_client) == {"USD": Decimal("99.99")}
    assert "99.99 USD" in http.get(f"/backoffice/clients/{active_client.pk}/").content.decode()


def test_portal_wallet_page_shows_balance(active_client, finance):
    from propdesk.wallet import services

    services.adjust(
        active_client.pk, direction="credit", amount="5", currency="USD", comment="x", actor=finance
    )
    page = logged_in(active_client.user).get("/portal/wallet/").content.decode()
    assert 'data-balance="USD">5.00<' in page


def test_the_client_reads_the_note_meant_for_them_never_the_internal_reason(active_client, finance):
    from propdesk.wallet import services

    services.adjust(
        active_client.pk,
        direction="credit",
        amount="50.00",
        currency="USD",
        comment="Internal: goodwill after complaint #88",
        actor=finance,
    )
    services.adjust(
        active_client.pk,
        direction="credit",
        amount="10.00",
        currency="USD",
        comment="Internal: campaign Q4",
        client_note="Welcome bonus",
        actor=finance,
    )
    page = logged_in(active_client.user).get("/portal/wallet/").content.decode()
    api = Api()
    lines = api.call(
        "GET", "/wallet/transactions", token=api.token(active_client.user.email, PASSWORD)
    ).json()["items"]
    for seen in (page, str(lines)):
        assert "Internal:" not in seen
        assert finance.email not in seen
    assert [line["memo"] for line in lines] == ["Welcome bonus", "Adjustment by the firm"]
    assert "Welcome bonus" in page
    staff_page = logged_in(finance).get(f"/backoffice/clients/{active_client.pk}/")
    assert "Internal: goodwill after complaint #88" in staff_page.content.decode()


def test_the_adjustment_form_posts_the_note_for_the_client(active_client, finance):
    http = logged_in(finance)
    data = {
        "direction": "credit",
        "amount": "5.00",
        "currency": "USD",
        "comment": "Internal reason",
        "client_note": "Refund of a card fee",
        "idempotency_key": "form-note",
    }
    assert post_form(http, f"/backoffice/clients/{active_client.pk}/adjust/", data).status_code
    entry = JournalEntry.objects.get(type="adjustment")
    assert (entry.memo, entry.client_memo) == ("Internal reason", "Refund of a card fee")


def test_the_wallet_movements_page_by_cursor_newest_first_each_once(active_client, finance):
    for n in range(1, 6):
        services.adjust(
            active_client.pk,
            direction="credit",
            amount=f"{n}",
            currency="USD",
            comment=f"credit {n}",
            actor=finance,
        )
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    seen, after = [], ""
    for _ in range(5):
        page = api.call("GET", f"/wallet/transactions?limit=2{after}", token=token).json()
        seen += [line["amount"] for line in page["items"]]
        if page["next"] is None:
            break
        after = f"&after={page['next']}"
    assert seen == ["5.00", "4.00", "3.00", "2.00", "1.00"]
    assert page["next"] is None
