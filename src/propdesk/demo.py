"""Demo data: the firm's staff, clients in each state and a living approvals queue."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import base_user
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from propdesk import demo_funded as funded
from propdesk import demo_growth, demo_notifications, demo_wallet
from propdesk.accounts.models import Client, User
from propdesk.accounts.services import create_staff_user, set_client_suspended
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.approvals.registry import Method
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.catalogue.definition import StageKind
from propdesk.challenges.models import Participation
from propdesk.challenges.monitoring import monitor
from propdesk.challenges.participation import interventions, lifecycle
from propdesk.challenges.participation import services as participation
from propdesk.demo_documents import sample_pdf, sample_png
from propdesk.demo_match_trader import PORT, TRADER_EMAIL, seed_server, url_for
from propdesk.demo_match_trader import definition as match_trader_challenge
from propdesk.onboarding import kyc
from propdesk.onboarding.models import KycForm
from propdesk.onboarding.request_types import IB_REGISTRATION, KYC, TRADER_REGISTRATION
from propdesk.onboarding.services import register_client
from propdesk.platforms import outbox
from propdesk.platforms.models import PlatformCommand, TradingServer
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox import feed
from propdesk.platforms.sandbox import orders as sandbox_orders
from propdesk.platforms.sandbox.models import Account, Quote
from propdesk.wallet import deposits
from propdesk.wallet import services as wallet_services
from propdesk.wallet.models import PaymentMethod

STAFF_PASSWORD = "demo-staff-2026"
CLIENT_PASSWORD = "demo-client-2026"
TRADER_PASSWORD = "demo-trader-2026"  # the sandbox trading accounts' (terminal and trading API)
DEMO_ACCOUNT = "Demo account"
STAFF = [
    ("admin@propdesk.demo", "Ada Admin", "Administrator"),
    ("compliance@propdesk.demo", "Cora Compliance", "Compliance"),
    ("finance@propdesk.demo", "Finn Finance", "Finance"),
    ("support@propdesk.demo", "Sam Support", "Support"),
]
# (email, name, kind, nationality, phone, what happens to the registration)
CLIENTS = [
    ("alice@example.com", "Alice Novak", "trader", "CZ", "+420601234501", "approve"),
    ("bruno@example.com", "Bruno Rossi", "trader", "IT", "+393471234502", "suspend"),
    ("ivan@example.com", "Ivan Ibsen", "ib", "NO", "+4741234503", "approve"),
    ("carla@example.com", "Carla Mendes", "trader", "PT", "+351912345604", "pending"),
    ("dmitri@example.com", "Dmitri Volkov", "trader", "CY", "+35799123405", "pending"),
    ("erin@example.com", "Erin Walsh", "trader", "IE", "+353851234506", "pending"),
    ("felix@example.com", "Felix Braun", "ib", "DE", "+4915112345607", "pending"),
    ("gina@example.com", "Gina Park", "ib", "GB", "+447911123458", "pending-level-2"),
    ("hugo@example.com", "Hugo Lambert", "trader", "FR", "+33612345609", "reject"),
]


@dataclass
class DemoLogins:
    staff: list[tuple[str, str, str]] = field(default_factory=list)
    clients: list[tuple[str, str, str]] = field(default_factory=list)
    trading: list[tuple[str, str, str]] = field(default_factory=list)


def _logins() -> DemoLogins:
    logins = DemoLogins()
    logins.staff = [(email, STAFF_PASSWORD, role) for email, _, role in STAFF]
    states = {
        "approve": "active",
        "pending": "awaiting approval",
        "pending-level-2": "awaiting level 2",
        "reject": "rejected",
        "suspend": "suspended",
    }
    logins.clients = [(c[0], CLIENT_PASSWORD, states[c[5]]) for c in CLIENTS]
    logins.clients += [
        (p[0], CLIENT_PASSWORD, FATE_LABELS.get(p[5], f"challenge {p[5].replace('_', ' ')}"))
        for p in PARTICIPANTS
    ]
    logins.clients += demo_growth.logins(CLIENT_PASSWORD)
    demo_accounts = Account.objects.filter(comment__startswith=DEMO_ACCOUNT).order_by("login")
    logins.trading = [
        (a.login, TRADER_PASSWORD, a.comment.removeprefix(DEMO_ACCOUNT).strip(" :"))
        for a in demo_accounts
    ]
    return logins


def seeded() -> bool:
    return User.objects.filter(email=STAFF[0][0]).exists()


def seed_demo(
    step: Callable[[str], None] = lambda _text: None, *, match_trader_url: str = url_for(PORT)
) -> DemoLogins:
    """Create the demo firm once; running it again changes nothing. `step` is told what
    starts next ("seeding clients"), for the demo's first start to show its progress;
    `match_trader_url` is where the demo's fake Match-Trader server will listen."""
    if seeded():
        return _logins()
    with transaction.atomic(), _one_hash_per_password():
        step(f"creating {len(STAFF)} staff users")
        staff = {
            role: create_staff_user(
                email=email, name=name, role_name=role, password=STAFF_PASSWORD, actor=None
            )
            for email, name, role in STAFF
        }
        admin, compliance = staff["Administrator"], staff["Compliance"]
        approvals.set_policy(TRADER_REGISTRATION, method=Method.MANUAL, level_roles=[], actor=admin)
        approvals.set_policy(
            IB_REGISTRATION,
            method=Method.MANUAL,
            level_roles=["Compliance", "Administrator"],
            actor=admin,
        )
        step(f"registering {len(CLIENTS)} clients")
        for email, name, kind, nationality, phone, fate in CLIENTS:
            client, request = register_client(
                kind=kind,
                name=name,
                email=email,
                password=CLIENT_PASSWORD,
                nationality=nationality,
                phone=phone,
                referral_code="IVAN2026" if kind == "trader" and fate == "pending" else None,
            )
            if email == "ivan@example.com":  # the IB whose code the pending traders typed
                Client.objects.filter(pk=client.pk).update(referral_code="IVAN2026")
            if fate in ("approve", "suspend"):
                approvals.approve(request.pk, actor=compliance, comment="Documents look fine.")
                if request.levels_total > 1:
                    approvals.approve(request.pk, actor=admin)
            if fate == "suspend":
                set_client_suspended(
                    client.pk, suspended=True, actor=compliance, reason="Payment chargeback."
                )
            elif fate == "pending-level-2":
                approvals.approve(request.pk, actor=compliance, comment="Checked the IB agreement.")
            elif fate == "reject":
                approvals.reject(
                    request.pk,
                    actor=compliance,
                    reason="We cannot accept clients whose phone number we cannot verify.",
                )
        step("KYC forms and documents")
        _seed_kyc(admin, compliance)
        step("sandbox trading accounts")
        _seed_trading()
        step("payment methods and wallets")
        bank = demo_wallet.seed_payment_methods(admin, staff["Finance"])
        ivan = Client.objects.get(user__email="ivan@example.com")
        deposits.request_deposit(ivan, method=bank.pk, amount="1200.00", currency="EUR")
        _seed_challenges(admin, ivan, step, match_trader_url)
        demo_wallet.seed_withdrawal(bank)
        demo_growth.seed(
            staff,
            step,
            password=CLIENT_PASSWORD,
            send_kyc=_send_kyc,
            approve_purchase=_approve_purchase,
        )
        # The demo's clients confirmed their addresses long ago: no "verify your email" banner.
        emails = [email for email, _password, _state in _logins().clients]
        User.objects.filter(email__in=emails, email_verified_at__isnull=True).update(
            email_verified_at=timezone.now()
        )
        pending = approvals.todo(compliance).filter(type_key=TRADER_REGISTRATION).first()
        if pending is not None:
            approvals.add_note(
                pending.pk, actor=compliance, text="Called the client; waiting for a call back."
            )
    return _logins()


