"""The client's page in the back office is a 360° view: a summary at the top, then the wallet,
challenges and their stages, trading accounts, KYC, requests and staff notes, and the heavy
actions (suspend) last."""

from __future__ import annotations

import re
from html import unescape

import pytest

from propdesk.accounts import services as accounts
from propdesk.accounts.models import ClientNote
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Forbidden, NotFound
from propdesk.core.models import AuditRecord
from propdesk.onboarding import kyc
from propdesk.wallet import deposits
from tests.challenges.factories import running, stage
from tests.conftest import logged_in, post_form
from tests.onboarding.factories import answers, documents

pytestmark = pytest.mark.django_db


def page_of(user, client):
    response = logged_in(user).get(f"/backoffice/clients/{client.pk}/")
    assert response.status_code == 200
    return unescape(response.content.decode())


def section(html, key):
    found = re.search(rf'<section id="{key}" class="client-panel">(.*?)</section>', html, re.S)
    assert found, f"no section {key}"
    return found.group(1)


@pytest.fixture
def busy_client(active_client, finance, admin, bank_transfer):
    """A client with 1,000 USD topped up, a challenge paid from it (its first stage running)
    and a deposit waiting for review."""
    joined, attempt = running(active_client, finance, admin, stages=[stage(), stage("live")])
    deposits.request_deposit(
        active_client, method=bank_transfer.pk, amount="2500.00", currency="USD"
    )
    return active_client, joined, attempt


def test_the_sections_come_in_order_with_the_actions_last(busy_client, admin):
    client, _, _ = busy_client
    html = page_of(admin, client)
    order = re.findall(r'<section id="([a-z-]+)" class="client-panel">', html)
    assert order == [
        "wallet",
        "payments",
        "challenges",
        "trading-accounts",
        "commission",
        "kyc",
        "requests",
        "referrals",
        "notes",
        "actions",
    ]
    assert html.index('id="summary"') < html.index('id="wallet"')
    assert "Suspend client" in section(html, "actions")


def test_the_summary_gives_status_kyc_balance_and_active_challenges(busy_client, admin):
    client, _, _ = busy_client
    html = page_of(admin, client)
    summary = re.search(r'<article id="summary".*?</article>', html, re.S).group(0)
    assert 'data-summary="status"' in summary
    assert "Active" in summary
    assert 'data-summary="kyc"' in summary
    balance = re.search(r'data-summary="balance">(.*?)</dd>', summary, re.S).group(1)
    assert "USD" in balance
    assert re.search(r'data-summary="challenges"><strong>1</strong>', summary)


def test_the_wallet_shows_balances_recent_movements_and_links_the_full_history(busy_client, admin):
    client, _, _ = busy_client
    wallet = section(page_of(admin, client), "wallet")
    assert 'data-balance="USD"' in wallet
    assert "1,000.00 USD" in wallet  # the top-up, with its thousands separator
    assert "Recent movements" in wallet
    assert f'/backoffice/reports/transactions/?client_id={client.pk}"' in wallet


def test_the_challenges_show_each_stage_and_link_the_participant_page(busy_client, admin):
    client, joined, attempt = busy_client
    challenges = section(page_of(admin, client), "challenges")
    assert f'href="/backoffice/prop-trading/participants/{joined.pk}/"' in challenges
    assert f'data-attempt="{attempt.pk}"' in challenges
    assert attempt.login in challenges
    assert "In progress" in challenges
    assert "Stage 1 of 2" in challenges


def test_the_trading_accounts_show_platform_login_and_status(busy_client, admin):
    client, _, attempt = busy_client
    accounts_part = section(page_of(admin, client), "trading-accounts")
    assert f'data-login="{attempt.login}"' in accounts_part
    assert attempt.server.name in accounts_part
    assert f'href="/backoffice/trading/accounts/{attempt.login}/"' in accounts_part
    assert "Trading" in accounts_part


