"""Where a withdrawal is paid, as people see it: the reviewer whole, the owner in their wallet
(masked) and on its page (whole), nobody else; the portal's form and the API, both ways."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.wallet import ledger, withdrawals
from propdesk.wallet.models import PaymentMethod, Withdrawal
from tests.api.conftest import Api
from tests.conftest import PASSWORD, logged_in, post_form
from tests.wallet.factories import IBAN, TRON, bank_destination, fund, usdt_method

pytestmark = pytest.mark.django_db

GROUPED = "DE89 3704 0044 0532 0130 00"


@pytest.fixture
def funded(active_client, finance):
    return fund(active_client, finance)


@pytest.fixture
def asked(funded, bank_transfer):
    """A withdrawal to a bank account whose holder's name carries HTML."""
    return withdrawals.request_withdrawal(
        funded,
        method=bank_transfer.pk,
        amount="100.00",
        currency="USD",
        destination=bank_destination(account_holder="<b>Jane</b> Doe"),
    )


def review_page(user, withdrawal):
    request = ApprovalRequest.objects.get(payload__withdrawal_id=withdrawal.pk)
    return logged_in(user).get(reverse("backoffice:approval_review", args=[request.pk]))


def test_the_reviewer_sees_the_whole_destination_escaped(asked, finance):
    page = review_page(finance, asked).content.decode()
    assert GROUPED in page
    assert "COBADEFFXXX" in page
    assert "&lt;b&gt;Jane&lt;/b&gt; Doe" in page
    assert "<b>Jane</b>" not in page


def test_staff_who_may_not_pay_withdrawals_do_not_see_where(asked, support):
    page = review_page(support, asked)
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="details-hidden"' in text
    assert IBAN not in text
    assert GROUPED not in text
    api = Api()
    request = ApprovalRequest.objects.get(type_key="withdrawal")
    detail = api.call("GET", f"/approvals/{request.pk}", token=api.token(support.email, PASSWORD))
    assert detail.status_code == 200
    assert detail.json()["details"] == []