@contextmanager
def _one_hash_per_password() -> Iterator[None]:
    """While seeding, users given the same password share one real (argon2) hash: hashing
    the three demo passwords thirty times (0.2 s each) was half the first start."""
    real = base_user.make_password  # type: ignore[attr-defined]
    kept: dict[str, str] = {}

    def hashed(password: str | None, salt: str | None = None, hasher: str = "default") -> str:
        if not isinstance(password, str) or salt is not None or hasher != "default":
            return real(password, salt, hasher)
        if password not in kept:
            kept[password] = real(password)
        return kept[password]

    base_user.make_password = hashed  # type: ignore[attr-defined]
    try:
        yield
    finally:
        base_user.make_password = real  # type: ignore[attr-defined]


def _seed_kyc(admin: User, compliance: User) -> None:
    individual = kyc.save_form(
        None,
        name="Individual",
        description="For private persons trading in their own name.",
        is_default=True,
        fields=[
            {"key": "date_of_birth", "label": "Date of birth", "kind": "date"},
            {"key": "residence", "label": "Country of residence", "kind": "country"},
            {"key": "address", "label": "Street address", "kind": "text"},
            {
                "key": "id_type",
                "label": "Identity document type",
                "kind": "choice",
                "choices": ["Passport", "National ID card", "Driving licence"],
            },
        ],
        documents=[
            {"key": "identity_document", "label": "Identity document"},
            {"key": "proof_of_address", "label": "Proof of address"},
        ],
        actor=admin,
    )
    kyc.save_form(
        None,
        name="Corporate",
        description="For companies trading through a corporate account.",
        fields=[
            {"key": "company_name", "label": "Company name", "kind": "text"},
            {"key": "registration_number", "label": "Registration number", "kind": "text"},
            {
                "key": "incorporation_country",
                "label": "Country of incorporation",
                "kind": "country",
            },
        ],
        documents=[
            {"key": "certificate", "label": "Certificate of incorporation"},
            {"key": "director_id", "label": "Director's identity document"},
        ],
        actor=admin,
    )
    kyc.set_policy(["deposit", "withdraw", "join_challenge", "request_payout"], actor=admin)
    approvals.set_policy(KYC, method="manual", level_roles=[], actor=admin)

    _send_kyc(individual, "ivan@example.com", "NO")
    ivan = approvals.todo(compliance).filter(type_key=KYC).get()
    approvals.approve(ivan.pk, actor=compliance, comment="Passport and bill match.")
    _send_kyc(individual, "alice@example.com", "CZ")


