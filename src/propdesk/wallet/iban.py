"""Bank account identifiers checked as a bank would, before anyone pays into them.

An IBAN (ISO 13616) is checked for its country's length in the SWIFT IBAN registry and for its
check digits (mod 97); a BIC (ISO 9362) for its shape, and refused when it is a test BIC. The
first fault found is said in words a client can act on; nothing here looks anything up.
"""

from __future__ import annotations

import re
from typing import Any

# The IBAN length of every country in the SWIFT IBAN registry (as published in 2024). A country's
# dependent territories use its IBANs (French overseas departments FR, Jersey and Guernsey GB).
LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28,
    "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22,
    "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}  # fmt: skip

# The countries of the SEPA scheme (the EU and EEA states, Switzerland, the United Kingdom,
# Monaco, San Marino, the Vatican, Andorra and Gibraltar): a transfer in euros to one of their
# IBANs needs no BIC. Any other payout (another currency, another IBAN, an account number)
# needs the bank's BIC.
SEPA = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
    "CH", "GB", "MC", "SM", "VA", "AD", "GI",
})  # fmt: skip

BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]+$")
# An account number without an IBAN: letters, digits and the separators banks print.
ACCOUNT_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/-]{3,33}$")
MAX_LENGTH = 34  # ISO 13616: no IBAN is longer; nor is any account number banks exchange


def compact(value: Any) -> str:
    """An identifier as typed ("de89 3704 0044 ...") without its spaces, in capitals; a
    letter that is not ASCII stays as it is (and fails the checks: "\ufb00".upper() is "FF")."""
    if not isinstance(value, str):
        return ""
    text = "".join(value.split())
    return text.upper() if text.isascii() else text


def looks_like_iban(account: str) -> bool:
    """Two letters and two digits first: an IBAN, or a mistyped one (checked as one)."""
    return len(account) >= 4 and account[:2].isalpha() and account[2:4].isdigit()


def meant_as_iban(account: str) -> bool:
    """Whether an account as given is to be checked as an IBAN: it looks like one, or it
    starts with the code of a country that has IBANs (a check digit mistyped, "DEB9 ...", is
    a wrong IBAN, not an account number). No bank outside the registry numbers its accounts
    with such a country code first."""
    return looks_like_iban(account) or account[:2] in LENGTHS


def check_digits_hold(iban: str) -> bool:
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def iban_fault(iban: str) -> str | None:
    """Why this compact IBAN cannot be one, or None."""
    if not iban.isascii() or not _IBAN_SHAPE.match(iban):
        return (
            "An IBAN has only letters and digits: two letters, two check digits, then the account."
        )
    country = iban[:2]
    length = LENGTHS.get(country)
    if length is None:
        return (
            f"{country} is not a country with IBANs in the IBAN registry: check the first two "
            "letters, or give the account number instead."
        )
    if len(iban) != length:
        return f"An IBAN from {country} has {length} characters; this one has {len(iban)}."
    if not "02" <= iban[2:4] <= "98" or not check_digits_hold(iban):
        # 00, 01 and 99 are never issued, though they pass mod 97 where 97, 98 and 02 do.
        return "This IBAN is not valid: its check digits do not match (a character is wrong)."
    return None


def bic_fault(bic: str) -> str | None:
    """Why this compact BIC cannot be one, or None."""
    if not bic.isascii() or not BIC.match(bic):
        return "A BIC (SWIFT code) has 8 or 11 letters and digits, e.g. DEUTDEFF or DEUTDEFF500."
    if bic[7] == "0":  # ISO 9362: a location code whose second character is 0 is a test BIC
        return "This is a test BIC (its eighth character is 0); give the bank's real BIC."
    return None


def grouped(account: str) -> str:
    """An IBAN in groups of four, as banks print it; an account number as it is."""
    if looks_like_iban(account) and account.isalnum():
        return " ".join(account[i : i + 4] for i in range(0, len(account), 4))
    return account


def in_sepa(iban: str) -> bool:
    return iban[:2] in SEPA
