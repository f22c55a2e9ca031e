"""What the catalogue offers a client: the published challenges meant for their client group
(a definition's `client_groups`, matched by name case-insensitively; none: everyone), on a
trading server open to them (`TradingServer.client_groups`; none: every client). Staff see
the whole catalogue (catalogue.services); clients see only this.

`for_client` and `offered_to` read the client's group themselves; a challenge not offered is
not found (404), as if it did not exist.
"""

from __future__ import annotations

from typing import Any

from propdesk.accounts import groups as client_groups
from propdesk.accounts.models import Client, ClientGroup
from propdesk.challenges.models import Challenge, ChallengeVersion, Coupon
from propdesk.core.errors import NotFound
from propdesk.core.validation import parse_id
from propdesk.platforms.models import TradingServer


def is_offered(
    version: ChallengeVersion | None,
    *,
    tag: str = "",
    groups: list[str] | None = None,
    servers: dict[str, set[str]] | None = None,
) -> bool:
    """Whether clients (of `groups`, names matched case-insensitively) may start this
    version: the published version of a published challenge, meant for everyone or for one of
    their groups, on a trading server open to them (a server limited to client groups is open
    to those only), and with `tag`. `servers`: `server_audiences()`, asked once for a list."""
    if version is None or version.state != ChallengeVersion.State.PUBLISHED:
        return False
    if version.challenge.status != Challenge.Status.PUBLISHED:
        return False
    mine = {name.casefold() for name in groups or []}
    audience = {name.casefold() for name in version.spec.client_groups}
    if audience and not audience & mine:
        return False
    platform = version.spec.platform
    limited = (servers if servers is not None else server_audiences([platform])).get(platform)
    if limited and not limited & mine:
        return False
    return not tag or tag.lower() in (t.lower() for t in version.spec.tags)


def server_audiences(names: list[str] | None = None) -> dict[str, set[str]]:
    """The trading servers limited to client groups: {server name: its groups' names,
    case-folded} (a server open to every client is left out)."""
    found: dict[str, set[str]] = {}
    servers = TradingServer.objects.prefetch_related("client_groups")
    if names is not None:
        servers = servers.filter(name__in=names)
    for server in servers:
        limited = {group.name.casefold() for group in server.client_groups.all()}
        if limited:
            found[server.name] = limited
    return found


def offered(challenge_id: Any, *, groups: list[str] | None = None) -> ChallengeVersion:
    """The version of this challenge clients (of `groups`) may start; anything else is not
    found."""
    wanted = parse_id(challenge_id)
    found = None if wanted is None else Challenge.objects.filter(pk=wanted).first()
    version = found.published() if found is not None else None
    if version is None or not is_offered(version, groups=groups):
        raise NotFound("No such challenge.")
    return version


def published_catalogue(
    *, tag: str = "", groups: list[str] | None = None
) -> list[ChallengeVersion]:
    """What clients (of `groups`) may start (see `is_offered`), optionally with a tag."""
    versions = ChallengeVersion.objects.filter(
        state=ChallengeVersion.State.PUBLISHED, challenge__status=Challenge.Status.PUBLISHED
    ).select_related("challenge")
    servers = server_audiences()
    return [
        v
        for v in versions.order_by("challenge__name")
        if is_offered(v, tag=tag, groups=groups, servers=servers)
    ]


def for_client(client: Client | None, *, tag: str = "") -> list[ChallengeVersion]:
    """The catalogue as `client` sees it."""
    return published_catalogue(tag=tag, groups=client_groups.names_of(client))


def offered_to(challenge_id: Any, client: Client | None) -> ChallengeVersion:
    """The version `client` may start; anything else (not theirs included) is not found."""
    return offered(challenge_id, groups=client_groups.names_of(client))


def group_use(group: ClientGroup) -> str:
    """What of the catalogue names `group` (a draft or published definition of a challenge
    not ended, a coupon), for accounts.groups: a used group is not deleted."""
    wanted = group.name.casefold()
    versions = ChallengeVersion.objects.exclude(
        state=ChallengeVersion.State.SUPERSEDED
    ).select_related("challenge")
    for version in versions.exclude(challenge__status=Challenge.Status.ENDED):
        named = (version.definition or {}).get("client_groups") or []
        if any(isinstance(n, str) and n.casefold() == wanted for n in named):
            return f"challenge {version.challenge.name}"
    coupon = Coupon.objects.filter(client_groups=group).first()
    return f"coupon {coupon}" if coupon is not None else ""
