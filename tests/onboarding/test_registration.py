from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.hashers import identify_hasher

from propdesk.accounts.models import Client, User
from propdesk.approvals.models import ApprovalRequest
from propdesk.core.errors import ValidationFailed
from propdesk.onboarding.request_types import IB_REGISTRATION, TRADER_REGISTRATION
from propdesk.onboarding.services import register_client
from tests.conftest import registration

pytestmark = pytest.mark.django_db


def refused(**overrides: Any) -> dict[str, str]:
    before = (User.objects.count(), Client.objects.count(), ApprovalRequest.objects.count())
    with pytest.raises(ValidationFailed) as caught:
        register_client(**registration(**overrides))
    after = (User.objects.count(), Client.objects.count(), ApprovalRequest.objects.count())
    assert after == before, "a refused registration must create nothing"
    return caught.value.fields


def test_manual_registration_waits_for_approval(register):
    client, request = register()
    assert client.status == Client.Status.PENDING_APPROVAL
    assert request.type_key == TRADER_REGISTRATION
    assert request.status == ApprovalRequest.Status.PENDING


def test_automatic_registration_activates_the_client_at_once(register, set_method):
    set_method(TRADER_REGISTRATION, "automatic")
    client, request = register()
    assert client.status == Client.Status.ACTIVE
    assert request.status == ApprovalRequest.Status.APPROVED
    assert request.decided_by is None


def test_ib_registration_is_its_own_request_type(register):
    client, request = register(kind="ib")
    assert client.kind == Client.Kind.IB
    assert request.type_key == IB_REGISTRATION


def test_password_is_stored_as_argon2_hash(register):
    client, _ = register(password="a-very-private-phrase-1")
    assert identify_hasher(client.user.password).algorithm == "argon2"
    assert "a-very-private-phrase-1" not in client.user.password


def test_phone_is_stored_in_e164_and_email_lowercased(register):
    client, _ = register(phone="+420 601 555 123", email="Mixed.Case@Example.COM")
    assert client.phone == "+420601555123"
    assert client.user.email == "mixed.case@example.com"


def test_duplicate_email_is_refused_whatever_its_case(register):
    register(email="taken@example.com")
    assert "email" in refused(email="TAKEN@example.com")


def test_duplicate_phone_is_refused_in_any_spelling(register):
    register(phone="+420601777888")
    assert "phone" in refused(phone="+420 601 777 888")


@pytest.mark.parametrize(
    "password",
    ["short1", "password123", "12345678901234", "x" * 200],
    ids=["too-short", "common", "numeric", "too-long"],
)
def test_weak_password_is_refused(password):
    assert "password" in refused(password=password)


def test_password_like_the_email_is_refused():
    assert "password" in refused(email="janedoe2026@example.com", password="janedoe2026")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", ""),
        ("email", "a" * 250 + "@example.com"),
        ("name", ""),
        ("name", "   "),
        ("name", "x" * 151),
        ("name", "bad\x00name"),
        ("phone", "601234567"),
        ("phone", "+1 000"),
        ("phone", "+420 abc"),
        ("nationality", "XX"),
        ("nationality", ""),
        ("kind", "broker"),
        ("referral_code", "<script>"),
        ("referral_code", "x" * 41),
    ],
)
def test_malformed_field_is_refused_and_named(field, value):
    fields = refused(**{field: value})
    assert ("type" if field == "kind" else field) in fields


def test_wrong_types_are_refused_not_crashing():
    fields = refused(name=["list"], email=42, phone=None)
    assert {"name", "email", "phone"} <= set(fields)


def test_every_bad_field_is_reported_at_once():
    fields = refused(email="nope", phone="nope", password="1")
    assert {"email", "phone", "password"} <= set(fields)


def test_referral_code_is_kept_and_names_the_referrer(register):
    ib, _ = register(kind="ib")
    Client.objects.filter(pk=ib.pk).update(referral_code="IB-2026_X")
    client, _ = register(referral_code="IB-2026_x")
    assert client.referral_code_used == "IB-2026_x"
    assert client.referrer == ib
