"""The one grammar for numbers people send, and the one cleaning of the text they type."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from propdesk.core.numbers import NotANumber, plain_typed_number, read_decimal, read_whole
from propdesk.core.text import email_key, in_sentence, plural, tidy


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("100", "100"), ("100.50", "100.50"), (" 7 \n", "7"), ("007", "7"), (100, "100")],
)
def test_plain_ascii_decimals_and_json_integers_read_exactly(raw, expected):
    assert str(read_decimal(raw)) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "\uff11\uff10\uff10",  # full-width
        "\u0661\u0660\u0660",  # Arabic-Indic
        "1_000",
        "1,000",
        "1E+2",
        "1e2",
        "+5",
        ".5",
        "5.",
        "NaN",
        "Infinity",
        "",
        "1 000",
        "\u200b1",
        "9" * 41,
        True,
        False,
        None,
        1.5,
        [1],
        Decimal("NaN"),
    ],
)
def test_every_other_spelling_is_refused(raw):
    with pytest.raises(NotANumber):
        read_decimal(raw)


def test_a_sign_reads_only_where_it_is_meant():
    assert read_decimal("-250.00", signed=True) == Decimal("-250.00")
    with pytest.raises(NotANumber, match="negative"):
        read_decimal("-250.00")


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("1,000.00", "1000.00"),
        ("12,345,678.9", "12345678.9"),
        ("-1,500", "-1500"),
        (" 100,000 ", "100000"),
        ("999", "999"),
        ("1000.50", "1000.50"),
    ],
)
def test_a_typed_amount_may_group_its_thousands_with_commas(typed, plain):
    assert plain_typed_number(typed) == plain
    assert read_decimal(plain_typed_number(typed), signed=True) == Decimal(plain)


@pytest.mark.parametrize(
    "typed",
    [
        "1,00.00",
        "1,,000",
        "1.000,00",
        ",100",
        "100,",
        "1,0000",
        "0,100",
        "1,000.000,0",
        "1, 000",
        "\u0661,\u0660\u0660\u0660",
        "+1,000",
        "1,000e3",
        "",
        "1" + ",000" * 20,  # well formed, but longer than any amount we read
    ],
)
def test_a_typed_amount_with_a_bad_grouping_is_refused_naming_the_format(typed):
    with pytest.raises(NotANumber, match=re.escape('written like "1000.50" or "1,000.50"')):
        plain_typed_number(typed)


@pytest.mark.parametrize("raw", ["1_0", "+5", "5.0", "\u0661", "1e1", True, "", "-", 2.0])
def test_whole_numbers_are_ascii_digits_or_json_integers(raw):
    assert read_whole("12", low=0, high=99) == read_whole(12, low=0, high=99) == 12
    with pytest.raises(NotANumber):
        read_whole(raw, low=0, high=99)


def test_a_whole_number_out_of_range_says_the_range():
    with pytest.raises(NotANumber, match="from 1 to 500"):
        read_whole("9" * 30, low=1, high=500)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("\u202eeoD enaJ", "eoD enaJ"),
        ("\u2067Jane\u2069 \u200eDoe\u200f\u061c", "Jane Doe"),
        ("Ja\u200b\u200c\u200dne\u2060\ufeff", "Jane"),
        ("Jane\u00adDoe", "JaneDoe"),  # the soft hyphen too (format category)
        ("\u3164Jane", "Jane"),  # a letter that draws nothing
        ("  Jane \u3000\u00a0 Doe  ", "Jane Doe"),
        ("e\u0301", "\u00e9"),
    ],
)
def test_names_lose_invisible_characters_and_are_nfc(typed, kept):
    assert tidy(typed) == kept


def test_multiline_text_keeps_its_lines_and_tabs():
    assert tidy("a\r\n\tb\u202e\rc", multiline=True) == "a\n\tb\nc"


def test_an_email_is_nfkc_lowercase_without_invisible_characters():
    assert email_key(" \uff2a\uff41ne\u200b@Example.COM ") == "jane@example.com"


@pytest.mark.parametrize(
    "spelt",
    [
        "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",  # Persian: a ZWNJ between letters
        "\u0915\u094d\u200d\u0937",  # Devanagari: a ZWJ after the virama (half form)
        "\u0dc1\u0dca\u200d\u0dbb\u0dd3",  # Sinhala "Sri"
        "\U0001f468\u200d\U0001f469",  # an emoji sequence
    ],
)
def test_joiners_that_spell_a_script_are_kept(spelt):
    assert tidy(spelt) == spelt


@pytest.mark.parametrize(
    ("typed", "kept"),
    [("Ja\u200dne", "Jane"), ("J\u200cane", "Jane"), ("a\u200d\u0645", "a\u0645")],
)
def test_joiners_beside_latin_letters_are_stripped(typed, kept):
    assert tidy(typed) == kept


def test_the_cleaned_text_is_nfc_even_when_a_mark_was_kept_apart():
    assert tidy("e\u200b\u0301") == "\u00e9"


@pytest.mark.parametrize(
    ("label", "read"),
    [
        ("Trader Registration", "trader registration"),
        ("IB Registration", "IB registration"),
        ("IB", "IB"),
        ("KYC", "KYC"),
        ("Prop Trading Live Step", "prop trading live step"),
    ],
)
def test_a_name_in_a_sentence_keeps_its_acronyms(label, read):
    assert in_sentence(label) == read


def test_counts_take_the_noun_in_the_right_number():
    assert plural(1, "trading day") == "1 trading day"
    assert plural(0, "trading day") == "0 trading days"
    assert plural(4, "trading day") == "4 trading days"
