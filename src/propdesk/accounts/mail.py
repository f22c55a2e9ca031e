"""Account emails (a password-reset link, a verification link, "your password was changed"):
one plain-text message to one person, in their language. The notifications app, which sits
above accounts, gives the mailer when it loads: the email becomes a job row in the caller's
transaction and a worker sends it after commit (never a remote call inside a transaction)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils import translation

from propdesk.accounts.models import User

Mailer = Callable[[str, str, str], object]  # (to, subject, body)
_mailers: list[Mailer] = []


def add_mailer(mailer: Mailer) -> Mailer:
    if mailer not in _mailers:
        _mailers.append(mailer)
    return mailer


def send(user: User, subject: str, body: str) -> None:
    """Enqueue one email to `user` (call it inside the acting transaction)."""
    signature = f"\n\n-- \n{settings.PROPDESK_FIRM_NAME}\n{settings.PROPDESK_SITE_URL}/\n"
    for mailer in _mailers:
        mailer(user.email, subject, body + signature)


@contextmanager
def in_language_of(user: User) -> Iterator[None]:
    """Write to `user` in their language (the site's default for a language we do not have)."""
    known = {code for code, _name in settings.LANGUAGES}
    language = user.language if user.language in known else settings.LANGUAGE_CODE
    with translation.override(language):
        yield


def site_link(path: str) -> str:
    return settings.PROPDESK_SITE_URL.rstrip("/") + path
