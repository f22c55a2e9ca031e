"""The reference scheme (core/references.py): one per object, derived from its id."""

from __future__ import annotations

import pytest

from propdesk.core import references


def test_a_reference_is_the_kinds_prefix_and_the_id_padded_to_six_digits():
    assert references.of(references.DEPOSIT, 2) == "DEP-000002"
    assert references.of(references.WITHDRAWAL, 41) == "WDR-000041"
    assert references.of(references.KYC, 11) == "KYC-000011"
    assert references.of(references.PARTICIPATION, 7) == "PTP-000007"


def test_an_id_past_six_digits_keeps_all_its_digits():
    assert references.of(references.DEPOSIT, 12345678) == "DEP-12345678"


def test_an_object_not_saved_yet_has_no_reference():
    assert references.of(references.DEPOSIT, None) == ""


def test_every_kind_has_its_own_three_letter_prefix():
    prefixes = [k.prefix for k in references.KINDS.values()]
    assert len(prefixes) == len(set(prefixes))
    assert all(len(p) == 3 and p.isalpha() and p.isupper() for p in prefixes)


@pytest.mark.parametrize(
    "typed", ["DEP-000002", "dep-000002", "DEP-2", " DEP 2 ", "DEP000002", "Dep-0002"]
)
def test_a_typed_reference_is_read_back_whatever_its_case_dashes_and_zeros(typed):
    assert references.parse(typed) == references.Parsed(references.DEPOSIT, 2)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "DEP",
        "DEP-",
        "DEP-0",
        "XYZ-000002",
        "DEP-00000x",
        "DEP--2",
        "DEP-2-3",
        "#41",
        "41",
        "DEP-" + "9" * 30,
        "DEP-99999999999999999999",
        "<script>DEP-2</script>",
        None,
        42,
        "DEP-\x002",
    ],
)
def test_what_is_not_a_reference_reads_as_none(typed):
    assert references.parse(typed) is None


def test_parsing_what_was_printed_gives_the_same_object_back():
    for kind in references.KINDS.values():
        for number in (1, 999999, 1000000, 2**40):
            assert references.parse(references.of(kind, number)) == references.Parsed(kind, number)
