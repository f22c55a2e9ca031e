"""Account recovery and verification: a password reset through an emailed link, a client's
email verified through one, and a password changed by its owner.

A reset link carries the user's id (base64) and a token of Django's token machinery: an HMAC of
the user's id, password hash, last login, email and the time it was made. Setting the password
or logging in changes what the token was made from, so a link works once; it expires after
PASSWORD_RESET_TIMEOUT. Asking for one answers alike whether the address has an account or not
(the same work is done, only no email leaves); the asks are counted per email and per address
(`throttle.count_request`), apart from failed logins. A new password, by reset or by change,
ends the user's other sessions (Django's session hash follows the password hash), revokes their
API tokens, leaves their second factor as it is, is audited, and they are told by email.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext, gettext_lazy, ngettext

from propdesk.accounts import mail, throttle
from propdesk.accounts.models import ApiToken, Client, User
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import DomainError, Forbidden, Throttled, ValidationFailed
from propdesk.core.text import email_key
from propdesk.core.validation import FieldErrors, check_password

RESET = "reset"  # the throttle's realms: reset emails and verification emails asked for
VERIFY = "verify"
CHANGE = "change"  # wrong current passwords given to change one's password
_VERIFY_SALT = "propdesk.accounts.verify-email"
_BIGGEST_ID = 2**63 - 1


class InvalidLink(DomainError):
    status = 400
    code = "invalid_link"
    default_message = gettext_lazy("This link is not valid.")


class ResetTokens(PasswordResetTokenGenerator):
    """Django's reset tokens, on the site's clock (django.utils.timezone): the same clock as
    the rest of propdesk."""

    def _now(self) -> datetime:
        return timezone.now().replace(tzinfo=None)


reset_tokens = ResetTokens()


# --- asking for a reset link -----------------------------------------------------------------


def _clean_address(email: Any) -> str:
    """The address as accounts store it; a form error only for what is no address at all (the
    same for every address, so it tells nothing about accounts)."""
    address = email_key(email) if isinstance(email, str) and len(email) <= 1000 else ""
    if not address or len(address) > 254 or not address.isprintable() or "@" not in address:
        raise ValidationFailed(fields={"email": gettext("Enter a valid email address.")})
    return address


def may_reset(user: User) -> bool:
    """Whether `user` may set a password by an emailed link: an active account, and for a
    client one the firm has not suspended or turned down."""
    if not user.is_active:
        return False
    if user.is_client:
        client = Client.objects.filter(user=user).only("status").first()
        return client is not None and client.status not in (
            Client.Status.SUSPENDED,
            Client.Status.REJECTED,
        )
    return True


def reset_path(user: User, token: str) -> str:
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    return reverse("password_reset", kwargs={"uidb64": uidb64, "token": token})


def _reset_email(user: User, token: str) -> tuple[str, str]:
    with mail.in_language_of(user):
        minutes = max(1, settings.PASSWORD_RESET_TIMEOUT // 60)
        subject = gettext("Reset your password")
        body = gettext(
            "Someone (we hope you) asked to reset the password of your account.\n\n"
            "To choose a new password, open this link within %(minutes)d minutes:\n"
            "%(link)s\n\n"
            "The link works once. If you did not ask for it, ignore this email: your "
            "password stays as it is."
        ) % {"minutes": minutes, "link": mail.site_link(reset_path(user, token))}
    return subject, body


def request_password_reset(*, email: Any, ip: str | None, device: str = "") -> None:
    """Send a reset link to `email` if it is an account that may reset its password. The caller
    says the same thing whatever happened: nothing here tells whether the account exists (a
    throttled ask is refused alike for every address). `device`: the id of the known device the
    browser presented for this email (`devices.known_device`), which strangers' asks cannot
    hold up."""
    address = _clean_address(email)
    throttle.count_request(
        RESET,
        address,
        ip,
        per_account=settings.RECOVERY_MAX_PER_EMAIL,
        per_ip=settings.RECOVERY_MAX_PER_IP,
        device=device,
    )
    user = User.objects.filter(email__iexact=address).first()
    with transaction.atomic():
        if user is not None and may_reset(user):
            subject, body = _reset_email(user, reset_tokens.make_token(user))
            mail.send(user, subject, body)
        else:
            # The same work as for an account (a token, a rendered email), and no email.
            nobody = User(pk=0, email=address, language=settings.LANGUAGE_CODE)
            _reset_email(nobody, reset_tokens.make_token(nobody))


# --- following a reset link ------------------------------------------------------------------


def reset_link_user(uidb64: Any, token: Any) -> User | None:
    """The user a reset link is good for; None for a malformed, used, expired or foreign one, or
    an account that may no longer reset its password."""
    if not isinstance(uidb64, str) or not isinstance(token, str):
        return None
    if not 0 < len(uidb64) <= 24 or not 0 < len(token) <= 100:
        return None
    try:
        text = urlsafe_base64_decode(uidb64).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= _BIGGEST_ID:
        return None
    user = User.objects.select_related("role").filter(pk=int(text)).first()
    if user is None or not may_reset(user) or not reset_tokens.check_token(user, token):
        return None
    return user


def invalid_link() -> InvalidLink:
    return InvalidLink(
        gettext(
            "This password-reset link is not valid: it was used already, it has expired, or it "
            "was not copied whole. Ask for a new one."
        )
    )


def reset_password(*, uidb64: Any, token: Any, password: Any) -> User:
    """Set the password of the link's user. The link stops working; the user's sessions end and
    their API tokens are revoked; two-factor login stays on (the next login asks for the code)."""
    user = reset_link_user(uidb64, token)
    if user is None:
        raise invalid_link()
    errors = FieldErrors()
    check_password(errors, "new_password", password, user)
    errors.raise_if_any(gettext("Please choose another password."))
    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=user.pk).first()
        # Two tabs posting the same link at once: the second finds the token spent.
        if locked is None or not reset_tokens.check_token(locked, token):
            raise invalid_link()
        verified = locked.email_verified_at is None  # the link came to this address
        _set_password(locked, password, AuditAction.PASSWORD_RESET, verified=verified)
    return locked


# --- changing one's own password -------------------------------------------------------------


def change_password(*, actor: User, current: Any, new: Any, ip: str | None = None) -> int:
    """The logged-in user sets a new password, giving the current one. Their other sessions
    end (the caller keeps this one: update_session_auth_hash) and their API tokens are revoked;
    how many were revoked. Wrong current passwords are throttled like failed logins (in their
    own realm, so they never slow the owner's login): a borrowed session cannot be used to
    guess the password."""
    if not actor.is_authenticated or not actor.is_active:
        raise Forbidden()
    errors = FieldErrors()
    if not isinstance(current, str) or not current or len(current) > 4096:
        errors.add("current_password", gettext("Enter your current password."))
    else:
        attempt = throttle.Attempt(account=email_key(actor.email), ip=ip, realm=CHANGE)
        try:
            right = throttle.guarded(attempt, lambda: actor.check_password(current) or None)
        except Throttled as exc:
            seconds = int(exc.extra.get("retry_after", 1))
            message = ngettext(
                "Too many wrong passwords. Try again in %(seconds)d second.",
                "Too many wrong passwords. Try again in %(seconds)d seconds.",
                seconds,
            ) % {"seconds": seconds}
            raise Throttled(message, extra=exc.extra) from None
        if right is None:
            errors.add("current_password", gettext("That is not your current password."))
    if "current_password" not in errors:
        check_password(errors, "new_password", new, actor)
        if isinstance(new, str) and new == current:
            errors.add("new_password", gettext("Choose a password other than your current one."))
    errors.raise_if_any(gettext("Please correct the marked fields."))
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=actor.pk)
        revoked = _set_password(locked, new, AuditAction.PASSWORD_CHANGE)
    actor.password = locked.password  # the caller's copy: its session hash follows
    return revoked


def _set_password(user: User, password: str, action: AuditAction, *, verified: bool = False) -> int:
    """In the acting transaction: the new password, API tokens revoked, the audit row and the
    notice. Django's session hash is made from the password hash, so every session logged in
    with the old password ends at its next request."""
    user.set_password(password)
    fields = ["password"]
    if verified:
        user.email_verified_at = timezone.now()
        fields.append("email_verified_at")
    user.save(update_fields=fields)
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    how = "reset through an emailed link" if action is AuditAction.PASSWORD_RESET else "changed"
    audit.record(
        actor=user,
        action=action,
        object_type="user",
        object_id=user.pk,
        summary=f"{user.email}'s password {how}; sessions ended, {revoked} API token(s) revoked",
        after={"sessions_ended": True, "api_tokens_revoked": revoked},
    )
    with mail.in_language_of(user):
        subject = gettext("Your password was changed")
        body = gettext(
            "The password of your account %(email)s was just changed. Every other device "
            "logged in to your account was logged out, and your API tokens were revoked.\n\n"
            "If you did not change it, reset your password at once (%(link)s) and contact "
            "the firm's support."
        ) % {"email": user.email, "link": mail.site_link(reverse("password_forgot"))}
    mail.send(user, subject, body)
    return revoked


# --- verifying a client's email --------------------------------------------------------------


def _email_digest(user: User) -> str:
    # A link is for the address it was sent to: a changed email needs a new link.
    return signing.Signer(salt=_VERIFY_SALT).signature(user.email.lower())[:16]


def verification_token(user: User) -> str:
    payload = {"u": user.pk, "e": _email_digest(user), "t": int(timezone.now().timestamp())}
    return signing.dumps(payload, salt=_VERIFY_SALT, compress=True)


def send_verification(user: User) -> None:
    """Email `user` the link that verifies their address (in the acting transaction: the email
    leaves once it commits)."""
    link = mail.site_link(reverse("verify_email", kwargs={"token": verification_token(user)}))
    with mail.in_language_of(user):
        subject = gettext("Verify your email address")
        body = gettext(
            "Welcome! Please confirm that %(email)s is your email address by opening this "
            "link within %(days)d days:\n%(link)s\n\n"
            "If you did not register, ignore this email."
        ) % {"email": user.email, "days": settings.EMAIL_VERIFICATION_DAYS, "link": link}
    mail.send(user, subject, body)


def verify_email(token: Any) -> tuple[User, bool]:
    """Follow a verification link: the user, and whether it verified them now (False: they
    were verified already, and the time stays the first one)."""
    refused = InvalidLink(
        gettext(
            "This verification link is not valid: it has expired or was not copied whole. "
            "Log in and ask for a new one."
        )
    )
    if not isinstance(token, str) or not 0 < len(token) <= 400:
        raise refused
    try:
        payload = signing.loads(token, salt=_VERIFY_SALT)
    except signing.BadSignature:
        raise refused from None
    if not isinstance(payload, dict) or not all(
        isinstance(payload.get(k), t) for k, t in (("u", int), ("e", str), ("t", int))
    ):
        raise refused
    age = timezone.now().timestamp() - payload["t"]
    if not 0 < payload["u"] <= _BIGGEST_ID or age > settings.EMAIL_VERIFICATION_DAYS * 86400:
        raise refused
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=payload["u"], is_active=True).first()
        if user is None or payload["e"] != _email_digest(user):
            raise refused
        if user.email_verified_at is not None:
            return user, False
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
        audit.record(
            actor=user,
            action=AuditAction.EMAIL_VERIFY,
            object_type="user",
            object_id=user.pk,
            summary=f"{user.email} verified their email address",
            after={"email_verified_at": user.email_verified_at},
        )
    return user, True


def resend_verification(*, email: Any, ip: str | None, device: str = "") -> None:
    """Send the verification link again to a client who has not verified `email`; answered
    alike (and counted alike) whether or not there is such a client."""
    address = _clean_address(email)
    throttle.count_request(
        VERIFY,
        address,
        ip,
        per_account=settings.RECOVERY_MAX_PER_EMAIL,
        per_ip=settings.RECOVERY_MAX_PER_IP,
        device=device,
    )
    user = User.objects.filter(email__iexact=address).first()
    with transaction.atomic():
        if (
            user is not None
            and user.is_active
            and user.is_client
            and user.email_verified_at is None
        ):
            send_verification(user)
        else:
            verification_token(User(pk=0, email=address))