def _send_kyc(form: KycForm, email: str, residence: str) -> None:
    kyc.submit(
        Client.objects.get(user__email=email),
        form_id=form.pk,
        values={
            "date_of_birth": "1988-04-12",
            "residence": residence,
            "address": "Vinohradská 12, Praha",
            "id_type": "Passport",
        },
        files={
            "identity_document": SimpleUploadedFile("passport.png", sample_png()),
            "proof_of_address": SimpleUploadedFile(
                "electricity-bill.pdf", sample_pdf("Electricity bill - Vinohradska 12")
            ),
        },
    )


def _seed_trading() -> None:
    """Two sandbox accounts with a known password: one trading, one fresh."""
    server = sandbox_accounts.default_server()
    for balance, note, orders in [
        (
            "100000",
            "two open positions",
            [("EURUSD", "buy", "1.00"), ("XAUUSD", "sell", "0.20")],
        ),
        ("10000", "fresh", []),
    ]:
        account, _ = sandbox_accounts.create_account(
            server, group="demo", leverage=100, balance=balance, comment=f"{DEMO_ACCOUNT}: {note}"
        )
        Account.objects.filter(pk=account.pk).update(password=make_password(TRADER_PASSWORD))
        for symbol, side, volume in orders:
            sandbox_orders.place_order(account, symbol=symbol, side=side, volume=volume)


DEMO_RULES = {
    "max_daily_loss": {"pct": "5", "basis": "prev_day_balance"},
    "max_loss": {"pct": "10", "mode": "static"},
}


