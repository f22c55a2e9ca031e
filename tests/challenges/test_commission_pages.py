"""The back office of IB commission: Settings > Commission schemes, the IB's scheme on their
client page, and the settlements page, for staff holding the commission permission only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from propdesk.challenges.growth.models import CommissionScheme, CommissionSettlement, IbTerms
from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from tests.challenges.commission_factories import buy, ib, scheme, trader
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db
SCHEMES = "/backoffice/settings/commission-schemes/"
SETTLEMENTS = "/backoffice/prop-trading/commission-settlements/"


def test_staff_add_and_edit_a_scheme(admin):
    http = logged_in(admin)
    assert http.get(SCHEMES).status_code == 200
    form = {"name": "Standard IB", "rates": "10, 3", "settlement": "instant", "is_default": "on"}
    answer = post_form(http, SCHEMES + "new/", form)
    assert answer.status_code == 302
    made = CommissionScheme.objects.get()
    assert (made.rates, made.is_default) == (["10", "3"], True)
    assert "L2 3%" in http.get(SCHEMES).content.decode()
    answer = post_form(http, f"{SCHEMES}{made.pk}/", {**form, "rates": "12", "is_default": ""})
    made.refresh_from_db()
    assert (made.rates, made.is_default) == (["12"], False)
    assert AuditRecord.objects.filter(action=AuditAction.COMMISSION_SCHEME_SAVE).count() == 2


@pytest.mark.parametrize(
    "rates",
    ["", "0", "150", "60, 50", "1 " * 11, "ten", "1.23456", "<b>5</b>", "9" * 150],
)
def test_a_bad_scheme_is_refused_with_its_error_and_nothing_saved(admin, rates):
    answer = post_form(
        logged_in(admin),
        SCHEMES + "new/",
        {"name": "X", "rates": rates, "settlement": "instant"},
    )
    assert answer.status_code == 422
    assert not CommissionScheme.objects.exists()


def test_a_duplicate_name_or_unknown_settlement_is_refused(admin):
    scheme(admin, ["10"], name="Standard")
    http = logged_in(admin)
    for form in (
        {"name": "standard", "rates": "5", "settlement": "instant"},
        {"name": "Other", "rates": "5", "settlement": "yearly"},
        {"name": "x" * 61, "rates": "5", "settlement": "instant"},
    ):
        assert post_form(http, SCHEMES + "new/", form).status_code == 422
    assert CommissionScheme.objects.count() == 1
    assert http.get(SCHEMES + "999999/").status_code == 404


def test_the_ibs_page_shows_and_changes_their_scheme(admin, set_method, challenge, finance):
    scheme(admin, ["10"], name="Standard")
    own = scheme(admin, ["15"], name="Gold", default=False)
    top = ib(set_method)
    buy(trader(set_method, referrer=top), challenge, finance)
    http = logged_in(admin)
    page = http.get(f"/backoffice/clients/{top.pk}/").content.decode()
    assert "Standard (the default)" in page
    assert "49.90" in page
    post_form(http, f"/backoffice/clients/{top.pk}/commission-scheme/", {"scheme": own.pk})
    assert IbTerms.objects.get(client=top).scheme == own
    post_form(http, f"/backoffice/clients/{top.pk}/commission-scheme/", {"scheme": "junk"})
    assert IbTerms.objects.get(client=top).scheme == own  # refused, unchanged
    post_form(http, f"/backoffice/clients/{top.pk}/commission-scheme/", {"scheme": ""})
    assert not IbTerms.objects.filter(client=top).exists()


def test_staff_settle_a_period_from_the_page(admin, set_method, challenge, finance):
    scheme(admin, ["10"], settlement="periodic")
    top = ib(set_method)
    buy(trader(set_method, referrer=top), challenge, finance)
    http = logged_in(admin)
    today = timezone.localdate().isoformat()
    form = {"period_start": today, "period_end": today}
    assert post_form(http, SETTLEMENTS, form).status_code == 302
    assert post_form(http, SETTLEMENTS, form).status_code == 302  # nothing more to settle
    assert CommissionSettlement.objects.get().amount == Decimal("49.90")
    assert "49.90" in http.get(SETTLEMENTS).content.decode()
    bad = {"period_start": "2026-99-01", "period_end": today}
    assert post_form(http, SETTLEMENTS, bad).status_code == 422


def test_staff_without_the_permission_are_refused(support, admin, set_method):
    made = scheme(admin, ["10"])
    someone = ib(set_method)
    http = logged_in(support)
    assert http.get(SCHEMES).status_code == 403
    assert http.get(SETTLEMENTS).status_code == 403
    form = {"name": "Mine", "rates": "50", "settlement": "instant"}
    assert post_form(http, SCHEMES + "new/", form).status_code == 403
    answer = post_form(
        http, f"/backoffice/clients/{someone.pk}/commission-scheme/", {"scheme": made.pk}
    )
    assert answer.status_code == 403
    assert not IbTerms.objects.exists()
    assert CommissionScheme.objects.count() == 1
