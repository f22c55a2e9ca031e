"""Who is calling the trading API or logging into the terminal: a trading account, by its login
and password; and the bearer tokens a bot gets once instead of sending its password every call.

A password check costs a deliberately slow hash (about half a second in production). HTTP Basic
sends the password with every call, so this process remembers the credentials it has verified:
an HMAC of login and password keyed by the secret key and tied to the password hash they were
checked against, so that a changed password misses it. Successful calls never feed the login
throttle; failed ones do, counted per login and address and per address (never per login from
anywhere: see `throttle.Attempt.account_limit`). While a back-off holds, remembered credentials
are refused like any others, or the memory would answer guesses the throttle refuses.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from propdesk.accounts import throttle
from propdesk.core.errors import DomainError, NotAuthenticated
from propdesk.core.validation import FieldErrors
from propdesk.platforms.sandbox.models import Account, TradingToken

MAX_LOGIN = 20
MAX_PASSWORD = 200
TOKEN_PREFIX = "pdt_"
MOST_LIVE_TOKENS = 20  # per account; a new one past this revokes the oldest


class _Proven:
    """Credentials this process verified lately, as keyed digests (never the password). Bounded
    in size; an entry lives `ttl` seconds, after which the password is checked afresh."""

    def __init__(self, most: int = 10_000, ttl: float = 900.0) -> None:
        self._held: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()
        self._most = most
        self._ttl = ttl

    @staticmethod
    def _key(login: str, password: str, stored_hash: str) -> str:
        value = json.dumps([login, password, stored_hash])
        return salted_hmac("propdesk.sandbox.proven", value, algorithm="sha256").hexdigest()

    def holds(self, login: str, password: str, stored_hash: str) -> bool:
        key = self._key(login, password, stored_hash)
        now = time.monotonic()
        with self._lock:
            at = self._held.get(key)
            if at is None:
                return False
            if now - at > self._ttl:
                del self._held[key]
                return False
            return True

    def add(self, login: str, password: str, stored_hash: str) -> None:
        key = self._key(login, password, stored_hash)
        with self._lock:
            self._held[key] = time.monotonic()
            self._held.move_to_end(key)
            while len(self._held) > self._most:
                self._held.popitem(last=False)


_proven = _Proven()


class AccountBlocked(DomainError):
    status = 403
    code = "account_blocked"
    default_message = gettext_lazy(
        "This trading account is blocked by the firm; its client portal says why."
    )


def _open(account: Account) -> Account:
    """A trading account whose credentials are right may still be blocked by the firm (its
    owner suspended): it says so rather than pretending the password is wrong."""
    if not account.login_enabled:
        raise AccountBlocked()
    return account


def authenticate(login: Any, password: Any, *, ip: str | None = None, device: str = "") -> Account:
    """The account for these credentials (`device`: the known device the terminal's browser
    presented, if any). Credentials verified lately pass without a hash."""
    if not isinstance(login, str) or not isinstance(password, str) or not login or not password:
        raise NotAuthenticated(_("Give the account's login and password."))
    too_long = len(login) > MAX_LOGIN or len(password) > MAX_PASSWORD
    if too_long or not (login.isascii() and login.isprintable()):
        raise NotAuthenticated(_("Wrong login or password."))  # NUL and the like never reach SQL
    account = Account.objects.select_related("server").filter(login=login).first()

    def proven() -> Account | None:
        if account is not None and _proven.holds(login, password, account.password):
            return account
        return None

    def verify() -> Account | None:
        if account is None:
            make_password(password)  # the same time as a real check
            return None
        if not check_password(password, account.password):
            return None
        _proven.add(login, password, account.password)
        return account

    attempt = throttle.Attempt(
        account=login, ip=ip, realm=throttle.TRADING, device=device, account_limit=False
    )
    if (known := proven()) is not None:
        # Still refused during a back-off (a read; nothing is written): otherwise a guesser
        # could try passwords against this memory as fast as the throttle refuses the others.
        throttle.check(attempt)
        return _open(known)
    # Asked again once this call's turn comes: parallel calls of one bot wait for the first
    # one's check and then pass on what it proved.
    found = throttle.guarded(attempt, verify, verified=proven)
    if found is None:
        raise NotAuthenticated(_("Wrong login or password."))
    return _open(found)


# --- bearer tokens -------------------------------------------------------------------------------


def _token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _password_digest(stored_hash: str) -> str:
    return salted_hmac("propdesk.sandbox.token", stored_hash, algorithm="sha256").hexdigest()


def _credentials(login: Any, password: Any) -> tuple[str, str]:
    """Login and password from a request body, or 422 naming what is wrong with them."""
    errors = FieldErrors()
    for field, value, most in (("login", login, MAX_LOGIN), ("password", password, MAX_PASSWORD)):
        label = field.capitalize()
        if value is None or value == "":
            errors.add(field, f"{label} is required.")
        elif not isinstance(value, str):
            errors.add(field, f"{label} must be text.")
        elif len(value) > most:
            errors.add(field, f"{label} can have at most {most} characters.")
        elif not value.isprintable():
            errors.add(field, f"{label} cannot contain control characters.")
        elif field == "login" and not value.isascii():
            errors.add(field, "Login has only letters, digits and punctuation (ASCII).")
    errors.raise_if_any(_("Give the account's login and password."))
    return str(login), str(password)


def issue_token(login: Any, password: Any, *, ip: str | None) -> tuple[TradingToken, str]:
    """A bearer token for the account these credentials open; the raw token is returned once."""
    login_text, password_text = _credentials(login, password)
    account = authenticate(login_text, password_text, ip=ip)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        mine = TradingToken.objects.filter(account=account)
        mine.filter(Q(expires_at__lte=now) | Q(revoked_at__isnull=False)).delete()
        oldest = mine.order_by("-created_at", "-id").values_list("pk", flat=True)
        excess = list(oldest[MOST_LIVE_TOKENS - 1 :])
        if excess:
            TradingToken.objects.filter(pk__in=excess).update(revoked_at=now)
        token = TradingToken.objects.create(
            account=account,
            key_hash=_token_hash(raw),
            password_digest=_password_digest(account.password),
            expires_at=now + timedelta(days=settings.TRADING_TOKEN_DAYS),
        )
    return token, raw


def account_for_token(raw: str) -> Account | None:
    """The account of a live token: not expired, not revoked, and issued under the account's
    current password."""
    if not raw or len(raw) > 200:
        return None
    token = (
        TradingToken.objects.select_related("account", "account__server")
        .filter(key_hash=_token_hash(raw), revoked_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if token is None:
        return None
    if not constant_time_compare(token.password_digest, _password_digest(token.account.password)):
        return None
    return _open(token.account)


def revoke_token(raw: str) -> None:
    TradingToken.objects.filter(key_hash=_token_hash(raw), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