def _seed_challenges(
    admin: User, buyer: Client, step: Callable[[str], None], match_trader_url: str
) -> None:
    """Four published challenges, a 2-step, a 1-step instant-funded and a quick one to pass in
    minutes on the sandbox, and a 1-step on the fake Match-Trader server; Ivan runs the first."""
    step("challenges")
    two_step = catalogue.create(
        {
            "name": "2-Step Challenge 100K",
            "currency": "USD",
            "tags": ["2-step"],
            "time_zone": "Europe/Prague",
            "fee": "499.00",
            "payment_ways": ["wallet", "direct"],
            "progression": "automatic",
            "payouts": funded.TWICE_MONTHLY,
            "retry": funded.RETRY,
            "reset": funded.RESET,
            "stages": [
                {
                    "name": "Challenge",
                    "kind": StageKind.DEMO,
                    "balance": "100000",
                    "leverage": 100,
                    "rules": {**DEMO_RULES, "profit_target_pct": "8", "min_trading_days": 4},
                },
                {
                    "name": "Verification",
                    "kind": StageKind.DEMO,
                    "balance": "100000",
                    "leverage": 100,
                    "rules": {**DEMO_RULES, "profit_target_pct": "5", "min_trading_days": 4},
                },
                {
                    "name": "Funded",
                    "kind": StageKind.LIVE,
                    "balance": "100000",
                    "leverage": 100,
                    "profit_share_pct": "80",
                    "rules": DEMO_RULES,
                },
            ],
        },
        actor=admin,
    )
    instant = catalogue.create(
        {
            "name": "Instant Funding 25K",
            "currency": "USD",
            "tags": ["1-step", "instant"],
            "time_zone": "UTC",
            "fee": "249.00",
            "fee_refundable": True,
            "payment_ways": ["wallet", "direct"],
            "progression": "approved",
            "payouts": funded.TWO_WEEKLY,
            "stages": [
                {
                    "name": "Funded",
                    "kind": StageKind.LIVE,
                    "balance": "25000",
                    "leverage": 30,
                    "profit_share_pct": "70",
                    "rules": {"max_loss": {"pct": "6", "mode": "trailing_eod"}},
                }
            ],
        },
        actor=admin,
    )
    quick = catalogue.create(QUICK_CHALLENGE, actor=admin)
    seed_server(admin, match_trader_url)
    match_trader = catalogue.create(match_trader_challenge(DEMO_RULES), actor=admin)
    for challenge in (two_step, instant, quick, match_trader):
        catalogue.publish(challenge.pk, actor=admin)
    # The firm reviews every purchase: one waits in the queue below.
    approvals.set_policy(participation.PARTICIPATION, method="manual", level_roles=[], actor=admin)
    ivans = participation.start(buyer, two_step.pk, payment="wallet", idempotency_key="demo")
    _approve_purchase(ivans, admin)
    _trade(ivans, [("EURUSD", "buy", "2.00")])
    demo_notifications.seed(admin, [two_step, instant, quick, match_trader])
    step(f"{len(PARTICIPANTS)} challenge participants, each bought, approved and traded")
    _seed_participants(
        admin,
        {"two_step": two_step, "instant": instant, "quick": quick, "match_trader": match_trader},
    )


QUICK_TARGET_PCT = Decimal("1")
# +1% of 10,000 is 100 USD: one lot of gold (100 oz) on a 1 USD move. Passes at 00:00 UTC.
QUICK_CHALLENGE: dict[str, Any] = {
    "name": "Quick demo challenge: reach +1% in minutes",
    "currency": "USD",
    "tags": ["1-step", "quick"],
    "time_zone": "UTC",
    "fee": "19.00",
    "payment_ways": ["wallet", "direct"],
    "progression": "automatic",
    "stages": [
        {
            "name": "Quick stage (+1%, e.g. 1 lot XAUUSD)",
            "kind": StageKind.DEMO,
            "balance": "10000",
            "leverage": 100,
            "rules": {
                **DEMO_RULES,
                "profit_target_pct": str(QUICK_TARGET_PCT),
                "min_trading_days": 0,
            },
        },
        {
            "name": "Funded",
            "kind": StageKind.LIVE,
            "balance": "10000",
            "leverage": 100,
            "profit_share_pct": "80",
            "rules": DEMO_RULES,
        },
    ],
}


