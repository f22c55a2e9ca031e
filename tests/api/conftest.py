from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as HttpClient


class Api:
    """Calls the JSON API the way a script does: JSON bodies, bearer tokens, no cookies."""

    def __init__(self) -> None:
        self.http = HttpClient()

    def call(
        self, method: str, path: str, body: Any = None, *, token: str | None = None, **extra: Any
    ) -> Any:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
        kwargs: dict[str, Any] = {**headers, **extra}
        if body is not None:
            kwargs["data"] = json.dumps(body) if not isinstance(body, str) else body
            kwargs["content_type"] = "application/json"
        return getattr(self.http, method.lower())(f"/api/v1{path}", **kwargs)

    def token(self, email: str, password: str) -> str:
        response = self.call("POST", "/auth/token", {"email": email, "password": password})
        assert response.status_code == 200, response.content
        token: str = response.json()["token"]
        return token


@pytest.fixture
def api(db: None) -> Api:
    return Api()
