"""The firm's bank account on a bank-transfer (offline) payment method, checked as a bank would:
an IBAN by its country's length and its check digits (ISO 13616, mod 97), a BIC by its shape
(ISO 9362; iban.py), the rest required together so a client is never shown half an account."""

from __future__ import annotations

from typing import Any

from propdesk.core.validation import FieldErrors, clean_text
from propdesk.wallet import iban

FIELDS = ("bank_beneficiary", "bank_account", "bank_bic", "bank_name")


def iban_is_valid(account: str) -> bool:
    return iban.iban_fault(account) is None


def _compact(value: Any) -> str:
    return iban.compact(value)


def clean(errors: FieldErrors, *, offline: bool, **given: Any) -> dict[str, str]:
    """The four fields (`bank_beneficiary`, `bank_account`, `bank_bic`, `bank_name`) as
    stored, all blank or a whole account; every fault is added to `errors`."""
    beneficiary = clean_text(
        errors,
        "bank_beneficiary",
        given.get("bank_beneficiary", ""),
        label="Beneficiary",
        max_length=100,
        required=False,
    )
    name = clean_text(
        errors,
        "bank_name",
        given.get("bank_name", ""),
        label="Bank name",
        max_length=100,
        required=False,
    )
    account = _compact(given.get("bank_account", ""))
    bic = _compact(given.get("bank_bic", ""))
    cleaned = {
        "bank_beneficiary": beneficiary,
        "bank_account": account,
        "bank_bic": bic,
        "bank_name": name,
    }
    if not any(cleaned.values()):
        return cleaned
    if not offline:
        errors.add("bank_account", "Only a bank transfer (offline) method has bank details.")
        return cleaned
    if len(account) > 34:
        errors.add("bank_account", "An IBAN or account number has at most 34 characters.")
    elif not account:
        errors.add("bank_account", "Give the IBAN or account number clients pay into.")
    elif iban.looks_like_iban(account):
        fault = iban.iban_fault(account)
        if fault:
            errors.add("bank_account", fault)
    elif not iban.ACCOUNT_NUMBER.match(account):
        errors.add("bank_account", "An account number has only letters, digits, / and -.")
    if bic and not iban.BIC.match(bic):
        errors.add("bank_bic", "A BIC (SWIFT code) has 8 or 11 letters and digits, e.g. DEUTDEFF.")
    if not beneficiary and "bank_beneficiary" not in errors:
        errors.add("bank_beneficiary", "Give the account holder's name clients pay to.")
    if not name and "bank_name" not in errors:
        errors.add("bank_name", "Give the bank's name.")
    return cleaned
