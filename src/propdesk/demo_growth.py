"""The demo firm's growth (docs/growth.md): the client group "VIP" with its registration rules,
a client in it and a challenge only its clients see; the default IB commission scheme
"Standard IB" (10% to the direct IB, 3% to the one above, credited at once); Ivan's referral
tree (his code IVAN2026: a sub-IB, Sven, and traders under both, two of whom bought a challenge,
so both IBs earned commission); the coupon WELCOME20 and the promotional link "spring".

Everything goes through the real use cases, as staff and clients would do it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse

from propdesk.accounts import groups
from propdesk.accounts.models import Client, User
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.catalogue.definition import StageKind
from propdesk.challenges.growth import commission, coupons, links
from propdesk.challenges.growth.models import PromoLink
from propdesk.challenges.models import Challenge, Participation
from propdesk.challenges.participation import services as participation
from propdesk.demo_funded import TWO_WEEKLY
from propdesk.onboarding.models import KycForm
from propdesk.onboarding.request_types import KYC
from propdesk.onboarding.services import register_client
from propdesk.wallet import services as wallet_services

GROUP = "VIP"
VIP_COUNTRIES = ["AE", "CH"]  # registration rules: clients from these countries join VIP
VIP_CLIENT = "lena@example.com"  # the funded trader, moved into VIP by staff
VIP_CHALLENGE = "VIP Instant Funding 100K"
SCHEME = "Standard IB"
COUPON = "WELCOME20"
LINK = "spring"
IVAN_CODE = "IVAN2026"
SVEN_CODE = "SVEN2026"
# (email, name, kind, nationality, phone, the referrer's code, the challenge bought, a coupon)
REFERRED = [
    ("sven@example.com", "Sven Dahl", "ib", "SE", "+46701234520", IVAN_CODE, "", ""),
    (
        "uma@example.com",
        "Uma Quist",
        "trader",
        "NL",
        "+31612345621",
        IVAN_CODE,
        "2-Step Challenge 100K",
        COUPON,
    ),
    (
        "vera@example.com",
        "Vera Holm",
        "trader",
        "DK",
        "+4520123422",
        SVEN_CODE,
        "Quick demo challenge: reach +1% in minutes",
        "",
    ),
]
STATES = {
    "sven@example.com": "IB referred by Ivan (a sub-IB)",
    "uma@example.com": f"referred by Ivan, bought a challenge with {COUPON}",
    "vera@example.com": "referred by Sven, bought a challenge (Ivan earns level 2)",
}

SendKyc = Callable[[KycForm, str, str], None]
ApprovePurchase = Callable[[Participation, User], None]


def logins(password: str) -> list[tuple[str, str, str]]:
    """The growth clients' logins, for the demo's banner (email, password, state)."""
    return [(email, password, STATES[email]) for email, *_ in REFERRED]


def banner(url: str) -> list[str]:
    """What the demo's start prints about growth (docs/growth.md)."""
    link = url + reverse("promo_link", args=[LINK])
    return [
        f"  growth (docs/growth.md): coupon {COUPON} (20% off a challenge); promotional link "
        f"{link} (registration with {COUPON}, Ivan as referrer)",
        f"    client group {GROUP}: {VIP_CLIENT} is offered {VIP_CHALLENGE!r}; IB commission "
        f"{SCHEME!r}, 10% / 3%: Ivan ({IVAN_CODE}) and his sub-IB Sven ({SVEN_CODE}) earned some",
    ]


def seed(
    staff: dict[str, User],
    step: Callable[[str], None],
    *,
    password: str,
    send_kyc: SendKyc,
    approve_purchase: ApprovePurchase,
) -> None:
    """Seed the growth features; runs in the demo's seeding transaction, after the challenges
    and their participants. `password` is the demo clients' one password; `send_kyc` and
    `approve_purchase` are the demo's own steps."""
    admin, compliance, finance = staff["Administrator"], staff["Compliance"], staff["Finance"]
    step("growth: client groups, IB commission, referrals, a coupon and a promotional link")
    _seed_groups(admin)
    commission.save_scheme(
        None, name=SCHEME, rates=["10", "3"], settlement="instant", is_default=True, actor=admin
    )
    coupons.save_coupon(
        None,
        code=COUPON,
        kind="percent",
        value="20",
        description="Welcome offer: 20% off a first challenge.",
        max_uses_per_client=1,
        actor=admin,
    )
    links.save_link(
        None,
        code=LINK,
        name="Spring campaign with Ivan",
        landing=PromoLink.Landing.REGISTER,
        coupon=COUPON,
        referrer=IVAN_CODE,
        actor=admin,
    )
    form = KycForm.objects.get(name="Individual")
    for email, name, kind, nationality, phone, code, bought, coupon in REFERRED:
        client, request = register_client(
            kind=kind,
            name=name,
            email=email,
            password=password,
            nationality=nationality,
            phone=phone,
            referral_code=code,
        )
        for _level in range(request.levels_total):  # an IB's registration has two levels
            approver = compliance if request.current_level == 1 else admin
            request = approvals.approve(request.pk, actor=approver, comment="Checked.")
        if email == "sven@example.com":  # a code as memorable as Ivan's
            Client.objects.filter(pk=client.pk).update(referral_code=SVEN_CODE)
        if not bought:
            continue
        send_kyc(form, email, nationality)
        check = ApprovalRequest.objects.get(type_key=KYC, client=client, status="pending")
        approvals.approve(check.pk, actor=compliance, comment="Passport and bill match.")
        wallet_services.adjust(
            client.pk,
            direction="credit",
            amount="600.00",
            currency="USD",
            comment="Opening balance moved from the old CRM",
            actor=finance,
        )
        challenge = Challenge.objects.get(name=bought)
        joined = participation.start(
            Client.objects.get(pk=client.pk), challenge.pk, payment="wallet", coupon=coupon or None
        )
        approve_purchase(joined, admin)


def _seed_groups(admin: User) -> None:
    vip = groups.save_group(
        None, name=GROUP, description="Our best traders: larger accounts.", actor=admin
    )
    for position, country in enumerate(VIP_COUNTRIES, start=1):
        groups.save_rule(
            None, kind="country", value=country, group=vip.pk, position=position, actor=admin
        )
    groups.assign([Client.objects.get(user__email=VIP_CLIENT).pk], vip.pk, actor=admin)
    made = catalogue.create(_vip_challenge(), actor=admin)
    catalogue.publish(made.pk, actor=admin)


def _vip_challenge() -> dict[str, Any]:
    return {
        "name": VIP_CHALLENGE,
        "currency": "USD",
        "tags": ["1-step", "instant", "vip"],
        "time_zone": "UTC",
        "fee": "699.00",
        "payment_ways": ["wallet", "direct"],
        "progression": "approved",
        "payouts": TWO_WEEKLY,
        "client_groups": [GROUP],
        "stages": [
            {
                "name": "Funded",
                "kind": StageKind.LIVE,
                "balance": "100000",
                "leverage": 30,
                "profit_share_pct": "85",
                "rules": {"max_loss": {"pct": "6", "mode": "trailing_eod"}},
            }
        ],
    }
