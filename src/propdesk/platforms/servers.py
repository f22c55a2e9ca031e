"""Settings > Trading platforms: the trading servers a firm connects to, and Test connection.

A server of a remote kind (Match-Trader) has an address, an API key and, for each of its groups,
the platform's offer its accounts are opened on. A MetaTrader 5 server has an address, its
manager's login and password (the password kept as the key is) and, for each group, the MT5
group its accounts are opened in (unmapped: the group of the same name). The key (and the
password) is sealed with core.vault as it is saved and never shown again, not even to the staff
who typed it: the page says only that one is set and when it changed, and the audit trail only
that it changed."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from propdesk.accounts import groups as client_groups_of
from propdesk.accounts.models import User
from propdesk.core import audit, vault
from propdesk.core.audit import AuditAction
from propdesk.core.errors import DomainError, NotFound
from propdesk.core.permissions import require_permission
from propdesk.core.text import forbidden_character
from propdesk.core.validation import FieldErrors, clean_text
from propdesk.platforms import adapters
from propdesk.platforms.models import TradingServer
from propdesk.platforms.permissions import PLATFORMS_MANAGE
from propdesk.platforms.protocol import PlatformError

logger = logging.getLogger(__name__)

Kind = TradingServer.Kind
# The kinds propdesk reaches over the network (the sandbox lives in propdesk's own database).
REMOTE_KINDS = frozenset({Kind.MATCH_TRADER, Kind.MT5})
NAME_MAX = 60
GROUP_MAX = 60
URL_MAX = 300
API_KEY_MAX = 500
OFFERS_MAX = 5000
MANAGER_LOGIN = re.compile(r"[0-9]{1,20}")
MT5_GROUP = re.compile(r"[A-Za-z0-9_\\\-. ]{1,64}")  # an MT5 group name, e.g. demo\challenge
_HOST = re.compile(r"[a-z0-9.\-]+|[0-9a-f:.]+")  # a name or an address (urlsplit lowercases it)


def is_remote(kind: str) -> bool:
    return kind in REMOTE_KINDS


def server_snapshot(server: TradingServer) -> dict[str, Any]:
    """What the audit keeps of a server: never its key, only whether one is set."""
    return audit.snapshot(
        server,
        [
            "name",
            "kind",
            "demo_groups",
            "live_groups",
            "enabled",
            "base_url",
            "offers",
            "manager_login",
        ],
        api_key="set" if server.sealed_api_key else "none",
        client_groups=client_groups_of.group_names(server.client_groups.all()) if server.pk else [],
    )


def save_server(
    server_id: int | None,
    *,
    name: Any,
    kind: Any,
    demo_groups: Any,
    live_groups: Any,
    enabled: bool = True,
    base_url: Any = None,
    api_key: Any = None,
    offers: Any = None,
    client_groups: Any = None,
    manager_login: Any = None,
    actor: User,
) -> TradingServer:
    """Create (`server_id` None) or change a trading server. Groups come as comma-separated
    text or as a list; a server has at least one group, and no group is both demo and live.

    A remote kind needs its base URL (http or https, without credentials), an API key (blank
    or None on a change keeps the one set) and an offer UUID for every group (`offers`: lines
    of `group = uuid`, or a {group: uuid} mapping; None on a change keeps the mapping). The
    built-in sandbox has none of them: saving a server as the sandbox clears them.
    `client_groups`: the client groups whose challenges may run on it (none: every client;
    None: left as they are); a challenge on a limited server is offered to those groups only.
    MetaTrader 5 (`Kind.MT5`): `manager_login` (digits) and the manager's password as `api_key`;
    `offers` maps groups to MT5 group names, and a group left out is the MT5 group of its name."""
    require_permission(actor, PLATFORMS_MANAGE)
    current = None
    if server_id is not None:
        current = TradingServer.objects.filter(pk=server_id).first()
        if current is None:
            raise NotFound("No such trading server.")
    errors = FieldErrors()
    clean_name = clean_text(errors, "name", name, label="Name", max_length=NAME_MAX)
    if kind not in Kind.values:
        errors.add("kind", f"Choose among: {', '.join(Kind.labels)}.")
    audience = client_groups_of.clean_groups(errors, "client_groups", client_groups)
    demo = _groups(errors, "demo_groups", demo_groups)
    live = _groups(errors, "live_groups", live_groups)
    both = {g.casefold() for g in demo} & {g.casefold() for g in live}
    if both:
        shared = [g for g in live if g.casefold() in both]
        errors.add("live_groups", f"{', '.join(shared)}: a group is either demo or live, not both.")
    if not demo and not live and "demo_groups" not in errors and "live_groups" not in errors:
        errors.add("demo_groups", "Give at least one group, for demo or for live stages.")
    clash = TradingServer.objects.filter(name__iexact=clean_name)
    if server_id is not None:
        clash = clash.exclude(pk=server_id)
    if clean_name and clash.exists():
        errors.add("name", "A trading server with this name already exists.")
    remote = is_remote(kind)
    url, new_key, mapping, login = "", None, {}, ""
    if kind == Kind.MT5:
        login = _manager_login(errors, current, manager_login)
    if remote:
        url = _base_url(errors, current.base_url if base_url is None and current else base_url)
        new_key = _api_key(errors, api_key)
        if new_key is None and not (current and current.sealed_api_key) and "api_key" not in errors:
            errors.add("api_key", "A remote platform needs its API key.")
        elif (
            new_key is None
            and current is not None
            and "api_key" not in errors
            and "base_url" not in errors
            and (url != current.base_url or kind != current.kind or login != current.manager_login)
        ):
            # The kept key goes only where it was given for: a key sent to a new address
            # (Test connection) would be read there.
            errors.add("api_key", "The address changed: enter the API key again.")
        groups_given = "demo_groups" not in errors and "live_groups" not in errors
        kept = offers
        if offers is None and current is not None:  # kept, for the groups it still has
            kept = {g: o for g, o in current.offers.items() if g in [*demo, *live]}
        mapping = _offers(
            errors,
            kept,
            [*demo, *live],
            check_all=groups_given and kind != Kind.MT5,
            mt5=kind == Kind.MT5,
        )
    errors.raise_if_any()
    with transaction.atomic():
        server = (
            TradingServer.objects.select_for_update().filter(pk=server_id).first()
            if server_id is not None
            else TradingServer()
        )
        if server is None:
            raise NotFound("No such trading server.")
        before = server_snapshot(server) if server.pk else None
        server.name, server.kind = clean_name, kind
        server.demo_groups, server.live_groups = demo, live
        server.enabled = bool(enabled)
        server.base_url, server.offers = url, mapping
        server.manager_login = login
        key_changed = False
        if new_key is not None:
            server.sealed_api_key, key_changed = vault.seal(new_key), True
        elif not remote and server.sealed_api_key:
            server.sealed_api_key, key_changed = "", True  # the sandbox keeps no key
        if key_changed:
            server.api_key_changed_at = timezone.now()
        server.save()
        if audience is not None:
            server.client_groups.set(client_groups_of.hold(audience))
        audit.record(
            actor=actor,
            action=(
                AuditAction.TRADING_SERVER_CREATE
                if before is None
                else AuditAction.TRADING_SERVER_UPDATE
            ),
            object_type="trading_server",
            object_id=server.pk,
            summary=f"Trading server {server.name} {'created' if before is None else 'changed'}"
            + ("; API key changed" if key_changed and before is not None else ""),
            before=before,
            after={**server_snapshot(server), "api_key_changed": key_changed},
        )
    return server


def _groups(errors: FieldErrors, field: str, raw: Any) -> list[str]:
    """Group names in the order given; blanks between commas are dropped, repeats refused."""
    if raw is None:
        items: list[Any] = []
    elif isinstance(raw, str):
        items = raw.split(",")
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        items = [raw]
    if any(not isinstance(item, str) for item in items):
        errors.add(field, "Group names are text, separated by commas.")
        return []
    names = [item.strip() for item in items if item.strip()]
    seen: set[str] = set()
    for name in names:
        if len(name) > GROUP_MAX:
            errors.add(field, f"A group name has at most {GROUP_MAX} characters ({name[:20]}…).")
        elif not name.isprintable():
            errors.add(field, "Group names cannot contain control characters.")
        elif name.casefold() in seen:
            errors.add(field, f"{name} is listed twice.")
        seen.add(name.casefold())
    return names


def _base_url(errors: FieldErrors, raw: Any) -> str:
    """The platform's address as adapters join paths to it: scheme and host, maybe a port and
    a path, without a trailing slash."""
    field = "base_url"
    text = clean_text(errors, field, raw, label="Base URL", max_length=URL_MAX)
    if field in errors:
        return ""
    if any(ch.isspace() for ch in text):
        errors.add(field, "A base URL has no spaces.")
        return ""
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        errors.add(field, "The base URL starts with https:// (or http://).")
        return ""
    if "@" in parts.netloc:
        errors.add(
            field,
            "Put no user name or password in the base URL: the API key has its own field.",
        )
        return ""
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        errors.add(field, "A base URL has no ? query or # fragment.")
        return ""
    host = parts.hostname or ""
    if not host or not _HOST.fullmatch(host):
        errors.add(field, "The base URL names a host, e.g. https://broker.example.com.")
        return ""
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or parts.netloc.endswith(":"):
        errors.add(field, "The base URL's port is a number from 1 to 65535.")
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc}{parts.path.rstrip('/')}"


def _api_key(errors: FieldErrors, raw: Any) -> str | None:
    """A new key, or None to keep the one set. Its text is never repeated in a message."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        errors.add("api_key", "The API key is text.")
        return None
    key = raw.strip()
    if not key:
        return None
    if forbidden_character(key) is not None or not key.isprintable() or " " in key:
        errors.add("api_key", "The API key is one line of printable characters, without spaces.")
        return None
    if len(key) > API_KEY_MAX:
        errors.add("api_key", f"The API key has at most {API_KEY_MAX} characters.")
        return None
    return key