def test_kyc_shows_the_status_the_last_submission_and_links_its_review(
    active_client, compliance, kyc_form
):
    kyc_part = section(page_of(compliance, active_client), "kyc")
    assert "nothing submitted yet" in kyc_part
    submission = kyc.submit(active_client, form_id=kyc_form.pk, values=answers(), files=documents())
    kyc_part = section(page_of(compliance, active_client), "kyc")
    assert f">{submission.reference}<" in kyc_part.split("last submission", 1)[1]
    assert re.search(r'href="/backoffice/approvals/\d+/" id="kyc-review">Review it', kyc_part)


def test_requests_list_the_pending_first(busy_client, admin, finance, bank_transfer):
    from propdesk.approvals import services as approvals
    from propdesk.approvals.models import ApprovalRequest

    client, _, _ = busy_client
    first = ApprovalRequest.objects.filter(client=client, type_key="deposit").get()
    approvals.approve(first.pk, actor=finance, inputs={"bank_reference": "FT-123"})
    deposits.request_deposit(client, method=bank_transfer.pk, amount="100.00", currency="USD")
    requests = section(page_of(admin, client), "requests")
    shown = re.findall(r'<tr data-request="(\d+)">.*?status status-(\w+)', requests, re.S)
    statuses = [s for _, s in shown]
    assert statuses[0] == "pending"
    assert statuses.index("approved") > statuses.index("pending")
    assert 'data-pending-requests="1"' in requests


def test_a_note_is_kept_with_its_author_and_time_newest_first_and_audited(busy_client, support):
    client, _, _ = busy_client
    http = logged_in(support)
    path = f"/backoffice/clients/{client.pk}/notes/"
    assert post_form(http, path, {"text": "Called about the deposit."}).status_code == 302
    assert post_form(http, path, {"text": "Sent the bank details\nagain."}).status_code == 302
    notes = section(page_of(support, client), "notes")
    assert notes.index("Sent the bank details<br>again.") < notes.index("Called about")
    assert support.name in notes
    record = AuditRecord.objects.filter(action=AuditAction.CLIENT_NOTE).first()
    assert record.actor == support
    assert record.object_id == str(client.pk)


@pytest.mark.parametrize(
    ("text", "said"),
    [("", "Note is required."), ("   ", "Note is required."), ("x" * 2001, "at most 2000")],
)
def test_an_empty_or_huge_note_is_refused_and_nothing_kept(busy_client, support, text, said):
    client, _, _ = busy_client
    response = post_form(
        logged_in(support), f"/backoffice/clients/{client.pk}/notes/", {"text": text}
    )
    assert response.status_code == 400
    assert said in unescape(response.content.decode())
    assert not ClientNote.objects.exists()


def test_hostile_note_text_is_shown_as_text(busy_client, support):
    client, _, _ = busy_client
    post_form(
        logged_in(support),
        f"/backoffice/clients/{client.pk}/notes/",
        {"text": "<script>alert(1)</script>"},
    )
    raw = logged_in(support).get(f"/backoffice/clients/{client.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in raw
    assert "&lt;script&gt;" in raw


def test_notes_need_the_permission(busy_client, staff_factory, support):
    from propdesk.accounts.models import Role

    client, _, _ = busy_client
    Role.objects.create(name="Reader", permissions=["clients.view"])
    viewer = staff_factory(role="Reader")
    assert "Add note" not in section(page_of(viewer, client), "notes")
    response = post_form(
        logged_in(viewer), f"/backoffice/clients/{client.pk}/notes/", {"text": "Hi"}
    )
    assert response.status_code == 403
    with pytest.raises(Forbidden):
        accounts.add_client_note(client.pk, actor=viewer, text="Hi")
    assert not ClientNote.objects.exists()
    assert "Add note" in section(page_of(support, client), "notes")


def test_a_note_on_no_such_client_is_refused(support):
    with pytest.raises(NotFound):
        accounts.add_client_note(999999, actor=support, text="Hi")
    assert (
        post_form(
            logged_in(support), "/backoffice/clients/999999/notes/", {"text": "Hi"}
        ).status_code
        == 404
    )
