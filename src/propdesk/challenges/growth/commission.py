"""IB commission on challenge fees: the schemes, an IB's scheme, earning and reversing.

`earn(participation)` runs in the transaction that posted the participation's fee: it walks
the buyer's upline (level 1 is the buyer's own referrer) and gives each active IB the rate
their own scheme sets for that level, on the fee actually paid (`participation.fee`, after any
coupon). The amount is rounded *down* to the currency's minor unit: the firm never pays more
than the rate says, and never more than the fee in all (IBs on different schemes get, level by
level, at most what is left of it). An instant scheme credits the IB's wallet at once (an
*IB Commission* entry from the firm's commission expense account); a periodic one collects the
commission for a settlement (`growth/settlement.py`).

`reverse_for(participation, actor)` runs where the fee is refunded. A refund is never
blocked by an IB who already withdrew their commission: what their wallet holds is taken
back, the rest is recorded as owed by the IB (the firm's account `ib_owed:<IB id>`, in the
ledger) and deducted from their next commission or settlement.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import transaction

from propdesk.accounts.models import Client, User
from propdesk.challenges.growth.models import Commission, CommissionScheme, IbTerms
from propdesk.challenges.models import Participation
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import NotFound, ValidationFailed
from propdesk.core.money import quantum
from propdesk.core.numbers import NotANumber, read_decimal
from propdesk.core.permissions import register, require_permission
from propdesk.core.status import move_status
from propdesk.core.validation import FieldErrors, clean_text, parse_id
from propdesk.wallet import ledger
from propdesk.wallet.models import JournalEntry, LedgerAccount

COMMISSION_VIEW = register("commission.view", "See IBs' commission and the IB commission report")
COMMISSION_MANAGE = register(
    "commission.manage", "Manage IB commission schemes, IBs' schemes and settlements"
)
COMMISSION_REVIEW = register(
    "commission.review", "Approve or reject IB Commission settlements (IB Commission requests)"
)

MAX_LEVELS = 10
HUNDRED = Decimal(100)
RATE_PLACES = Decimal("0.0001")


# --- Schemes ------------------------------------------------------------------------------


def clean_rates(errors: FieldErrors, raw: Any) -> list[str]:
    """Percent per level, 0 < rate ≤ 100 with at most 4 decimals, at most MAX_LEVELS, summing
    to at most 100. Accepts a list, or text separated by commas/spaces ("10, 3")."""
    if isinstance(raw, str):
        raw = [part for part in raw.replace(",", " ").split() if part]
    if not isinstance(raw, list | tuple) or not raw:
        errors.add("rates", "Give at least one rate (percent of the fee for level 1).")
        return []
    if len(raw) > MAX_LEVELS:
        errors.add("rates", f"At most {MAX_LEVELS} levels.")
        return []
    rates: list[Decimal] = []
    for level, value in enumerate(raw, start=1):
        try:
            rate = read_decimal(value)
        except NotANumber as exc:
            errors.add("rates", f"Level {level}'s rate {exc}")
            return []
        if not 0 < rate <= HUNDRED:
            errors.add("rates", f"Level {level}'s rate must be above 0 and at most 100.")
            return []
        if rate != rate.quantize(RATE_PLACES):
            errors.add("rates", f"Level {level}'s rate has more than 4 decimals.")
            return []
        rates.append(rate.quantize(RATE_PLACES).normalize())
    if sum(rates) > HUNDRED:
        errors.add("rates", "The rates of all levels add up to more than 100%.")
        return []
    return [format(rate, "f") for rate in rates]


def save_scheme(
    scheme_id: Any,
    *,
    name: Any,
    rates: Any,
    settlement: Any,
    is_default: Any = False,
    actor: User,
) -> CommissionScheme:
    """Create (no `scheme_id`) or change a scheme; making it the default unmarks the other."""
    require_permission(actor, COMMISSION_MANAGE)
    errors = FieldErrors()
    title = clean_text(errors, "name", name, label="The name", max_length=60)
    cleaned = clean_rates(errors, rates)
    if settlement not in CommissionScheme.Settlement.values:
        errors.add("settlement", "Choose instant or periodic settlement.")
    if not isinstance(is_default, bool):
        errors.add("is_default", "Say yes or no.")
    errors.raise_if_any()
    with transaction.atomic():
        if scheme_id is None:
            scheme = CommissionScheme()
            before: dict[str, Any] = {}
        else:
            wanted = parse_id(scheme_id)
            found = (
                None
                if wanted is None
                else CommissionScheme.objects.select_for_update().filter(pk=wanted).first()
            )
            if found is None:
                raise NotFound("No such commission scheme.")
            scheme = found
            before = audit.snapshot(scheme, ["name", "rates", "settlement", "is_default"])
        if CommissionScheme.objects.filter(name__iexact=title).exclude(pk=scheme.pk).exists():
            raise ValidationFailed(fields={"name": "Another scheme has this name."})
        if is_default:
            # One default: taking the others' mark under their lock.
            others = CommissionScheme.objects.select_for_update().filter(is_default=True)
            others.exclude(pk=scheme.pk).update(is_default=False)
        scheme.name, scheme.rates, scheme.settlement = title, cleaned, settlement
        scheme.is_default = bool(is_default)
        scheme.save()
        audit.record(
            actor=actor,
            action=AuditAction.COMMISSION_SCHEME_SAVE,
            object_type="commission_scheme",
            object_id=scheme.pk,
            summary=f"Commission scheme {scheme.name}: {', '.join(cleaned)} % "
            f"({scheme.get_settlement_display().lower()})"
            + (", the default" if scheme.is_default else ""),
            before=before,
            after=audit.snapshot(scheme, ["name", "rates", "settlement", "is_default"]),
        )
    return scheme


def default_scheme() -> CommissionScheme | None:
    return CommissionScheme.objects.filter(is_default=True).first()


def scheme_of(ib: Client) -> CommissionScheme | None:
    """The IB's own scheme, else the default one; None: they earn nothing."""
    terms = IbTerms.objects.select_related("scheme").filter(client=ib).first()
    return terms.scheme if terms is not None else default_scheme()


