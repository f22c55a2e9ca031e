"""Two-factor login for staff: an authenticator app (TOTP) and one-time recovery codes, both kept
by django-otp. The staff member's own use cases (enrol, recovery codes, turn off), the login's
second step, API tokens, and the gate that keeps a session out until it has given the second
factor.

A wrong code is written down (django-otp's throttle) in a transaction of its own that commits
before the error is raised: raising inside the transaction would undo the count.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY, verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticToken

from propdesk.accounts.models import Authenticator, RecoveryCodes, User
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import (
    DomainError,
    Forbidden,
    NotAuthenticated,
    Throttled,
    ValidationFailed,
)

RECOVERY_CODE_COUNT = 10
# django-otp's recovery codes: 8 characters of lower-case base32 (40 random bits each).
_RECOVERY_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz234567")
T = TypeVar("T")


class TwoFactorRequired(DomainError):
    status = 401
    code = "two_factor_required"
    default_message = "Give the code from your authenticator app, or a recovery code."


class TwoFactorSetupRequired(DomainError):
    status = 403
    code = "two_factor_setup_required"
    default_message = (
        "Your role requires two-factor login. Set it up in the back office first "
        "(Two-factor login, under your email in the menu)."
    )


class InvalidCode(DomainError):
    status = 401
    code = "invalid_two_factor_code"
    default_message = "That code is not right."


WRONG_CODE = "That code is not right. Type the code your app shows now, or a recovery code."


# --- who owes a second factor ----------------------------------------------------------------


def is_enrolled(user: User) -> bool:
    """The user has a confirmed authenticator: every login then asks for a code."""
    return Authenticator.objects.filter(user=user, confirmed=True).exists()


def is_required(user: User) -> bool:
    """The user's role requires two-factor login (enrolled or not yet)."""
    return user.is_staff_user and user.role is not None and user.role.requires_two_factor


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user).count()


class Gate(enum.Enum):
    OPEN = "open"  # nothing owed, or the session gave the second factor
    VERIFY = "verify"  # enrolled, but this session never gave a code: log in again
    ENROL = "enrol"  # the role requires it and nothing is enrolled: only enrolment is open


def session_device(session: SessionBase, user: User) -> Device | None:
    """The device this session gave its second factor with, if it is still the user's."""
    persistent_id = session.get(DEVICE_ID_SESSION_KEY)
    if not isinstance(persistent_id, str):
        return None
    device = Device.from_persistent_id(persistent_id)
    if device is None or device.user_id != user.pk or not device.confirmed:
        return None
    return device


def session_gate(session: SessionBase, user: User) -> Gate:
    if not user.is_staff_user or session_device(session, user) is not None:
        return Gate.OPEN
    if is_enrolled(user):
        return Gate.VERIFY
    if is_required(user):
        return Gate.ENROL
    return Gate.OPEN


# --- checking a code -------------------------------------------------------------------------


def _parse_code(code: Any, field: str) -> tuple[type[Authenticator] | type[RecoveryCodes], str]:
    """Which kind of code this is: 6 digits (the app) or 8 base32 characters (recovery)."""
    text = code if isinstance(code, str) else ""
    compact = "".join(text.split()).replace("-", "").lower()
    if not compact:
        raise ValidationFailed(
            "Enter a code.",
            fields={field: "Enter the 6-digit code from your authenticator app."},
        )
    if len(compact) == 6 and compact.isascii() and compact.isdigit():
        return Authenticator, compact
    if len(compact) == 8 and set(compact) <= _RECOVERY_ALPHABET:
        return RecoveryCodes, compact
    raise ValidationFailed(
        "That is not a code.",
        fields={
            field: "A code is the 6 digits your authenticator app shows, "
            "or a recovery code of 8 letters and digits."
        },
    )


