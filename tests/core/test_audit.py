"""The audit trail's vocabulary: one enum of actions, one way to snapshot an object."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps

from propdesk.accounts.models import Client, User
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


def test_every_action_is_named_object_dot_verb_in_lower_snake_case():
    for action in AuditAction:
        thing, _, verb = action.value.partition(".")
        assert thing, action
        assert verb, action
        assert "." not in verb, action
        assert action.value == action.value.lower()
        assert action.name == f"{thing}_{verb}".upper(), action
    assert AuditAction.STAGE_REINSTATE.verb == "reinstate"


def test_a_snapshot_keeps_amounts_dates_choices_and_lists_as_the_record_stores_them():
    taken = audit.snapshot(
        SimpleNamespace(
            amount=Decimal("12.50"),
            day=dt.date(2026, 3, 1),
            at=dt.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC),
            status=Client.Status.SUSPENDED,
            groups=("demo", "live"),
            nothing=None,
        ),
        ["amount", "day", "at", "status", "groups", "nothing"],
        extra=Decimal("1"),
    )
    assert taken == {
        "amount": "12.50",
        "day": "2026-03-01",
        "at": "2026-03-01T09:30:15.123Z",
        "status": "suspended",
        "groups": ["demo", "live"],
        "nothing": None,
        "extra": "1",
    }
    assert type(taken["status"]) is str


def test_a_snapshot_names_a_related_row_by_its_id(admin: User):
    assert audit.snapshot(admin, ["email", "role"]) == {"email": admin.email, "role": admin.role_id}


def test_an_action_is_a_member_of_the_enum_never_free_text(admin: User):
    with pytest.raises(TypeError):
        audit.record(actor=admin, action="role.update", object_type="role", object_id=1)  # type: ignore[arg-type]
    assert not AuditRecord.objects.filter(object_type="role").exists()
    audit.record(actor=admin, action=AuditAction.ROLE_UPDATE, object_type="role", object_id=1)
    assert AuditRecord.objects.get(object_type="role").action == "role.update"


def test_records_written_under_the_old_names_are_renamed_and_found_by_the_filter(admin: User):
    def old(action: str, before: dict[str, object] | None = None) -> AuditRecord:
        return AuditRecord.objects.create(
            actor_label="system", action=action, object_type="x", object_id="1", before=before
        )

    created = old("settings.trading_server")
    changed = old("settings.trading_server", {"name": "Sandbox"})
    reset = old("staff.two_factor_reset")
    cancelled = old("participant.cancel")
    kept = old("role.update")
    migration = importlib.import_module("propdesk.core.migrations.0002_audit_action_names")
    migration.rename(apps, None)
    names = {r.pk: r.action for r in AuditRecord.objects.all()}
    assert names[created.pk] == AuditAction.TRADING_SERVER_CREATE
    assert names[changed.pk] == AuditAction.TRADING_SERVER_UPDATE
    assert names[reset.pk] == AuditAction.STAFF_RESET_TWO_FACTOR
    assert names[cancelled.pk] == AuditAction.PARTICIPATION_CANCEL
    assert names[kept.pk] == AuditAction.ROLE_UPDATE
    assert set(names.values()) <= set(AuditAction.values)
    page = logged_in(admin).get("/backoffice/audit/", {"action": "trading_server."})
    shown = page.context["page"].object_list
    assert {r.pk for r in shown} == {created.pk, changed.pk}
    migration.rename_back(apps, None)
    assert AuditRecord.objects.get(pk=changed.pk).action == "settings.trading_server"
    assert AuditRecord.objects.get(pk=cancelled.pk).action == "participant.cancel"
