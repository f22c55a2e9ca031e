"""Settings > Notifications: the firm's own wording of the catalogue's events, per language.

A template is a subject (one line) and a plain-text body with the event's placeholders
(`{{ name }}`); without one, `emit` uses the default of notifications/catalogue.py, translated.
Saving and resetting are use cases (an audit row in the same transaction); the preview fills the
wording being edited with the event's sample values, in the template's language, saving nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext

from propdesk.accounts.models import User
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import NotFound, ValidationFailed
from propdesk.core.permissions import require_permission
from propdesk.notifications import events
from propdesk.notifications.models import NotificationTemplate
from propdesk.notifications.permissions import NOTIFICATIONS_MANAGE, NOTIFICATIONS_VIEW

SUBJECT_MAX = NotificationTemplate._meta.get_field("subject").max_length or 200
BODY_MAX = 10_000  # the model's limit
FIELDS = ("subject", "body")


def languages() -> dict[str, str]:
    """The languages a template can be written in: code -> name."""
    return {code: str(name) for code, name in settings.LANGUAGES}


def event_and_language(key: str, language: str) -> events.EventSpec:
    """The catalogue's event, if both it and the language exist (NotFound otherwise)."""
    if key not in events.CATALOGUE or language not in languages():
        raise NotFound("No such notification template.")
    return events.CATALOGUE[key]


@dataclass(frozen=True)
class Row:
    """One event in the list: whose wording each language uses."""

    spec: events.EventSpec
    own: dict[str, bool]  # language -> the firm's own template (False: the default)


@dataclass(frozen=True)
class Group:
    label: str
    rows: list[Row]


def overview(*, actor: User) -> list[Group]:
    """The catalogue's events by group (in the catalogue's order), each with, per language,
    whether the firm's template or the default is used."""
    require_permission(actor, NOTIFICATIONS_VIEW)
    own = set(NotificationTemplate.objects.values_list("event", "language"))
    groups: dict[str, list[Row]] = {}
    for spec in events.CATALOGUE.values():
        row = Row(spec, {code: (spec.key, code) in own for code in languages()})
        groups.setdefault(str(spec.group), []).append(row)
    return [Group(label, rows) for label, rows in groups.items()]


def clean(key: str, subject: str, body: str) -> tuple[str, str]:
    """The subject and body as they would be saved (line endings made "\\n", the ends
    trimmed), or ValidationFailed with a message per field."""
    body = body.replace("\r\n", "\n").replace("\r", "\n").strip()
    subject = subject.strip()
    errors: dict[str, str] = {}
    if len(subject) > SUBJECT_MAX:
        errors["subject"] = f"A subject has at most {SUBJECT_MAX} characters."
    if len(body) > BODY_MAX:
        errors["body"] = f"A body has at most {BODY_MAX:,} characters."
    if errors:
        raise ValidationFailed("The template was not saved.", fields=errors)
    events.check_template(key, subject, body)
    return subject, body


def _snapshot(template: NotificationTemplate | None) -> dict[str, Any] | None:
    if template is None:
        return None
    return audit.snapshot(template, ["event", "language", "subject", "body"])


def save_template(
    key: str, language: str, subject: str, body: str, *, actor: User
) -> NotificationTemplate:
    """Write the firm's wording of an event in a language (replacing its earlier one)."""
    require_permission(actor, NOTIFICATIONS_MANAGE)
    event_and_language(key, language)
    subject, body = clean(key, subject, body)
    with transaction.atomic():
        # The row exists before it is locked: two first saves at once are one insert and one
        # update, in turn (the unique constraint settles who inserts).
        try:
            with transaction.atomic():
                NotificationTemplate.objects.get_or_create(
                    event=key,
                    language=language,
                    defaults={"subject": "", "body": "", "updated_by": actor},
                )
        except IntegrityError:
            pass
        template = NotificationTemplate.objects.select_for_update().get(
            event=key, language=language
        )
        before = _snapshot(template) if template.subject else None
        template.subject, template.body, template.updated_by = subject, body, actor
        template.save()
        audit.record(
            actor=actor,
            action=AuditAction.NOTIFICATION_TEMPLATE_SAVE,
            object_type="notification_template",
            object_id=f"{key}/{language}",
            summary=f"Template of {key} in {languages()[language]} saved",
            before=before,
            after=_snapshot(template),
        )
    return template


def reset_template(key: str, language: str, *, actor: User) -> bool:
    """Go back to the default wording of an event in a language: the firm's template is
    deleted. False if there was none (nothing changes, nothing is recorded)."""
    require_permission(actor, NOTIFICATIONS_MANAGE)
    event_and_language(key, language)
    with transaction.atomic():
        template = (
            NotificationTemplate.objects.select_for_update()
            .filter(event=key, language=language)
            .first()
        )
        if template is None:
            return False
        before = _snapshot(template)
        template.delete()
        audit.record(
            actor=actor,
            action=AuditAction.NOTIFICATION_TEMPLATE_RESET,
            object_type="notification_template",
            object_id=f"{key}/{language}",
            summary=f"Template of {key} in {languages()[language]} reset to the default",
            before=before,
            after=None,
        )
    return True


def default_wording(key: str, language: str) -> tuple[str, str]:
    """The catalogue's default subject and body of an event, in a language."""
    spec = event_and_language(key, language)
    with translation.override(language):
        return str(spec.subject), str(spec.body)


def preview(key: str, language: str, subject: str, body: str, *, actor: User) -> tuple[str, str]:
    """The subject and body being edited (not saved), filled with the event's sample values
    as a client reading `language` would get them. ValidationFailed as saving would refuse."""
    require_permission(actor, NOTIFICATIONS_VIEW)
    event_and_language(key, language)
    subject, body = clean(key, subject, body)
    with translation.override(language):
        values = events.sample(key)
        values["message"] = gettext("(The reviewer's personal message, when they write one.)")
        # As `emit` writes them: the subject one line, no gap where a placeholder is empty.
        return (
            events.one_line(events.fill(subject, values)),
            events.tidy_body(events.fill(body, values)),
        )
