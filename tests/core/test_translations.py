"""The Spanish catalogue is complete and compiled: every entry translated, none fuzzy, the
placeholders of each translation the same as its English, and the committed .mo what the .po
says (a fresh machine needs no msgfmt). Amounts and dates read as each language writes them."""

from __future__ import annotations

import gettext
import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.template import Context, Template
from django.utils import translation

from propdesk.core.templatetags.money import money, signed_money
from tests.core.factories import LOCALE, catalogue, read_po

OTHER_LANGUAGES = [code for code, _ in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sd]|\{\{ *[a-z_0-9.]+ *\}\}|%%")


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(code):
    entries = catalogue(code)
    assert len(entries) > 500
    untranslated = [e["msgid"] for e in entries if not e.get("msgstr") and not e.get("msgstr[0]")]
    fuzzy = [e["msgid"] for e in entries if e.get("fuzzy")]
    assert untranslated == [], "translate these (make messages, docs/languages.md)"
    assert fuzzy == [], "check these and remove their fuzzy mark"


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_each_translation_keeps_the_placeholders_of_its_english(code):
    """A plural's first form keeps the singular's placeholders, its other forms the plural's
    ("You have a new notification" / "You have %(counter)s new notifications")."""

    def english(entry, key):
        return entry["msgid"] if key in ("msgstr", "msgstr[0]") else entry["msgid_plural"]

    wrong = [
        (e["msgid"], said)
        for e in catalogue(code)
        for key, said in e.items()
        if key.startswith("msgstr")
        and sorted(set(PLACEHOLDER.findall(str(english(e, key)))))
        != sorted(set(PLACEHOLDER.findall(str(said))))
    ]
    assert wrong == []


def stale(po: Path, mo: Path) -> list[object]:
    """The entries of the .po that the compiled .mo says otherwise (or lacks)."""
    with mo.open("rb") as compiled:
        read = gettext.GNUTranslations(compiled)
    return [
        e["msgid"]
        for e in read_po(po)
        if "msgstr" in e and not e.get("fuzzy") and compiled_as(read, e) != e["msgstr"]
    ]


def compiled_as(read: gettext.GNUTranslations, entry: dict[str, object]) -> str:
    if "msgctxt" in entry:  # "1st" as a day of the month
        return read.pgettext(str(entry["msgctxt"]), str(entry["msgid"]))
    return read.gettext(str(entry["msgid"]))


@pytest.mark.parametrize("code", OTHER_LANGUAGES)
def test_the_committed_mo_says_what_the_po_says(code):
    """Run `make messages` after editing a .po: the .mo is what Django reads."""
    folder = LOCALE / code / "LC_MESSAGES"
    assert stale(folder / "django.po", folder / "django.mo") == [], "run `make messages`"


def test_a_translation_changed_in_the_po_but_not_compiled_is_stale(tmp_path):
    folder = LOCALE / "es" / "LC_MESSAGES"
    edited = tmp_path / "django.po"
    text = (folder / "django.po").read_text("utf-8")
    edited.write_text(text.replace('msgstr "Billetera"', 'msgstr "Monedero"'), "utf-8")
    assert stale(edited, folder / "django.mo") == ["Wallet"]


@pytest.mark.parametrize(
    ("language", "amount", "currency", "shown"),
    [
        ("en", "12345.67", "USD", "12,345.67"),
        ("en", "-1500", "JPY", "-1,500"),
        ("en", "1234567.5", "", "1,234,567.5"),
        ("es", "12345.67", "USD", "12.345,67"),
        ("es", "-1500", "JPY", "-1.500"),
        ("es", "1234567.5", "EUR", "1.234.567,50"),
        ("es", "0", "USD", "0,00"),
    ],
)
def test_money_is_written_as_the_language_writes_it(language, amount, currency, shown):
    with translation.override(language):
        assert money(Decimal(amount), currency) == shown


def test_a_credit_keeps_its_plus_sign_in_spanish():
    with translation.override("es"):
        assert signed_money(Decimal("250"), "USD") == "+250,00"
        assert signed_money(Decimal("-1500"), "USD") == "-1.500,00"


def test_dates_follow_the_language():
    when = datetime(2026, 3, 5, 14, 30, tzinfo=ZoneInfo("UTC"))
    page = Template("{{ when|date }} · {{ when|date:'l' }}")
    with translation.override("en"):
        assert page.render(Context({"when": when})) == "March 5, 2026 · Thursday"
    with translation.override("es"):
        assert page.render(Context({"when": when})) == "5 de marzo de 2026 · jueves"
