"""How fast Reports > Transactions and the wallet balance read are on a full PostgreSQL database.

    .venv/bin/python benchmarks/wallet_report.py [--clients N] [--entries N] [--keep]

Drops and re-creates its own database (`propdesk_bench` on 127.0.0.1:5432 as `postgres`; see
--help), migrates it, and fills it with set-based SQL: N active clients (user, client, one USD
wallet each), four firm accounts and the entries, each two balanced postings (wallet +x / firm
-x, or the reverse for a debit); every wallet's first entry is a deposit larger than all its
later debits together, so no wallet goes below zero. The balances are then set to the sums of
the postings, and the tables vacuumed and analysed. The ledger's triggers stay on: each batch
of 100,000 entries commits with its postings, and the deferred balance check passes
(`--disable-triggers` turns them off for the load, says so, and checks the balance by a query
instead). `--keep` reuses a database already filled.

Then it prints the median and p95 of: the report's first page (alone, and with the totals the
page also shows), filtered pages, a page deep in the keyset, a wallet balance read, the CSV
export's rows/s and one `ledger.check()`. Aims: a report page (with its totals) under
100 ms, a balance read under 5 ms. A figure that misses its aim gets its queries' EXPLAIN
ANALYZE printed (`--explain` prints them for every figure). Timings never go in the tests.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

PAGE_AIM_MS = 100.0
BALANCE_AIM_MS = 5.0
CHUNK = 100_000  # entries per load transaction
MIN_REPS = 15
TIME_BUDGET_S = 45.0  # per figure, once MIN_REPS samples are in


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = words(
    "Anna Jan Petra Tomas Eva Martin Lucie Jakub Tereza David Katerina Lukas Marie Ondrej "
    "Jana Pavel Klara Michal Veronika Filip Sofia Liam Emma Noah Olivia Lucas Mia Leon Hannah "
    "Elias Zofia Piotr Marta Kacper Julia Mateusz Chloe Hugo Ines Mateo Lea Luca Giulia Marco "
    "Aisha Omar Yuki Chen"
)
LAST_NAMES = words(
    "Novak Svoboda Novotny Dvorak Cerny Prochazka Kucera Vesely Horak Nemec Muller Schmidt "
    "Schneider Fischer Weber Kowalski Nowak Wisniewski Wojcik Smith Jones Taylor Brown "
    "Williams Wilson Martin Bernard Dubois Moreau Garcia Martinez Lopez Rossi Russo Ferrari "
    "Esposito Bianchi Jansen DeVries Bakker Horvath Nagy Toth Ivanov Petrov Tanaka Suzuki "
    "Wang Li Kim"
)
DOMAINS = ("example.com", "example.org", "mail.example.net", "traders.example")
COUNTRIES = ("CZ", "SK", "DE", "PL", "AT", "GB", "FR", "ES", "IT", "NL", "HU", "AE", "JP", "SG")
CREDIT_MEMOS = (
    "Promo credit",
    "Refund of the platform fee",
    "Compensation for a requote",
    "Goodwill credit after a support ticket",
    "Correction: deposit credited short",
)
DEBIT_MEMOS = (
    "Monthly platform fee",
    "Chargeback on a card deposit",
    "Inactivity fee",
    "Correction: duplicate credit",
    "Data feed subscription",
)


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def say(text: str) -> None:
    print(text, flush=True)


def sql_array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


# --- the database ---------------------------------------------------------------------------


def admin_connect(args: argparse.Namespace) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=args.host, port=args.port, user=args.user, dbname="postgres", autocommit=True
    )


def bench_connect(args: argparse.Namespace) -> psycopg.Connection[Any]:
    return psycopg.connect(host=args.host, port=args.port, user=args.user, dbname=args.db)


def filled_counts(args: argparse.Namespace) -> tuple[int, int] | None:
    """(clients, entries) of an existing filled database, or None."""
    with admin_connect(args) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db]).fetchone()
    if not found:
        return None
    with bench_connect(args) as conn:
        tables = conn.execute(
            "SELECT to_regclass('wallet_posting') IS NOT NULL"
            " AND to_regclass('accounts_client') IS NOT NULL"
        ).fetchone()
        if not tables or not tables[0]:
            return None
        row = conn.execute(
            "SELECT (SELECT count(*) FROM accounts_client),"
            " (SELECT count(*) FROM wallet_journalentry)"
        ).fetchone()
    assert row is not None
    return (row[0], row[1]) if row[1] else None


def recreate_database(args: argparse.Namespace) -> None:
    with admin_connect(args) as admin:
        name = sql.Identifier(args.db)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))


def setup_django(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = f"postgres://{args.user}@{args.host}:{args.port}/{args.db}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "propdesk.settings"
    # Keep the settings' generated key and static folder out of the working tree.
    os.environ.setdefault("PROPDESK_SECRET_KEY", "benchmark-only-not-a-secret")
    os.environ.setdefault(
        "PROPDESK_VAR_DIR", str(Path(tempfile.gettempdir()) / "propdesk-bench-var")
    )
    os.environ.setdefault("PROPDESK_LOG_LEVEL", "WARNING")
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# --- filling ----------------------------------------------------------------------------------


class Stopwatch:
    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.lap_start = self.start

    def lap(self, text: str) -> None:
        now = time.perf_counter()
        say(f"  {text:<58} {now - self.lap_start:7.1f} s  (total {now - self.start:6.1f} s)")
        self.lap_start = now


def coprime_step(n: int) -> int:
    step = 7919
    while math.gcd(step, n) != 1:
        step += 2
    return step


def move_sequences(conn: psycopg.Connection[Any], tables: tuple[str, ...]) -> None:
    """Rows went in with their ids given: move each id sequence past them."""
    for table in tables:
        conn.execute(
            sql.SQL(
                "SELECT setval(pg_get_serial_sequence({}, 'id'), (SELECT max(id) FROM {}))"
            ).format(sql.Literal(table), sql.Identifier(table))
        )


def small_rows() -> tuple[int, int, int, int, int]:
    """A Finance user, two payment methods and the firm's accounts, made by the application."""
    from propdesk.accounts.models import User
    from propdesk.wallet import ledger
    from propdesk.wallet.models import PaymentMethod

    staff = User.objects.create(
        email="finance@bench.example", name="Bench Finance", kind="staff", password="!bench"
    )
    methods = []
    for name, kind in (("Bank transfer", "offline"), ("Card (sandbox)", "online")):
        method = PaymentMethod.objects.create(
            name=name, kind=kind, currencies=["USD"], min_amount=10, max_amount=1_000_000
        )
        methods.append(ledger.cash_account(method, "USD"))
    adjustments = ledger.firm_account("adjustments", "USD", "Staff adjustments")
    pending = ledger.firm_account("pending_withdrawals", "USD", "Withdrawals awaiting payout")
    return staff.pk, methods[0].pk, methods[1].pk, adjustments.pk, pending.pk