def set_scheme(client_id: Any, scheme_id: Any, *, actor: User) -> IbTerms | None:
    """Give an IB their own scheme; an empty `scheme_id` puts them back on the default."""
    require_permission(actor, COMMISSION_MANAGE)
    wanted = parse_id(client_id)
    with transaction.atomic():
        ib = (
            None if wanted is None else Client.objects.select_for_update().filter(pk=wanted).first()
        )
        if ib is None or ib.kind != Client.Kind.IB:
            raise NotFound("No such IB.")
        terms = IbTerms.objects.filter(client=ib).first()
        before = {"scheme": terms.scheme_id if terms else None}
        if scheme_id in (None, ""):
            if terms is not None:
                terms.delete()
            terms = None
        else:
            chosen_id = parse_id(scheme_id)
            scheme = (
                None if chosen_id is None else CommissionScheme.objects.filter(pk=chosen_id).first()
            )
            if scheme is None:
                raise ValidationFailed(fields={"scheme": "Choose one of the schemes."})
            terms, _ = IbTerms.objects.update_or_create(client=ib, defaults={"scheme": scheme})
        audit.record(
            actor=actor,
            action=AuditAction.IB_SCHEME_SET,
            object_type="client",
            object_id=ib.pk,
            summary=f"IB {ib.user.email}'s commission scheme: "
            + (terms.scheme.name if terms else "the default"),
            before=before,
            after={"scheme": terms.scheme_id if terms else None},
        )
    return terms


# --- Earning ------------------------------------------------------------------------------


def expense_account(currency: str) -> LedgerAccount:
    return ledger.firm_account("ib_commission", currency, "IB commission expense")


def owed_account(ib: Client, currency: str) -> LedgerAccount:
    """What the IB owes the firm (commission reversed after they withdrew it): the balance is
    minus the debt."""
    return ledger.firm_account(
        f"ib_owed:{ib.pk}", currency, f"IB commission owed by {ib.user.email}"
    )


def owed(ib: Client, currency: str) -> Decimal:
    """How much the IB owes the firm in `currency` (taken from their next commission)."""
    found = LedgerAccount.objects.filter(code=_owed_code(ib, currency)).first()
    return -found.balance if found is not None and found.balance < 0 else Decimal(0)


def debts(ib: Client) -> dict[str, Decimal]:
    """What the IB owes the firm, per currency (only the currencies they owe in)."""
    found = LedgerAccount.objects.filter(code__startswith=f"firm:ib_owed:{ib.pk}:", balance__lt=0)
    return {a.currency: -a.balance for a in found.order_by("currency")}


def _owed_code(ib: Client, currency: str) -> str:
    return f"firm:ib_owed:{ib.pk}:{currency}"  # ledger.firm_account's code for owed_account


def upline(buyer: Client) -> list[Client]:
    """The buyer's referrers, nearest first (level 1 is their own referrer), up to MAX_LEVELS
    and stopping where the tree loops back."""
    seen = {buyer.pk}
    found: list[Client] = []
    current = buyer.referrer_id
    while current is not None and current not in seen and len(found) < MAX_LEVELS:
        seen.add(current)
        ancestor = Client.objects.select_related("user").filter(pk=current).first()
        if ancestor is None:
            break
        found.append(ancestor)
        current = ancestor.referrer_id
    return found


def share(base: Decimal, rate: Decimal, currency: str) -> Decimal:
    """`rate` percent of `base`, rounded down to the currency's minor unit."""
    return (base * rate / HUNDRED).quantize(quantum(currency), rounding=ROUND_DOWN)


