"""Where a withdrawal is paid: a bank account or a crypto wallet, as the client names it.

A payment method says what it pays to (`PaymentMethod.payout_to`, and for a crypto wallet the
networks it sends on); a withdrawal by it asks for that destination's fields, checked here once
(`clean`) and kept with the withdrawal as submitted (`Withdrawal.destination`, read back with
`read`). Every fault is named by its field, `destination.<field>`.

A bank account: the account holder's name, the IBAN (its country's length and check digits,
see iban.py) or an account number (4 to 34 letters and digits), the bank's BIC (its shape, not
a test BIC; optional for a payout in euros to an IBAN of a SEPA country, where a SEPA transfer
needs none, required for any other) and the bank's name. A crypto wallet: one of the method's
networks and an address of that network's shape and checksum (crypto_addresses.py).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from django.utils.translation import gettext, gettext_lazy

from propdesk.core.validation import FieldErrors, clean_text
from propdesk.wallet import crypto_addresses, iban

if TYPE_CHECKING:
    from propdesk.wallet.models import PaymentMethod

BANK = "bank"
CRYPTO = "crypto"
FIELDS = {
    BANK: ("account_holder", "account", "bic", "bank_name"),
    CRYPTO: ("network", "address"),
}
NOT_RECORDED = gettext_lazy("Not recorded (asked before propdesk kept where to pay)")
HIDDEN = "••••"


@dataclass(frozen=True)
class BankAccount:
    account_holder: str
    account: str  # an IBAN or an account number, compact and in capitals
    bic: str  # empty only for a payout in euros to an IBAN of a SEPA country
    bank_name: str
    kind: ClassVar[str] = BANK

    @property
    def is_iban(self) -> bool:
        return iban.looks_like_iban(self.account)

    @property
    def account_label(self) -> str:
        return gettext("IBAN") if self.is_iban else gettext("Account number")

    @property
    def account_shown(self) -> str:
        return iban.grouped(self.account)

    @property
    def masked(self) -> str:
        """Enough to recognise the account: an IBAN's country and check digits and its last
        four characters; an account number's last four."""
        if self.is_iban:
            return f"IBAN {self.account[:4]} {HIDDEN} {self.account[-4:]}"
        return gettext("Account %(hidden)s %(last_four)s") % {
            "hidden": HIDDEN,
            "last_four": self.account[-4:],
        }

    def lines(self) -> list[tuple[str, str]]:
        """Where it is paid, line by line, in the reader's language (the portal's withdrawal
        page, the reviewer's details)."""
        return [
            (gettext("Pay to"), gettext("Bank account")),
            (gettext("Account holder"), self.account_holder),
            (self.account_label, self.account_shown),
            (
                gettext("BIC / SWIFT"),
                self.bic or gettext("none given (a SEPA transfer needs none)"),
            ),
            (gettext("Bank"), self.bank_name),
        ]

    def as_json(self) -> dict[str, str]:
        return {
            "type": BANK,
            "account_holder": self.account_holder,
            "account": self.account,
            "bic": self.bic,
            "bank_name": self.bank_name,
        }


@dataclass(frozen=True)
class CryptoWallet:
    network: str  # a key of crypto_addresses.NETWORKS
    address: str
    kind: ClassVar[str] = CRYPTO

    @property
    def network_label(self) -> str:
        known = crypto_addresses.NETWORKS.get(self.network)
        return known.label if known else self.network

    @property
    def masked(self) -> str:
        return f"{self.network} {self.address[:6]}{HIDDEN}{self.address[-4:]}"

    def lines(self) -> list[tuple[str, str]]:
        return [
            (gettext("Pay to"), gettext("Crypto wallet")),
            (gettext("Network"), self.network_label),
            (gettext("Address"), self.address),
        ]

    def as_json(self) -> dict[str, str]:
        return {"type": CRYPTO, "network": self.network, "address": self.address}


Destination = BankAccount | CryptoWallet


def read(stored: Mapping[str, Any] | None) -> Destination | None:
    """A kept destination (`Withdrawal.destination`), or None when none was recorded."""
    if not stored:
        return None
    text = {key: str(value) for key, value in stored.items()}
    if text.get("type") == BANK:
        return BankAccount(
            account_holder=text.get("account_holder", ""),
            account=text.get("account", ""),
            bic=text.get("bic", ""),
            bank_name=text.get("bank_name", ""),
        )
    if text.get("type") == CRYPTO:
        return CryptoWallet(network=text.get("network", ""), address=text.get("address", ""))
    return None


def clean(
    errors: FieldErrors, method: PaymentMethod, given: Any, *, currency: Any
) -> Destination | None:
    """The destination `method` pays `currency` to, from the client's fields (a mapping; None
    is an empty one); each fault is added to `errors` as `destination.<field>`, and then None is
    returned."""
    kind = method.payout_to
    if kind not in FIELDS:
        errors.add("method", f"{method.name} does not pay out withdrawals.")
        return None
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        errors.add("destination", gettext("Give where to pay as an object of fields."))
        return None
    wanted = FIELDS[kind]
    said_kind = given.get("type")
    if said_kind not in (None, "", kind):
        errors.add(
            "destination.type",
            f'{method.name} pays to a {_kind_words(kind)} (type "{kind}").',
        )
    for key, value in given.items():
        if key == "type" or key in wanted:
            continue
        if any(key in fields for fields in FIELDS.values()):
            if value not in (None, ""):
                errors.add(
                    f"destination.{key}",
                    f"{method.name} pays to a {_kind_words(kind)}: leave {key} out.",
                )
        else:
            errors.add(f"destination.{str(key)[:40]}", "Not a field of a destination.")
    before = len(errors.errors)
    found = (
        _bank(errors, given, euros=currency == "EUR")
        if kind == BANK
        else _crypto(errors, method, given)
    )
    return found if len(errors.errors) == before else None