# (email, name, nationality, phone, challenge, what happens)
PARTICIPANTS = [
    ("jonas@example.com", "Jonas Berg", "SE", "+46701234510", "two_step", "failed"),
    ("sofia@example.com", "Sofía Ramírez", "MX", "+525512345620", "two_step", "failed"),
    ("kemal@example.com", "Kemal Aydin", "TR", "+905321234511", "two_step", "verification"),
    ("lena@example.com", "Lena Fischer", "AT", "+436641234512", "instant", "funded"),
    ("marco@example.com", "Marco Silva", "BR", "+5511912345613", "two_step", "live_step"),
    ("nora@example.com", "Nora Lind", "FI", "+358401234514", "instant", "awaiting_approval"),
    ("oscar@example.com", "Oscar Vidal", "ES", "+34612345615", "two_step", "awaiting_payment"),
    ("pia@example.com", "Pia Moreau", "BE", "+32471234516", "instant", "rejected"),
    ("quinn@example.com", "Quinn Byrne", "IE", "+353861234517", "two_step", "cancelled"),
    ("rosa@example.com", "Rosa Kowalska", "PL", "+48601234518", "quick", "near_target"),
    (TRADER_EMAIL, "Tomas Horak", "CZ", "+420601234519", "match_trader", "on_match_trader"),
]

# Their portal and emails are in Spanish (Oscar's and Sofía's).
SPANISH_SPEAKING = {"ES", "MX"}

FATE_LABELS = {
    "near_target": "quick demo challenge, 20 USD short of its +1% target",
    "on_match_trader": "challenge on the fake Match-Trader server, trading",
}


def _seed_participants(admin: User, challenges: dict[str, Any]) -> None:
    """Traders in every state a participation can be in, each reached the way it is for real
    (the monitor's own verdict for the failure, staff decisions for the rest)."""
    compliance = User.objects.get(email=STAFF[1][0])
    finance = User.objects.get(email=STAFF[2][0])
    card = PaymentMethod.objects.get(name="Card (sandbox)")
    form = KycForm.objects.get(name="Individual")
    for email, name, nationality, phone, which, fate in PARTICIPANTS:
        client, request = register_client(
            kind="trader",
            name=name,
            email=email,
            password=CLIENT_PASSWORD,
            nationality=nationality,
            phone=phone,
            language="es" if nationality in SPANISH_SPEAKING else None,
        )
        approvals.approve(request.pk, actor=compliance, comment="Documents look fine.")
        _send_kyc(form, email, nationality)
        check = approvals.todo(compliance).filter(type_key=KYC, client=client).get()
        approvals.approve(check.pk, actor=compliance, comment="Passport and bill match.")
        wallet_services.adjust(
            client.pk,
            direction="credit",
            # Jonas, who fails, keeps enough after the fee to pay the retry he is offered.
            amount="1000.00" if fate == "failed" else "600.00",
            currency="USD",
            comment="Opening balance moved from the old CRM",
            actor=finance,
        )
        client = Client.objects.get(pk=client.pk)  # verified now
        challenge = challenges[which]
        if fate == "awaiting_payment":
            participation.start(client, challenge.pk, payment="direct", method=card.pk)
            continue
        joined = participation.start(client, challenge.pk, payment="wallet")
        if fate == "awaiting_approval":
            continue
        if fate == "rejected":
            pending = _purchase_request(joined)
            approvals.reject(
                pending.pk, actor=admin, reason="One challenge at a time per household."
            )
            continue
        _approve_purchase(joined, admin)
        if fate == "cancelled":
            interventions.cancel(
                joined.pk, actor=admin, reason="The client asked to stop.", refund=True
            )
        elif fate == "failed":
            _breach(joined)
        elif fate in ("verification", "live_step"):
            for _ in range(1 if fate == "verification" else 2):
                attempt = joined.current_attempt()
                assert attempt is not None
                interventions.advance(
                    attempt.pk, actor=admin, reason="Stage passed on the old CRM (migrated)."
                )
                joined = Participation.objects.get(pk=joined.pk)
            if fate == "verification":
                _trade(joined, [("GBPUSD", "sell", "1.00")])
        elif fate == "funded":
            step = approvals.todo(admin).filter(type_key=lifecycle.LIVE_STEP, client=client).get()
            approvals.approve(step.pk, actor=admin, comment="Trading history reviewed.")
            funded.paid_payout(Participation.objects.get(pk=joined.pk), finance)
            _trade(Participation.objects.get(pk=joined.pk), [("XAUUSD", "buy", "0.10")])
        elif fate == "near_target":
            _near_target(joined)


