"""One reference per business object, the same for the client and for staff.

A reference is the object kind's three-letter prefix and the object's own id, zero-padded to six
digits: ``DEP-000002`` is deposit 2. Nothing new is numbered; the reference is derived from the
id, so every object has one from the moment it exists and old links by id keep working. Each kind
is defined once here; a model's ``reference`` property and the approval request of which it is
the subject print it with `of`; a search box reads one back with `parse`.

See docs/references.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    prefix: str
    label: str


DEPOSIT = Kind("DEP", "Deposit")
WITHDRAWAL = Kind("WDR", "Withdrawal")
KYC = Kind("KYC", "KYC submission")
PARTICIPATION = Kind("PTP", "Challenge participation")
REGISTRATION = Kind("REG", "Registration")
LIVE_STEP = Kind("LSR", "Live step request")
STAGE_REQUEST = Kind("STG", "Next stage request")
ADJUSTMENT = Kind("ADJ", "Wallet adjustment")
PAYOUT = Kind("PAY", "Payout")
CERTIFICATE = Kind("CRT", "Certificate")
REQUEST = Kind("REQ", "Request")  # an approval request of a type without a kind of its own
ENTRY = Kind("TXN", "Ledger entry")  # an entry that nothing else caused

KINDS: dict[str, Kind] = {
    k.prefix: k
    for k in (
        DEPOSIT,
        WITHDRAWAL,
        KYC,
        PARTICIPATION,
        REGISTRATION,
        LIVE_STEP,
        STAGE_REQUEST,
        ADJUSTMENT,
        PAYOUT,
        CERTIFICATE,
        REQUEST,
        ENTRY,
    )
}

DIGITS = 6
# "DEP-000002", "dep-2", "DEP 2", "DEP000002", with spaces around.
_PATTERN = re.compile(r"^\s*([A-Za-z]{3})\s*[-\s]?\s*(\d{1,18})\s*$")
_MAX_ID = 2**63 - 1


def of(kind: Kind, number: int | None) -> str:
    """The reference of object `number` of `kind`; "" for an object not saved yet."""
    if number is None:
        return ""
    return f"{kind.prefix}-{int(number):0{DIGITS}d}"


@dataclass(frozen=True)
class Parsed:
    kind: Kind
    number: int


def parse(text: object) -> Parsed | None:
    """A reference typed by a person (any case, with or without the dash and the zeros), or
    None when the text is not one."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    found = _PATTERN.match(text)
    if found is None:
        return None
    kind = KINDS.get(found.group(1).upper())
    number = int(found.group(2))
    if kind is None or not 0 < number <= _MAX_ID:
        return None
    return Parsed(kind, number)
