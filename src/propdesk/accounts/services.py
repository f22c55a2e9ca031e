"""Use cases for people: logging in, tokens, staff users and roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from propdesk.accounts import throttle, two_factor, zones
from propdesk.accounts.models import ApiToken, Client, ClientNote, Role, User
from propdesk.accounts.permissions import CLIENTS_MANAGE, CLIENTS_NOTE, STAFF_MANAGE
from propdesk.core import audit, permissions
from propdesk.core.audit import AuditAction
from propdesk.core.errors import (
    DomainError,
    Forbidden,
    InvalidCredentials,
    NotFound,
    ValidationFailed,
)
from propdesk.core.permissions import require_permission
from propdesk.core.status import move_status
from propdesk.core.text import email_key
from propdesk.core.validation import FieldErrors, check_password, clean_email, clean_text


class RegistrationPending(DomainError):
    status = 403
    code = "registration_pending"
    default_message = gettext_lazy(
        "Your registration is awaiting approval. We will email you once it is reviewed."
    )


class RegistrationRejected(DomainError):
    status = 403
    code = "registration_rejected"
    default_message = gettext_lazy("Your registration was not approved.")


class AccountSuspended(DomainError):
    status = 403
    code = "account_suspended"
    default_message = gettext_lazy("Your account is suspended. Please contact the firm's support.")


class EmailNotVerified(DomainError):
    status = 403
    code = "email_not_verified"
    default_message = gettext_lazy(
        "Please verify your email first: follow the link in the email we sent you."
    )


# What other apps do when a client is suspended (True) or reactivated (False), in the same
# transaction: challenges hold the client's running stages. Each says what it did, for the audit.
ClientStatusHook = Callable[[Client, bool], str]
_client_status_hooks: list[ClientStatusHook] = []


def on_client_status(hook: ClientStatusHook) -> ClientStatusHook:
    if hook not in _client_status_hooks:
        _client_status_hooks.append(hook)
    return hook


# How an event of the notifications' catalogue is raised from here (`client.suspended`): the
# notifications app adds its `emit` when it loads. Called in the acting transaction.
class Announcer(Protocol):
    def __call__(self, key: str, *, user: User, data: dict[str, Any]) -> object: ...


_announcers: list[Announcer] = []


def add_announcer(announcer: Announcer) -> Announcer:
    if announcer not in _announcers:
        _announcers.append(announcer)
    return announcer


def announce(key: str, *, user: User, data: dict[str, Any]) -> None:
    for announcer in _announcers:
        announcer(key, user=user, data=data)


def client_login_block(client: Client) -> DomainError | None:
    """Why this client may not use the portal now, if anything stops them. A firm may require
    a verified email (PROPDESK_REQUIRE_EMAIL_VERIFICATION) before a client logs in."""
    if (
        settings.PROPDESK_REQUIRE_EMAIL_VERIFICATION
        and client.user.email_verified_at is None
        and client.status in (Client.Status.PENDING_APPROVAL, Client.Status.ACTIVE)
    ):
        return EmailNotVerified(
            gettext(
                "Please verify your email first: follow the link in the email we sent you. "
                "No email? Ask for the link again."
            )
        )
    if client.status == Client.Status.PENDING_APPROVAL:
        return RegistrationPending()
    if client.status == Client.Status.REJECTED:
        reason = client.rejection_reason
        message = (
            gettext("Your registration was not approved: %(reason)s") % {"reason": reason}
            if reason
            else None  # the default message
        )
        return RegistrationRejected(message, extra={"reason": reason})
    if client.status == Client.Status.SUSPENDED:
        return AccountSuspended()
    return None


def authenticate(*, email: Any, password: Any, ip: str | None, device: str = "") -> User:
    """Check the credentials under the login throttle (`device`: the id of the known device the
    browser presented for this email, if any); a client must also be allowed into the portal."""
    address = email_key(email) if isinstance(email, str) else ""  # as clean_email stores it
    if not address or not isinstance(password, str) or not password:
        raise ValidationFailed(
            gettext("Enter your email and password."),
            fields={
                **({"email": gettext("Email is required.")} if not address else {}),
                **({"password": gettext("Password is required.")} if not password else {}),
            },
        )
    if not address.isprintable() or len(address) > 254 or len(password) > 4096:
        raise InvalidCredentials()
    user = User.objects.select_related("role", "client").filter(email__iexact=address).first()

    def verify() -> User | None:
        if user is None:
            make_password(password)  # spend the same time as a real check: no probing for accounts
            return None
        return user if user.check_password(password) and user.is_active else None

    # An account with a second factor is not slowed down by failures from everywhere: a right
    # password alone does not open it, so guessers cannot keep its owner out either.
    enrolled = user is not None and two_factor.is_enrolled(user)
    attempt = throttle.Attempt(account=address, ip=ip, device=device, second_factor=enrolled)
    found = throttle.guarded(attempt, verify)
    if found is None:
        raise InvalidCredentials()
    if found.is_client:
        block = client_login_block(found.client)
        if block is not None:
            raise block
    User.objects.filter(pk=found.pk).update(last_login=timezone.now())
    return found


def issue_token(user: User, *, label: str = "", otp: Any = None) -> str:
    """A bearer token for `user`, whose password was right. Staff with two-factor login give
    its code as `otp`; the token remembers whether they did."""
    passed = two_factor.token_second_factor(user, otp)
    _token, raw = ApiToken.objects.issue(user, label=label, two_factor=passed)
    return raw


def revoke_token(raw: str) -> None:
    token = ApiToken.objects.find(raw)
    if token is not None:
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())


def user_for_token(raw: str) -> User | None:
    """The user of a live token; a staff token issued without the second factor is refused
    (401 two_factor_required / 403 two_factor_setup_required) once one is owed."""
    token = ApiToken.objects.find(raw)
    if token is None or not token.user.is_active:
        return None
    user = token.user
    if user.is_client and client_login_block(user.client) is not None:
        return None
    if user.is_staff_user and not token.two_factor:
        # Issued without the second factor: good only while none is owed.
        if two_factor.is_enrolled(user):
            raise two_factor.TwoFactorRequired(
                "This token was issued without the second factor. Get a new one from "
                "POST /api/v1/auth/token with your code as `otp`."
            )
        if two_factor.is_required(user):
            raise two_factor.TwoFactorSetupRequired()
    now = timezone.now()
    # Touch at most once a minute: a busy script should not write on every call.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return user


def _check_can_grant(actor: User | None, role: Role | None, codes: list[str] | None = None) -> None:
    """Nobody hands out more than they hold: no climbing to Administrator through staff.manage."""
    if actor is None or (actor.role is not None and actor.role.grants_all):
        return
    mine = set(actor.role.permission_codes()) if actor.role else set()
    wanted = set(codes or [])
    if role is not None:
        if role.grants_all:
            raise Forbidden(gettext("Only an Administrator can give the Administrator role."))
        wanted |= set(role.permission_codes())
    if not wanted <= mine:
        missing = ", ".join(sorted(wanted - mine))
        raise Forbidden(f"You cannot give permissions you do not hold yourself ({missing}).")


def _staff_snapshot(user: User) -> dict[str, Any]:
    # The role by its name, which the log's reader knows (roles are renamed rarely, ids mean
    # nothing to them).
    role = user.role.name if user.role else None
    return audit.snapshot(user, ["email", "name"], role=role, is_active=user.is_active)


@transaction.atomic
def create_staff_user(
    *, email: Any, name: Any, role_name: Any, password: Any, actor: User | None
) -> User:
    """Add a back-office user. `actor` None is the installer's first administrator (CLI)."""
    if actor is not None:
        require_permission(actor, STAFF_MANAGE)
    errors = FieldErrors()
    address = clean_email(errors, "email", email)
    display = clean_text(errors, "name", name, label="Name", max_length=150, required=False)
    wanted = role_name.strip() if isinstance(role_name, str) and role_name.isprintable() else ""
    role = Role.objects.filter(name__iexact=wanted).first() if wanted else None
    if role is None:
        names = ", ".join(Role.objects.values_list("name", flat=True))
        errors.add("role", f"Unknown role. Choose one of: {names}.")
    if "email" not in errors and User.objects.filter(email__iexact=address).exists():
        errors.add("email", gettext("A user with this email already exists."))
    check_password(errors, "password", password, User(email=address, name=display))
    errors.raise_if_any()
    _check_can_grant(actor, role)
    user = User(email=address, name=display or address.split("@")[0], kind=User.Kind.STAFF)
    user.role = role
    user.set_password(password)
    user.save()
    audit.record(
        actor=actor,
        action=AuditAction.STAFF_CREATE,
        object_type="user",
        object_id=user.pk,
        summary=f"Staff user {user.email} created with role {role}",
        after=_staff_snapshot(user),
    )
    return user


