"""One way to page a list over the API: `?after=<cursor>&limit=N` answers
`{"items": [...], "next": "<cursor>" | null}`. The cursor is opaque (its contents are ours to
change): a client sends back the `next` it was given, never builds one. A page is found by key
(the last row's place in the order), not by an offset, so a page far down costs what the first
does. Rows added meanwhile neither repeat nor go missing when they sort before the page
being read (a newest-first list's new rows appear on its first page); a list read oldest first
(the approvals to-do list, `mine=true`) shows rows added meanwhile on its later pages, and a row
that leaves such a list (decided meanwhile) shifts nothing, since the next page starts after a
key, not at a count. The cursor is signed for its list and the filters it was asked with: a
cursor of another list, or of the same list with other filters, is refused (422 on `after`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar

from django.core import signing
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from pydantic import StringConstraints

from propdesk.core.errors import ValidationFailed
from propdesk.core.schema import Blank

T = TypeVar("T")
M = TypeVar("M", bound=Model)

NOT_OURS = "The cursor is the `next` value of the previous page."

# The `after` query parameter: a cursor as we gave it, or nothing for the first page.
After = Annotated[
    Annotated[
        str,
        StringConstraints(max_length=200, pattern=r"^[A-Za-z0-9_.-]+$"),
        Field(description="The `next` of the previous page; omitted: the first page."),
    ]
    | None,
    Blank,
]


class Page(Schema, Generic[T]):
    """A page of a list: its `items`, and `next`, the cursor of the page after it (null: this
    is the last page)."""

    items: list[T]
    next: str | None = Field(
        description="Send it back as `after` for the next page; null at the end of the list."
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A row's time in a cursor: microseconds since 1970, up to the last day of year 9999 (any time
# a row can carry; every database takes it).
_MOST_MICROSECONDS = (datetime(9999, 12, 31, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)


def _signer(tag: str, scope: str) -> signing.Signer:
    """A cursor is signed with the list's tag and what the list was asked (the filters, whose
    list it is) in its salt: a cursor of another list, or of the same list asked otherwise,
    does not verify and is refused, rather than paging from a place it does not name."""
    return signing.Signer(salt=f"propdesk.page:{tag}:{scope}", sep=".")


def encode(key: Sequence[Any], *, tag: str, scope: str = "") -> str:
    """The cursor of a place in a list: its key (whole numbers only: a time as microseconds
    since 1970), signed, so that nobody relies on its form or makes one up."""
    shown = [_micro(v) if isinstance(v, datetime) else int(v) for v in key]
    return _signer(tag, scope).sign_object(shown)


def decode(
    cursor: str | None, *, shape: Sequence[type], tag: str, scope: str = ""
) -> list[Any] | None:
    """The key a cursor of ours holds (None: no cursor); anything else is a 422 on `after`: a
    cursor we did not write, or wrote for another list (or the same list with other filters)."""
    if cursor in (None, ""):
        return None
    assert cursor is not None
    try:
        key = _signer(tag, scope).unsign_object(cursor)
        if not isinstance(key, list) or len(key) != len(shape):
            raise ValueError
        return [_typed(v, t) for v, t in zip(key, shape, strict=True)]
    except (signing.BadSignature, ValueError, TypeError, OverflowError, UnicodeDecodeError):
        raise ValidationFailed("The page is not valid.", fields={"after": NOT_OURS}) from None


def _micro(at: datetime) -> int:
    return (at - _EPOCH) // timedelta(microseconds=1)


def _typed(value: Any, kind: type) -> Any:
    if type(value) is not int:
        raise ValueError
    if kind is datetime:
        if not 0 <= value <= _MOST_MICROSECONDS:
            raise ValueError
        return _EPOCH + timedelta(microseconds=value)
    if kind is int:
        if not 0 <= value < 2**63:
            raise ValueError
        return value
    raise TypeError(kind)  # pragma: no cover


def encode_id(key: int | None, *, tag: str, scope: str = "") -> str | None:
    """For lists paged by a whole number (an id) their own module reads."""
    return None if key is None else encode([key], tag=tag, scope=scope)


def decode_id(cursor: str | None, *, tag: str, scope: str = "") -> int | None:
    found = decode(cursor, shape=[int], tag=tag, scope=scope)
    return None if found is None else int(found[0])


def refuse_offset(request: HttpRequest) -> None:
    """Lists that once took `?offset=` page by cursor now: an `offset` is refused rather than
    ignored (ignored, a client would read the first page again and again)."""
    if "offset" in request.GET:
        raise ValidationFailed(
            "Lists page by cursor.",
            fields={"offset": "Not taken: send the previous page's `next` as `after`."},
        )


def by_key(
    rows: QuerySet[M],
    *,
    after: str | None,
    limit: int,
    tag: str,
    scope: str = "",
    newest_first: bool = True,
) -> tuple[list[M], str | None]:
    """One page of `rows` in the order (created_at, id), newest first unless said otherwise,
    and the cursor of the next page (None at the end). `tag` names the list and `scope` what
    it was asked (filters, whose list), so that its cursors are good for it alone."""
    key = decode(after, shape=[datetime, int], tag=tag, scope=scope)
    if key is not None:
        at, pk = key
        if newest_first:
            rows = rows.filter(Q(created_at__lt=at) | Q(created_at=at, pk__lt=pk))
        else:
            rows = rows.filter(Q(created_at__gt=at) | Q(created_at=at, pk__gt=pk))
    order = ("-created_at", "-id") if newest_first else ("created_at", "id")
    chunk = list(rows.order_by(*order)[: limit + 1])
    if len(chunk) <= limit:
        return chunk, None
    last = chunk[limit - 1]
    cursor = encode([last.created_at, last.pk], tag=tag, scope=scope)  # type: ignore[attr-defined]
    return chunk[:limit], cursor