def earn(participation: Participation) -> list[Commission]:
    """Each IB's share of the participation's fee; call it in the transaction that posted the
    fee. Called again, it creates nothing twice."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("commission is earned inside the fee's transaction")
    locked = (
        Participation.objects.select_for_update(of=("self",))
        .select_related("client")
        .get(pk=participation.pk)
    )
    if locked.fee_entry_id is None or locked.refund_entry_id is not None or locked.fee <= 0:
        return []
    earlier = Commission.objects.filter(participation=locked)
    done = set(earlier.values_list("ib_id", flat=True))
    # What is left of the fee to share: each scheme adds up to at most 100%, but IBs on
    # different schemes could together ask for more than the fee (95% + 10%).
    left = locked.fee - sum((c.amount for c in earlier), Decimal(0))
    made = []
    ancestors = upline(locked.client)
    lock_ibs(ib.pk for ib in ancestors)
    for level, ib in enumerate(ancestors, start=1):
        if ib.pk in done or ib.kind != Client.Kind.IB or ib.status != Client.Status.ACTIVE:
            continue
        scheme = scheme_of(ib)
        if scheme is None or level > len(scheme.rates):
            continue
        rate = Decimal(scheme.rates[level - 1])
        amount = min(share(locked.fee, rate, locked.currency), left)
        if amount <= 0:
            continue
        left -= amount
        commission = Commission(
            participation=locked,
            ib=ib,
            level=level,
            scheme=scheme,
            rate=rate,
            base=locked.fee,
            amount=amount,
            currency=locked.currency,
            status=Commission.Status.ACCRUED,
        )
        if scheme.settlement == CommissionScheme.Settlement.INSTANT:
            commission.status = Commission.Status.CREDITED
            commission.entry = pay(
                ib,
                amount,
                locked.currency,
                memo=f"IB commission, level {level} ({rate}%), on the fee of participation "
                f"{locked.reference}",
            )
        commission.save()
        made.append(commission)
    return made


def pay(ib: Client, amount: Decimal, currency: str, *, memo: str, actor: User | None = None) -> Any:
    """One IB Commission entry: the firm's expense → the IB's wallet, less what the IB owes
    (that part settles their debt instead)."""
    # The accounts in commission's one order (see `_lock_expense`), the debt's before the
    # entry is made, so two commissions at once cannot both recover the same debt. None: the
    # IB never owed.
    _lock_expense(currency)
    debt = LedgerAccount.objects.select_for_update().filter(code=_owed_code(ib, currency)).first()
    recovered = min(amount, max(-debt.balance, Decimal(0))) if debt is not None else Decimal(0)
    lines = [ledger.Line(expense_account(currency), -amount)]
    if amount - recovered > 0:
        lines.append(ledger.Line(ledger.wallet(ib, currency), amount - recovered))
    if debt is not None and recovered > 0:
        lines.append(ledger.Line(debt, recovered))
        memo += f" ({recovered} {currency} kept against what the IB owes)"
    return ledger.post(JournalEntry.Type.IB_COMMISSION, lines, memo=memo, client=ib, actor=actor)


# --- Reversing ----------------------------------------------------------------------------


def reverse_for(participation: Participation, actor: User | None) -> list[Commission]:
    """The participation's fee was refunded: every commission on it is reversed (in the
    refund's transaction). Never refuses: what an IB's wallet cannot give back, they owe."""
    from propdesk.challenges.growth import settlement  # (it imports this module)

    reversed_ = []
    waiting = Commission.objects.filter(participation_id=participation.pk).exclude(
        status=Commission.Status.REVERSED
    )
    lock_ibs(waiting.values_list("ib_id", flat=True))
    # Locks: all the fee's commissions at once, in their order, before any money moves; then
    # settlements and accounts. A settlement's approval takes its commissions the same way
    # before it pays, so the two queue: locking them one by one while moving money deadlocked
    # with an approval holding the next one and waiting for the commission expense account.
    locked = list(
        Commission.objects.select_for_update(of=("self",))
        .select_related("ib__user")
        .filter(participation_id=participation.pk)
        .exclude(status=Commission.Status.REVERSED)
        .order_by("pk")
    )
    for commission in locked:
        old = move_status(commission, Commission.Status.REVERSED, Commission.TRANSITIONS)
        memo = f"Reversal of IB commission #{commission.pk}: the fee of participation "
        memo += f"{participation.reference} was refunded"
        if old == Commission.Status.CREDITED:
            assert commission.entry is not None
            commission.reversal_entry = take_back(
                commission.ib, commission.entry, memo=memo, actor=actor
            )
        elif old == Commission.Status.SETTLED:
            commission.reversal_entry = take_back_amount(
                commission.ib, commission.amount, commission.currency, memo=memo, actor=actor
            )
        elif old == Commission.Status.SETTLING:
            settlement.drop(commission)
        commission.save()
        audit.record(
            actor=actor,
            action=AuditAction.COMMISSION_REVERSE,
            object_type="commission",
            object_id=commission.pk,
            summary=f"IB commission #{commission.pk} of {commission.ib.user.email} "
            f"({commission.amount} {commission.currency}, was {old}) reversed: the fee of "
            f"{participation.reference} was refunded",
            before={"status": old},
            after={"status": commission.status},
        )
        reversed_.append(commission)
    return reversed_


def take_back(ib: Client, entry: JournalEntry, *, memo: str, actor: User | None) -> JournalEntry:
    """The mirror of a commission entry; what the IB's wallet cannot give back is owed."""
    currency = entry.postings.first().currency  # type: ignore[union-attr]
    _lock_expense(currency)
    debt_account = owed_account(ib, currency)
    LedgerAccount.objects.select_for_update().filter(pk=debt_account.pk).first()
    lines = []
    for posting in entry.postings.select_related("account"):
        amount = -posting.amount
        if posting.account.kind == LedgerAccount.Kind.CLIENT_WALLET:
            lines.extend(_from_wallet(posting.account, -amount, debt_account))
        else:
            lines.append(ledger.Line(posting.account, amount))
    return ledger.post(
        JournalEntry.Type.REVERSAL,
        _merged(lines),
        memo=memo,
        client=entry.client,
        actor=actor,
        reverses=entry,
    )


