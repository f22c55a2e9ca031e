"""One reference per thing: the client and staff see the same DEP-/KYC- reference everywhere it
is shown, and staff find the thing by it."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.notifications.models import Notification
from propdesk.onboarding import kyc
from propdesk.wallet import deposits, services, withdrawals
from propdesk.wallet import references as entry_references
from propdesk.wallet.models import Deposit
from tests.api.conftest import Api
from tests.conftest import PASSWORD, logged_in, post_form
from tests.onboarding.factories import answers, documents
from tests.wallet.factories import bank_destination

pytestmark = pytest.mark.django_db


def _deposit_in_portal(client, method, amount="250.00", currency="EUR"):
    http = logged_in(client.user)
    response = post_form(
        http,
        reverse("portal:deposit"),
        {"method": method.pk, "amount": amount, "currency": currency, "idempotency_key": "k1"},
    )
    return http, response


def test_a_deposit_shows_one_reference_to_the_client_and_to_staff(
    active_client, bank_transfer, finance, support
):
    http, response = _deposit_in_portal(active_client, bank_transfer)
    deposit = Deposit.objects.get()
    ref = deposit.reference
    assert ref == f"DEP-{deposit.pk:06d}"
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:deposit_detail", args=[deposit.pk])
    assert ref in http.get(response["Location"]).content.decode()
    assert ref in http.get(reverse("portal:wallet")).content.decode()

    request = ApprovalRequest.objects.get(type_key="deposit")
    assert request.reference == ref  # not the request's own number
    staff = logged_in(finance)
    queue = staff.get(reverse("backoffice:approvals_queue", args=["deposit"])).content.decode()
    assert ref in queue
    review = staff.get(reverse("backoffice:approval_review", args=[request.pk])).content.decode()
    assert f'id="reference">{ref}<' in review
    assert f"#{request.pk}" not in review

    approvals.approve(request.pk, actor=finance, inputs={"bank_reference": "FT-1"})
    note = Notification.objects.filter(user=active_client.user).latest("id")
    assert ref in note.body
    movements = http.get(reverse("portal:wallet")).content.decode()
    assert movements.count(ref) >= 2  # the deposit's row and the credit in the movements
    client_page = staff.get(reverse("backoffice:client", args=[active_client.pk])).content.decode()
    assert ref in client_page

    report = logged_in(support).get(reverse("backoffice:transactions_report")).content.decode()
    assert ref in report


def test_staff_find_a_deposit_by_its_reference(active_client, bank_transfer, finance, support):
    for amount in ("100.00", "200.00"):
        deposits.request_deposit(
            active_client, method=bank_transfer.pk, amount=amount, currency="EUR"
        )
    first, second = Deposit.objects.order_by("pk")
    for request in ApprovalRequest.objects.filter(type_key="deposit"):
        approvals.approve(request.pk, actor=finance, inputs={"bank_reference": f"FT-{request.pk}"})
    staff = logged_in(finance)
    for typed in (second.reference, second.reference.lower(), f"DEP-{second.pk}"):
        found = staff.get(reverse("backoffice:approvals_all"), {"q": typed, "status": ""})
        shown = re.findall(r'<td class="reference">([^<]*)</td>', found.content.decode())
        assert shown == [second.reference]

    report = logged_in(support).get(
        reverse("backoffice:transactions_report"), {"reference": first.reference}
    )
    rows = report.content.decode().split('id="transactions"')[1]
    assert first.reference in rows
    assert second.reference not in rows
    csv_text = b"".join(
        logged_in(support)
        .get(
            reverse("backoffice:transactions_report"),
            {"reference": first.reference, "format": "csv"},
        )
        .streaming_content
    ).decode()
    [header, *lines] = list(csv.reader(io.StringIO(csv_text)))
    assert header[2] == "reference"
    assert [line[2] for line in lines] == [first.reference]


def test_a_bad_reference_in_the_report_filter_is_named_and_filters_nothing(
    active_client, bank_transfer, finance, support
):
    deposits.request_deposit(active_client, method=bank_transfer.pk, amount="100", currency="EUR")
    approvals.approve(
        ApprovalRequest.objects.get(type_key="deposit").pk,
        actor=finance,
        inputs={"bank_reference": "FT-2"},
    )
    page = logged_in(support).get(
        reverse("backoffice:transactions_report"), {"reference": "<b>DEP-x</b>"}
    )
    text = page.content.decode()
    assert "Give a reference such as DEP-000002" in text
    assert Deposit.objects.get().reference in text  # the rest of the report still shows


def test_a_kyc_submission_shows_one_reference_to_the_client_and_to_staff(
    active_client, kyc_form, compliance
):
    submission = kyc.submit(active_client, form_id=kyc_form.pk, values=answers(), files=documents())
    ref = submission.reference
    assert ref == f"KYC-{submission.pk:06d}"
    mine = logged_in(active_client.user).get(reverse("portal:kyc")).content.decode()
    assert ref in mine

    request = ApprovalRequest.objects.get(type_key="kyc")
    staff = logged_in(compliance)
    queue = staff.get(reverse("backoffice:approvals_queue", args=["kyc"])).content.decode()
    assert ref in queue
    review = staff.get(reverse("backoffice:approval_review", args=[request.pk])).content.decode()
    assert f'id="reference">{ref}<' in review
    found = staff.get(reverse("backoffice:approvals_all"), {"q": ref, "status": ""})
    assert f'data-request="{request.pk}"' in found.content.decode()
    client_page = staff.get(reverse("backoffice:client", args=[active_client.pk])).content.decode()
    assert ref in client_page


def test_the_api_gives_the_same_reference_to_the_client_and_to_staff(
    active_client, bank_transfer, finance
):
    api = Api()
    mine = api.token(active_client.user.email, PASSWORD)
    made = api.call(
        "POST",
        "/wallet/deposits",
        {"amount": "100.00", "currency": "EUR", "method": bank_transfer.pk},
        token=mine,
    )
    assert made.status_code == 201
    ref = made.json()["reference"]
    assert ref == Deposit.objects.get().reference
    staff = api.token(finance.email, PASSWORD)
    listed = api.call("GET", "/approvals?type=deposit", token=staff).json()["items"]
    assert [r["reference"] for r in listed] == [ref]
    found = api.call("GET", f"/approvals?reference={ref.lower()}", token=staff).json()["items"]
    assert [r["reference"] for r in found] == [ref]
    refused = api.call("GET", "/approvals?reference=DEP-x", token=staff)
    assert refused.status_code == 422
    assert "reference" in refused.json()["fields"]


def test_old_links_by_number_still_open_the_request(active_client, bank_transfer, finance):
    deposits.request_deposit(active_client, method=bank_transfer.pk, amount="100", currency="EUR")
    request = ApprovalRequest.objects.get(type_key="deposit")
    staff = logged_in(finance)
    assert staff.get(f"/backoffice/approvals/{request.pk}/").status_code == 200
    found = staff.get(reverse("backoffice:approvals_all"), {"q": f"#{request.pk}", "status": ""})
    assert f'data-request="{request.pk}"' in found.content.decode()


def test_each_ledger_row_names_what_caused_it(active_client, bank_transfer, finance):
    adjustment = services.adjust(
        active_client.pk,
        direction="credit",
        amount="300",
        currency="EUR",
        comment="Goodwill",
        actor=finance,
    )
    withdrawal = withdrawals.request_withdrawal(
        active_client,
        method=bank_transfer.pk,
        amount="100",
        currency="EUR",
        destination=bank_destination(),
    )
    approvals.approve(
        ApprovalRequest.objects.get(type_key="withdrawal").pk, actor=finance, amount="60"
    )
    withdrawal.refresh_from_db()
    entries = [
        adjustment.pk,
        withdrawal.hold_entry_id,
        withdrawal.settle_entry_id,
        withdrawal.release_entry_id,
    ]
    named = entry_references.for_entries(entries)
    assert named == {
        adjustment.pk: f"ADJ-{adjustment.pk:06d}",
        withdrawal.hold_entry_id: withdrawal.reference,
        withdrawal.settle_entry_id: withdrawal.reference,
        withdrawal.release_entry_id: withdrawal.reference,
    }
    assert sorted(entry_references.entries_with(withdrawal.reference)) == sorted(entries[1:])
    assert entry_references.entries_with(adjustment.reference) == [adjustment.pk]
    assert entry_references.entries_with("not a reference") is None
    lines = services.wallet_lines(active_client)
    assert [line["reference"] for line in lines].count(withdrawal.reference) == 2