def _refuse_while_throttled(device: Device) -> None:
    allowed, info = device.verify_is_allowed()
    if allowed:
        return
    wait = math.ceil((info["locked_until"] - timezone.now()).total_seconds()) if info else 1
    wait = max(wait, 1)
    raise Throttled(
        f"Too many wrong codes. Try again in {wait} second{'' if wait == 1 else 's'}.",
        extra={"retry_after": wait},
    )


_UNSET = object()


def _lock(user: User) -> None:
    """One check or change of a user's second factor at a time (the user's row first, then
    the device's, in every path)."""
    User.objects.select_for_update().filter(pk=user.pk).first()


def _with_code(
    user: User,
    code: Any,
    change: Callable[[Device], T],
    *,
    field: str = "code",
    device: Device | None = None,
) -> T:
    """Check `code` against the user's device of its kind (or `device`), and when it is right
    make `change` in the same transaction as the code's use; a wrong code is counted."""
    kind, token = _parse_code(code, field)
    if device is None:
        device = kind.objects.filter(user=user, confirmed=True).first()
    elif not isinstance(device, kind):
        raise ValidationFailed(fields={field: "Enter the 6-digit code your app shows."})
    if device is None:
        raise InvalidCode(WRONG_CODE, fields={field: WRONG_CODE})
    _refuse_while_throttled(device)
    result: Any = _UNSET
    with transaction.atomic():
        _lock(user)
        verified = verify_token(user, device.persistent_id, token)
        if verified is not None:
            result = change(verified)
    if result is _UNSET:
        raise InvalidCode(WRONG_CODE, fields={field: WRONG_CODE})
    return result


def _used_recovery_code(user: User, device: Device) -> None:
    if isinstance(device, RecoveryCodes):
        left = recovery_codes_left(user)
        audit.record(
            actor=user,
            action=AuditAction.TWO_FACTOR_USE_RECOVERY_CODE,
            object_type="user",
            object_id=user.pk,
            summary=f"{user.email} logged in with a recovery code ({left} left)",
            after={"recovery_codes_left": left},
        )


@dataclass(frozen=True)
class SecondFactor:
    user: User
    device: Device
    recovery_codes_left: int | None  # when a recovery code was used


def verify_login(user_id: int, code: Any) -> SecondFactor:
    """The second step of a login: the user whose password was right gives a code."""
    user = User.objects.select_related("role").filter(pk=user_id, is_active=True).first()
    if user is None or not is_enrolled(user):
        raise NotAuthenticated("Log in again.")

    def passed(device: Device) -> Device:
        _used_recovery_code(user, device)
        return device

    device = _with_code(user, code, passed)
    left = recovery_codes_left(user) if isinstance(device, RecoveryCodes) else None
    return SecondFactor(user=user, device=device, recovery_codes_left=left)


def token_second_factor(user: User, otp: Any) -> bool:
    """Whether a new API token for `user` comes with the second factor; refuses a staff member
    who owes one and did not give it (`otp`)."""
    if not user.is_staff_user:
        return False
    if is_enrolled(user):
        if otp is None or (isinstance(otp, str) and not otp.strip()):
            raise TwoFactorRequired(
                "This account uses two-factor login: send the code from the authenticator "
                "app (or a recovery code) as `otp`."
            )
        _with_code(user, otp, lambda device: _used_recovery_code(user, device), field="otp")
        return True
    if is_required(user):
        raise TwoFactorSetupRequired()
    return False


# --- the staff member's own security page ----------------------------------------------------


def _require_staff(actor: User) -> None:
    if not actor.is_staff_user:
        raise Forbidden("Two-factor login is for the firm's staff.")


def pending_enrolment(user: User) -> Authenticator | None:
    """The authenticator being set up, while its code is still awaited."""
    since = timezone.now() - timedelta(seconds=settings.TWO_FACTOR_ENROLMENT_SECONDS)
    return (
        Authenticator.objects.filter(user=user, confirmed=False, created_at__gte=since)
        .order_by("-pk")
        .first()
    )


