"""Coupons: the firm's codes (made, changed, disabled, audited) and the price a client is
quoted with them, every refusal with its reason."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from propdesk.accounts.models import ClientGroup
from propdesk.challenges.catalogue import offering
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.growth import coupons
from propdesk.challenges.growth.models import Coupon, CouponUse
from propdesk.core.errors import Forbidden, ValidationFailed
from propdesk.core.models import AuditRecord
from tests.challenges.factories import definition, make_coupon

pytestmark = pytest.mark.django_db
D = Decimal


def version_of(challenge):
    return offering.offered(challenge.pk)


def refusal(client, challenge, codes):
    with pytest.raises(ValidationFailed) as refused:
        coupons.quote(client, version_of(challenge), codes)
    return refused.value.fields["coupon"]


# --- making coupons --------------------------------------------------------------------------


def test_a_coupon_is_kept_upper_case_and_its_creation_audited(admin):
    made = make_coupon(admin, code="spring-20_a", description="Spring sale")
    assert made.code == "SPRING-20_A"
    record = AuditRecord.objects.get(action="coupon.create")
    assert record.object_id == str(made.pk)
    assert record.after["value"] == "20.00"


def test_a_code_is_unique_whatever_its_case(admin):
    make_coupon(admin, code="SPRING20")
    with pytest.raises(ValidationFailed) as refused:
        make_coupon(admin, code="spring20")
    assert refused.value.fields["code"] == "A coupon with this code already exists."
    assert Coupon.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"code": ""}, "code", "Code is required."),
        ({"code": "A B"}, "code", "A code has only letters, digits, - and _."),
        ({"code": "X" * 41}, "code", "Code can have at most 40 characters."),
        ({"code": "<script>"}, "code", "A code has only letters, digits, - and _."),
        ({"kind": "free"}, "kind", "Choose a percentage or a fixed amount."),
        ({"value": "0"}, "value", "A percentage is more than 0 and at most 100."),
        ({"value": "100.01"}, "value", "A percentage is more than 0 and at most 100."),
        ({"value": "-5"}, "value", "A percentage is more than 0 and at most 100."),
        ({"value": "abc"}, "value", None),
        ({"kind": "fixed", "value": "50", "currency": "XYZ"}, "currency", None),
        ({"kind": "fixed", "value": "0", "currency": "USD"}, "value", None),
        ({"kind": "fixed", "value": "5.001", "currency": "USD"}, "value", None),
        ({"valid_from": "2026-05-02", "valid_until": "2026-05-01"}, "valid_until", None),
        ({"valid_from": "tomorrow"}, "valid_from", "Valid from is a day written YYYY-MM-DD."),
        ({"max_uses": "0"}, "max_uses", None),
        ({"max_uses_per_client": "0"}, "max_uses_per_client", None),
        ({"max_uses_per_client": ""}, "max_uses_per_client", "Uses per client is required."),
        ({"challenges": ["999999"]}, "challenges", "Choose each challenge from the list."),
        ({"client_groups": ["x"]}, "client_groups", "Choose each group from the list."),
    ],
)
def test_a_coupon_with_bad_fields_is_refused_and_nothing_saved(admin, fields, field, message):
    with pytest.raises(ValidationFailed) as refused:
        make_coupon(admin, **fields)
    assert field in refused.value.fields
    if message:
        assert refused.value.fields[field] == message
    assert not Coupon.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="coupon.").exists()


def test_staff_without_the_permission_cannot_make_or_disable_coupons(admin, support):
    with pytest.raises(Forbidden):
        make_coupon(support)
    made = make_coupon(admin)
    with pytest.raises(Forbidden):
        coupons.set_enabled(made.pk, enabled=False, actor=support)
    assert Coupon.objects.get().enabled


def test_editing_and_disabling_a_coupon_is_audited(admin):
    made = make_coupon(admin)
    coupons.save_coupon(made.pk, actor=admin, code="SPRING20", kind="percent", value="25")
    coupons.set_enabled(made.pk, enabled=False, actor=admin)
    made.refresh_from_db()
    assert (made.value, made.enabled) == (D("25.00"), False)
    changed = AuditRecord.objects.get(action="coupon.update")
    assert (changed.before["value"], changed.after["value"]) == ("20.00", "25.00")
    assert AuditRecord.objects.filter(action="coupon.disable").count() == 1


# --- quoting ------------------------------------------------------------------------------------


def test_a_percentage_is_taken_off_the_gross(admin, active_client, challenge):
    make_coupon(admin, value="20")
    priced = coupons.quote(active_client, version_of(challenge), "spring20")
    assert (priced.gross, priced.discount, priced.net) == (D("499.00"), D("99.80"), D("399.20"))
    assert not CouponUse.objects.exists()
    assert Coupon.objects.get().uses == 0  # a quote writes nothing


def test_a_percentage_is_rounded_to_the_cent(admin, active_client, challenge):
    make_coupon(admin, value="33.33")
    priced = coupons.quote(active_client, version_of(challenge), "SPRING20")
    assert priced.discount == D("166.32")  # 166.31670 rounded to the cent
    assert priced.net == D("332.68")


def test_a_fixed_amount_is_capped_at_the_fee(admin, active_client, challenge):
    make_coupon(admin, code="BIG", kind="fixed", value="600", currency="USD")
    priced = coupons.quote(active_client, version_of(challenge), "BIG")
    assert (priced.discount, priced.net) == (D("499.00"), D("0.00"))


def test_stackable_codes_apply_percentages_first_then_fixed_amounts(
    admin, active_client, challenge
):
    make_coupon(admin, code="TENOFF", kind="fixed", value="10", currency="USD", stackable=True)
    make_coupon(admin, code="PCT10", value="10", stackable=True)
    priced = coupons.quote(active_client, version_of(challenge), "tenoff, pct10")
    assert [(line.code, line.amount) for line in priced.lines] == [
        ("PCT10", D("49.90")),
        ("TENOFF", D("10.00")),
    ]
    assert priced.net == D("439.10")


def test_stacked_codes_never_take_the_net_below_zero(admin, active_client, challenge):
    make_coupon(admin, code="HALF", value="60", stackable=True)
    make_coupon(admin, code="MORE", value="60", stackable=True)
    priced = coupons.quote(active_client, version_of(challenge), "HALF MORE")
    assert priced.net == D("0.00")
    assert [line.amount for line in priced.lines] == [D("299.40"), D("199.60")]


def test_a_code_that_is_not_stackable_is_not_combined(admin, active_client, challenge):
    make_coupon(admin, code="ALONE")
    make_coupon(admin, code="PCT10", value="10", stackable=True)
    message = refusal(active_client, challenge, "PCT10,ALONE")
    assert message == "ALONE cannot be combined with another coupon code."


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("NOPE", "NOPE is not a valid coupon code."),
        ("SPRING20 spring20", "The same coupon code is typed twice."),
        ("bad!code", "A coupon code has only letters, digits, - and _ (at most 40)."),
        ("A B C D E F", "Type at most 5 coupon codes."),
        ("X" * 301, "Too long: type at most a few coupon codes."),
    ],
)
def test_a_code_typed_wrong_is_refused_with_its_reason(
    admin, active_client, challenge, typed, message
):
    make_coupon(admin)
    assert refusal(active_client, challenge, typed) == message


def test_a_disabled_coupon_is_refused(admin, active_client, challenge):
    made = make_coupon(admin)
    coupons.set_enabled(made.pk, enabled=False, actor=admin)
    assert refusal(active_client, challenge, "SPRING20") == "SPRING20 is no longer available."


def test_a_coupon_is_refused_before_and_after_its_dates(admin, active_client, challenge):
    today = timezone.localdate()
    made = make_coupon(admin, valid_from=today + timedelta(days=2))
    assert refusal(active_client, challenge, "SPRING20") == (
        f"SPRING20 is not valid yet: it starts on {(today + timedelta(days=2)).isoformat()}."
    )
    coupons.save_coupon(
        made.pk,
        actor=admin,
        code="SPRING20",
        kind="percent",
        value="20",
        valid_from=today - timedelta(days=5),
        valid_until=today - timedelta(days=1),
    )
    assert refusal(active_client, challenge, "SPRING20") == "SPRING20 has expired."


def test_a_coupon_is_valid_through_its_last_day(admin, active_client, challenge):
    make_coupon(admin, valid_until=timezone.localdate())
    assert coupons.quote(active_client, version_of(challenge), "SPRING20").lines


def test_a_coupon_for_other_challenges_is_refused(admin, active_client, challenge):
    other = catalogue.create(definition(name="1-Step 50K"), actor=admin)
    make_coupon(admin, challenges=[other.pk])
    assert refusal(active_client, challenge, "SPRING20") == "SPRING20 is not for this challenge."
    make_coupon(admin, code="FORTHIS", challenges=[challenge.pk])
    assert coupons.quote(active_client, version_of(challenge), "FORTHIS").lines


def test_a_coupon_for_other_client_groups_is_refused(admin, active_client, challenge):
    vip = ClientGroup.objects.create(name="VIP")
    make_coupon(admin, client_groups=[vip.pk])
    assert refusal(active_client, challenge, "SPRING20") == "SPRING20 is not available to you."
    active_client.group = vip
    active_client.save(update_fields=["group"])
    assert coupons.quote(active_client, version_of(challenge), "SPRING20").lines


def test_a_fixed_coupon_in_another_currency_is_refused(admin, active_client, challenge):
    make_coupon(admin, code="EUR50", kind="fixed", value="50", currency="EUR")
    assert refusal(active_client, challenge, "EUR50") == (
        "EUR50 is a discount in EUR; this challenge is priced in USD."
    )


def test_a_used_up_coupon_is_refused(admin, active_client, challenge):
    made = make_coupon(admin, max_uses=3)
    Coupon.objects.filter(pk=made.pk).update(uses=3)
    assert refusal(active_client, challenge, "SPRING20") == "SPRING20 has been used up."


def test_lowering_the_limit_below_the_uses_so_far_is_refused(admin):
    made = make_coupon(admin, max_uses=10)
    Coupon.objects.filter(pk=made.pk).update(uses=4)
    with pytest.raises(ValidationFailed) as refused:
        coupons.save_coupon(
            made.pk, actor=admin, code="SPRING20", kind="percent", value="20", max_uses=3
        )
    assert refused.value.fields["max_uses"] == "It has been used 4 times already."