def test_the_owner_sees_it_masked_in_the_wallet_and_whole_on_its_page(asked, funded):
    http = logged_in(funded.user)
    wallet = http.get(reverse("portal:wallet")).content.decode()
    assert "IBAN DE89 •••• 3000" in wallet
    assert GROUPED not in wallet
    page = http.get(reverse("portal:withdrawal_detail", args=[asked.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert GROUPED in text
    assert "&lt;b&gt;Jane&lt;/b&gt; Doe" in text
    assert asked.reference in text


def test_the_owners_page_says_to_be_paid_to_until_it_is_paid(asked, funded, finance):
    http = logged_in(funded.user)
    page = reverse("portal:withdrawal_detail", args=[asked.pk])
    heading = '<strong id="destination-heading">{}</strong>'
    assert heading.format("To be paid to") in http.get(page).content.decode()
    request = ApprovalRequest.objects.get(payload__withdrawal_id=asked.pk)
    approvals.approve(request.pk, actor=finance)
    assert heading.format("Paid to") in http.get(page).content.decode()


def test_another_client_cannot_see_it(asked, register):
    other, _ = register()
    http = logged_in(other.user)
    assert http.get(reverse("portal:withdrawal_detail", args=[asked.pk])).status_code == 404
    assert GROUPED not in http.get(reverse("portal:withdraw")).content.decode()
    api = Api()
    token = api.token(other.user.email, PASSWORD)
    assert api.call("GET", f"/wallet/withdrawals/{asked.pk}", token=token).status_code == 404
    assert api.call("GET", "/wallet/withdrawals", token=token).json() == {"items": [], "next": None}


def test_a_withdrawal_without_a_recorded_destination_says_so(asked, funded):
    Withdrawal.objects.filter(pk=asked.pk).update(destination={})
    http = logged_in(funded.user)
    assert "not recorded" in http.get(reverse("portal:wallet")).content.decode()
    page = http.get(reverse("portal:withdrawal_detail", args=[asked.pk])).content.decode()
    assert 'id="not-recorded"' in page
    api = Api()
    token = api.token(funded.user.email, PASSWORD)
    answer = api.call("GET", f"/wallet/withdrawals/{asked.pk}", token=token).json()
    assert answer["destination"] is None


def _form(method, **fields):
    return {
        "currency": "USD",
        "method": method.pk,
        "amount": "150.00",
        "idempotency_key": "portal-1",
        **fields,
    }


def test_the_portal_form_asks_and_goes_to_the_withdrawals_page(funded, bank_transfer):
    http = logged_in(funded.user)
    data = _form(bank_transfer, **bank_destination())
    response = post_form(http, reverse("portal:withdraw"), data)
    made = Withdrawal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:withdrawal_detail", args=[made.pk])
    assert made.destination["account"] == IBAN
    assert ledger.balances(funded) == {"USD": Decimal("850.00")}


def test_the_portal_form_names_the_wrong_field_and_holds_nothing(funded, bank_transfer):
    http = logged_in(funded.user)
    wrong = bank_destination(account="DE89 3704 0044 0532 0130 01", bic="")
    response = post_form(http, reverse("portal:withdraw"), _form(bank_transfer, **wrong))
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="account-errors"' in page
    assert "check digits do not match" in page
    assert 'id="bic-errors"' in page
    assert not Withdrawal.objects.exists()
    assert ledger.balances(funded) == {"USD": Decimal("1000.00")}


def test_the_portal_form_reads_only_the_chosen_methods_kind_of_fields(funded, admin):
    usdt = usdt_method(admin)
    http = logged_in(funded.user)
    both = {**bank_destination(account="not an iban"), "network": "TRC20", "address": TRON}
    response = post_form(http, reverse("portal:withdraw"), _form(usdt, **both))
    assert response.status_code == 302
    assert Withdrawal.objects.get().destination == {
        "type": "crypto",
        "network": "TRC20",
        "address": TRON,
    }


def test_the_portal_form_offers_only_methods_that_pay_withdrawals(
    funded, bank_transfer, sandbox_card
):
    http = logged_in(funded.user)
    page = http.get(reverse("portal:withdraw")).content.decode()
    assert 'data-payout-to="bank"' in page
    assert "Card (sandbox)" not in page
    refused = post_form(http, reverse("portal:withdraw"), _form(sandbox_card, **bank_destination()))
    assert refused.status_code == 422
    assert not Withdrawal.objects.exists()


def test_the_portal_form_offers_the_last_destination_again(asked, funded, admin):
    usdt = usdt_method(admin)
    withdrawals.request_withdrawal(
        funded,
        method=usdt.pk,
        amount="50.00",
        currency="USD",
        destination={"network": "TRC20", "address": TRON},
    )
    page = logged_in(funded.user).get(reverse("portal:withdraw")).content.decode()
    # The latest (USDT) filled in; every method's last destination for the page's script.
    assert f'value="{TRON}"' in page
    assert 'id="last-destinations"' in page
    assert IBAN in page  # the bank transfer's, offered when that method is chosen
    assert f'value="{usdt.pk}" selected' in page
    assert 'data-payout-to="crypto" data-networks="ERC20 TRC20">USDT</option>' in page


def test_staff_set_where_a_method_pays_in_settings(admin):
    http = logged_in(admin)
    form = {
        "name": "USDC",
        "kind": "offline",
        "currencies": ["USD"],
        "min_amount": "10",
        "max_amount": "1,000",
        "payout_to": "crypto",
        "networks": ["ERC20", "BTC"],
        "enabled": "on",
    }
    response = post_form(http, reverse("backoffice:payment_method_new"), form)
    assert response.status_code == 302
    method = PaymentMethod.objects.get()
    assert (method.payout_to, method.networks) == ("crypto", ["ERC20", "BTC"])
    listing = http.get(reverse("backoffice:payment_methods")).content.decode()
    assert "Crypto wallet" in listing
    assert "ERC20, BTC" in listing
    refused = post_form(
        http, reverse("backoffice:payment_method_edit", args=[method.pk]), {**form, "networks": []}
    )
    assert refused.status_code == 422
    assert "Choose the networks" in refused.content.decode()


def test_the_api_round_trip(funded, bank_transfer):
    api = Api()
    token = api.token(funded.user.email, PASSWORD)
    methods = api.call("GET", "/payment-methods", token=token).json()
    assert [(m["name"], m["payout_to"], m["networks"]) for m in methods] == [
        ("Bank transfer", "bank", [])
    ]
    body = {
        "amount": "120.00",
        "currency": "USD",
        "method": "Bank transfer",
        "destination": {"type": "bank", **bank_destination()},
    }
    made = api.call("POST", "/wallet/withdrawals", body, token=token)
    assert made.status_code == 201, made.content
    answer = made.json()
    assert answer["destination"] == {
        "type": "bank",
        "account_holder": "Jane Doe",
        "account": IBAN,
        "bic": "COBADEFFXXX",
        "bank_name": "Commerzbank",
    }
    one = api.call("GET", f"/wallet/withdrawals/{answer['id']}", token=token).json()
    assert one == answer
    assert api.call("GET", "/wallet/withdrawals", token=token).json() == {
        "items": [answer],
        "next": None,
    }


def test_the_api_takes_a_crypto_destination(funded, admin):
    usdt = usdt_method(admin)
    api = Api()
    token = api.token(funded.user.email, PASSWORD)
    body = {
        "amount": "40",
        "currency": "USD",
        "method": usdt.pk,
        "destination": {"network": "TRC20", "address": TRON},
    }
    made = api.call("POST", "/wallet/withdrawals", body, token=token)
    assert made.status_code == 201, made.content
    assert made.json()["destination"] == {"type": "crypto", "network": "TRC20", "address": TRON}


@pytest.mark.parametrize(
    ("destination", "field"),
    [
        (bank_destination(account="DE00 3704 0044 0532 0130 00"), "destination.account"),
        (bank_destination(iban=IBAN), "destination.iban"),  # not a field: refused, not ignored
        (bank_destination(bic=11), "destination.bic"),
        (bank_destination(type="card"), "destination.type"),
        (bank_destination(account_holder="x" * 10_000), "destination.account_holder"),
        ("DE89370400440532013000", "destination"),
        (None, "destination.account"),
    ],
)
def test_the_api_names_a_wrong_destination_field(funded, bank_transfer, destination, field):
    api = Api()
    token = api.token(funded.user.email, PASSWORD)
    body = {"amount": "120.00", "currency": "USD", "method": bank_transfer.pk}
    if destination is not None:
        body["destination"] = destination
    response = api.call("POST", "/wallet/withdrawals", body, token=token)
    assert response.status_code == 422, response.content
    assert field in response.json()["fields"]
    assert not Withdrawal.objects.exists()
    assert ledger.balances(funded) == {"USD": Decimal("1000.00")}


def test_the_withdrawals_list_is_for_clients(finance):
    api = Api()
    token = api.token(finance.email, PASSWORD)
    assert api.call("GET", "/wallet/withdrawals", token=token).status_code == 403