def begin_enrolment(*, actor: User, code: Any = None) -> Authenticator:
    """A new authenticator secret to scan, confirmed only by its first right code. Replacing an
    enrolled one first needs a current code (the old app's, or a recovery code)."""
    _require_staff(actor)

    def create(_device: Device | None) -> Authenticator:
        _lock(actor)
        Authenticator.objects.filter(user=actor, confirmed=False).delete()
        return Authenticator.objects.create(user=actor, name="Authenticator app", confirmed=False)

    if is_enrolled(actor):
        return _with_code(actor, code, create)
    with transaction.atomic():
        return create(None)


def _new_recovery_codes(user: User) -> list[str]:
    """A fresh set of codes; the old ones stop working. Shown once, never again."""
    device = RecoveryCodes.objects.filter(user=user).first()
    if device is None:
        device = RecoveryCodes.objects.create(user=user, name="Recovery codes")
    device.token_set.all().delete()
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODE_COUNT:
        codes.add(StaticToken.random_token())
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in sorted(codes))
    device.throttle_reset()
    return [f"{c[:4]}-{c[4:]}" for c in sorted(codes)]


def confirm_enrolment(*, actor: User, code: Any) -> tuple[Device, list[str]]:
    """The first right code from the new app turns two-factor login on (or moves it to the new
    app); returns the authenticator and the new recovery codes."""
    _require_staff(actor)
    device = pending_enrolment(actor)
    if device is None:
        raise ValidationFailed(
            "The set-up expired. Start again.",
            fields={"code": "The set-up expired. Start again."},
        )

    def confirm(confirmed: Device) -> tuple[Device, list[str]]:
        replaced = Authenticator.objects.filter(user=actor).exclude(pk=confirmed.pk).delete()[0]
        confirmed.confirmed = True
        confirmed.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(actor)
        audit.record(
            actor=actor,
            action=AuditAction.TWO_FACTOR_REPLACE if replaced else AuditAction.TWO_FACTOR_ENROL,
            object_type="user",
            object_id=actor.pk,
            summary=f"{actor.email} "
            + ("moved two-factor login to a new app" if replaced else "turned two-factor login on"),
            after={"two_factor": True, "recovery_codes": len(codes)},
        )
        return confirmed, codes

    return _with_code(actor, code, confirm, device=device)


def regenerate_recovery_codes(*, actor: User, code: Any) -> list[str]:
    """New recovery codes for a current code; the old codes stop working."""
    _require_staff(actor)
    if not is_enrolled(actor):
        raise ValidationFailed("Turn two-factor login on first.")

    def regenerate(_device: Device) -> list[str]:
        codes = _new_recovery_codes(actor)
        audit.record(
            actor=actor,
            action=AuditAction.TWO_FACTOR_REGENERATE_RECOVERY_CODES,
            object_type="user",
            object_id=actor.pk,
            summary=f"{actor.email} made new recovery codes (the old ones no longer work)",
            after={"recovery_codes": len(codes)},
        )
        return codes

    return _with_code(actor, code, regenerate)


def remove_devices(user: User) -> bool:
    """Forget the user's authenticator and recovery codes; whether they had two-factor on."""
    had = is_enrolled(user)
    Authenticator.objects.filter(user=user).delete()
    RecoveryCodes.objects.filter(user=user).delete()
    return had


def disable(*, actor: User, code: Any) -> None:
    """Turn two-factor login off with a current code; refused while the role requires it."""
    _require_staff(actor)
    if is_required(actor):
        raise Forbidden("Your role requires two-factor login: it cannot be turned off.")
    if not is_enrolled(actor):
        raise ValidationFailed("Two-factor login is already off.")

    def turn_off(_device: Device) -> None:
        remove_devices(actor)
        audit.record(
            actor=actor,
            action=AuditAction.TWO_FACTOR_DISABLE,
            object_type="user",
            object_id=actor.pk,
            summary=f"{actor.email} turned two-factor login off",
            before={"two_factor": True},
            after={"two_factor": False},
        )

    _with_code(actor, code, turn_off)
