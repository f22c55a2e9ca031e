"""Client groups: what a firm offers a client (challenges, payment methods, trading servers)
is decided by their group. Staff create groups, choose the default one (where new clients go),
move clients between groups (one or many at once) and set the registration rules that place a
new client (by country, referrer code or promotional link code; the first matching rule wins).

A group's name is how challenge definitions name it, so it is **kept as first written**: it is
never renamed (only its description changes); to change a name, make a new group, move its
clients and what refers to it, then delete the old one. A group is deleted only while nothing
uses it: no client, rule, payment method, trading server, nor anything the apps above register
with `register_use` (challenge definitions, coupons).

Offering: `offered_to(client, groups)` answers for one thing restricted to `groups` (none: every
client); `visible_to(queryset, client)` filters a queryset of things with a `client_groups`
many-to-many; `names_of(client)` is what a challenge definition's `client_groups` is matched
with (case-insensitively).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, Model, OuterRef, QuerySet
from django_countries import countries

from propdesk.accounts.models import Client, ClientGroup, GroupRule, User, default_group
from propdesk.accounts.permissions import CLIENTS_GROUPS
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.core.permissions import require_permission
from propdesk.core.validation import FieldErrors, clean_text, parse_id

NAME_MOST = 60
DESCRIPTION_MOST = 200
BULK_MOST = 500  # clients moved in one request
RULE_VALUE_MOST = 60

M = TypeVar("M", bound=Model)

# Checks the apps above accounts register: each answers what of theirs uses a group ("challenge
# 2-Step 100K"), or "" when nothing does.
_USES: list[Callable[[ClientGroup], str]] = []


def register_use(check: Callable[[ClientGroup], str]) -> None:
    """An app whose things refer to client groups says so, so a used group is never deleted."""
    if check not in _USES:
        _USES.append(check)


# --- what a group decides ---------------------------------------------------------------------


def names_of(client: Client | None) -> list[str]:
    """The group names a client's offers are matched with (a challenge's `client_groups`)."""
    group = client.group if client is not None and client.group_id is not None else None
    return [group.name] if group is not None else []


def offered_to(client: Client | None, groups: Iterable[ClientGroup]) -> bool:
    """Whether something restricted to `groups` (none: everyone) is offered to `client`."""
    ids = {group.pk for group in groups}
    return not ids or (client is not None and client.group_id in ids)


def visible_to(queryset: QuerySet[M], client: Client | None) -> QuerySet[M]:
    """The rows of `queryset` (a model with a `client_groups` many-to-many) offered to
    `client`: those limited to no group, and those limited to the client's."""
    through = queryset.model._meta.get_field("client_groups").remote_field.through  # type: ignore[union-attr]
    owner = f"{queryset.model._meta.model_name}_id"
    limited = through.objects.filter(**{owner: OuterRef("pk")})
    if client is None or client.group_id is None:
        return queryset.filter(~Exists(limited))
    theirs = limited.filter(clientgroup_id=client.group_id)
    return queryset.filter(~Exists(limited) | Exists(theirs))


