"""A stage fails on the sandbox and everyone is told, in Chromium: the trader, who reads
Spanish, finds the notification with the reason in the portal (it pops up, and it is on the
notifications page) and the same words in their email; the firm's webhook endpoint receives a
`stage.failed` that the Standard Webhooks reference verifier accepts."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import translation
from playwright.sync_api import expect

from propdesk.accounts.models import User
from propdesk.notifications.events import fill, spec
from propdesk.notifications.models import Notification
from tests.browser.flows import log_in
from tests.challenges.factories import breached
from tests.conftest import PASSWORD
from tests.notifications.factories import make_endpoint, verify

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_failed_stage_tells_the_trader_in_their_language_and_the_firm_by_a_signed_webhook(
    new_page, active_client, finance, admin, run_jobs, webhook_receiver
):
    User.objects.filter(pk=active_client.user_id).update(language="es")
    active_client.user.refresh_from_db()
    subscribed = make_endpoint(admin, webhook_receiver.url, ["stage.failed", "stage.passed"])

    joined, attempt, *_ = breached(active_client, finance, admin)
    run_jobs()  # the email and the webhook leave after the commit, by the job queue

    note = Notification.objects.get(user=active_client.user, event="stage.failed")
    names = {"stage": joined.version.spec.stages[0].name, "challenge": joined.version.spec.name}
    english = fill(str(spec("stage.failed").subject), names)
    with translation.override("es"):
        spanish = fill(str(spec("stage.failed").subject), names)
    assert spanish != english  # the catalogue has it in Spanish
    assert note.title == spanish

    trader = new_page()
    log_in(trader, active_client.user.email, PASSWORD)
    expect(trader.locator("#notification-popup")).to_contain_text(spanish)
    trader.goto("/portal/notifications/")
    expect(trader.locator("main")).to_contain_text(spanish)
    for line in filter(None, note.body.splitlines()):
        expect(trader.locator("main")).to_contain_text(line)  # the reason among them

    (email,) = [m for m in mail.outbox if m.to == [active_client.user.email]][-1:]
    assert email.subject == spanish
    assert note.body in email.body

    (request,) = [r for r in webhook_receiver.requests if r.json["type"] == "stage.failed"]
    payload = verify(request, subscribed.secret)  # raises unless the signature is right
    assert payload["type"] == "stage.failed"
    assert payload["data"]["login"] == attempt.login
    reason = payload["data"]["reason"]  # in English, for the firm's systems
    assert reason
    assert reason not in note.body  # the trader read it in Spanish
