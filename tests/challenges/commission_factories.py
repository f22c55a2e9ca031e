"""IB commission for the tests: IBs and traders in a referral tree, schemes, purchases (a
discounted one made as a coupon would make it: `fee` is the net, `discount` what it took off)."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from propdesk.accounts.models import Client
from propdesk.challenges.catalogue import offering
from propdesk.challenges.growth import commission
from propdesk.challenges.models import Participation
from propdesk.challenges.participation import services as participation
from propdesk.onboarding.services import register_client
from propdesk.wallet import ledger, services
from tests.conftest import registration

D = Decimal


def ib(set_method, referrer=None):
    set_method("ib_registration", "automatic")
    made, _ = register_client(**registration(kind="ib"))
    made.refresh_from_db()
    assert made.status == Client.Status.ACTIVE
    return under(made, referrer)


def trader(set_method, referrer=None):
    set_method("trader_registration", "automatic")
    made, _ = register_client(**registration())
    made.refresh_from_db()
    return under(made, referrer)


def under(client, referrer):
    client.referrer = referrer
    client.save(update_fields=["referrer"])
    return client


def scheme(admin, rates, *, settlement="instant", default=True, name=None):
    return commission.save_scheme(
        None,
        name=name or f"Scheme {'-'.join(rates)} {settlement}",
        rates=list(rates),
        settlement=settlement,
        is_default=default,
        actor=admin,
    )


def fund(client, finance, amount="1000.00", currency="USD"):
    services.adjust(
        client.pk,
        direction="credit",
        amount=amount,
        currency=currency,
        comment="Top up",
        actor=finance,
    )


def buy(client, challenge, finance, *, fee=None, discount="0.00"):
    """A wallet purchase; with `fee`, paid at that net price after `discount` (as a coupon)."""
    fund(client, finance)
    if fee is None:
        return participation.start(client, challenge.pk, payment="wallet")
    version = offering.offered(challenge.pk)
    with transaction.atomic():
        made = Participation.objects.create(
            client=client,
            challenge=challenge,
            version=version,
            status=Participation.Status.PENDING_APPROVAL,
            payment=Participation.Payment.WALLET,
            fee=D(fee),
            discount=D(discount),
            currency=version.spec.currency,
        )
        participation._take_fee(made, ledger.wallet(client, made.currency))
    made.refresh_from_db()
    return made


def wallet_of(client, currency="USD"):
    return ledger.balances(client).get(currency, D("0.00"))