@transaction.atomic
def update_staff_user(user_id: int, *, role_id: Any, is_active: bool, actor: User) -> User:
    require_permission(actor, STAFF_MANAGE)
    user = User.objects.select_for_update().filter(pk=user_id, kind=User.Kind.STAFF).first()
    if user is None:
        raise NotFound(gettext("No such staff user."))
    role = Role.objects.filter(pk=role_id).first() if str(role_id or "").isdigit() else None
    if role is None:
        raise ValidationFailed(fields={"role": "Choose a role."})
    _check_can_grant(actor, role)
    _check_can_grant(actor, user.role)
    if user.pk == actor.pk and (not is_active or not role.has_permission(STAFF_MANAGE)):
        raise ValidationFailed(
            gettext("You cannot lock yourself out: another administrator must do this."),
            fields={"role": "You cannot remove your own staff management."},
        )
    before = _staff_snapshot(user)
    user.role = role
    user.is_active = is_active
    user.save(update_fields=["role", "is_active"])
    after = _staff_snapshot(user)
    if before != after:
        audit.record(
            actor=actor,
            action=AuditAction.STAFF_UPDATE,
            object_type="user",
            object_id=user.pk,
            summary=f"Staff user {user.email} changed",
            before=before,
            after=after,
        )
    return user


