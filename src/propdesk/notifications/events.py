"""The event catalogue: everything propdesk tells a client (and the firm's other systems), each
with its default wording, its placeholders and a sample of each for the preview.

A use case raises an event with `emit` in its own transaction: the portal notification, the
email job and the webhook deliveries are rows of that transaction, so they exist if and only if
it commits, and the email and webhooks leave after the commit (the job queue). The wording is
the firm's template for the event in the client's language (*Settings > Notifications*), or the
default below, translated by the catalogue (docs/languages.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from propdesk.accounts import zones
from propdesk.accounts.models import Client, User
from propdesk.core.errors import ValidationFailed
from propdesk.notifications.models import Notification, NotificationTemplate

INFO, SUCCESS, WARNING = (
    Notification.Level.INFO,
    Notification.Level.SUCCESS,
    Notification.Level.WARNING,
)

# Every event's placeholders include these.
COMMON = {
    "client_name": "Lena Fischer",
    "firm_name": "",  # the firm's name, filled in when rendered
    "portal_url": "",
    "message": "",  # the reviewer's personal message, when they wrote one
}


@dataclass(frozen=True)
class EventSpec:
    key: str  # "stage.failed": the webhook's `type` too
    label: Any  # lazy text
    group: Any
    subject: Any
    body: Any
    level: str = INFO
    # placeholder -> a sample value for the preview (besides COMMON's)
    samples: Mapping[str, Any] = field(default_factory=dict)

    @property
    def placeholders(self) -> list[str]:
        return [*COMMON, *self.samples]


CATALOGUE: dict[str, EventSpec] = {}


def define(spec: EventSpec) -> EventSpec:
    CATALOGUE[spec.key] = spec
    return spec


def spec(key: str) -> EventSpec:
    try:
        return CATALOGUE[key]
    except KeyError:
        raise LookupError(f"No event {key!r} in the catalogue") from None


# Defined in notifications/catalogue.py (imported below), one `define` per event.

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def check_template(key: str, subject: str, body: str) -> None:
    """A template may use only its event's placeholders; a subject is one line."""
    known = set(spec(key).placeholders)
    errors: dict[str, str] = {}
    for name, text in (("subject", subject), ("body", body)):
        unknown = sorted({m for m in PLACEHOLDER.findall(text) if m not in known})
        if unknown:
            errors[name] = str(
                _("Unknown placeholder: %(names)s. This event has: %(known)s.")
                % {"names": ", ".join(unknown), "known": ", ".join(spec(key).placeholders)}
            )
    if not subject.strip():
        errors["subject"] = str(_("Write a subject."))
    elif "\n" in subject or "\r" in subject:
        errors["subject"] = str(_("A subject is one line."))
    if not body.strip():
        errors.setdefault("body", str(_("Write a body.")))
    if errors:
        raise ValidationFailed(str(_("The template was not saved.")), fields=errors)


def shown(value: Any) -> str:
    """A value as the reader's language writes it (the active language)."""
    if value is None:
        return ""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, Decimal):
        return formats.number_format(value, use_l10n=True, force_grouping=True)
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "DATETIME_FORMAT")
    if isinstance(value, date):
        return formats.date_format(value, "DATE_FORMAT")
    return str(value)


def fill(text: str, values: Mapping[str, Any]) -> str:
    """The placeholders replaced in one pass: a value is never read as a template itself (a
    client named "{{ portal_url }}" is written as such)."""
    return PLACEHOLDER.sub(lambda m: shown(values.get(m.group(1), "")), text)


def wording(key: str, language: str) -> tuple[str, str, bool]:
    """The subject and body templates of an event in a language, and whether they are the
    firm's own (False: the default)."""
    own = NotificationTemplate.objects.filter(event=key, language=language).first()
    if own is not None:
        return own.subject, own.body, True
    with translation.override(language):
        return str(spec(key).subject), str(spec(key).body), False


def render(key: str, user: User, data: Mapping[str, Any], *, message: str = "") -> tuple[str, str]:
    """The subject and body for this person, in their language and their time zone."""
    language = user.language or settings.LANGUAGE_CODE
    subject, body, _own = wording(key, language)
    client = _client_of(user)
    zone = zones.zone_of(client) if client is not None else zones.firm_zone()
    with translation.override(language), timezone.override(zone):
        values = {
            "client_name": user.name,
            "firm_name": settings.PROPDESK_FIRM_NAME,
            "portal_url": f"{settings.PROPDESK_SITE_URL}/portal/",
            "message": message,
            **data,
        }
        return one_line(fill(subject, values))[:200], tidy_body(fill(body, values))


def _client_of(user: User) -> Client | None:
    """The user's client (cached on the user once read); None for staff."""
    try:
        return user.client
    except Client.DoesNotExist:
        return None


BLANK_LINES = re.compile(r"\n{3,}")


def one_line(text: str) -> str:
    """A subject: one line whatever the values put in it (a line break in a name would be a
    header of its own in the email): each line break, with the spaces around it, is one space.
    Other spaces stay (a no-break space in "1 234,50")."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip()).strip()


def tidy_body(text: str) -> str:
    """A body without the gaps an empty placeholder leaves (a blank `{{ message }}` line): no
    spaces at the ends of lines, at most one blank line in a row, none at the start or end."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def sample(key: str) -> dict[str, Any]:
    return {
        **COMMON,
        "firm_name": settings.PROPDESK_FIRM_NAME,
        "portal_url": f"{settings.PROPDESK_SITE_URL}/portal/",
        **spec(key).samples,
    }


def plain(value: Any) -> Any:
    """A value as the webhooks carry it: JSON, amounts as decimal strings, times in ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def emit(
    key: str,
    *,
    user: User,
    data: Mapping[str, Any] | None = None,
    message: str = "",
    email: bool = True,
) -> Notification:
    """Raise an event about `user` (a client) in the caller's transaction: their portal
    notification, their email and the webhooks' deliveries, all sent after the commit.

    `data` holds the event's placeholders (Decimal amounts, dates, lazy texts are written in
    the client's language) and is what the webhooks carry (in English, amounts as strings)."""
    from propdesk.notifications import webhooks
    from propdesk.notifications.services import notify

    event = spec(key)
    data = dict(data or {})
    with transaction.atomic():
        subject, body = render(key, user, data, message=message)
        notification = notify(
            user, title=subject, body=body, level=event.level, email=email, event=key
        )
        with translation.override("en"):
            payload = {
                "client": {
                    "id": getattr(_client_of(user), "pk", None),
                    "email": user.email,
                },
                **{k: plain(v) for k, v in data.items()},
            }
            if message:
                payload["message"] = message
        webhooks.publish(key, payload)
    return notification


from propdesk.notifications import catalogue  # noqa: E402,F401  (fills CATALOGUE)
