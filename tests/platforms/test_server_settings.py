"""Settings > Trading platforms for a remote platform: its address, its API key (sealed, never
shown again), its groups' offers, and Test connection."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from propdesk.core import vault
from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from propdesk.platforms import servers
from propdesk.platforms.matchtrader.fake import FakeMatchTrader, Offer
from propdesk.platforms.models import TradingServer
from propdesk.platforms.sandbox import accounts
from tests.conftest import logged_in, post_form
from tests.platforms.factories import (
    API_KEY,
    DEMO_OFFER,
    LIVE_OFFER,
    closed_port,
    remote_form,
    remote_server,
)
from tests.platforms.matchtrader.factories import CHALLENGE, FUNDED, start_fake

pytestmark = pytest.mark.django_db

SERVERS = "/backoffice/settings/trading-platforms/"
SERVER_CHANGES = [AuditAction.TRADING_SERVER_CREATE, AuditAction.TRADING_SERVER_UPDATE]


def edit_page(server: TradingServer) -> str:
    return f"{SERVERS}{server.pk}/"


def check_page(server: TradingServer) -> str:
    return f"{SERVERS}{server.pk}/test-connection/"


def audit_text() -> str:
    return json.dumps(list(AuditRecord.objects.values("summary", "before", "after")))


HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture
def fake() -> Iterator[FakeMatchTrader]:
    running = start_fake()
    yield running
    running.stop()


def server_on(fake: FakeMatchTrader, admin, **overrides) -> TradingServer:
    """A Match-Trader server for the fake, saved as staff save one: two demo groups on its
    challenge offer, the live group on its funded one."""
    values = {
        "base_url": fake.url,
        "api_key": fake.api_key,
        "demo_groups": "challenge, rapid",
        "live_groups": "funded",
        "offers": f"challenge = {CHALLENGE.uuid}\nrapid = {CHALLENGE.uuid}\nfunded = {FUNDED.uuid}",
        **overrides,
    }
    return remote_server(admin, **values)


# --- saving a remote server ----------------------------------------------------------------------


def test_a_match_trader_server_keeps_its_address_its_sealed_key_and_its_offers(admin):
    response = post_form(logged_in(admin), f"{SERVERS}new/", remote_form())
    assert response.status_code == 302
    server = TradingServer.objects.get(name="Match-Trader live")
    assert server.kind == TradingServer.Kind.MATCH_TRADER
    assert server.base_url == "https://broker.example.com/api"
    assert server.offers == {"mt-demo": DEMO_OFFER, "mt-live": LIVE_OFFER}
    assert API_KEY not in server.sealed_api_key
    assert vault.open_sealed(server.sealed_api_key) == API_KEY
    assert server.api_key_changed_at is not None


def test_the_audit_records_that_the_key_changed_never_the_key(admin):
    server = remote_server(admin)
    post_form(logged_in(admin), edit_page(server), remote_form(api_key="mt-key-second-0042"))
    created = AuditRecord.objects.get(action=AuditAction.TRADING_SERVER_CREATE)
    changed = AuditRecord.objects.get(action=AuditAction.TRADING_SERVER_UPDATE)
    assert created.after["api_key"] == "set"
    assert changed.after["api_key_changed"] is True
    assert "API key changed" in changed.summary
    text = audit_text()
    assert API_KEY not in text
    assert "mt-key-second-0042" not in text
    assert TradingServer.objects.get(pk=server.pk).sealed_api_key not in text


def test_the_key_is_never_shown_again_and_the_page_says_when_it_changed(admin):
    server = remote_server(admin)
    http = logged_in(admin)
    page = http.get(edit_page(server)).content.decode()
    assert "A key is set (changed " in page
    assert "Leave this blank to keep it" in page
    listing = http.get(SERVERS).content.decode()
    for shown in (page, listing):
        assert API_KEY not in shown
        assert server.sealed_api_key not in shown
    assert "https://broker.example.com/api" in listing


def test_the_form_offers_a_line_for_every_group_to_map(admin):
    server = remote_server(admin)
    page = logged_in(admin).get(edit_page(server)).content.decode()
    assert f"mt-demo = {DEMO_OFFER}" in page
    assert f"mt-live = {LIVE_OFFER}" in page


def test_a_blank_key_on_a_change_keeps_the_key_set(admin):
    server = remote_server(admin)
    response = post_form(
        logged_in(admin),
        edit_page(server),
        remote_form(api_key="", offers=f"mt-demo = {LIVE_OFFER}\nmt-live = {DEMO_OFFER}"),
    )
    assert response.status_code == 302
    changed = TradingServer.objects.get(pk=server.pk)
    assert changed.sealed_api_key == server.sealed_api_key
    assert changed.api_key_changed_at == server.api_key_changed_at
    assert changed.offers == {"mt-demo": LIVE_OFFER, "mt-live": DEMO_OFFER}
    record = AuditRecord.objects.get(action=AuditAction.TRADING_SERVER_UPDATE)
    assert record.after["api_key_changed"] is False
    assert record.before["offers"]["mt-demo"] == DEMO_OFFER


def test_a_new_key_replaces_the_one_set(admin):
    server = remote_server(admin)
    post_form(logged_in(admin), edit_page(server), remote_form(api_key="mt-key-second-0042"))
    changed = TradingServer.objects.get(pk=server.pk)
    assert vault.open_sealed(changed.sealed_api_key) == "mt-key-second-0042"
    assert changed.api_key_changed_at > server.api_key_changed_at


def test_offers_accept_any_spelling_of_a_uuid_and_keep_its_usual_form(admin):
    post_form(
        logged_in(admin),
        f"{SERVERS}new/",
        remote_form(offers=f"MT-DEMO={DEMO_OFFER.upper()}\n\nmt-live = {{{LIVE_OFFER}}}\n"),
    )
    server = TradingServer.objects.get(name="Match-Trader live")
    assert server.offers == {"mt-demo": DEMO_OFFER, "mt-live": LIVE_OFFER}


def test_a_server_saved_as_the_sandbox_drops_its_address_key_and_offers(admin):
    server = remote_server(admin)
    response = post_form(
        logged_in(admin), edit_page(server), remote_form(kind="sandbox", api_key="")
    )
    assert response.status_code == 302
    changed = TradingServer.objects.get(pk=server.pk)
    assert (changed.base_url, changed.sealed_api_key, changed.offers) == ("", "", {})
    record = AuditRecord.objects.get(action=AuditAction.TRADING_SERVER_UPDATE)
    assert record.before["api_key"] == "set"
    assert record.after["api_key"] == "none"


def test_a_sandbox_server_needs_no_address_key_or_offers(admin):
    response = post_form(
        logged_in(admin),
        f"{SERVERS}new/",
        remote_form(name="Sandbox 2", kind="sandbox", base_url="", api_key="", offers=""),
    )
    assert response.status_code == 302
    server = TradingServer.objects.get(name="Sandbox 2")
    assert (server.base_url, server.sealed_api_key, server.offers) == ("", "", {})


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"base_url": "ftp://broker.example.com"}, "base_url", "starts with https://"),
        ({"base_url": "javascript:alert(1)"}, "base_url", "starts with https://"),
        ({"base_url": "https://user:pw@broker.example.com"}, "base_url", "no user name"),
        ({"base_url": "https://broker.example.com/?key=1"}, "base_url", "no ? query"),
        ({"base_url": "https://broker.example.com:99999"}, "base_url", "port is a number"),
        ({"base_url": "https://broker .example.com"}, "base_url", "no spaces"),
        ({"base_url": "https://broker\x00.example.com"}, "base_url", "Null characters"),
        ({"base_url": "https://br\x07oker.example.com"}, "base_url", "control characters"),
        ({"base_url": "https://"}, "base_url", "names a host"),
        ({"base_url": "https://" + "b" * 300 + ".com"}, "base_url", "at most 300 characters"),
        ({"base_url": ""}, "base_url", "required"),
        ({"api_key": ""}, "api_key", "needs its API key"),
        ({"api_key": "two words"}, "api_key", "without spaces"),
        ({"api_key": "key\x1b[31m"}, "api_key", "printable characters"),
        ({"api_key": "k" * 501}, "api_key", "at most 500 characters"),
        ({"offers": f"mt-demo = {DEMO_OFFER}"}, "offers", "none for: mt-live"),
        ({"offers": f"mt-demo = {DEMO_OFFER}\nmt-live = 12345"}, "offers", "not an offer UUID"),
        ({"offers": f"mt-demo {DEMO_OFFER}\nmt-live = {LIVE_OFFER}"}, "offers", "Line 1"),
        ({"offers": f"mt-demo = {DEMO_OFFER}\nMT-DEMO = {LIVE_OFFER}"}, "offers", "twice"),
        ({"offers": f"other = {DEMO_OFFER}\nmt-live = {LIVE_OFFER}"}, "offers", "not one of"),
        ({"offers": f"mt-demo = {DEMO_OFFER}\x00"}, "offers", "Null characters"),
        ({"offers": "x = y\n" * 1000}, "offers", "at most 5000 characters"),
        ({"name": "sandbox"}, "name", "already exists"),
    ],
)
def test_bad_remote_settings_are_refused_and_change_nothing(admin, overrides, field, message):
    accounts.default_server()
    before = list(TradingServer.objects.values())
    response = post_form(logged_in(admin), f"{SERVERS}new/", remote_form(**overrides))
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert list(TradingServer.objects.values()) == before
    assert not AuditRecord.objects.filter(action__in=SERVER_CHANGES).exists()
    assert API_KEY not in response.content.decode()


def test_a_change_refused_keeps_the_server_and_its_key_as_they_were(admin):
    server = remote_server(admin)
    before = TradingServer.objects.filter(pk=server.pk).values().get()
    response = post_form(
        logged_in(admin),
        edit_page(server),
        remote_form(api_key="mt-key-second-0042", base_url="http://x.example.com?"),
    )
    assert response.status_code == 422
    assert "mt-key-second-0042" not in response.content.decode()
    assert TradingServer.objects.filter(pk=server.pk).values().get() == before
    assert not AuditRecord.objects.filter(action=AuditAction.TRADING_SERVER_UPDATE).exists()


def test_a_sandbox_server_switched_to_a_remote_kind_needs_a_key(admin):
    server = accounts.default_server()
    response = post_form(
        logged_in(admin),
        edit_page(server),
        remote_form(name="Sandbox", demo_groups="demo", live_groups="live", api_key=""),
    )
    assert response.status_code == 422
    assert "needs its API key" in " ".join(response.context["form"].errors["api_key"])


# --- Test connection -----------------------------------------------------------------------------


def test_test_connection_on_the_sandbox_shows_what_it_answered(admin):
    server = accounts.default_server()
    response = post_form(logged_in(admin), check_page(server), {})
    assert response.status_code == 200
    check = response.context["check"]
    assert check.ok
    assert check.said == f"The built-in sandbox answers: 0 account(s) on {server.name}."
    assert 'id="check-result"' in response.content.decode()
    assert not check.lists_offers


def test_test_connection_to_a_port_nobody_listens_on_says_the_connection_was_refused(admin):
    server = remote_server(admin, base_url=f"http://127.0.0.1:{closed_port()}")
    response = post_form(logged_in(admin), check_page(server), {})
    assert response.status_code == 200
    check = response.context["check"]
    assert not check.ok
    assert check.said.startswith("Match-Trader could not be reached for GET /v1/offers:")
    assert "Connection refused" in check.said
    page = response.content.decode()
    assert 'class="form-error" role="alert"' in page
    assert "The connection failed:" in page
    assert "Connection refused" in page
    assert API_KEY not in page


def test_test_connection_to_match_trader_says_how_many_offers_it_answered(admin, fake):
    server = server_on(fake, admin)
    response = post_form(logged_in(admin), check_page(server), {})
    assert response.status_code == 200
    check = response.context["check"]
    assert check.ok
    assert check.said == "Match-Trader answered: 2 offer(s) (Challenge 100K, Funded)"
    assert "Match-Trader answered: 2 offer(s) (Challenge 100K, Funded)" in (
        response.content.decode()
    )


def test_test_connection_lists_the_offers_with_the_groups_that_use_each(admin, fake):
    server = server_on(fake, admin)
    response = post_form(logged_in(admin), check_page(server), {})
    assert response.context["check"].offers == (
        servers.Offer(CHALLENGE.uuid, "Challenge 100K", "USD", True, ("challenge", "rapid")),
        servers.Offer(FUNDED.uuid, "Funded", "USD", False, ("funded",)),
    )
    page = response.content.decode()
    assert 'id="platform-offers"' in page
    assert (
        f'<tr data-offer="{CHALLENGE.uuid}"><td>Challenge 100K</td>'
        f"<td><code>{CHALLENGE.uuid}</code></td><td>USD</td><td>demo</td>"
        "<td>challenge, rapid</td></tr>"
    ) in page
    assert (
        f'<tr data-offer="{FUNDED.uuid}"><td>Funded</td><td><code>{FUNDED.uuid}</code></td>'
        "<td>USD</td><td>live</td><td>funded</td></tr>"
    ) in page


def test_an_offer_the_platform_names_with_markup_is_shown_as_text(admin):
    named = Offer(HOSTILE, "challenge-usd")
    hostile = start_fake(offers=(named, FUNDED))
    try:
        server = server_on(
            hostile,
            admin,
            offers=f"challenge = {named.uuid}\nrapid = {named.uuid}\nfunded = {FUNDED.uuid}",
        )
        response = post_form(logged_in(admin), check_page(server), {})
    finally:
        hostile.stop()
    assert response.status_code == 200
    assert response.context["check"].said.startswith(
        f"Match-Trader answered: 2 offer(s) ({HOSTILE}"
    )
    page = response.content.decode()
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page


def test_a_refusal_whose_answer_carries_markup_is_shown_as_text(admin, fake):
    """The platform's error body names the path asked for: markup in it stays text."""
    script = "<script>alert(1)</script>"
    server = server_on(fake, admin, base_url=f"{fake.url}/{script}")
    response = post_form(logged_in(admin), check_page(server), {})
    assert response.status_code == 200
    check = response.context["check"]
    assert not check.ok
    assert check.said.startswith("Match-Trader answered 404 to GET /v1/offers: No endpoint")
    assert f"No endpoint GET /{script}/v1/offers" in json.loads(check.answer)["detail"]
    page = response.content.decode()
    assert script not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;/v1/offers" in page.split('id="check-answer"')[1]


def test_test_connection_changes_nothing_and_writes_no_audit(admin):
    server = accounts.default_server()
    before = list(TradingServer.objects.values())
    records = AuditRecord.objects.count()
    post_form(logged_in(admin), check_page(server), {})
    assert list(TradingServer.objects.values()) == before
    assert AuditRecord.objects.count() == records


def test_test_connection_is_for_staff_who_manage_platforms(support, compliance):
    server = accounts.default_server()
    for person in (support, compliance):
        assert post_form(logged_in(person), check_page(server), {}).status_code == 403


def test_test_connection_is_a_post_with_its_csrf_token(admin):
    server = accounts.default_server()
    http = logged_in(admin)
    assert http.get(check_page(server)).status_code == 405
    assert http.post(check_page(server)).status_code == 403


def test_the_edit_page_offers_test_connection_only_for_a_saved_server(admin):
    http = logged_in(admin)
    assert 'id="check-form"' not in http.get(f"{SERVERS}new/").content.decode()
    server = accounts.default_server()
    assert 'id="check-form"' in http.get(edit_page(server)).content.decode()
