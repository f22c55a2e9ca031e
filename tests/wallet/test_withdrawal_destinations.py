"""A withdrawal names where it is paid: the fields its method's destination needs, each checked
and named when wrong, nothing held or saved on a bad one; kept as submitted, and carried to the
payment when Finance pays it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.core.errors import ValidationFailed
from propdesk.core.idempotency import IdempotencyConflict
from propdesk.notifications.models import Notification
from propdesk.wallet import deposits, ledger, withdrawals
from propdesk.wallet.models import PaymentMethod, Withdrawal
from tests.wallet.factories import IBAN, TRON, bank_destination, fund, usdt_method

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(active_client, finance):
    fund(active_client, finance, currency="USD")
    return fund(active_client, finance, currency="EUR")


@pytest.fixture
def usdt(admin):
    return usdt_method(admin)


def ask(client, method, destination, *, amount="100.00", currency="USD", **kw):
    return withdrawals.request_withdrawal(
        client,
        method=method.pk,
        amount=amount,
        currency=currency,
        destination=destination,
        **kw,
    )


def refused(client, method, destination, **kw):
    with pytest.raises(ValidationFailed) as caught:
        ask(client, method, destination, **kw)
    return caught.value.fields


def nothing_held(client):
    assert not Withdrawal.objects.exists()
    assert not ApprovalRequest.objects.filter(type_key="withdrawal").exists()
    assert ledger.balances(client) == {"EUR": Decimal("1000.00"), "USD": Decimal("1000.00")}


def test_a_bank_destination_is_kept_compact_with_the_withdrawal(funded, bank_transfer):
    given = bank_destination(account=" de89 3704 0044 0532 0130 00 ", bic="cobadeffxxx")
    made = ask(funded, bank_transfer, given)
    made.refresh_from_db()
    assert made.destination == {
        "type": "bank",
        "account_holder": "Jane Doe",
        "account": IBAN,
        "bic": "COBADEFFXXX",
        "bank_name": "Commerzbank",
    }
    assert made.paid_to.masked == "IBAN DE89 •••• 3000"


def test_a_crypto_destination_is_kept_on_one_of_the_methods_networks(funded, usdt):
    made = ask(funded, usdt, {"network": "trc20", "address": f"  {TRON} "})
    made.refresh_from_db()
    assert made.destination == {"type": "crypto", "network": "TRC20", "address": TRON}
    assert made.paid_to.masked == "TRC20 TR7NHq••••Lj6t"


def test_every_missing_bank_field_is_named_and_nothing_is_held(funded, bank_transfer):
    fields = refused(funded, bank_transfer, {})
    assert set(fields) == {
        "destination.account_holder",
        "destination.account",
        "destination.bic",
        "destination.bank_name",
    }
    assert fields["destination.account_holder"] == "Account holder is required."
    nothing_held(funded)


def test_no_destination_at_all_is_refused_like_an_empty_one(funded, bank_transfer):
    assert "destination.account" in refused(funded, bank_transfer, None)
    nothing_held(funded)


@pytest.mark.parametrize(
    ("account", "words"),
    [
        ("DE89 3704 0044 0532 0130 01", "check digits do not match"),
        ("DE89 3704 0044 0532 0130 0", "22 characters"),
        ("ZZ89 3704 0044 0532 0130 00", "not a country with IBANs"),
        ("12_34", "4 to 34 letters and digits"),
        ("123", "4 to 34 letters and digits"),
        ("1" * 35, "at most 34"),
        ("DE89 3704 0044 0532 0130 0\uff10", "only the letters A-Z"),  # a full-width zero
    ],
)
def test_a_wrong_account_is_refused_naming_it(funded, bank_transfer, account, words):
    fields = refused(funded, bank_transfer, bank_destination(account=account))
    assert set(fields) == {"destination.account"}
    assert words in fields["destination.account"]
    nothing_held(funded)


@pytest.mark.parametrize(
    "account",
    [
        "DEB9 3704 0044 0532 0130 00",  # a check digit mistyped as a letter
        "DE8O 3704 0044 0532 0130 00",  # a zero typed as the letter O
        "GBX9NWBK60161331926819",
        "IBAN DE89 3704 0044 0532 0130 00",  # pasted with the word before it
    ],
)
def test_a_mistyped_iban_is_not_taken_as_an_account_number(funded, bank_transfer, account):
    fields = refused(funded, bank_transfer, bank_destination(account=account, bic="COBADEFFXXX"))
    assert set(fields) == {"destination.account"}
    assert "IBAN" in fields["destination.account"]
    nothing_held(funded)


@pytest.mark.parametrize(
    "account", ["000123456789", "12-3456-7890123-00", "ABC1234567", "021000021/123456"]
)
def test_account_numbers_of_countries_without_ibans_are_still_taken(funded, bank_transfer, account):
    made = ask(funded, bank_transfer, bank_destination(account=account, bic="CHASUS33"))
    assert made.paid_to.account_label == "Account number"


def test_an_account_number_without_an_iban_needs_a_bic(funded, bank_transfer):
    fields = refused(funded, bank_transfer, bank_destination(account="123456789", bic=""))
    assert "BIC" in fields["destination.bic"]
    made = ask(funded, bank_transfer, bank_destination(account="123456789", bic="CHASUS33"))
    assert made.paid_to.account_label == "Account number"


def test_a_bic_may_be_left_out_only_for_euros_to_a_sepa_iban(funded, bank_transfer):
    # Euros to a German IBAN go by SEPA transfer, which needs no BIC ...
    made = ask(funded, bank_transfer, bank_destination(bic=""), currency="EUR")
    assert made.destination["bic"] == ""
    # ... dollars to the same account go by SWIFT, which does.
    fields = refused(funded, bank_transfer, bank_destination(bic=""))
    assert "only a payout in euros to an IBAN in the SEPA area" in fields["destination.bic"]
    # And euros to a non-SEPA IBAN (Turkey) need one too.
    turkish = bank_destination(account="TR33 0006 1005 1978 6457 8413 26", bic="")
    assert "destination.bic" in refused(funded, bank_transfer, turkish, currency="EUR")


@pytest.mark.parametrize("bic", ["DEUTDE", "DEUTDEF0", "DEUT-DEFF"])
def test_a_malformed_bic_is_refused(funded, bank_transfer, bic):
    assert set(refused(funded, bank_transfer, bank_destination(bic=bic))) == {"destination.bic"}
    nothing_held(funded)


def test_a_crypto_withdrawal_names_a_missing_network_and_address(funded, usdt):
    fields = refused(funded, usdt, {})
    assert fields["destination.network"] == "Choose the network: ERC20, TRC20."
    assert fields["destination.address"] == "Give the wallet address to pay to."
    nothing_held(funded)


@pytest.mark.parametrize("network", ["BTC", "SOL", "trc-20", 20])
def test_a_network_the_method_does_not_pay_on_is_refused(funded, usdt, network):
    fields = refused(funded, usdt, {"network": network, "address": TRON})
    assert "choose one of: ERC20, TRC20" in fields["destination.network"]
    nothing_held(funded)


@pytest.mark.parametrize(
    ("network", "address"),
    [
        ("TRC20", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),  # an Ethereum address
        ("ERC20", TRON),
        ("ERC20", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"),  # a capital wrong
        ("TRC20", TRON[:-1] + "T"),
    ],
)
def test_an_address_of_another_shape_than_its_network_is_refused(funded, usdt, network, address):
    fields = refused(funded, usdt, {"network": network, "address": address})
    assert set(fields) == {"destination.address"}
    nothing_held(funded)


def test_fields_of_the_other_kind_of_destination_are_refused(funded, bank_transfer, usdt):
    fields = refused(funded, bank_transfer, bank_destination(address=TRON))
    assert "pays to a bank account" in fields["destination.address"]
    fields = refused(funded, usdt, {"network": "TRC20", "address": TRON, "type": "bank"})
    assert "pays to a crypto wallet" in fields["destination.type"]
    fields = refused(funded, usdt, {"network": "TRC20", "address": TRON, "iban": IBAN})
    assert fields["destination.iban"] == "Not a field of a destination."
    assert "destination" in refused(funded, usdt, [TRON])
    nothing_held(funded)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("account_holder", "Jane\x07Doe", "control characters"),
        ("account_holder", "J" * 10_000, "at most 100 characters"),
        ("bank_name", "Bank\r\nof Evil", "control characters"),
        ("account", "DE89\x1b3704", "control characters"),
        ("account", "D" * 10_000, "at most 60 characters"),
        ("bic", "<script>", "8 or 11"),
        ("account_holder", 42, "must be text"),
    ],
)
def test_hostile_bank_fields_are_refused_and_nothing_is_held(
    funded, bank_transfer, field, value, words
):
    fields = refused(funded, bank_transfer, bank_destination(**{field: value}))
    assert words in fields[f"destination.{field}"]
    nothing_held(funded)


@pytest.mark.parametrize(
    "address",
    ["T\x00" * 17, "<img src=x onerror=alert(1)>", "T" * 10_000, f"{TRON}'; DROP TABLE x; --"],
)
def test_hostile_addresses_are_refused(funded, usdt, address):
    fields = refused(funded, usdt, {"network": "TRC20", "address": address})
    assert "destination.address" in fields
    nothing_held(funded)


def test_invisible_characters_around_a_pasted_address_are_dropped(funded, usdt):
    made = ask(funded, usdt, {"network": "TRC20", "address": f"\u200b{TRON}\u202e\ufeff"})
    assert made.destination["address"] == TRON


def test_html_in_a_holders_name_is_kept_as_text(funded, bank_transfer):
    made = ask(funded, bank_transfer, bank_destination(account_holder="<b>Jane</b> Doe"))
    assert made.destination["account_holder"] == "<b>Jane</b> Doe"


def test_faults_of_the_amount_and_of_the_destination_come_together(funded, bank_transfer):
    fields = refused(funded, bank_transfer, bank_destination(bic="X"), amount="5")
    assert {"amount", "destination.bic"} <= set(fields)


def test_a_method_that_pays_no_withdrawals_is_refused(funded, sandbox_card):
    fields = refused(funded, sandbox_card, bank_destination())
    assert "does not pay out withdrawals" in fields["method"]
    nothing_held(funded)


def test_the_same_key_with_another_destination_is_refused(funded, bank_transfer):
    ask(funded, bank_transfer, bank_destination(), idempotency_key="k")
    again = ask(funded, bank_transfer, bank_destination(), idempotency_key="k")
    assert Withdrawal.objects.count() == 1
    with pytest.raises(IdempotencyConflict):
        ask(funded, bank_transfer, bank_destination(bic="DEUTDEFF"), idempotency_key="k")
    assert again.destination["bic"] == "COBADEFFXXX"


def test_a_destination_is_never_changed_once_submitted(funded, bank_transfer, finance):
    made = ask(funded, bank_transfer, bank_destination())
    made.destination = {**made.destination, "account": "GB29NWBK60161331926819"}
    with pytest.raises(ValueError, match="never changed"):
        made.save()
    with pytest.raises(ValueError, match="never changed"):
        made.save(update_fields=["destination"])
    request = ApprovalRequest.objects.get(type_key="withdrawal")
    approvals.approve(request.pk, actor=finance, amount="60.00")
    made.refresh_from_db()
    assert made.status == "approved"
    assert made.destination["account"] == IBAN


def test_the_payment_names_where_it_went_and_the_client_is_told(funded, bank_transfer, finance):
    made = ask(funded, bank_transfer, bank_destination())
    approvals.approve(ApprovalRequest.objects.get(type_key="withdrawal").pk, actor=finance)
    made.refresh_from_db()
    assert made.settle_entry.memo == (
        f"Withdrawal {made.reference} paid by Bank transfer to IBAN DE89 •••• 3000"
    )
    note = Notification.objects.filter(user=funded.user).latest("id")
    assert "100.00 USD is on its way to IBAN DE89 •••• 3000." in note.body
    assert IBAN not in note.body  # a notice may go by email: never the whole account


def test_the_reviewer_sees_the_whole_destination_and_a_holder_who_is_not_the_client(
    funded, bank_transfer, usdt
):
    ask(funded, bank_transfer, bank_destination())
    request = ApprovalRequest.objects.get(type_key="withdrawal")
    lines = dict(withdrawals.details(request))
    assert lines["Pay to"] == "Bank account"
    assert lines["IBAN"] == "DE89 3704 0044 0532 0130 00"
    assert lines["BIC / SWIFT"] == "COBADEFFXXX"
    assert "not named as the client" in lines["Check"]

    mine = bank_destination(account_holder=funded.user.name.upper())
    ask(funded, bank_transfer, mine)
    request = ApprovalRequest.objects.filter(type_key="withdrawal").latest("id")
    assert "Check" not in dict(withdrawals.details(request))

    ask(funded, usdt, {"network": "ERC20", "address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"})
    request = ApprovalRequest.objects.filter(type_key="withdrawal").latest("id")
    lines = dict(withdrawals.details(request))
    assert lines["Network"] == "Ethereum (ERC20)"
    assert lines["Address"] == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"


def test_a_withdrawal_asked_before_destinations_were_kept_says_not_recorded(
    funded, bank_transfer, finance
):
    made = ask(funded, bank_transfer, bank_destination())
    Withdrawal.objects.filter(pk=made.pk).update(destination={})  # as the migration leaves it
    request = ApprovalRequest.objects.get(type_key="withdrawal")
    lines = dict(withdrawals.details(request))
    assert lines["Pay to"].startswith("Not recorded")
    assert "Confirm with the client" in lines["Check"]
    approvals.approve(request.pk, actor=finance)  # still payable
    made.refresh_from_db()
    assert made.settle_entry.memo.endswith("to a destination not recorded")


def test_the_last_destination_per_method_is_offered_again(funded, bank_transfer, usdt, admin):
    ask(funded, bank_transfer, bank_destination(bank_name="Old Bank"))
    ask(funded, bank_transfer, bank_destination(bank_name="New Bank"))
    ask(funded, usdt, {"network": "TRC20", "address": TRON})
    last = withdrawals.last_destinations(funded)
    assert last[bank_transfer.pk]["bank_name"] == "New Bank"
    assert last[usdt.pk] == {"type": "crypto", "network": "TRC20", "address": TRON}
    # The method no longer pays on TRC20: that address is not offered again.
    deposits.save_payment_method(
        usdt.pk,
        name="USDT",
        kind="offline",
        currencies=["USD"],
        min_amount="20",
        max_amount="50000",
        payout_to="crypto",
        networks=["ERC20"],
        actor=admin,
    )
    assert usdt.pk not in withdrawals.last_destinations(funded)


def test_another_clients_destinations_are_not_offered(funded, bank_transfer, register, set_method):
    ask(funded, bank_transfer, bank_destination())
    other, _ = register()
    assert withdrawals.last_destinations(other) == {}


def _method(admin, **changes):
    return deposits.save_payment_method(
        None,
        **{
            "name": "Payout",
            "kind": "offline",
            "currencies": ["USD"],
            "min_amount": "1",
            "max_amount": "100",
            "actor": admin,
            **changes,
        },
    )


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"payout_to": "card"}, "payout_to", "Choose where withdrawals are paid"),
        ({"payout_to": "crypto"}, "networks", "Choose the networks"),
        ({"payout_to": "crypto", "networks": ["SOL"]}, "networks", "Choose among: ERC20"),
        ({"payout_to": "crypto", "networks": "TRC20"}, "networks", "Choose among"),
        ({"payout_to": "bank", "networks": ["TRC20"]}, "networks", "Only a method paying"),
    ],
)
def test_a_payment_methods_payout_is_checked(admin, changes, field, words):
    with pytest.raises(ValidationFailed) as caught:
        _method(admin, **changes)
    assert words in caught.value.fields[field]
    assert not PaymentMethod.objects.exists()


def test_a_payment_methods_networks_are_kept_in_the_usual_order(admin):
    method = _method(admin, payout_to="crypto", networks=["BTC", "ERC20", "BTC"])
    assert method.networks == ["ERC20", "BTC"]
    _method(admin, name="Cards")  # pays no withdrawals: deposits only
    assert list(withdrawals.payout_methods()) == [method]
