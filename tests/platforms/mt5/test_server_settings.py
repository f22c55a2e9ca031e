"""Settings > Trading platforms for a MetaTrader 5 server: its Web API address, its manager's
login and password (sealed, never shown again), its groups mapped to MT5 groups, and Test
connection listing the MT5 groups or saying what failed."""

from __future__ import annotations

import json

import pytest

from propdesk.core import vault
from propdesk.core.models import AuditRecord
from propdesk.platforms import servers
from propdesk.platforms.models import TradingServer
from tests.conftest import logged_in, post_form
from tests.platforms.mt5.factories import CHALLENGE_GROUP, FUNDED_GROUP

pytestmark = pytest.mark.django_db

SERVERS = "/backoffice/settings/trading-platforms/"
PASSWORD = "Manager1"


def mt5_form(fake=None, **overrides):
    data = {
        "name": "MetaTrader 5 live",
        "kind": TradingServer.Kind.MT5,
        "demo_groups": "challenge",
        "live_groups": "funded",
        "enabled": "on",
        "base_url": fake.url if fake else "https://mt5.example.com:443",
        "manager_login": fake.login if fake else "1000",
        "api_key": PASSWORD,
        "offers": f"challenge = {CHALLENGE_GROUP}\nfunded = {FUNDED_GROUP}",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def saved(admin, fake=None, **overrides) -> TradingServer:
    response = post_form(logged_in(admin), f"{SERVERS}new/", mt5_form(fake, **overrides))
    assert response.status_code == 302, response.content.decode()[:3000]
    return TradingServer.objects.get(name="MetaTrader 5 live")


def test_an_mt5_server_keeps_its_address_its_manager_and_its_sealed_password(admin):
    server = saved(admin)
    assert (server.kind, server.manager_login) == (TradingServer.Kind.MT5, "1000")
    assert server.offers == {"challenge": CHALLENGE_GROUP, "funded": FUNDED_GROUP}
    assert PASSWORD not in server.sealed_api_key
    assert vault.open_sealed(server.sealed_api_key) == PASSWORD


def test_the_password_is_never_shown_nor_audited(admin):
    server = saved(admin)
    page = logged_in(admin).get(f"{SERVERS}{server.pk}/").content.decode()
    assert PASSWORD not in page
    assert 'value="1000"' in page  # the manager's login is no secret
    text = json.dumps(list(AuditRecord.objects.values("summary", "before", "after")))
    assert PASSWORD not in text
    assert '"manager_login": "1000"' in text


def test_a_group_left_unmapped_is_the_mt5_group_of_its_name(admin):
    server = saved(admin, offers=f"challenge = {CHALLENGE_GROUP}")
    assert server.offers == {"challenge": CHALLENGE_GROUP}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"manager_login": ""}, "manager_login", "its number"),
        ({"manager_login": "abc"}, "manager_login", "its number"),
        ({"manager_login": "1" * 21}, "manager_login", "at most 20"),
        ({"api_key": ""}, "api_key", "needs its API key"),
        ({"offers": "challenge = demo<script>"}, "offers", "is not an MT5 group name"),
        ({"offers": "nobody = demo"}, "offers", "is not one of this server's groups"),
        ({"base_url": "ftp://mt5.example.com"}, "base_url", ""),
    ],
)
def test_bad_mt5_settings_are_refused_and_change_nothing(admin, overrides, field, message):
    response = post_form(logged_in(admin), f"{SERVERS}new/", mt5_form(**overrides))
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not TradingServer.objects.filter(name="MetaTrader 5 live").exists()


def test_a_new_manager_login_needs_the_password_again(admin):
    server = saved(admin)
    response = post_form(
        logged_in(admin), f"{SERVERS}{server.pk}/", mt5_form(manager_login="1001", api_key="")
    )
    assert "enter the API key again" in " ".join(response.context["form"].errors["api_key"])
    assert TradingServer.objects.get(pk=server.pk).manager_login == "1000"


def test_test_connection_lists_the_mt5_groups(admin, fake):
    server = saved(admin, fake)
    response = post_form(logged_in(admin), f"{SERVERS}{server.pk}/test-connection/", {})
    check = response.context["check"]
    assert check.ok
    assert check.said == f"MT5 answered: 2 group(s) ({CHALLENGE_GROUP}, {FUNDED_GROUP})"


def test_test_connection_with_a_wrong_password_says_what_failed(admin, fake):
    server = saved(admin, fake, api_key="Wrong1234")
    check = servers.check_connection(server.pk, actor=admin)
    assert not check.ok
    assert "3006 Invalid account" in check.said


def test_the_demos_mt5_server_is_set_up_and_follows_its_fake(admin, fake):
    from propdesk import demo_mt5

    server = demo_mt5.ensure_server(admin.email, fake.url)
    assert server is not None
    assert (server.kind, server.manager_login) == (TradingServer.Kind.MT5, demo_mt5.MANAGER_LOGIN)
    assert vault.open_sealed(server.sealed_api_key) == demo_mt5.MANAGER_PASSWORD
    assert demo_mt5.ensure_server(admin.email, fake.url).pk == server.pk  # again: unchanged
    moved = demo_mt5.ensure_server(admin.email, "http://127.0.0.1:8999")
    assert (moved.pk, moved.base_url) == (server.pk, "http://127.0.0.1:8999")