def clean_payout(errors: FieldErrors, payout_to: Any, networks: Any) -> tuple[str, list[str]]:
    """A payment method's `payout_to` and `networks` as stored (the networks in the usual
    order); the faults are added to `errors` under those two names."""
    if payout_to not in ("", BANK, CRYPTO):
        errors.add(
            "payout_to",
            gettext("Choose where withdrawals are paid: a bank account, a crypto wallet, or none."),
        )
        return "", []
    known = crypto_addresses.NETWORKS
    chosen = list(networks) if isinstance(networks, list | tuple) else None
    if chosen is None or any(not isinstance(n, str) or n not in known for n in chosen):
        errors.add("networks", f"Choose among: {', '.join(known)}.")
        return payout_to, []
    if payout_to == CRYPTO and not chosen:
        errors.add(
            "networks", gettext("Choose the networks this method pays crypto withdrawals on.")
        )
    elif payout_to != CRYPTO and chosen:
        errors.add("networks", gettext("Only a method paying to crypto wallets has networks."))
    return payout_to, [n for n in known if n in chosen]


def _kind_words(kind: str) -> str:
    return "bank account" if kind == BANK else "crypto wallet"


def _text(errors: FieldErrors, given: Mapping[str, Any], key: str, **kwargs: Any) -> str:
    return clean_text(errors, f"destination.{key}", given.get(key), **kwargs)


def _identifier(
    errors: FieldErrors, given: Mapping[str, Any], key: str, *, label: str, max_length: int
) -> str:
    """An IBAN, a BIC or an address as typed: single-line text, then only ASCII letters and
    digits once the spaces are out (a look-alike letter is not one)."""
    text = _text(errors, given, key, label=label, max_length=max_length, required=False)
    if f"destination.{key}" in errors:
        return ""
    compact = "".join(text.split())
    if not compact.isascii():
        errors.add(f"destination.{key}", f"{label} has only the letters A-Z and the digits 0-9.")
        return ""
    return compact


def _bank(errors: FieldErrors, given: Mapping[str, Any], *, euros: bool) -> BankAccount:
    holder = _text(errors, given, "account_holder", label="Account holder", max_length=100)
    bank_name = _text(errors, given, "bank_name", label="Bank name", max_length=100)
    account = _identifier(
        errors, given, "account", label="IBAN or account number", max_length=60
    ).upper()
    bic = _identifier(errors, given, "bic", label="BIC", max_length=20).upper()
    if "destination.account" not in errors:
        if not account:
            errors.add("destination.account", gettext("Give the IBAN or the account number."))
        elif len(account) > iban.MAX_LENGTH:
            errors.add(
                "destination.account",
                f"An IBAN or account number has at most {iban.MAX_LENGTH} characters.",
            )
        elif account.startswith("IBAN"):
            errors.add(
                "destination.account", gettext("Give the IBAN without the word IBAN before it.")
            )
        elif iban.meant_as_iban(account):
            fault = iban.iban_fault(account)
            if fault:
                errors.add("destination.account", fault)
        elif not iban.ACCOUNT_NUMBER.match(account):
            errors.add(
                "destination.account",
                gettext("An account number has 4 to 34 letters and digits (and / or -)."),
            )
    if "destination.bic" not in errors:
        if bic:
            fault = iban.bic_fault(bic)
            if fault:
                errors.add("destination.bic", fault)
        elif not (euros and iban.looks_like_iban(account) and iban.in_sepa(account)):
            errors.add(
                "destination.bic",
                gettext(
                    "Give the bank's BIC (SWIFT code): only a payout in euros to an IBAN in the "
                    "SEPA area goes without one."
                ),
            )
    return BankAccount(account_holder=holder, account=account, bic=bic, bank_name=bank_name)


def _crypto(errors: FieldErrors, method: PaymentMethod, given: Mapping[str, Any]) -> CryptoWallet:
    offered = [n for n in method.networks if n in crypto_addresses.NETWORKS]
    choices = ", ".join(offered) or "none yet"
    raw = given.get("network")
    network = raw.strip().upper() if isinstance(raw, str) else str(raw)[:20]
    if raw is None or not network:
        errors.add("destination.network", f"Choose the network: {choices}.")
    elif network not in offered:
        errors.add(
            "destination.network",
            f"{method.name} does not pay on that network; choose one of: {choices}.",
        )
    address = _identifier(
        errors,
        given,
        "address",
        label="Address",
        max_length=crypto_addresses.MAX_LENGTH,
    )
    if "destination.address" not in errors:
        if not address:
            errors.add("destination.address", gettext("Give the wallet address to pay to."))
        elif network in offered:
            fault = crypto_addresses.address_fault(network, address)
            if fault:
                errors.add("destination.address", fault)
            else:
                address = crypto_addresses.canonical(network, address)
    return CryptoWallet(network=network, address=address)


def same_person(holder: str, name: str) -> bool:
    """Whether an account holder's name is the client's, whatever the order, case and accents
    of its words ("DOE Jane" is "Jane Doe"); for the reviewer's check, not a refusal."""

    def words(text: str) -> list[str]:
        plain = "".join(
            ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
        )
        return sorted(plain.casefold().replace(",", " ").split())

    return bool(holder) and words(holder) == words(name)
