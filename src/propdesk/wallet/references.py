"""A ledger entry shows the reference of what caused it: a deposit's credit DEP-000002, a
withdrawal's hold and payout WDR-000005, a challenge fee and its refund PTP-000007; a reversal
the reference of the entry it reverses; a staff adjustment ADJ-<entry>; anything else
TXN-<entry>. The owners of entries say which of their fields point at one (`register`, from
their `AppConfig.ready()`), so a page of entries is named in a few queries, one per field. A
thing may carry an entry that bears another's reference (a stage's reset fee bears its
participation's PTP-…): `number` names the field that holds that reference's number.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Model

from propdesk.core import references
from propdesk.wallet.models import JournalEntry


@dataclass(frozen=True)
class Source:
    kind: references.Kind
    model: type[Model]
    field: str  # the model's one-to-one or foreign key to JournalEntry
    number: str = "pk"  # the field holding the reference's number


_SOURCES: list[Source] = []


def register(kind: references.Kind, model: type[Model], *fields: str, number: str = "pk") -> None:
    for field in fields:
        source = Source(kind, model, field, number)
        if source not in _SOURCES:
            _SOURCES.append(source)


def _own(pk: int, kind: str) -> str:
    chosen = references.ADJUSTMENT if kind == JournalEntry.Type.ADJUSTMENT else references.ENTRY
    return references.of(chosen, pk)


def for_entries(entry_ids: Iterable[int]) -> dict[int, str]:
    """The reference of each entry (by id)."""
    rows = list(
        JournalEntry.objects.filter(pk__in=set(entry_ids)).values_list("pk", "type", "reverses_id")
    )
    wanted = {pk for pk, _, _ in rows} | {rev for _, _, rev in rows if rev is not None}
    caused: dict[int, str] = {}
    for source in _SOURCES:
        column = f"{source.field}_id"
        found = source.model._default_manager.filter(**{f"{column}__in": wanted})
        for pk, entry_id in found.values_list(source.number, column):
            caused[entry_id] = references.of(source.kind, pk)
    named = {}
    for pk, kind, reverses in rows:
        named[pk] = caused.get(pk) or (caused.get(reverses) if reverses else None) or _own(pk, kind)
    return named


def entries_with(text: str) -> list[int] | None:
    """The ids of the entries a reference names (its own and their reversals); None when the
    text is not a reference."""
    parsed = references.parse(text)
    if parsed is None:
        return None
    if parsed.kind in (references.ADJUSTMENT, references.ENTRY):
        direct = [parsed.number] if parsed.number < 2**63 else []
    else:
        direct = []
        for source in _SOURCES:
            if source.kind == parsed.kind:
                column = f"{source.field}_id"
                found = source.model._default_manager.filter(**{source.number: parsed.number})
                direct += [e for e in found.values_list(column, flat=True) if e is not None]
    reversals = JournalEntry.objects.filter(reverses_id__in=direct).values_list("pk", flat=True)
    return sorted(set(direct) | set(reversals))
