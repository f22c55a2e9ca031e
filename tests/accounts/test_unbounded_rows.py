"""Rows a user's own traffic adds without end are capped or pruned: API tokens (one per
login of a script) and expired sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from propdesk.accounts import services
from propdesk.accounts.models import ApiToken
from propdesk.jobs import housekeeping

pytestmark = pytest.mark.django_db


def test_a_new_token_beyond_the_cap_retires_the_oldest_and_never_locks_out(active_client, settings):
    settings.API_TOKENS_PER_USER = 3
    user = active_client.user
    raws = [services.issue_token(user, label="api") for _ in range(5)]
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    assert live.count() == 3
    assert services.user_for_token(raws[0]) is None  # the oldest retired
    assert services.user_for_token(raws[-1]) == user  # the newest works


def test_revoked_and_expired_tokens_are_pruned(active_client, settings):
    settings.API_TOKEN_DAYS = 30
    user = active_client.user
    expired, revoked, live = (services.issue_token(user) for _ in range(3))
    ApiToken.objects.filter(prefix=expired[:10]).update(
        created_at=timezone.now() - timedelta(days=31)
    )
    services.revoke_token(revoked)
    ApiToken.objects.filter(prefix=revoked[:10]).update(
        revoked_at=timezone.now() - timedelta(days=2)
    )
    housekeeping.run_due(force=True)
    assert list(ApiToken.objects.values_list("prefix", flat=True)) == [live[:10]]


def test_expired_sessions_are_cleared(active_client):
    from propdesk.accounts.models import User

    old = Session.objects.create(
        session_key="x" * 32, session_data="", expire_date=timezone.now() - timedelta(days=1)
    )
    current = Session.objects.create(
        session_key="y" * 32, session_data="", expire_date=timezone.now() + timedelta(days=1)
    )
    housekeeping.run_due(force=True)
    assert list(Session.objects.values_list("pk", flat=True)) == [current.pk]
    assert old.pk != current.pk
    assert User.objects.exists()
