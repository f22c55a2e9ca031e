from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from propdesk.accounts.models import User


class EmailBackend(BaseBackend):
    """Session lookups only; logging in goes through `accounts.services.authenticate`."""

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> User | None:
        return None

    def get_user(self, user_id: int) -> User | None:
        # The client row comes along: every portal request checks the client's status.
        return (
            User.objects.select_related("role", "client").filter(pk=user_id, is_active=True).first()
        )