def _manager_login(errors: FieldErrors, current: TradingServer | None, raw: Any) -> str:
    """An MT5 manager's login: digits (None on a change keeps the one set)."""
    if raw is None and current is not None:
        return current.manager_login
    text = raw.strip() if isinstance(raw, str) else ""
    if not MANAGER_LOGIN.fullmatch(text):
        errors.add("manager_login", "The manager's login is its number (up to 20 digits).")
        return ""
    return text


def _offers(
    errors: FieldErrors, raw: Any, groups: list[str], *, check_all: bool, mt5: bool = False
) -> dict[str, str]:
    """{group: offer uuid} from lines of `group = uuid` (a line without a UUID leaves the group
    unmapped) or from a mapping; every group of the server mapped, to a UUID. For MetaTrader 5
    (`mt5`): {group: MT5 group name}, a group left out being the MT5 group of its own name."""
    field = "offers"
    pairs: list[tuple[str, Any]] = []
    if raw is None:
        pass
    elif isinstance(raw, Mapping):
        pairs = list(raw.items())
    elif isinstance(raw, str):
        text = clean_text(
            errors,
            field,
            raw,
            label="Offers",
            max_length=OFFERS_MAX,
            required=False,
            multiline=True,
        )
        if field in errors:
            return {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            group, sep, offer = line.rpartition("=")
            if not sep:
                errors.add(field, f"Line {number}: write the group, =, then its offer's UUID.")
                return {}
            pairs.append((group.strip(), offer.strip()))
    else:
        errors.add(field, "Offers are lines of group = offer UUID.")
        return {}
    known = {g.casefold(): g for g in groups}
    mapping: dict[str, str] = {}
    for group, offer in pairs:
        if not isinstance(group, str) or not isinstance(offer, str):
            errors.add(field, "Offers are lines of group = offer UUID.")
            return {}
        name = known.get(group.casefold())
        if name is None:
            shown = group[:GROUP_MAX] or "(no group)"
            errors.add(field, f"{shown} is not one of this server's groups.")
            return {}
        if name in mapping:
            errors.add(field, f"{name} is mapped twice.")
            return {}
        if not offer:
            continue  # left for the check below to name
        if mt5:
            if not MT5_GROUP.fullmatch(offer):
                errors.add(
                    field,
                    f"{name}: {offer[:40]} is not an MT5 group name (letters, digits, \\, -, _, "
                    "., spaces; at most 64).",
                )
                return {}
            mapping[name] = offer
            continue
        try:
            if len(offer) > 45:
                raise ValueError(offer)
            mapping[name] = str(uuid.UUID(offer))
        except ValueError:
            errors.add(
                field,
                f"{name}: {offer[:40]} is not an offer UUID "
                "(32 hexadecimal digits, e.g. 3f1c2b9e-8d4a-4c1e-9a7b-2e5d6f7a8b9c).",
            )
            return {}
    missing = [g for g in groups if g not in mapping]
    if check_all and missing:
        errors.add(field, f"Map every group to an offer; none for: {', '.join(missing)}.")
    return mapping


def offers_text(server: TradingServer) -> str:
    """The mapping as the form edits it: a line for every group, mapped or not yet."""
    return "\n".join(f"{group} = {server.offers.get(group, '')}" for group in server.groups)


# --- Test connection (a network call: never inside a transaction of ours) ------------------------


@dataclass(frozen=True)
class Offer:
    """One of the platform's offers, as it listed it (for staff to copy its UUID)."""

    uuid: str
    name: str
    currency: str
    demo: bool | None  # None when the platform did not say
    groups: tuple[str, ...]  # this server's groups mapped to it


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    said: str  # the platform's sentence, or what went wrong
    answer: str = ""  # the platform's own answer to a failed call
    offers: tuple[Offer, ...] = ()
    offers_error: str = ""
    lists_offers: bool = False  # whether this kind of platform lists its offers at all


def check_connection(server_id: int, *, actor: User) -> ConnectionCheck:
    """Reach the server's platform with its saved address and key. It answers with a sentence,
    or the check says what failed (and what the platform answered); a platform that lists its
    offers gives them too. Run outside any transaction: it waits on the network."""
    require_permission(actor, PLATFORMS_MANAGE)
    server = TradingServer.objects.filter(pk=server_id).first()
    if server is None:
        raise NotFound("No such trading server.")
    try:
        platform = adapters.platform(server)
        said = platform.check_connection()
    except PlatformError as exc:
        return ConnectionCheck(False, _said(exc), exc.answer)
    except DomainError as exc:
        return ConnectionCheck(False, exc.message)
    except Exception as exc:  # the adapter's own fault: staff see it, the log keeps the trace
        logger.exception("checking the connection of trading server %s failed", server.pk)
        return ConnectionCheck(False, _said(exc))
    lister = getattr(platform, "offers", None)
    if not callable(lister):
        return ConnectionCheck(True, str(said))
    try:
        listed = [_offer(item, server) for item in lister()]
    except PlatformError as exc:
        return ConnectionCheck(True, str(said), exc.answer, (), _said(exc), True)
    except Exception as exc:
        logger.exception("listing the offers of trading server %s failed", server.pk)
        return ConnectionCheck(True, str(said), "", (), _said(exc), True)
    return ConnectionCheck(True, str(said), offers=tuple(o for o in listed if o), lists_offers=True)


def _said(exc: Exception) -> str:
    """A platform's refusal in its own words; any other fault named by its type."""
    text = str(exc).strip()
    if isinstance(exc, PlatformError):
        return (text or "The platform did not answer.")[:500]
    return f"{type(exc).__name__}: {text}"[:500] if text else type(exc).__name__


def _offer(item: Any, server: TradingServer) -> Offer | None:
    def read(name: str) -> Any:
        return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)

    found = read("uuid") or read("id")
    if not found:
        return None
    demo = read("demo")
    if demo is None:
        demo = read("is_demo")
    mapped = tuple(g for g in server.groups if server.offers.get(g) == str(found))
    return Offer(
        uuid=str(found)[:64],
        name=str(read("name") or "")[:200],
        currency=str(read("currency") or "")[:12],
        demo=None if demo is None else bool(demo),
        groups=mapped,
    )
