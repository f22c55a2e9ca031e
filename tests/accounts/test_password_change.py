"""Changing one's own password (portal and back office): the current password is needed, the
validators apply, this session stays and the others end, API tokens are revoked, audited and
told by email."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from propdesk.accounts import recovery
from propdesk.accounts.models import ApiToken
from propdesk.core.audit import AuditAction
from propdesk.core.errors import ValidationFailed
from propdesk.core.models import AuditRecord
from tests.accounts.factories import emails_to
from tests.api.conftest import Api
from tests.conftest import PASSWORD, logged_in, post_form

pytestmark = pytest.mark.django_db(transaction=True)  # the worker sends committed jobs

NEW = "a-brand-new-passphrase-7"


def change(http: HttpClient, path: str, current: str, new: str = NEW, again: str | None = None):
    data = {"current_password": current, "new_password": new, "new_password2": again or new}
    return post_form(http, path, data)


@pytest.mark.parametrize("side", ["portal", "backoffice"])
def test_a_change_keeps_this_session_and_ends_the_others(side, active_client, compliance, run_jobs):
    user = active_client.user if side == "portal" else compliance
    path = "/portal/profile/password/" if side == "portal" else "/backoffice/account/password/"
    home = "/portal/" if side == "portal" else "/backoffice/"
    token = Api().token(user.email, PASSWORD)
    here, elsewhere = logged_in(user), logged_in(user)
    assert "revokes your API tokens" in here.get(path).content.decode()
    done = change(here, path, PASSWORD)
    assert done.status_code == 302
    assert here.get(home).status_code == 200
    assert elsewhere.get(home).status_code == 302
    assert Api().call("GET", "/me", token=token).status_code == 401
    assert not ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert AuditRecord.objects.filter(action=AuditAction.PASSWORD_CHANGE, actor=user).exists()
    run_jobs()
    assert any(m.subject == "Your password was changed" for m in emails_to(user.email))


def test_the_current_password_must_be_right(active_client):
    http = logged_in(active_client.user)
    wrong = change(http, "/portal/profile/password/", "not-my-password")
    assert wrong.status_code == 422
    assert b"not your current password" in wrong.content
    with pytest.raises(ValidationFailed):
        recovery.change_password(actor=active_client.user, current="", new=NEW)


@pytest.mark.parametrize("bad", ["short", "1234567890123", "password123", PASSWORD])
def test_the_validators_apply(bad, active_client):
    http = logged_in(active_client.user)
    assert change(http, "/portal/profile/password/", PASSWORD, bad).status_code == 422
    assert not AuditRecord.objects.filter(action=AuditAction.PASSWORD_CHANGE).exists()


def test_the_two_new_passwords_must_match(active_client):
    http = logged_in(active_client.user)
    response = change(http, "/portal/profile/password/", PASSWORD, NEW, NEW + "!")
    assert response.status_code == 422


def test_the_pages_are_for_their_own_side(active_client, compliance):
    assert logged_in(compliance).get("/portal/profile/password/").status_code == 403
    assert logged_in(active_client.user).get("/backoffice/account/password/").status_code == 403
    assert HttpClient().get("/portal/profile/password/").status_code == 302


def test_wrong_current_passwords_are_throttled_without_slowing_the_owners_login(
    active_client, settings
):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 3
    user = active_client.user
    http = logged_in(user)
    for _ in range(3):
        assert change(http, "/portal/profile/password/", "a-guess-at-it").status_code == 422
    refused = change(http, "/portal/profile/password/", PASSWORD)  # even the right one waits
    assert refused.status_code == 429
    assert b"Too many wrong passwords" in refused.content
    assert not AuditRecord.objects.filter(action=AuditAction.PASSWORD_CHANGE).exists()
    login = HttpClient().post("/login/", {"email": user.email, "password": PASSWORD})
    assert login.status_code == 302
