"""Trading > Platform commands: the outbox's commands as staff see them (what needs attention,
filters, a command's payload and the platform's answer), and retrying or cancelling one."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client as HttpClient
from django.utils import timezone

from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from propdesk.platforms import outbox
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.protocol import Access
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox.models import Account
from tests.conftest import logged_in, post_form
from tests.platforms.factories import (
    access_change,
    debit,
    refused_debit,
    remote_server,
    run,
    sandbox_account,
    waiting_command,
)

pytestmark = pytest.mark.django_db
Status = PlatformCommand.Status

COMMANDS = "/backoffice/trading/platform-commands/"
HOSTILE = '<script>alert("pwned")</script>'
COMMAND_ACTIONS = [AuditAction.PLATFORM_COMMAND_RETRY, AuditAction.PLATFORM_COMMAND_CANCEL]


def page_of(command: PlatformCommand) -> str:
    return f"{COMMANDS}{command.pk}/"


def fresh(command: PlatformCommand) -> PlatformCommand:
    return PlatformCommand.objects.get(pk=command.pk)


def listed(response) -> list[int]:
    return [c.pk for c in response.context["page"].object_list]


@pytest.fixture
def account() -> Account:
    return sandbox_account()


@pytest.fixture
def done(account) -> PlatformCommand:
    command = run(access_change(account, subject="stage:done", access=Access.CLOSE_ONLY))
    assert command.status == Status.DONE
    return command


# --- the list ------------------------------------------------------------------------------------


def test_the_list_shows_what_needs_attention_newest_first(support, account, done):
    refused = refused_debit(account, subject="stage:1")
    waiting = waiting_command(subject="stage:2")
    response = logged_in(support).get(COMMANDS)
    assert response.status_code == 200
    assert listed(response) == [waiting.pk, refused.pk]
    row = response.content.decode().split(f'data-command="{refused.pk}"')[1].split("</tr>")[0]
    for shown in ("stage:1", account.login, "Balance operation", "Failed", "free margin"):
        assert shown in row


def test_the_list_filters_by_status(support, account, done):
    refused = refused_debit(account, subject="stage:1")
    http = logged_in(support)
    assert listed(http.get(COMMANDS, {"status": "done"})) == [done.pk]
    assert listed(http.get(COMMANDS, {"status": "failed"})) == [refused.pk]
    assert listed(http.get(COMMANDS, {"status": "all"})) == [refused.pk, done.pk]
    assert listed(http.get(COMMANDS, {"status": "<nonsense>"})) == [refused.pk]


def test_the_list_filters_by_server(admin, support, account):
    refused = refused_debit(account, subject="stage:1")
    other = remote_server(admin)
    with transaction.atomic():
        elsewhere = outbox.set_access(other, subject="stage:9", access=Access.NO_LOGIN)
    http = logged_in(support)
    assert listed(http.get(COMMANDS)) == [elsewhere.pk, refused.pk]
    assert listed(http.get(COMMANDS, {"server": other.pk})) == [elsewhere.pk]
    assert listed(http.get(COMMANDS, {"server": account.server_id})) == [refused.pk]
    assert listed(http.get(COMMANDS, {"server": "x'; --"})) == [elsewhere.pk, refused.pk]


def test_the_list_is_paged(support, account):
    with transaction.atomic():
        for n in range(51):
            access_change(account, subject=f"stage:{n}", access=Access.NO_TRADING)
    http = logged_in(support)
    first = http.get(COMMANDS)
    assert len(listed(first)) == 50
    assert "Page 1 of 2" in first.content.decode()
    assert len(listed(http.get(COMMANDS, {"page": 2}))) == 1


def test_the_menu_counts_the_failed_commands(support, account):
    refused_debit(account, subject="stage:1")
    refused_debit(sandbox_account(), subject="stage:2")
    waiting_command(subject="stage:3")
    page = logged_in(support).get("/backoffice/trading/accounts/").content.decode()
    assert "Platform commands" in page
    assert 'id="nav-platform-commands-failed"' in page
    assert re.search(r'id="nav-platform-commands-failed"[^>]*>2</span>', page)


# --- a command's page ----------------------------------------------------------------------------


def test_a_commands_page_shows_what_was_asked_and_what_the_platform_said(support, account):
    refused = refused_debit(account, subject="stage:1")
    page = logged_in(support).get(page_of(refused)).content.decode()
    assert f"-{account.balance + 1000}" in page  # the payload's amount
    assert "The debit is more than the account&#x27;s free margin." in page
    assert '<pre id="answer">conflict</pre>' in page  # what the sandbox answered
    assert f"balance:{refused.subject}" in page  # its idempotency key


def test_a_done_commands_page_shows_its_result(support, done):
    page = logged_in(support).get(page_of(done)).content.decode()
    assert "What it gave back" in page
    assert "close_only" in page
    assert "Retry now" not in page


def test_hostile_text_from_the_platform_is_shown_escaped(support, account):
    refused = refused_debit(account, subject="stage:1")
    # What a platform's error body might hold, kept as the runner keeps it.
    PlatformCommand.objects.filter(pk=refused.pk).update(answer=HOSTILE, error=HOSTILE)
    with transaction.atomic():
        outbox.set_access(account.server, subject="stage:1", access=Access.FULL, reason=HOSTILE)
    http = logged_in(support)
    for page in (http.get(COMMANDS), http.get(page_of(refused))):
        text = page.content.decode()
        assert HOSTILE not in text
        assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in text
    later = PlatformCommand.objects.get(kind=PlatformCommand.Kind.SET_ACCESS)
    text = http.get(page_of(later)).content.decode()
    assert HOSTILE not in text
    assert "&lt;script&gt;" in text


def test_a_waiting_command_names_the_failed_one_it_waits_for(support, account):
    refused = refused_debit(account, subject="stage:1")
    behind = debit(account, "10", subject="stage:1", key="after-the-refusal")
    http = logged_in(support)
    assert f'waits for <a href="{page_of(refused)}">command #{refused.pk}</a>' in (
        http.get(page_of(behind)).content.decode()
    )
    assert "and so do 1 later command of this account" in (
        http.get(page_of(refused)).content.decode()
    )


def test_an_unknown_command_is_not_found(support):
    assert logged_in(support).get(f"{COMMANDS}999999/").status_code == 404


# --- who may see and do what ---------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login(account):
    refused = refused_debit(account)
    for path in (COMMANDS, page_of(refused)):
        response = HttpClient().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")


def test_staff_without_platforms_view_are_kept_out(compliance, account):
    refused = refused_debit(account)
    http = logged_in(compliance)
    for path in (COMMANDS, page_of(refused)):
        assert http.get(path).status_code == 403
    assert "Platform commands" not in http.get("/backoffice/").content.decode()


def test_staff_who_only_view_see_no_actions_and_cannot_post_them(support, account):
    refused = refused_debit(account)
    http = logged_in(support)
    page = http.get(page_of(refused)).content.decode()
    assert 'id="retry-form"' not in page
    assert 'id="cancel-form"' not in page
    for action in ("retry", "cancel"):
        assert post_form(http, f"{page_of(refused)}{action}/", {}).status_code == 403
    assert fresh(refused).status == Status.FAILED
    assert not AuditRecord.objects.filter(action__in=COMMAND_ACTIONS).exists()


def test_actions_need_a_post_with_the_csrf_token(admin, account):
    refused = refused_debit(account)
    http = logged_in(admin)
    assert http.get(f"{page_of(refused)}retry/").status_code == 405
    assert http.post(f"{page_of(refused)}retry/").status_code == 403
    assert http.post(f"{page_of(refused)}cancel/").status_code == 403
    assert fresh(refused).status == Status.FAILED


# --- retry now -----------------------------------------------------------------------------------


def test_a_failed_command_retried_goes_back_to_pending_now_and_is_audited(admin, account):
    refused = refused_debit(account)
    http = logged_in(admin)
    assert 'id="retry-form"' in http.get(page_of(refused)).content.decode()
    response = post_form(http, f"{page_of(refused)}retry/", {})
    assert response.status_code == 302
    retried = fresh(refused)
    assert retried.status == Status.PENDING
    assert retried.next_try_at is not None
    assert retried.next_try_at <= timezone.now()
    assert retried.attempts == 1
    record = AuditRecord.objects.get(action=AuditAction.PLATFORM_COMMAND_RETRY)
    assert record.actor == admin
    assert record.object_id == str(refused.pk)
    assert record.before["status"] == "failed"
    assert record.after["status"] == "pending"
    assert "is due now" in http.get(response["Location"]).content.decode()


def test_a_retried_command_goes_through_once_its_cause_is_put_right(admin, account):
    refused = refused_debit(account)
    sandbox_accounts.balance_operation_once(account, Decimal("5000"), "Top-up")
    post_form(logged_in(admin), f"{page_of(refused)}retry/", {})
    carried = run(refused)
    assert carried.status == Status.DONE
    assert carried.attempts == 2
    assert Account.objects.get(pk=account.pk).balance == Decimal("4000.00")  # 1000 + 5000 - 2000


def test_a_command_waiting_for_its_back_off_is_tried_now(admin):
    waiting = waiting_command()
    response = post_form(logged_in(admin), f"{page_of(waiting)}retry/", {})
    assert response.status_code == 302
    retried = fresh(waiting)
    assert retried.status == Status.PENDING
    assert retried.next_try_at <= timezone.now()
    record = AuditRecord.objects.get(action=AuditAction.PLATFORM_COMMAND_RETRY)
    assert record.before["next_try_at"] > record.after["next_try_at"]


@pytest.mark.parametrize("state", ["done", "cancelled", "due"])
def test_a_command_with_nothing_to_retry_is_refused_clearly(admin, account, state):
    if state == "done":
        command = run(access_change(account, subject="stage:1", access=Access.FULL))
        message = "is done: there is nothing to retry"
    elif state == "cancelled":
        command = refused_debit(account)
        post_form(logged_in(admin), f"{page_of(command)}cancel/", {})
        message = "is cancelled: there is nothing to retry"
    else:
        command = access_change(account, subject="stage:1", access=Access.FULL)
        message = "is already due"
    before = PlatformCommand.objects.filter(pk=command.pk).values().get()
    retries = AuditRecord.objects.filter(action=AuditAction.PLATFORM_COMMAND_RETRY).count()
    http = logged_in(admin)
    response = post_form(http, f"{page_of(command)}retry/", {})
    assert message in http.get(response["Location"]).content.decode()
    assert PlatformCommand.objects.filter(pk=command.pk).values().get() == before
    assert AuditRecord.objects.filter(action=AuditAction.PLATFORM_COMMAND_RETRY).count() == retries


def test_retrying_a_command_behind_a_failed_one_points_to_that_one(admin, account):
    refused = refused_debit(account)
    behind = debit(account, "10", subject=refused.subject, key="after-the-refusal")
    http = logged_in(admin)
    response = post_form(http, f"{page_of(behind)}retry/", {})
    page = http.get(response["Location"]).content.decode()
    assert f"it waits for command #{refused.pk} of the same account (failed)" in page


# --- cancel --------------------------------------------------------------------------------------


def test_cancelling_a_failed_command_lets_the_later_ones_of_its_account_run(admin, account):
    refused = refused_debit(account)
    behind = debit(account, "10", subject=refused.subject, key="after-the-refusal")
    assert run(behind).status == Status.PENDING  # held up by the failed one
    http = logged_in(admin)
    page = http.get(page_of(refused)).content.decode()
    assert "the 1 later command of stage:1 then run" in page
    response = post_form(http, f"{page_of(refused)}cancel/", {})
    assert "the 1 later command(s) of stage:1 now run" in (
        http.get(response["Location"]).content.decode()
    )
    assert fresh(refused).status == Status.CANCELLED
    assert run(behind).status == Status.DONE
    assert Account.objects.get(pk=account.pk).balance == account.balance + 10


def test_a_cancel_is_audited(admin, account):
    refused = refused_debit(account)
    post_form(logged_in(admin), f"{page_of(refused)}cancel/", {})
    record = AuditRecord.objects.get(action=AuditAction.PLATFORM_COMMAND_CANCEL)
    assert record.actor == admin
    assert record.before["status"] == "failed"
    assert record.after["status"] == "cancelled"
    assert f"command #{refused.pk}" in record.summary


@pytest.mark.parametrize("state", ["pending", "done"])
def test_only_a_failed_command_may_be_cancelled(admin, account, state):
    command = access_change(account, subject="stage:1", access=Access.FULL)
    if state == "done":
        command = run(command)
    http = logged_in(admin)
    assert 'id="cancel-form"' not in http.get(page_of(command)).content.decode()
    response = post_form(http, f"{page_of(command)}cancel/", {})
    page = http.get(response["Location"]).content.decode()
    assert f"is {state}: only a failed command can be cancelled" in page
    assert fresh(command).status == state
    assert not AuditRecord.objects.filter(action=AuditAction.PLATFORM_COMMAND_CANCEL).exists()
