"""Certificates: a stage passed (by the monitor or by staff) and a payout paid each earn one,
once, with what it says fixed at issue; its code is unguessable; its PDF is one landscape page
that says it, whatever script the trader's name is in."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone
from pypdf import PdfReader

from propdesk.accounts.models import User
from propdesk.challenges.certificates import document, services, wording
from propdesk.challenges.models import Certificate
from propdesk.challenges.participation import interventions
from propdesk.core.errors import Conflict
from tests.challenges.factories import (
    breached,
    funded,
    paid_payout,
    pass_stage,
    reach_target,
    running,
    stage,
)

pytestmark = pytest.mark.django_db
D = Decimal
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CODE = re.compile(r"^[A-Za-z0-9_-]{32}$")


@pytest.fixture
def trader_named(register, set_method):
    """A registered, approved trader of the given name."""
    set_method("trader_registration", "automatic")
    return lambda name: register(name=name)[0]


def passed(client, finance, admin):
    """A 2-stage challenge whose first stage the monitor passed (+8,880 on 100,000)."""
    joined, attempt = running(client, finance, admin, stages=[stage(), stage("live")])
    pass_stage(attempt)
    attempt.refresh_from_db()
    assert attempt.status == "passed"
    return joined, attempt


def pdf_text(content: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(content))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


# --- issuing -------------------------------------------------------------------------------------


def test_a_stage_the_monitor_passes_earns_a_certificate_with_its_figures(
    active_client, finance, admin, settings
):
    settings.PROPDESK_FIRM_NAME = "Acme Prop Ltd"
    _, attempt = passed(active_client, finance, admin)
    made = Certificate.objects.get(attempt=attempt)
    assert made.kind == "stage_passed"
    assert made.client == active_client
    f = made.figures
    assert f["firm"] == "Acme Prop Ltd"
    assert f["trader"] == active_client.user.name
    assert f["challenge"] == "2-Step 100K"
    assert (f["stage"], f["stage_number"], f["stage_count"]) == ("Stage 1", 1, 2)
    assert (f["account_size"], f["currency"]) == ("100000.00", "USD")
    assert (f["profit"], f["profit_pct"]) == ("8880.00", "8.88")
    # The day its rules passed it (the day's close), in the firm's time zone.
    at = datetime.fromisoformat(attempt.verdict["at"].replace("Z", "+00:00"))
    assert (
        f["passed_on"] == timezone.localtime(at, timezone.get_default_timezone()).date().isoformat()
    )
    assert f["started_on"] <= f["passed_on"]
    assert (
        f["issued_on"]
        == timezone.localdate(made.issued_at, timezone.get_default_timezone()).isoformat()
    )
    assert f["reference"] == made.reference
    assert made.reference.startswith("CRT-")


def test_what_a_certificate_says_stays_as_issued(active_client, finance, admin, settings):
    _, attempt = passed(active_client, finance, admin)
    made = Certificate.objects.get(attempt=attempt)
    User.objects.filter(pk=active_client.user_id).update(name="Someone Else")
    settings.PROPDESK_FIRM_NAME = "Renamed Firm"
    made.refresh_from_db()
    said = wording.of(made)
    assert said.trader != "Someone Else"
    assert said.firm != "Renamed Firm"


def test_asking_again_gives_back_the_first_certificate(active_client, finance, admin):
    _, attempt = passed(active_client, finance, admin)
    first = Certificate.objects.get(attempt=attempt)
    with transaction.atomic():
        again = services.issue_for_stage(attempt)
    assert again.pk == first.pk
    assert again.code == first.code
    assert Certificate.objects.filter(attempt=attempt).count() == 1


def test_a_stage_staff_advance_earns_a_certificate(active_client, finance, admin):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage(), stage()])
    interventions.advance(attempt.pk, actor=admin, reason="Passed on the old server")
    made = Certificate.objects.get(attempt=attempt)
    assert made.kind == "stage_passed"
    assert made.figures["stage_number"] == 1
    assert "profit" not in made.figures  # the monitor had read nothing of the account yet
    assert "Profit reached" not in dict(wording.of(made).rows)


def test_a_stage_staff_advance_after_trading_states_the_profit_it_stood_at(
    active_client, finance, admin
):
    _, attempt = running(active_client, finance, admin, stages=[stage(), stage(), stage()])
    reach_target(attempt)  # +8,880 closed, the day still open
    interventions.advance(attempt.pk, actor=admin, reason="Target reached, passed early")
    made = Certificate.objects.get(attempt=attempt)
    assert (made.figures["profit"], made.figures["profit_pct"]) == ("8880.00", "8.88")


def test_a_failed_stage_earns_none_and_is_refused_one(active_client, finance, admin):
    _, attempt, *_ = breached(active_client, finance, admin)
    assert not Certificate.objects.filter(attempt=attempt).exists()
    with pytest.raises(Conflict, match="passed stage"):
        services.issue_for_stage(attempt)
    assert not Certificate.objects.exists()


def test_a_paid_payout_earns_one_certificate_with_the_traders_share(active_client, finance, admin):
    _, live = funded(active_client, finance, admin)
    payout = paid_payout(live, profit="2500.00", share_pct="80.00")
    made = services.issue_for_payout(payout)
    assert made.kind == "payout"
    assert made.payout == payout
    assert made.attempt == live
    f = made.figures
    assert (f["amount"], f["currency"], f["share_pct"]) == ("2000.00", "USD", "80.00")
    assert f["paid_on"] == f["issued_on"]
    assert f["stage_kind"] == "live"
    assert services.issue_for_payout(payout).pk == made.pk
    assert Certificate.objects.filter(payout=payout).count() == 1
    said = wording.of(made)
    assert said.title == "Payout certificate"
    assert ("Paid to the trader", "2,000.00 USD") in said.rows
    assert ("Stage", "Stage 1 of 1 (Funded)") in said.rows  # not "Account": it names the stage


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's unique index waits")
@pytest.mark.django_db(transaction=True)
def test_two_transactions_issuing_at_once_give_back_one_certificate(active_client, finance, admin):
    """The second, not seeing the first's uncommitted row, inserts and waits on the unique
    index; once the first commits it finds that one, and its own transaction goes on."""
    _, live = funded(active_client, finance, admin)
    payout = paid_payout(live)
    first_issued = threading.Event()
    got: dict[str, int] = {}
    failures: list[BaseException] = []

    def first() -> None:
        with transaction.atomic():
            got["first"] = services.issue_for_payout(payout).pk
            first_issued.set()
            time.sleep(0.5)  # the second one reaches the unique index meanwhile

    def second() -> None:
        first_issued.wait(10)
        with transaction.atomic():
            got["second"] = services.issue_for_payout(payout).pk
            Certificate.objects.count()  # the transaction is still usable

    def run(work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as exc:  # what the thread met, for the assert
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    assert got["first"] == got["second"]
    assert Certificate.objects.filter(payout=payout).count() == 1


def test_a_payout_not_yet_paid_earns_none(active_client, finance, admin):
    _, live = funded(active_client, finance, admin)
    payout = paid_payout(live, status="approved")
    with pytest.raises(Conflict, match="paid payout"):
        services.issue_for_payout(payout)
    assert not Certificate.objects.exists()


def test_codes_are_random_url_safe_and_not_made_from_ids(active_client, finance, admin):
    _, live = funded(active_client, finance, admin)
    made = [services.issue_for_payout(paid_payout(live)) for _ in range(3)]
    codes = [c.code for c in made]
    assert len(set(codes)) == 3
    for certificate in made:
        assert CODE.match(certificate.code)
        assert f"{certificate.pk:06d}" not in certificate.code
        assert certificate.reference not in certificate.code
    assert all(services.is_code(code) for code in codes)
    assert not services.is_code(codes[0][:-1])
    assert not services.is_code(codes[0] + "A")
    assert not services.is_code(codes[0][:-1] + "/")


# --- the PDF -------------------------------------------------------------------------------------


def test_the_pdf_is_one_landscape_page_that_says_it_all(active_client, finance, admin, settings):
    settings.PROPDESK_SITE_URL = "https://desk.example.com"
    _, attempt = passed(active_client, finance, admin)
    made = Certificate.objects.get(attempt=attempt)
    content = document.render(made)
    assert content.startswith(b"%PDF-")
    reader, text = pdf_text(content)
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)
    for said in (
        "Certificate of achievement",
        active_client.user.name,
        "2-Step 100K",
        "100,000.00 USD",
        "8,880.00 USD (8.88%)",
        made.reference,
        made.code,
        f"https://desk.example.com/certificates/{made.code}/",
    ):
        assert said in text, said


@pytest.mark.parametrize(
    ("name", "written"),
    [
        ("Łukasz Dvořák", "Lukasz Dvorák"),  # á is Latin-1
        ("Zoë Ørsted-Müller", "Zoë Ørsted-Müller"),  # Latin-1 as it is
        ("李雷", "??"),
    ],
)
def test_a_name_beyond_latin_1_is_written_as_near_as_the_core_font_comes(
    trader_named, finance, admin, name, written
):
    client = trader_named(name)
    _, attempt = passed(client, finance, admin)
    made = Certificate.objects.get(attempt=attempt)
    assert made.figures["trader"] == name  # kept whole: the public page shows it
    _, text = pdf_text(document.render(made))
    assert written in text


@pytest.mark.skipif(not DEJAVU.exists(), reason="Debian's fonts-dejavu-core is not installed")
def test_with_a_unicode_font_names_are_written_whole_and_missing_glyphs_as_question_marks(
    trader_named, finance, admin, settings
):
    settings.PROPDESK_CERTIFICATE_FONTS = [str(DEJAVU)]
    client = trader_named("Łukasz Dvořák 李雷")
    _, attempt = passed(client, finance, admin)
    _, text = pdf_text(document.render(Certificate.objects.get(attempt=attempt)))
    assert "Łukasz Dvořák ??" in text  # DejaVu Sans has no CJK


def test_a_font_that_cannot_be_read_falls_back_to_the_core_font(
    trader_named, finance, admin, settings, tmp_path
):
    broken = tmp_path / "broken.ttf"
    broken.write_bytes(b"not a font")
    settings.PROPDESK_CERTIFICATE_FONTS = [str(broken), str(tmp_path / "missing.ttf")]
    client = trader_named("Łukasz Dvořák")
    _, attempt = passed(client, finance, admin)
    _, text = pdf_text(document.render(Certificate.objects.get(attempt=attempt)))
    assert "Lukasz Dvorák" in text


def test_a_very_long_name_still_fits_one_page(trader_named, finance, admin):
    client = trader_named("Maximilian " * 13 + "Long")
    _, attempt = passed(client, finance, admin)
    reader, text = pdf_text(document.render(Certificate.objects.get(attempt=attempt)))
    assert len(reader.pages) == 1
    assert "Maximilian" in text