def find_named(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """The groups' names as kept (matched case-insensitively), and the names no group has."""
    known = {group.name.casefold(): group.name for group in ClientGroup.objects.all()}
    found, missing = [], []
    for name in names:
        kept = known.get(name.casefold())
        if kept is None:
            missing.append(name)
        elif kept not in found:
            found.append(kept)
    return found, missing


def clean_groups(errors: FieldErrors, field: str, raw: Any) -> list[ClientGroup] | None:
    """The groups something is limited to, given as groups, ids or names (none: every
    client); None when `raw` is None (left as it is)."""
    if raw is None:
        return None
    given = list(raw) if isinstance(raw, list | tuple | QuerySet) else None
    if given is None or len(given) > 100:
        errors.add(field, "A list of client groups.")
        return []
    found: list[ClientGroup] = []
    for item in given:
        group = item if isinstance(item, ClientGroup) else None
        number = parse_id(item) if group is None else None
        if number is not None:
            group = ClientGroup.objects.filter(pk=number).first()
        elif group is None and isinstance(item, str) and item.strip():
            group = ClientGroup.objects.filter(name__iexact=item.strip()).first()
        if group is None:
            errors.add(field, "Choose among the client groups (Settings > Client groups).")
            return []
        if group not in found:
            found.append(group)
    return found


def hold(groups: Iterable[ClientGroup], field: str = "client_groups") -> list[ClientGroup]:
    """Inside the caller's transaction, before something is limited to `groups`: their rows
    locked against a delete at the same instant (which is then refused, seeing the new use),
    or, if one was deleted first, a field error instead of a foreign-key failure."""
    wanted = {group.pk for group in groups}
    if not wanted:
        return []
    held = list(
        ClientGroup.objects.select_for_update(no_key=True).filter(pk__in=wanted).order_by("pk")
    )
    if len(held) != len(wanted):
        raise ValidationFailed(
            fields={field: "A client group chosen was deleted meanwhile: choose again."}
        )
    return held


def group_names(groups: Iterable[ClientGroup]) -> list[str]:
    """As an audit snapshot keeps a thing's groups."""
    return sorted(group.name for group in groups)


# --- groups -----------------------------------------------------------------------------------


def groups_with_counts() -> QuerySet[ClientGroup]:
    return ClientGroup.objects.annotate(members=Count("clients", distinct=True)).order_by("name")


def get(group_id: Any) -> ClientGroup:
    wanted = parse_id(group_id)
    found = None if wanted is None else ClientGroup.objects.filter(pk=wanted).first()
    if found is None:
        raise NotFound("No such client group.")
    return found


def _snapshot(group: ClientGroup) -> dict[str, Any]:
    return audit.snapshot(group, ["name", "description", "is_default"])


def save_group(
    group_id: Any, *, name: Any = None, description: Any = "", actor: User
) -> ClientGroup:
    """Create a group (`group_id` None) or change its description. The name is given only when
    creating; a name sent for an existing group must be its own (names are never changed)."""
    require_permission(actor, CLIENTS_GROUPS)
    errors = FieldErrors()
    text = clean_text(
        errors,
        "description",
        description,
        label="Description",
        max_length=DESCRIPTION_MOST,
        required=False,
    )
    current = get(group_id) if group_id is not None else None
    if current is None:
        clean_name = clean_text(errors, "name", name, label="Name", max_length=NAME_MOST)
        if clean_name and ClientGroup.objects.filter(name__iexact=clean_name).exists():
            errors.add("name", "A client group with this name already exists.")
    else:
        clean_name = current.name
        if name not in (None, "", current.name):
            errors.add(
                "name",
                "A group's name is kept as first written (challenges refer to it): make a new "
                "group instead.",
            )
    errors.raise_if_any("Please correct the client group.")
    try:
        with transaction.atomic():
            if current is None:
                group = ClientGroup.objects.create(name=clean_name, description=text)
                before = None
            else:
                group = ClientGroup.objects.select_for_update().get(pk=current.pk)
                before = _snapshot(group)
                group.description = text
                group.save(update_fields=["description"])
            audit.record(
                actor=actor,
                action=(
                    AuditAction.CLIENT_GROUP_CREATE
                    if before is None
                    else AuditAction.CLIENT_GROUP_UPDATE
                ),
                object_type="client_group",
                object_id=group.pk,
                summary=f"Client group {group.name} {'created' if before is None else 'changed'}",
                before=before,
                after=_snapshot(group),
            )
    except IntegrityError as exc:  # two staff creating the same name at once
        raise ValidationFailed(
            "Please correct the client group.",
            fields={"name": "A client group with this name already exists."},
        ) from exc
    return group


def set_default(group_id: Any, *, actor: User) -> ClientGroup:
    """New clients (that no registration rule places) join this group from now on."""
    require_permission(actor, CLIENTS_GROUPS)
    chosen = get(group_id)
    with transaction.atomic():
        groups = list(ClientGroup.objects.select_for_update().order_by("pk"))
        group = next((g for g in groups if g.pk == chosen.pk), None)
        if group is None:  # deleted meanwhile by another member of staff
            raise NotFound("No such client group.")
        previous = next((g for g in groups if g.is_default), None)
        if previous is not None and previous.pk == chosen.pk:
            return previous
        if previous is not None:
            previous.is_default = False
            previous.save(update_fields=["is_default"])
        group.is_default = True
        group.save(update_fields=["is_default"])
        audit.record(
            actor=actor,
            action=AuditAction.CLIENT_GROUP_DEFAULT,
            object_type="client_group",
            object_id=group.pk,
            summary=f"New clients join {group.name}",
            before={"default": previous.name if previous else None},
            after={"default": group.name},
        )
    return group


def uses(group: ClientGroup) -> list[str]:
    """What uses the group (its clients, rules, payment methods, trading servers, and what the
    apps above registered); empty: it may be deleted."""
    found: list[str] = []
    members = group.clients.count()
    if members:
        found.append(f"{members} client{'s' if members != 1 else ''}")
    if group.is_default:
        found.append("it is the default group")
    if group.rules.exists():
        found.append("a registration rule")
    for method in group.payment_methods.all()[:3]:
        found.append(f"payment method {method}")
    for server in group.trading_servers.all()[:3]:
        found.append(f"trading server {server}")
    for check in _USES:
        said = check(group)
        if said:
            found.append(said)
    return found


def delete_group(group_id: Any, *, actor: User) -> None:
    """Delete a group nothing uses (see `uses`); a used one is refused, naming its users."""
    require_permission(actor, CLIENTS_GROUPS)
    with transaction.atomic():
        group = ClientGroup.objects.select_for_update().filter(pk=get(group_id).pk).first()
        if group is None:
            raise NotFound("No such client group.")
        used = uses(group)
        if used:
            raise Conflict(f"{group.name} is in use ({'; '.join(used)}): it cannot be deleted.")
        before = _snapshot(group)
        pk = group.pk
        group.delete()
        audit.record(
            actor=actor,
            action=AuditAction.CLIENT_GROUP_DELETE,
            object_type="client_group",
            object_id=pk,
            summary=f"Client group {before['name']} deleted",
            before=before,
        )


# --- members ----------------------------------------------------------------------------------


def assign(client_ids: Any, group_id: Any, *, actor: User) -> int:
    """Move clients (a list of ids, or one id) into a group; answers how many moved (those
    already there are left as they are). One audit row names them all."""
    require_permission(actor, CLIENTS_GROUPS)
    given = client_ids if isinstance(client_ids, list | tuple) else [client_ids]
    if not given:
        raise ValidationFailed(fields={"clients": "Choose at least one client."})
    if len(given) > BULK_MOST:
        raise ValidationFailed(fields={"clients": f"At most {BULK_MOST} clients at once."})
    ids = {parse_id(raw) for raw in given}
    if None in ids:
        raise ValidationFailed(fields={"clients": "Client ids are whole numbers."})
    if group_id in (None, ""):
        raise ValidationFailed(fields={"group": "Choose a group."})
    group = get(group_id)
    with transaction.atomic():
        # The group is locked before its new members are written, so a delete of it at the
        # same instant is either made first (then this is NotFound) or sees them (refused).
        locked = ClientGroup.objects.select_for_update(no_key=True).filter(pk=group.pk).first()
        if locked is None:
            raise NotFound("No such client group.")
        rows = list(
            Client.objects.select_for_update(of=("self",))
            .select_related("group", "user")
            .filter(pk__in=ids)
            .order_by("pk")
        )
        if len(rows) != len(ids):
            raise NotFound("No such client.")
        moving = [c for c in rows if c.group_id != group.pk]
        # By name and email: a group emptied by the move may be deleted next.
        before = {c.user.email: c.group.name if c.group else None for c in moving}
        Client.objects.filter(pk__in=[c.pk for c in moving]).update(group=group)
        if moving:
            audit.record(
                actor=actor,
                action=AuditAction.CLIENT_GROUP_ASSIGN,
                object_type="client_group",
                object_id=group.pk,
                summary=(
                    f"{len(moving)} client{'s' if len(moving) != 1 else ''} moved to {group.name}"
                    if len(moving) > 1
                    else f"{moving[0].user.name} moved to {group.name}"
                ),
                before={"groups": before},
                after={"group": group.name, "clients": sorted(c.pk for c in moving)},
            )
    return len(moving)


# --- registration rules -----------------------------------------------------------------------


def _clean_value(errors: FieldErrors, kind: Any, value: Any) -> str:
    text = clean_text(errors, "value", value, label="Value", max_length=RULE_VALUE_MOST)
    if "value" in errors or kind not in GroupRule.Kind.values:
        return text
    if kind == GroupRule.Kind.COUNTRY:
        text = text.upper()
        if text not in countries:
            errors.add("value", "A country code such as CZ or GB.")
    elif not all(ch.isalnum() or ch in "-_" for ch in text) or not text.isascii():
        errors.add("value", "A code has only letters, digits, - and _.")
    return text


def save_rule(
    rule_id: Any, *, kind: Any, value: Any, group: Any, position: Any = 0, actor: User
) -> GroupRule:
    """Create or change a registration rule: a new client whose country (or referrer's code,
    or promotional link's code) is `value` joins `group`; rules are tried by `position`."""
    require_permission(actor, CLIENTS_GROUPS)
    errors = FieldErrors()
    if kind not in GroupRule.Kind.values:
        errors.add("kind", f"One of: {', '.join(GroupRule.Kind.values)}.")
    text = _clean_value(errors, kind, value)
    wanted = parse_id(group)
    target = ClientGroup.objects.filter(pk=wanted).first() if wanted is not None else None
    if target is None:
        errors.add("group", "Choose a group.")
    order = parse_id(position) if position not in (None, "") else 0
    if order is None or order > 10000:
        errors.add("position", "A whole number from 0 to 10000.")
    current = None
    if rule_id is not None:
        wanted_rule = parse_id(rule_id)
        current = GroupRule.objects.filter(pk=wanted_rule).first() if wanted_rule else None
        if current is None:
            raise NotFound("No such rule.")
    clash = GroupRule.objects.filter(kind=kind, value__iexact=text)
    if current is not None:
        clash = clash.exclude(pk=current.pk)
    if text and "value" not in errors and clash.exists():
        errors.add("value", "A rule for this value already exists.")
    errors.raise_if_any("Please correct the rule.")
    assert target is not None
    try:
        with transaction.atomic():
            rule = current or GroupRule()
            before = (
                audit.snapshot(rule, ["kind", "value", "group", "position"]) if current else None
            )
            rule.kind, rule.value, rule.group, rule.position = kind, text, target, order or 0
            rule.group = hold([target], field="group")[0]  # not deleted meanwhile
            rule.save()
            audit.record(
                actor=actor,
                action=AuditAction.GROUP_RULE_SAVE,
                object_type="group_rule",
                object_id=rule.pk,
                summary=f"Registration rule: {rule}",
                before=before,
                after=audit.snapshot(rule, ["kind", "value", "group", "position"]),
            )
    except IntegrityError as exc:  # two staff adding the same rule at once
        raise ValidationFailed(
            "Please correct the rule.", fields={"value": "A rule for this value already exists."}
        ) from exc
    return rule


def delete_rule(rule_id: Any, *, actor: User) -> None:
    require_permission(actor, CLIENTS_GROUPS)
    wanted = parse_id(rule_id)
    with transaction.atomic():
        rule = GroupRule.objects.select_for_update().filter(pk=wanted).first() if wanted else None
        if rule is None:
            raise NotFound("No such rule.")
        before = audit.snapshot(rule, ["kind", "value", "group", "position"])
        said, pk = str(rule), rule.pk
        rule.delete()
        audit.record(
            actor=actor,
            action=AuditAction.GROUP_RULE_DELETE,
            object_type="group_rule",
            object_id=pk,
            summary=f"Registration rule deleted: {said}",
            before=before,
        )


def group_for_registration(
    *, country: str = "", referrer: str = "", promo_code: str = ""
) -> ClientGroup:
    """The group a new client joins: the first rule (by position) matching their country,
    their referrer's referral code or the promotional link's code; else the default group."""
    given = {
        GroupRule.Kind.COUNTRY: (country or "").strip().casefold(),
        GroupRule.Kind.REFERRER: (referrer or "").strip().casefold(),
        GroupRule.Kind.PROMO_LINK: (promo_code or "").strip().casefold(),
    }
    for rule in GroupRule.objects.select_related("group"):
        wanted = given.get(GroupRule.Kind(rule.kind), "")
        if wanted and rule.value.casefold() == wanted:
            return rule.group
    return default_group()
