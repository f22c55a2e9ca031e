"""The client's address behind a reverse proxy: what the throttle counts by. A spoofed or
malformed header must neither pick the address nor break the request."""

from __future__ import annotations

import pytest

from propdesk.accounts.models import LoginAttempt
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db


def fail_login(**headers: str) -> int:
    body = {"email": "nobody@example.com", "password": "wrong"}
    return int(Api().call("POST", "/auth/token", body, **headers).status_code)


@pytest.mark.parametrize("value", ["not-an-address", "300.1.2.3", "x" * 5000, " , "])
def test_a_malformed_proxy_header_falls_back_to_the_peer(settings, value):
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    assert fail_login(HTTP_X_REAL_IP=value, REMOTE_ADDR="192.0.2.10") == 401
    assert LoginAttempt.objects.get().ip == "192.0.2.10"


def test_a_nul_in_the_proxy_header_is_refused_before_anything(settings):
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    assert fail_login(HTTP_X_REAL_IP="\x00", REMOTE_ADDR="192.0.2.10") == 422
    assert not LoginAttempt.objects.exists()


def test_forwarded_for_counts_the_address_the_proxy_appended(settings):
    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    # The client wrote the first address itself; the proxy appended the one it saw.
    assert fail_login(HTTP_X_FORWARDED_FOR="203.0.113.66, 198.51.100.20") == 401
    assert LoginAttempt.objects.get().ip == "198.51.100.20"


def test_an_ipv6_client_is_counted_by_its_network(settings):
    settings.CLIENT_IP_HEADER = "X-Real-IP"
    assert fail_login(HTTP_X_REAL_IP="2001:db8::1:2:3:4") == 401
    assert LoginAttempt.objects.get().ip == "2001:db8::"  # its /64: one subscriber
