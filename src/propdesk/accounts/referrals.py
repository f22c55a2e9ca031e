"""The referral program's tree: who referred whom (IB -> sub-IB -> clients, any depth).

Every client has a referral code (`Client.referral_code`, made by `Client.save`); a client who
registered with it has `referrer` set. This module finds a referrer by code, reads the tree
(a client's downline to any depth with each member's level, a page at a time; the chain of
referrers above a client, which commission uses) and lets staff move a client to another
referrer (with or without their downline), audited. The tree's reads are bounded (`MOST_DEPTH`
levels) and stop at a cycle, so a damaged tree cannot hang a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from propdesk.accounts.models import Client, User
from propdesk.accounts.permissions import CLIENTS_REFERRALS
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.core.permissions import require_permission
from propdesk.core.validation import FieldErrors, clean_text, parse_id

MOST_DEPTH = 50  # levels of a downline read; deeper members are not listed
PAGE = 50  # members on a page of a downline
CODE_MOST = 40


def find_referrer(code: Any) -> Client | None:
    """The client whose referral code is `code`, whatever its case and surrounding spaces;
    None for an empty or unknown code."""
    if not isinstance(code, str):
        return None
    text = code.strip()
    if not text or len(text) > CODE_MOST:
        return None
    found = Client.objects.filter(referral_code=text.upper()).first()
    return found or Client.objects.filter(referral_code__iexact=text).first()


def upline(client: Client, levels: int) -> list[Client]:
    """The referrers above `client`, nearest first: [their referrer, that one's referrer, ...],
    at most `levels` of them; it stops at the top of the tree or at a cycle."""
    chain: list[Client] = []
    seen = {client.pk}
    next_id = client.referrer_id
    while next_id is not None and len(chain) < levels and next_id not in seen:
        above = Client.objects.select_related("user").filter(pk=next_id).first()
        if above is None:
            break
        chain.append(above)
        seen.add(above.pk)
        next_id = above.referrer_id
    return chain


@dataclass(frozen=True)
class Member:
    """A client in someone's downline, at `depth` (1: referred by them directly)."""

    client: Client
    depth: int


_TREE = """
WITH RECURSIVE tree(id, depth) AS (
    SELECT id, 1 FROM {table} WHERE referrer_id = %s AND id <> %s
    UNION ALL
    SELECT c.id, t.depth + 1 FROM {table} c JOIN tree t ON c.referrer_id = t.id
    WHERE t.depth < %s AND c.id <> %s
),
members(id, depth) AS (SELECT id, MIN(depth) FROM tree GROUP BY id)
"""


def _tree_sql(tail: str) -> str:
    return _TREE.format(table=connection.ops.quote_name(Client._meta.db_table)) + tail


def downline_count(client: Client) -> int:
    """How many clients are below `client`, at every level (down to `MOST_DEPTH`)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _tree_sql("SELECT COUNT(*) FROM members"),
            [client.pk, client.pk, MOST_DEPTH, client.pk],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def downline(
    client: Client, *, after: tuple[int, int] | None = None, limit: int = PAGE
) -> tuple[list[Member], tuple[int, int] | None]:
    """A page of the clients below `client`, level by level (their direct referrals first),
    by id within a level: at most `limit` members after the place `after` ((depth, id) of the
    previous page's last member), and the place of this page's last member if more follow
    (None at the end). One query for the page's places (a recursive query), one for its
    clients."""
    limit = max(1, min(limit, 200))
    depth, last_id = after if after is not None else (0, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            _tree_sql(
                "SELECT id, depth FROM members WHERE depth > %s OR (depth = %s AND id > %s) "
                "ORDER BY depth, id LIMIT %s"
            ),
            [client.pk, client.pk, MOST_DEPTH, client.pk, depth, depth, last_id, limit + 1],
        )
        places = [(int(row[0]), int(row[1])) for row in cursor.fetchall()]
    more = len(places) > limit
    places = places[:limit]
    found = Client.objects.select_related("user").in_bulk([pk for pk, _ in places])
    members = [Member(found[pk], level) for pk, level in places if pk in found]
    if not more or not places:
        return members, None
    pk, level = places[-1]
    return members, (level, pk)


_TOPS = """
WITH RECURSIVE tree(top, id, depth) AS (
    SELECT c.referrer_id, c.id, 1 FROM {table} c JOIN {table} t ON c.referrer_id = t.id
    WHERE t.referrer_id IS NULL AND c.id <> t.id
    UNION ALL
    SELECT t.top, c.id, t.depth + 1 FROM {table} c JOIN tree t ON c.referrer_id = t.id
    WHERE t.depth < %s AND c.id <> t.top
)
SELECT top, SUM(CASE WHEN depth = 1 THEN 1 ELSE 0 END), COUNT(*) FROM tree
GROUP BY top ORDER BY COUNT(*) DESC, top LIMIT %s
"""


def top_referrers(*, limit: int = 100) -> list[tuple[Client, int, int]]:
    """The clients at the top of a tree (no referrer, referring someone), with how many they
    referred directly and in all (down to `MOST_DEPTH` levels), the biggest downline first; at
    most `limit`. Two queries whatever the number of trees: one recursive query counts every
    tree, one reads the clients shown."""
    table = connection.ops.quote_name(Client._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_TOPS.format(table=table), [MOST_DEPTH, max(1, limit)])
        counted = [(int(top), int(direct), int(total)) for top, direct, total in cursor.fetchall()]
    found = Client.objects.select_related("user").in_bulk([top for top, _, _ in counted])
    return [(found[top], direct, total) for top, direct, total in counted if top in found]


def resolve_client(text: Any, *, field: str = "new_referrer") -> Client:
    """The client a member of staff named: their id (a number, or #number), their email, or their
    referral code. Anything else is a field error on `field`."""
    errors = FieldErrors()
    raw = clean_text(errors, field, text, label="The new referrer", max_length=254)
    errors.raise_if_any("Name the new referrer.")
    found: Client | None
    if raw.removeprefix("#").isdigit():  # "12" or "#12", as the tree shows a referrer
        number = parse_id(raw.removeprefix("#"))
        found = Client.objects.filter(pk=number).first() if number is not None else None
    elif "@" in raw:
        found = Client.objects.filter(user__email__iexact=raw).first()
    else:
        found = find_referrer(raw)
    if found is None:
        raise ValidationFailed(
            "Name the new referrer.",
            fields={field: "No client has this number, email or referral code."},
        )
    return found


_ABOVE = """
WITH RECURSIVE up(id) AS (
    SELECT referrer_id FROM {table} WHERE id = %s AND referrer_id IS NOT NULL
    UNION
    SELECT c.referrer_id FROM {table} c JOIN up ON c.id = up.id WHERE c.referrer_id IS NOT NULL
)
SELECT 1 FROM up WHERE id = %s
"""


def _is_above(ancestor_id: int, client_id: int) -> bool:
    """Whether `ancestor_id` is somewhere above `client_id` in the tree, at any depth (one
    recursive query; UNION, not UNION ALL, so it ends even on a damaged, circular tree)."""
    table = connection.ops.quote_name(Client._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(_ABOVE.format(table=table), [client_id, ancestor_id])
        return cursor.fetchone() is not None


# The advisory-lock class of moves in the tree ("refr"; two-key locks never meet one-key ones).
_MOVE_LOCK = (0x72656672, 0)


def _one_move_at_a_time() -> None:
    """Moves in the tree are made one at a time (on PostgreSQL, a transaction-scoped advisory
    lock): two moves that each look fine alone can make a circle together (a under d while c
    goes under b, where b is below a and d below c), and locking the rows they touch would not
    make them meet. A move is a rare staff action; waiting for another costs nothing. SQLite
    (the demo's single machine) takes one writer at a time anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(_MOVE_LOCK))


def _snapshot(client: Client, referrals: list[int]) -> dict[str, Any]:
    return audit.snapshot(client, ["referrer"], referrals=referrals)


@transaction.atomic
def move_client(
    client: Client | int, *, new_referrer: Client | None, with_downline: bool, actor: User
) -> Client:
    """Staff move `client` under `new_referrer` (None: to the top, referred by nobody). With
    `with_downline` the clients below them move with them; without it, the clients they
    referred directly are attached to their old referrer (their own downlines with them).
    A client cannot refer themselves, nor end up below their own downline (a cycle)."""
    require_permission(actor, CLIENTS_REFERRALS)
    client_id = client if isinstance(client, int) else client.pk
    new_id = new_referrer.pk if new_referrer is not None else None
    _one_move_at_a_time()
    ids = sorted({client_id} | ({new_id} if new_id is not None else set()))
    locked = Client.objects.select_for_update(of=("self",)).select_related("user").in_bulk(ids)
    moved = locked.get(client_id)
    if moved is None:
        raise NotFound("No such client.")
    target = locked.get(new_id) if new_id is not None else None
    if new_id is not None and target is None:
        raise ValidationFailed("Name the new referrer.", fields={"new_referrer": "No such client."})
    if target is not None and target.pk == moved.pk:
        raise ValidationFailed(
            "A client cannot refer themselves.",
            fields={"new_referrer": "A client cannot be their own referrer."},
        )
    if moved.referrer_id == new_id:
        said = f"{target.name}" if target is not None else "nobody"
        raise ValidationFailed(
            "Nothing to move.",
            fields={"new_referrer": f"{moved.name} is already referred by {said}."},
        )
    direct = list(
        Client.objects.select_for_update()
        .filter(referrer=moved)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    before = _snapshot(moved, direct)
    old_id = moved.referrer_id
    reattached: list[int] = []
    if not with_downline and direct:
        Client.objects.filter(pk__in=direct).update(referrer_id=old_id)
        reattached = direct
    if target is not None:
        target.refresh_from_db(fields=["referrer"])  # its referrer may have just changed
    if target is not None and _is_above(moved.pk, target.pk):
        raise Conflict(
            f"{target.name} is in {moved.name}'s downline: moving {moved.name} under them "
            "would make a circle. Move them without their downline, or choose another referrer.",
            code="referral_cycle",
        )
    moved.referrer = target
    moved.save(update_fields=["referrer"])
    audit.record(
        actor=actor,
        action=AuditAction.CLIENT_MOVE_REFERRER,
        object_type="client",
        object_id=moved.pk,
        summary=f"Client {moved.user.email} moved to referrer "
        + (f"{target.user.email}" if target is not None else "none")
        + (" with their downline" if with_downline else "")
        + (
            f"; {len(reattached)} direct referral(s) attached to the old referrer"
            if reattached
            else ""
        ),
        before=before,
        after={
            **_snapshot(moved, [] if reattached else direct),
            "with_downline": with_downline,
            "reattached_to_old_referrer": reattached,
        },
    )
    return moved