def take_back_amount(
    ib: Client, amount: Decimal, currency: str, *, memo: str, actor: User | None
) -> JournalEntry:
    """A settled commission reversed: `amount` back from the IB's wallet (what it lacks owed)."""
    _lock_expense(currency)
    debt_account = owed_account(ib, currency)
    LedgerAccount.objects.select_for_update().filter(pk=debt_account.pk).first()
    lines = [
        ledger.Line(expense_account(currency), amount),
        *_from_wallet(ledger.wallet(ib, currency), amount, debt_account),
    ]
    return ledger.post(
        JournalEntry.Type.IB_COMMISSION, _merged(lines), memo=memo, client=ib, actor=actor
    )


def hold_upline(buyer: Client) -> None:
    """Before a fee is posted: the buyer's upline IBs' client rows. Posting the fee locks the
    firm's fee revenue account, which every purchase shares; `earn` then locks these rows. An
    IB buying (or refunded) at that moment holds their own row first and waits for fee
    revenue: taking the rows before the fee keeps one order, client rows then accounts."""
    lock_ibs(ib.pk for ib in upline(buyer))


def hold_for_refund(participation: Participation) -> None:
    """Before a fee is refunded: the client rows of the IBs holding commission on it (see
    `hold_upline`; `reverse_for` locks them again, already held)."""
    lock_ibs(
        Commission.objects.filter(participation_id=participation.pk)
        .exclude(status=Commission.Status.REVERSED)
        .values_list("ib_id", flat=True)
    )


def lock_ibs(ids: Any) -> None:
    """The IBs' client rows, in id order, before their commissions and accounts: an approval
    locks the IB's client row first (the approval engine's order), then the settlement's
    commissions and the expense account, so a reversal or an earning that took the expense
    account first deadlocked with it. FOR NO KEY UPDATE: it queues behind such an approval,
    but not the foreign-key checks of other transactions' inserts naming the IB."""
    wanted = sorted(set(ids))
    if wanted:
        list(Client.objects.select_for_update(no_key=True).filter(pk__in=wanted).order_by("pk"))


def _lock_expense(currency: str) -> None:
    """Every movement of commission money takes the commission expense account's lock first,
    then the IB's debt, then their wallet (`ledger.post` locks by id, and a wallet opened
    before the expense account has the lower id): a settlement's payment and a reversal for
    the same IB queue on it instead of each holding what the other waits for."""
    LedgerAccount.objects.select_for_update().filter(pk=expense_account(currency).pk).first()


def _from_wallet(
    wallet: LedgerAccount, amount: Decimal, debt_account: LedgerAccount
) -> list[ledger.Line]:
    held = LedgerAccount.objects.select_for_update().get(pk=wallet.pk).balance
    taken = min(amount, max(held, Decimal(0)))
    lines = []
    if taken > 0:
        lines.append(ledger.Line(wallet, -taken))
    if amount - taken > 0:
        lines.append(ledger.Line(debt_account, -(amount - taken)))
    return lines


def _merged(lines: list[ledger.Line]) -> list[ledger.Line]:
    sums: dict[int, ledger.Line] = {}
    for line in lines:
        before = sums.get(line.account.pk)
        total = line.amount + (before.amount if before else 0)
        sums[line.account.pk] = ledger.Line(line.account, total)
    return [line for line in sums.values() if line.amount != 0]