def fill(args: argparse.Namespace) -> float:
    """Fill the freshly migrated database; returns the seconds it took."""
    from propdesk.wallet import ledger

    n, e = args.clients, args.entries
    rounds = max(1, math.ceil(e / n))
    # Every wallet's first entry is a deposit of at least 1,000.00; its later debits (at most
    # rounds - 1 of them) are each at most `cap`, so together at most 900.00.
    cap = 900.0 / max(1, rounds - 1)
    step = coprime_step(n)
    watch = Stopwatch()
    say(f"Filling {args.db}: {n:,} clients, {e:,} entries ({2 * e:,} postings)")
    if args.disable_triggers:
        say(
            "  NOTE: the ledger's own triggers (balanced entries, append-only) are DISABLED "
            "(ALTER TABLE ... DISABLE TRIGGER USER) during the load and re-enabled after it; "
            "the balance of every entry is checked by a query instead"
        )
    with bench_connect(args) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute("SET work_mem = '128MB'")
        conn.execute("SET TIME ZONE 'UTC'")
        start_at = conn.execute(
            "SELECT date_trunc('minute', now()) - interval '365 days'"
        ).fetchone()[0]  # type: ignore[index]
        start = f"TIMESTAMPTZ '{start_at.isoformat()}'"  # embedded: the SQL below uses %
        seconds_per_entry = 365 * 86400 / e

        conn.execute(
            f"""
            INSERT INTO accounts_user
                (id, password, last_login, email, name, kind, role_id, is_active, date_joined)
            SELECT i, '!benchmark', NULL,
                   lower(f) || '.' || lower(l) || '.' || i || '@' || d,
                   f || ' ' || l, 'client', NULL, true,
                   {start} - interval '60 days' + (i * 60.0 / {n}) * interval '1 day'
              FROM (SELECT i,
                           ({sql_array(FIRST_NAMES)})[1 + i % {len(FIRST_NAMES)}] AS f,
                           ({sql_array(LAST_NAMES)})[1 + (i / {len(FIRST_NAMES)})
                                                              % {len(LAST_NAMES)}] AS l,
                           ({sql_array(DOMAINS)})[1 + (i / 7) % {len(DOMAINS)}] AS d
                      FROM generate_series(1, {n}) AS i) AS s
            """
        )
        conn.execute(
            f"""
            INSERT INTO accounts_client
                (id, user_id, kind, nationality, phone, status, rejection_reason, kyc_status,
                 referral_code_used, registration_ip, created_at)
            SELECT id, id, CASE WHEN id % 20 = 0 THEN 'ib' ELSE 'trader' END,
                   ({sql_array(COUNTRIES)})[1 + id % {len(COUNTRIES)}],
                   '+420' || (600000000 + id), 'active', '', 'approved', '',
                   ('10.' || (id >> 16) % 256 || '.' || (id >> 8) % 256 || '.' || id % 256)::inet,
                   date_joined
              FROM accounts_user WHERE kind = 'client'
            """
        )
        conn.commit()
        watch.lap(f"{n:,} users and clients")

        conn.execute(
            """
            INSERT INTO wallet_ledgeraccount
                (id, code, kind, name, client_id, currency, balance, created_at)
            SELECT c.id, 'client:' || c.id || ':wallet:USD', 'client_wallet',
                   'Wallet of ' || u.email, c.id, 'USD', 0, c.created_at
              FROM accounts_client c JOIN accounts_user u ON u.id = c.user_id
            """
        )
        move_sequences(conn, ("accounts_user", "accounts_client", "wallet_ledgeraccount"))
        conn.commit()
        staff, bank, card, adjustments, pending = small_rows()
        watch.lap(f"{n:,} wallets; 4 firm accounts, 2 methods, 1 staff user (ORM)")

        # One staging row per entry, so that the entry and its two postings agree.
        conn.execute("SELECT setseed(0.42)")
        conn.execute(
            f"""
            CREATE TEMP TABLE bench_moves AS
            SELECT i, client_id, type, memo, wallet_amount, firm_id,
                   CASE WHEN type = 'withdrawal_hold' THEN NULL ELSE {staff} END AS created_by,
                   {start} + ((i - 1 + t) * {seconds_per_entry}) * interval '1 second' AS at
              FROM (
                SELECT i, client_id, t,
                       CASE WHEN move IN ('first', 'deposit') THEN 'deposit'
                            WHEN move = 'hold' THEN 'withdrawal_hold'
                            ELSE 'adjustment' END AS type,
                       CASE WHEN move IN ('first', 'deposit')
                                 THEN 'Deposit #' || i || ' by ' || method
                            WHEN move = 'hold' THEN 'Held for a withdrawal by ' || method
                            WHEN move = 'credit'
                                 THEN ({sql_array(CREDIT_MEMOS)})[1 + floor(w * 5)::int]
                            ELSE ({sql_array(DEBIT_MEMOS)})[1 + floor(w * 5)::int] END AS memo,
                       CASE move
                            WHEN 'first' THEN round((1000 + v * 9000)::numeric, 2)
                            WHEN 'deposit' THEN round((20 + v * 1980)::numeric, 2)
                            WHEN 'credit' THEN round((5 + v * 495)::numeric, 2)
                            ELSE -greatest(0.01, round((v * {cap})::numeric, 2)) END
                           AS wallet_amount,
                       CASE WHEN move IN ('first', 'deposit')
                                 THEN CASE method WHEN 'Bank transfer' THEN {bank} ELSE {card} END
                            WHEN move = 'hold' THEN {pending}
                            ELSE {adjustments} END AS firm_id
                  FROM (
                    SELECT i, t, v, w,
                           (((i - 1) % {n}) * {step}::bigint + (i - 1) / {n}) % {n} + 1
                               AS client_id,
                           CASE WHEN (i - 1) / {n} = 0 THEN 'first'
                                WHEN u < 0.45 THEN 'deposit'
                                WHEN u < 0.63 THEN 'credit'
                                WHEN u < 0.75 THEN 'debit'
                                ELSE 'hold' END AS move,
                           CASE WHEN m < 0.7 THEN 'Bank transfer' ELSE 'Card (sandbox)' END
                               AS method
                      FROM (SELECT i, random() AS u, random() AS v, random() AS w,
                                   random() AS m, random() AS t
                              FROM generate_series(1, {e}) AS i) AS g
                  ) AS picked
              ) AS moves
            """
        )
        conn.execute("CREATE INDEX ON bench_moves (i)")
        conn.execute("ANALYZE bench_moves")
        conn.commit()
        watch.lap(f"{e:,} movements drawn (staging table)")

        if args.disable_triggers:
            conn.execute("ALTER TABLE wallet_posting DISABLE TRIGGER USER")
            conn.execute("ALTER TABLE wallet_journalentry DISABLE TRIGGER USER")
            conn.commit()
        for low in range(1, e + 1, CHUNK):
            high = min(e, low + CHUNK - 1)
            # The entries and their postings in one transaction: the deferred constraint
            # trigger checks each entry's balance at the commit.
            conn.execute(
                f"""
                INSERT INTO wallet_journalentry
                    (id, type, memo, client_memo, client_id, idempotency_key, fingerprint,
                     reverses_id, created_by_id, created_at)
                SELECT i, type, memo, '', client_id, NULL, '', NULL, created_by, at
                  FROM bench_moves WHERE i BETWEEN {low} AND {high} ORDER BY i
                """
            )
            conn.execute(
                f"""
                INSERT INTO wallet_posting (id, entry_id, account_id, amount, currency,
                                            created_at, entry_type, client_id)
                SELECT 2 * i - 1 + side, i,
                       CASE side WHEN 0 THEN client_id ELSE firm_id END,
                       CASE side WHEN 0 THEN wallet_amount ELSE -wallet_amount END, 'USD',
                       at, type, CASE side WHEN 0 THEN client_id END
                  FROM bench_moves CROSS JOIN (VALUES (0), (1)) AS sides (side)
                 WHERE i BETWEEN {low} AND {high} ORDER BY i, side
                """
            )
            conn.commit()
            watch.lap(f"entries {low:,}-{high:,} and their postings")
        if args.disable_triggers:
            conn.execute("ALTER TABLE wallet_posting ENABLE TRIGGER USER")
            conn.execute("ALTER TABLE wallet_journalentry ENABLE TRIGGER USER")
            bad = conn.execute(
                "SELECT count(*) FROM (SELECT entry_id FROM wallet_posting"
                " GROUP BY entry_id, currency HAVING sum(amount) <> 0) AS unbalanced"
            ).fetchone()[0]  # type: ignore[index]
            conn.commit()
            if bad:
                raise SystemExit(f"{bad} unbalanced entries after the load")
            watch.lap("triggers re-enabled; every entry balances")

        conn.execute(
            """
            UPDATE wallet_ledgeraccount AS a SET balance = s.total
              FROM (SELECT account_id, sum(amount) AS total
                      FROM wallet_posting GROUP BY account_id) AS s
             WHERE a.id = s.account_id
            """
        )
        move_sequences(conn, ("wallet_journalentry", "wallet_posting"))
        conn.execute("DROP TABLE bench_moves")
        conn.commit()
        watch.lap("balances set to the sums of the postings; sequences moved")
        rows = ledger.rebuild_day_totals()  # what ledger.post keeps, summed once
        watch.lap(f"day totals rebuilt from the postings ({rows} rows)")

        conn.autocommit = True
        conn.execute("VACUUM (ANALYZE)")
        watch.lap("VACUUM (ANALYZE)")
    return time.perf_counter() - watch.start


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Figure:
    label: str
    samples: list[float]  # ms
    aim_ms: float | None

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    @property
    def missed(self) -> bool:
        return self.aim_ms is not None and self.median >= self.aim_ms

    def line(self) -> str:
        aim = ""
        if self.aim_ms is not None:
            verdict = "MISSED" if self.missed else "ok"
            aim = f"  aim < {self.aim_ms:g} ms: {verdict}"
        return (
            f"{self.label:<52} median {self.median:9.2f} ms  p95 {self.p95:9.2f} ms"
            f"  (n={len(self.samples)}){aim}"
        )


