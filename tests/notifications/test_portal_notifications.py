"""The portal: the notifications page (body, level, time, read or not), and the pop-up of what
arrived since the client last saw it, on every portal page until dismissed."""

from __future__ import annotations

import pytest

from propdesk.notifications import events
from propdesk.notifications.models import Notification
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db

POPUP = 'id="notification-popup"'


def newest(user):
    return Notification.objects.filter(user=user).order_by("-pk").first()


def test_the_notifications_page_shows_body_level_time_and_whether_read(active_client):
    user = active_client.user
    events.emit("kyc.rejected", user=user, data={"reference": "KYC-7", "reason": "Blurred photo"})
    html = logged_in(user).get("/portal/notifications/").content.decode()
    note = newest(user)
    part = html[html.index(f'data-notification="{note.pk}"') :]
    part = part[: part.index("</article>")]
    assert note.title in part
    assert "KYC-7" in part
    assert "Blurred photo" in part
    assert "<br>" in part
    assert 'data-level="warning"' in part
    assert "Unread" in part
    assert note.created_at.strftime("%Y-%m-%d") in part


def test_the_popup_shows_new_notifications_on_any_portal_page_until_dismissed(active_client):
    user = active_client.user
    events.emit("kyc.approved", user=user, data={"reference": "KYC-1"})
    portal = logged_in(user)
    for path in ("/portal/", "/portal/profile/"):
        html = portal.get(path).content.decode()
        assert POPUP in html
        assert "Your identity is verified" in html
    up_to = newest(user).pk
    dismissed = post_form(
        portal, "/portal/notifications/seen/", {"up_to": up_to, "next": "/portal/profile/"}
    )
    assert dismissed.status_code == 302
    assert dismissed["Location"] == "/portal/profile/"
    assert POPUP not in portal.get("/portal/").content.decode()
    assert newest(user).read_at is None  # seen, still unread: the menu still counts it
    # Something new pops up again, alone.
    events.emit(
        "deposit.approved", user=user, data={"amount": "5", "currency": "USD", "reference": "D-1"}
    )
    html = portal.get("/portal/").content.decode()
    popup = html[html.index(POPUP) : html.index("</aside>")]
    assert "Your deposit of 5 USD was approved" in popup
    assert "identity" not in popup


def test_dismissing_with_htmx_removes_the_popup_and_keeps_later_ones(active_client):
    user = active_client.user
    portal = logged_in(user)
    html = portal.get("/portal/").content.decode()
    assert POPUP in html  # the registration's welcome
    shown_up_to = newest(user).pk
    events.emit("kyc.approved", user=user, data={"reference": "KYC-2"})  # after the page
    portal.get("/login/")
    token = portal.cookies["csrftoken"].value
    answer = portal.post(
        "/portal/notifications/seen/",
        {"up_to": shown_up_to, "csrfmiddlewaretoken": token},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 200
    assert answer.content == b""
    still = portal.get("/portal/").content.decode()
    assert POPUP in still
    assert "Your identity is verified" in still


def test_dismissing_needs_the_csrf_token_and_a_post(active_client):
    portal = logged_in(active_client.user)
    assert portal.post("/portal/notifications/seen/", {}).status_code == 403
    assert portal.get("/portal/notifications/seen/").status_code == 405
    assert Notification.objects.filter(user=active_client.user, seen_at__isnull=True).exists()


def test_dismissing_never_goes_back_to_another_site(active_client):
    portal = logged_in(active_client.user)
    for hostile in ("https://evil.example/portal/", "//evil.example/x", "/backoffice/"):
        answer = post_form(portal, "/portal/notifications/seen/", {"next": hostile})
        assert answer["Location"] == "/portal/"


def test_opening_the_notifications_page_counts_as_seen(active_client):
    user = active_client.user
    portal = logged_in(user)
    html = portal.get("/portal/notifications/").content.decode()
    assert POPUP not in html  # the page lists them itself
    assert POPUP not in portal.get("/portal/").content.decode()


def test_a_client_never_sees_another_clients_notifications(register, set_method):
    set_method("trader_registration", "automatic")
    one, _ = register()
    other, _ = register()
    events.emit("kyc.rejected", user=other.user, data={"reference": "SECRET-42", "reason": "x"})
    portal = logged_in(one.user)
    for path in ("/portal/", "/portal/notifications/"):
        assert "SECRET-42" not in portal.get(path).content.decode()
    # Dismissing one's own pop-up leaves the other's unseen.
    post_form(portal, "/portal/notifications/seen/", {"up_to": newest(other.user).pk})
    assert Notification.objects.filter(user=other.user, seen_at__isnull=True).count() == 2


def test_staff_pages_have_no_popup(admin, active_client):
    assert POPUP not in logged_in(admin).get("/backoffice/").content.decode()


def _queries(portal, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as done:
        html = portal.get(path).content.decode()
    return len(done), html


def test_the_popup_costs_one_query_however_many_are_new_and_counts_the_rest(active_client):
    user = active_client.user
    portal = logged_in(user)
    portal.get("/portal/")  # the session is warm
    Notification.objects.filter(user=user).update(seen_at="2026-01-01T00:00Z")
    without, html = _queries(portal, "/portal/profile/")
    assert POPUP not in html
    events.emit("kyc.approved", user=user, data={"reference": "KYC-1"})
    one, html = _queries(portal, "/portal/profile/")
    assert POPUP in html
    for n in range(5):
        events.emit("kyc.approved", user=user, data={"reference": f"KYC-{n + 2}"})
    six, html = _queries(portal, "/portal/profile/")
    assert one == six == without  # the pop-up's one query is there with or without news
    popup = html[html.index(POPUP) : html.index("</aside>")]
    assert "You have 6 new notifications" in popup
    assert "and 3 more" in popup
    assert f'name="up_to" value="{newest(user).pk}"' in popup
    post_form(portal, "/portal/notifications/seen/", {"up_to": newest(user).pk})
    assert not Notification.objects.filter(user=user, seen_at__isnull=True).exists()
    assert Notification.objects.filter(user=user, read_at__isnull=True).count() >= 6  # unread
