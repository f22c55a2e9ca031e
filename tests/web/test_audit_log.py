"""Back office > Audit log: a record's change reads as field | before | after, in words."""

from __future__ import annotations

import re
from html import unescape

import pytest

from propdesk.core import audit
from propdesk.core.audit import AuditAction
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db

AUDIT = "/backoffice/audit/"
EURUSD = "/backoffice/settings/trading-platforms/sandbox-instruments/EURUSD/"


def change_rows(page: str) -> dict[str, tuple[str, str, str]]:
    """field -> (changed or unchanged, before, after), as the page shows them in words."""
    rows = {}
    for kind, field, before, after in re.findall(
        r'<tr class="(changed|unchanged)" data-field="[^"]*">\s*<th scope="row">(.*?)</th>\s*'
        r"<td>(.*?)</td>\s*<td>(.*?)</td>",
        page,
        re.DOTALL,
    ):
        rows[unescape(field)] = (kind, words(before), words(after))
    return rows


def words(html: str) -> str:
    summary = re.search(r"<summary>(.*?)</summary>", html, re.DOTALL)
    return unescape(re.sub(r"<[^>]+>", "", summary.group(1) if summary else html)).strip()


def test_a_settings_change_shows_each_field_as_old_to_new_not_a_python_dict(admin):
    http = logged_in(admin)
    form = {
        "description": "Euro vs US dollar",
        "spread_points": "30",
        "min_volume": "0.01",
        "max_volume": "100",
        "volume_step": "0.01",
        "trading_hours": "mon-fri 13:30-20:00",
        "rollover_spread_multiplier": "3",
        "volatility_pct": "7",
    }  # "enabled" left out: unticked
    assert post_form(http, EURUSD, form).status_code == 302
    page = http.get(AUDIT).content.decode()
    assert "{&#x27;" not in page
    assert "{'" not in page
    rows = change_rows(page)
    assert rows["Spread points"] == ("changed", "12", "30")
    assert rows["Enabled"] == ("changed", "yes", "no")
    assert rows["Trading hours"] == ("changed", "—", "days mon-fri, open 13:30, close 20:00")
    assert rows["Min volume"] == ("unchanged", "0.01", "0.01")
    assert '<tr class="changed" data-field="Spread points">' in page


def test_lists_moments_and_secrets_read_as_words_and_a_long_value_is_cut_with_the_whole_kept(
    admin,
):
    long_text = "A reason that goes on " * 20
    audit.record(
        actor=admin,
        action=AuditAction.PAYMENT_METHOD_UPDATE,
        object_type="payment_method",
        object_id=7,
        before={"currencies": ["EUR"], "api_key": "sk_live_abc", "run_after": None},
        after={
            "currencies": ["EUR", "USD"],
            "api_key": "sk_live_xyz",
            "run_after": "2026-12-05T10:30:00+00:00",
            "reason": long_text,
        },
    )
    page = logged_in(admin).get(AUDIT).content.decode()
    rows = change_rows(page)
    assert rows["Currencies"] == ("changed", "EUR", "EUR, USD")
    assert rows["Api key"] == ("changed", "••••••", "••••••")
    assert "sk_live" not in page
    assert rows["Run after"][2].startswith("2026-12-05 ")
    kind, before, after = rows["Reason"]
    assert (kind, before) == ("changed", "")
    assert after.endswith("…")
    assert len(after) <= 80
    assert long_text.strip() in unescape(page)  # the whole of it, behind "show all"