def timed(
    label: str, work: Callable[[int], object], reps: int, aim_ms: float | None, warmup: int = 2
) -> Figure:
    """The figure of `reps` runs after `warmup` ones; a slow one stops after TIME_BUDGET_S once
    it has MIN_REPS samples (n is printed), so the whole script stays within its minutes."""
    for i in range(warmup):
        work(-1 - i)
    samples: list[float] = []
    began = time.perf_counter()
    for i in range(reps):
        if len(samples) >= MIN_REPS and time.perf_counter() - began > TIME_BUDGET_S:
            break
        start = time.perf_counter()
        work(i)
        samples.append((time.perf_counter() - start) * 1000)
    figure = Figure(label, samples, aim_ms)
    say(figure.line())
    return figure


def explain(label: str, work: Callable[[int], object]) -> None:
    """Run `work` once, capturing its queries, and print EXPLAIN ANALYZE of each."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        work(0)
    for n, query in enumerate(captured.captured_queries, 1):
        text = query["sql"]
        if not text.lstrip().upper().startswith("SELECT"):
            continue
        say(f"\n--- EXPLAIN (ANALYZE, BUFFERS) for {label!r}, query {n}:")
        say(text)
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + text)
            plan = "\n".join(row for (row,) in cursor.fetchall())
        say("\n".join("    " + line for line in plan.splitlines()))
        for hint in hints(text, plan):
            say(f"  => {hint}")


def hints(query: str, plan: str) -> list[str]:
    """What the plan shows, in words, for the shapes this report is known to take."""
    found = []
    if "Seq Scan on accounts_user" in plan and "~~" in plan:
        found.append(
            "the client filter (icontains on email or name) reads every user: a pg_trgm GIN "
            "index on UPPER(email::text) and on UPPER(name::text) serves it"
        )
    if "GROUP BY" in query and "Seq Scan on wallet_posting" in plan:
        found.append(
            "the totals read every matching posting (a sequential scan): no index makes "
            "summing this many rows fast; totals need pre-aggregating (e.g. per day, type, "
            "currency) or computing apart from the page"
        )
    walked = re.search(
        r"Index Scan Backward using wallet_posting_pkey[^\n]*"
        r"actual time=\S+ rows=(\d+) loops=(\d+)",
        plan,
    )
    postings = int(walked.group(1)) * int(walked.group(2)) if walked else 0
    if "LIMIT" in query and postings > 10_000:
        if '"created_at" >=' in query or '"created_at" <' in query:
            fix = "ordering by (entry created_at, id) makes the date range an index range"
        else:
            fix = "looking the matching wallets up first (account_id IN ...) avoids the walk"
        found.append(
            f"the page walks {postings:,} postings newest-first (by id), dropping those the "
            f"filter excludes, as the planner expects matches spread evenly: {fix}"
        )
    return found


def measure(args: argparse.Namespace) -> None:
    from django.db import connection
    from django.utils import timezone

    from propdesk.accounts.models import Client
    from propdesk.reports import transactions as reports
    from propdesk.wallet import ledger
    from propdesk.wallet.models import Posting

    rng = random.Random(7)
    connection.ensure_connection()
    max_id = Posting.objects.order_by("-id").values_list("id", flat=True).first() or 0
    total_clients = Client.objects.count()
    ids = rng.sample(range(1, total_clients + 1), min(total_clients, 1000))
    clients = list(Client.objects.select_related("user").filter(pk__in=ids))
    rng.shuffle(clients)
    today = timezone.now().date()
    quarter = (today - timedelta(days=180), today - timedelta(days=90))

    def pick(i: int) -> Client:
        return clients[i % len(clients)]

    all_rows = reports.Filters()
    by_client = [
        reports.Filters(
            client=c.user.email, type="deposit", date_from=quarter[0], date_to=quarter[1]
        )
        for c in clients
    ]
    by_type_dates = reports.Filters(type="deposit", date_from=quarter[0], date_to=quarter[1])
    by_name = reports.Filters(client="novak")
    posted_adjustments = reports.Filters(type="adjustment", status="completed")

    def first_page(_: int) -> object:
        return reports.page(reports.transactions(all_rows), size=50)

    def with_totals(filters: reports.Filters) -> object:
        rows = reports.transactions(filters)
        return reports.page(rows, size=50), reports.totals(filters, rows)

    def first_page_totals(_: int) -> object:
        return with_totals(all_rows)

    def client_page(i: int) -> object:
        return reports.page(reports.transactions(by_client[i % len(by_client)]), size=50)

    def client_page_totals(i: int) -> object:
        return with_totals(by_client[i % len(by_client)])

    def dates_page(_: int) -> object:
        return reports.page(reports.transactions(by_type_dates), size=50)

    def dates_page_totals(_: int) -> object:
        return with_totals(by_type_dates)

    def name_page_totals(_: int) -> object:
        return with_totals(by_name)

    def posted_page_totals(_: int) -> object:
        return with_totals(posted_adjustments)

    def deep_page(i: int) -> object:
        cursor = rng.randint(max_id // 10, max_id * 9 // 10) | 1  # odd: a wallet's side
        return reports.page(reports.transactions(all_rows), after=cursor, size=50)

    def balance(i: int) -> object:
        return ledger.balances(pick(i))

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('server_version'), current_setting('shared_buffers'),"
            " current_setting('work_mem'), current_setting('jit')"
        )
        version, buffers, work_mem, jit = cursor.fetchone()
    say(
        f"\nPostgreSQL {version} (shared_buffers {buffers}, work_mem {work_mem}, jit {jit}); "
        f"{os.cpu_count()} CPUs; {load_average()}"
    )
    reps = args.reps
    say(f"Timings ({reps} repetitions after 2 warm-ups, fewer (n=) when slow; a page is 50 rows)")
    span = f"{quarter[0]}..{quarter[1]}"
    runs = [
        ("first page (no filter)", first_page, PAGE_AIM_MS),
        ("first page + totals (no filter, what the page shows)", first_page_totals, PAGE_AIM_MS),
        ("page: client email + deposit + 3-month range", client_page, PAGE_AIM_MS),
        ("page + totals: client email + deposit + 3 months", client_page_totals, PAGE_AIM_MS),
        ("page: deposit + 3-month range", dates_page, PAGE_AIM_MS),
        ("page + totals: deposit + 3-month range", dates_page_totals, PAGE_AIM_MS),
        ("page + totals: client 'novak' (name or email)", name_page_totals, PAGE_AIM_MS),
        ("page + totals: adjustment, status completed", posted_page_totals, PAGE_AIM_MS),
        ("deep page (after= a random cursor, 10-90%)", deep_page, PAGE_AIM_MS),
    ]
    say(f"(3-month range: {span}; a different client per repetition)")
    figures = [timed(label, work, reps, aim) for label, work, aim in runs]
    figures.append(
        timed("wallet balance read (ledger.balances, random)", balance, max(reps, 200), 5.0)
    )
    works = dict((label, work) for label, work, _ in runs)
    works[figures[-1].label] = balance

    # As the view streams it: key-ordered chunks of 2,000 rows, one short query each.
    csv_rows = reports.transactions(all_rows)
    start = time.perf_counter()
    stream = reports.csv_lines(csv_rows)
    next(stream)  # the header
    next(stream)
    first_row_s = time.perf_counter() - start
    lines = 1 + sum(1 for _ in stream)
    seconds = time.perf_counter() - start
    say(
        f"{'CSV export, the whole unfiltered set (csv_lines)':<52} {lines:,} rows in "
        f"{seconds:.1f} s = {lines / seconds:,.0f} rows/s (first row after {first_row_s:.1f} s)"
    )

    if args.skip_check:
        say("ledger.check(): skipped (--skip-check)")
    else:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = '120s'")
        start = time.perf_counter()
        try:
            problems = ledger.check()
        except Exception as exc:  # the timeout above, named in the output
            say(f"ledger.check(): gave up after {time.perf_counter() - start:.1f} s ({exc})")
        else:
            say(
                f"{'ledger.check() (once)':<52} {time.perf_counter() - start:9.1f} s, "
                f"{len(problems)} problems"
            )
            for problem in problems[:10]:
                say(f"    {problem}")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")

    say(f"after timing: {load_average()}")
    for figure in figures:
        if figure.missed or args.explain:
            explain(figure.label, works[figure.label])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=40, help="repetitions per figure")
    parser.add_argument("--db", default="propdesk_bench", help="dropped and re-created")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--keep", action="store_true", help="reuse a filled database")
    parser.add_argument(
        "--disable-triggers",
        action="store_true",
        help="disable the ledger's triggers during the load (faster; checked after)",
    )
    parser.add_argument("--explain", action="store_true", help="EXPLAIN every figure")
    parser.add_argument("--skip-check", action="store_true", help="do not time ledger.check()")
    args = parser.parse_args()
    if args.clients < 1 or args.entries < 1:
        parser.error("--clients and --entries are at least 1")

    began = time.perf_counter()
    counts = filled_counts(args) if args.keep else None
    if counts is not None:
        say(f"Reusing {args.db}: {counts[0]:,} clients, {counts[1]:,} entries (--keep)")
        setup_django(args)
        migrate()
        fill_seconds = None
    else:
        recreate_database(args)
        setup_django(args)
        start = time.perf_counter()
        migrate()
        say(f"  {'migrate':<58} {time.perf_counter() - start:7.1f} s")
        fill_seconds = fill(args)
    measure(args)
    if fill_seconds is not None:
        say(f"\nfill: {fill_seconds:.1f} s (plus migrate)")
    say(f"whole run: {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
