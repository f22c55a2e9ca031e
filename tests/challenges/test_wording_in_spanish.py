"""A challenge's terms read in the reader's language: the same words in English as ever, and
whole Spanish sentences (days of the month as numbers, plurals agreeing)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import translation

from propdesk.challenges.catalogue.definition import PayoutSchedule, PayoutTiming
from propdesk.challenges.catalogue.wording import payout_schedule_text
from propdesk.challenges.payouts.eligibility import timing_words

FIXED = PayoutSchedule(
    timing=PayoutTiming.FIXED_DAYS,
    first_after_days=1,
    every_days=None,
    fixed_days=(1, 15, 22),
    min_payout=Decimal("50"),
    min_trading_days=5,
    no_open_positions=True,
)


def test_the_payout_schedule_reads_as_before_in_english():
    with translation.override("en"):
        assert payout_schedule_text(FIXED, "USD") == (
            "Payouts on the 1st, 15th and 22nd of the month, the first at least 1 day after "
            "the live start; minimum 50.00 USD; conditions: at least 5 trading days in the "
            "period, no open positions"
        )
        assert timing_words(FIXED) == (
            "on the 1st, 15th and 22nd of the month, from 1 days after the live start"
        )


def test_the_payout_schedule_reads_in_spanish():
    with translation.override("es"):
        assert payout_schedule_text(FIXED, "USD") == (
            "Pagos de ganancias los días 1, 15 y 22 de cada mes, el primero al menos 1 día "
            "después del inicio en real; mínimo 50,00 USD; condiciones: al menos 5 días de "
            "trading en el período, ninguna posición abierta"
        )