@transaction.atomic
def reset_two_factor(user_id: int, *, actor: User | None, reason: Any) -> User:
    """Turn off another staff member's two-factor login (a lost phone) so they can log in with
    the password and enrol again. `actor` None is the server's operator (CLI)."""
    if actor is not None:
        require_permission(actor, STAFF_MANAGE)
    errors = FieldErrors()
    text = clean_text(errors, "reason", reason, label="Reason", max_length=500)
    errors.raise_if_any(gettext("Say why the two-factor login is reset."))
    user = (
        User.objects.select_for_update(of=("self",))
        .select_related("role")
        .filter(pk=user_id, kind=User.Kind.STAFF)
        .first()
    )
    if user is None:
        raise NotFound(gettext("No such staff user."))
    if actor is not None and user.pk == actor.pk:
        raise Forbidden(
            gettext("You cannot reset your own two-factor login: another administrator must do it.")
        )
    _check_can_grant(actor, user.role)
    if not two_factor.remove_devices(user):
        raise ValidationFailed(f"{user.email} has no two-factor login to reset.")
    # The phone may have gone with a laptop: the tokens got with its codes go with it.
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    audit.record(
        actor=actor,
        action=AuditAction.STAFF_RESET_TWO_FACTOR,
        object_type="user",
        object_id=user.pk,
        summary=f"Two-factor login of {user.email} reset: {text}",
        before={"two_factor": True},
        after={"two_factor": False, "reason": text, "api_tokens_revoked": revoked},
    )
    return user


def _role_snapshot(role: Role) -> dict[str, Any]:
    return audit.snapshot(
        role,
        ["name", "description"],
        permissions=role.permission_codes(),
        requires_two_factor=role.requires_two_factor,
    )


@transaction.atomic
def save_role(
    role_id: int | None,
    *,
    name: Any,
    description: Any,
    permission_codes: list[str],
    actor: User,
    requires_two_factor: bool | None = None,
) -> Role:
    """Create a role (role_id None) or change one; the Administrator role holds everything and
    keeps its name, and only its description and two-factor requirement change.
    `requires_two_factor` None leaves the requirement as it is (off for a new role)."""
    require_permission(actor, STAFF_MANAGE)
    errors = FieldErrors()
    clean_name = clean_text(errors, "name", name, label="Name", max_length=60)
    clean_description = clean_text(
        errors, "description", description, label="Description", max_length=200, required=False
    )
    unknown = [code for code in permission_codes if not permissions.is_known(code)]
    if unknown:
        errors.add("permissions", f"Unknown permissions: {', '.join(sorted(unknown))}.")
    role = None
    if role_id is not None:
        role = Role.objects.select_for_update().filter(pk=role_id).first()
        if role is None:
            raise NotFound(gettext("No such role."))
        if role.grants_all and (
            clean_name != role.name or set(permission_codes) != set(permissions.catalogue())
        ):
            raise ValidationFailed(
                gettext("The Administrator role always holds every permission and keeps its name.")
            )
    clash = Role.objects.filter(name__iexact=clean_name)
    if role is not None:
        clash = clash.exclude(pk=role.pk)
    if clean_name and clash.exists():
        errors.add("name", gettext("A role with this name already exists."))
    errors.raise_if_any()
    _check_can_grant(actor, role, permission_codes)
    if role is not None and role.pk == actor.role_id and STAFF_MANAGE not in permission_codes:
        raise ValidationFailed(
            gettext("You cannot lock yourself out: another administrator must do this."),
            fields={"permissions": "Your own role must keep staff management."},
        )
    before = _role_snapshot(role) if role is not None else None
    if role is None:
        role = Role()
    role.name = clean_name
    role.description = clean_description
    if not role.grants_all:
        role.permissions = sorted(set(permission_codes))
    if requires_two_factor is not None:
        role.requires_two_factor = bool(requires_two_factor)
    role.save()
    after = _role_snapshot(role)
    if before != after:
        audit.record(
            actor=actor,
            action=AuditAction.ROLE_CREATE if before is None else AuditAction.ROLE_UPDATE,
            object_type="role",
            object_id=role.pk,
            summary=f"Role {role.name} {'created' if before is None else 'changed'}",
            before=before,
            after=after,
        )
    return role


