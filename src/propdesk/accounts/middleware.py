from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from propdesk.accounts.models import User
from propdesk.accounts.services import client_login_block


class ActiveAccountMiddleware:
    """End the session of a client who may no longer use the portal (e.g. suspended)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if isinstance(user, User) and user.is_client:
            client = getattr(user, "client", None)
            block = client_login_block(client) if client else None
            if client is None or block is not None:
                logout(request)
                if block is not None and hasattr(request, "_messages"):
                    messages.error(request, block.message)
        return self.get_response(request)