def _purchase_request(joined: Participation) -> Any:
    return ApprovalRequest.objects.get(
        type_key=participation.PARTICIPATION, payload__participation_id=joined.pk
    )


def _approve_purchase(joined: Participation, admin: User) -> None:
    approvals.approve(_purchase_request(joined).pk, actor=admin, comment="Fee received.")
    sandbox_turn()  # the stage's account is opened (on the fake: by the worker, later)


def sandbox_turn() -> None:
    """The worker's turn at the outbox, for the sandbox's commands only (the fake Match-Trader
    starts after the seed: a turn now would only delay its commands' retry)."""
    waiting = PlatformCommand.objects.filter(
        server__kind=TradingServer.Kind.SANDBOX, status=PlatformCommand.Status.PENDING
    )
    ids = list(waiting.values_list("pk", flat=True))
    if ids:  # (no ids at all would mean every command)
        outbox.run_due(ids=ids)


def _trade(joined: Participation, orders: list[tuple[str, str, str]]) -> None:
    """Open positions on the participation's current account, so its curve moves in the demo."""
    sandbox_turn()  # every sandbox account asked for so far is opened
    attempt = Participation.objects.get(pk=joined.pk).current_attempt()
    assert attempt is not None
    account = sandbox_accounts.account_by_login(attempt.login)
    for symbol, side, volume in orders:
        sandbox_orders.place_order(account, symbol=symbol, side=side, volume=volume)


def _breach(joined: Participation) -> None:
    """A real breach: a large position, a price drop past the daily floor the monitor sees, and
    the price back where it was."""
    _trade(joined, [("EURUSD", "buy", "10.00")])
    quote = Quote.objects.select_related("instrument").get(instrument__symbol="EURUSD")
    prices = feed.Feed()
    drop = Decimal("0.00700")  # 10 lots: -7,000 on 100,000, past the 5% daily floor
    for bid, ask in ((quote.bid - drop, quote.ask - drop), (quote.bid, quote.ask)):
        monitor.process(sandbox_accounts.default_server())
        prices.step(feed.Tick("EURUSD", bid, ask))
        prices.flush()
    monitor.process(sandbox_accounts.default_server())


def move_price(symbol: str, by: Decimal) -> None:
    """Move an instrument's quote by `by` through the sandbox feed (its positions revalued,
    stop losses and take profits acted on, equity written), as a running feed would."""
    quote = Quote.objects.get(instrument__symbol=symbol)
    prices = feed.Feed()
    prices.step(feed.Tick(symbol, quote.bid + by, quote.ask + by))
    prices.flush()


def _near_target(joined: Participation) -> None:
    """A closed trade worth +0.8% on the quick challenge: 20 USD short of its +1% target. The
    gold price goes back where it was, so the other demo accounts' figures stay."""
    sandbox_turn()  # every sandbox account asked for so far is opened
    attempt = Participation.objects.get(pk=joined.pk).current_attempt()
    assert attempt is not None
    account = sandbox_accounts.account_by_login(attempt.login)
    monitor.process(sandbox_accounts.default_server())
    position = sandbox_orders.place_order(account, symbol="XAUUSD", side="buy", volume="1.00")
    quote = Quote.objects.select_related("instrument").get(instrument__symbol="XAUUSD")
    spread = quote.ask - quote.bid
    # Closes at the bid: (bid + move - ask) x 100 oz = 80 USD.
    move_price("XAUUSD", spread + Decimal("0.80"))
    sandbox_orders.close_position(account, position.pk)
    move_price("XAUUSD", -(spread + Decimal("0.80")))
    monitor.process(sandbox_accounts.default_server())