def _client_snapshot(client: Client) -> dict[str, Any]:
    return audit.snapshot(client, ["status", "rejection_reason"])


@transaction.atomic
def set_client_suspended(
    client_id: int, *, suspended: bool, actor: User, reason: Any = ""
) -> Client:
    """Suspend an active client (they are logged out at once) or reactivate a suspended one."""
    require_permission(actor, CLIENTS_MANAGE)
    errors = FieldErrors()
    text = clean_text(errors, "reason", reason, label="Reason", max_length=500, required=suspended)
    errors.raise_if_any(gettext("Say why the client is suspended."))
    # The client's row only: a monitor batch telling this client of a stage it decided (a
    # notification row referring to the user) would otherwise wait for the user's row while
    # this waits for the batch's stage, a deadlock.
    client = (
        Client.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk=client_id)
        .first()
    )
    if client is None:
        raise NotFound(gettext("No such client."))
    before = _client_snapshot(client)
    new = Client.Status.SUSPENDED if suspended else Client.Status.ACTIVE
    move_status(client, new, Client.TRANSITIONS, what="client")
    client.save(update_fields=["status"])
    if suspended:
        ApiToken.objects.filter(user=client.user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    effects = [said for hook in _client_status_hooks if (said := hook(client, suspended))]
    audit.record(
        actor=actor,
        action=AuditAction.CLIENT_SUSPEND if suspended else AuditAction.CLIENT_REACTIVATE,
        object_type="client",
        object_id=client.pk,
        summary=f"Client {client.user.email} {'suspended' if suspended else 'reactivated'}"
        + (f": {text}" if text else "")
        + "".join(f"; {said}" for said in effects),
        before=before,
        after={**_client_snapshot(client), "reason": text, "effects": effects},
    )
    if suspended:
        announce("client.suspended", user=client.user, data={"reason": text})
    else:
        announce("client.reactivated", user=client.user, data={})
    return client


def set_time_zone(client: Client, time_zone: Any) -> Client:
    """A client chooses the time zone their portal shows times in (an IANA name; empty: the
    firm's). A name this system does not know, or anything but text, is refused and nothing
    changes. Their own preference: no audit row."""
    errors = FieldErrors()
    name = zones.clean_time_zone(errors, "time_zone", time_zone)
    errors.raise_if_any(gettext("Please choose a time zone from the list."))
    Client.objects.filter(pk=client.pk).update(time_zone=name)
    client.time_zone = name
    return client


def set_language(client: Client, language: Any) -> Client:
    """A client chooses the language of their portal and emails (settings.LANGUAGES). A code
    this system has no catalogue for, or anything but text, is refused and nothing changes.
    Their own preference: no audit row."""
    known = {lang for lang, _ in settings.LANGUAGES}
    if not isinstance(language, str) or language not in known:
        raise ValidationFailed(
            gettext("Please choose a language from the list."),
            fields={"language": gettext("Choose one of the languages offered.")},
        )
    User.objects.filter(pk=client.user_id).update(language=language)
    client.user.language = language
    return client


NOTE_MOST = 2000


def add_client_note(client_id: int, *, actor: User, text: Any) -> ClientNote:
    """A staff note on a client, with its author and time; audited, never edited."""
    require_permission(actor, CLIENTS_NOTE)
    errors = FieldErrors()
    said = clean_text(
        errors, "text", text, label="Note", max_length=NOTE_MOST, required=True, multiline=True
    )
    errors.raise_if_any(gettext("The note is not valid."))
    with transaction.atomic():
        client = Client.objects.select_related("user").filter(pk=client_id).first()
        if client is None:
            raise NotFound(gettext("No such client."))
        note = ClientNote.objects.create(client=client, author=actor, text=said)
        audit.record(
            actor=actor,
            action=AuditAction.CLIENT_NOTE,
            object_type="client",
            object_id=client.pk,
            summary=f"Note on {client.user.email}: {said[:200]}",
            after={"note": note.pk, "text": said},
        )
    return note


def client_notes(client: Client) -> list[ClientNote]:
    """The client's notes, newest first, with their authors."""
    return list(client.notes.select_related("author")[:50])
