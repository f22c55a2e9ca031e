"""The `propdesk` command: demo, serve, staff, rules, worker, jobs, and Django's own commands."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from propdesk.onboarding.vendors.fakes.sumsub import command as fake_sumsub
from propdesk.ops import backup as backups
from propdesk.platforms.matchtrader.fake import command as fake_platform
from propdesk.platforms.mt5.fake import command as fake_mt5
from propdesk.processes import (
    collect_static,
    metrics_folder,
    newer_database,
    run_alone,
    run_together,
    serve_commands,
    setup_django,
    unapplied_migrations,
    web_workers,
)
from propdesk.wallet.providers.fakes.nowpayments import command as fake_nowpayments
from propdesk.wallet.providers.fakes.stripe import command as fake_stripe


def _refused_by_newer_database() -> bool:
    """True (having said why) when a newer propdesk migrated the database: nothing of this
    version may run on it."""
    problem = newer_database()
    if problem:
        print(problem, file=sys.stderr)
    return problem is not None


def _manage(args: Sequence[str]) -> int:
    setup_django()
    if list(args[:1]) == ["migrate"] and _refused_by_newer_database():
        return 2
    from django.core.management import execute_from_command_line

    execute_from_command_line(["propdesk manage", *args])
    return 0


def _cmd_serve(ns: argparse.Namespace) -> int:
    setup_django()
    if _refused_by_newer_database():
        return 2
    pending = unapplied_migrations()
    if pending:
        print(
            f"error: the database has {pending} unapplied migrations; "
            "run `propdesk manage migrate` first",
            file=sys.stderr,
        )
        return 2
    problem = collect_static()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        workers = ns.workers or web_workers(os.environ, os.cpu_count())
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    commands = serve_commands(
        ns.host,
        ns.port,
        workers,
        worker=not ns.no_worker,
        monitor=not ns.no_monitor,
        feed=ns.feed,
    )
    if len(commands) == 1 and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # The site alone with its metrics folder given (compose's web): gunicorn in this
        # process's place, its own graceful stop; nothing of ours is left to clean up.
        return run_alone(commands[0])
    with metrics_folder():  # the site's workers count their requests together
        return run_together(commands)


def _cmd_demo(ns: argparse.Namespace) -> int:
    from propdesk import demo_start

    return demo_start.run(
        host=ns.host,
        port=ns.port,
        match_trader_port=ns.match_trader_port,
        mt5_port=ns.mt5_port,
        stripe_port=ns.stripe_port,
        nowpayments_port=ns.nowpayments_port,
        sumsub_port=ns.sumsub_port,
    )


def _positive(kind: Callable[[str], Any], cap: float) -> Callable[[str], Any]:
    """An argparse type: a number more than zero and at most `cap` (a usage error otherwise)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not 0 < value <= cap:  # also refuses nan
            raise argparse.ArgumentTypeError(f"more than 0 and at most {cap:g}")
        return value

    return parse


def _cmd_worker(ns: argparse.Namespace) -> int:
    setup_django()
    if _refused_by_newer_database():
        return 2
    from propdesk.jobs.worker import Worker

    _until_stopped(lambda stop: Worker(interval=ns.interval, stop=stop).run())
    return 0


def _cmd_jobs_list(ns: argparse.Namespace) -> int:
    setup_django()
    from propdesk.jobs import services

    found = services.problems(None, limit=ns.limit)
    for state, title in ((services.GAVE_UP, "gave up"), (services.WAITING, "waiting to retry")):
        rows = found[state]
        print(f"{title}: {len(rows)}")
        for row in rows:
            when = row.finished_at if state == services.GAVE_UP else row.next_try_at
            stamp = when.isoformat(timespec="seconds") if when else "-"
            print(
                f"  {row.id}  {row.task_path}  attempts {row.attempts}/{row.max_attempts}"
                f"  {stamp}  {row.error_class}: {row.message}"
            )
    return 0


def _cmd_jobs_retry(ns: argparse.Namespace) -> int:
    setup_django()
    from propdesk.core.errors import DomainError
    from propdesk.jobs import services

    try:
        row = services.retry_now(ns.job_id, actor=None)
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    print(f"job {row.id} ({row.task_path}) runs again at a worker's next turn")
    return 0


def _cmd_jobs_run(ns: argparse.Namespace) -> int:
    setup_django()
    from propdesk.jobs.worker import Worker

    # With its heartbeat: a long job run here is not taken for an abandoned one meanwhile.
    print(f"ran {Worker(heartbeat=True).run(batch=True)} jobs")
    return 0


def _cmd_staff_create(ns: argparse.Namespace) -> int:
    setup_django()
    from propdesk.accounts.services import create_staff_user
    from propdesk.core.errors import DomainError

    password = ns.password
    if password is None:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            print("error: the passwords do not match", file=sys.stderr)
            return 2
    try:
        user = create_staff_user(
            email=ns.email, name=ns.name or "", role_name=ns.role, password=password, actor=None
        )
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for field, message in exc.fields.items():
            print(f"  {field}: {message}", file=sys.stderr)
        return 2
    print(f"created staff user {user.email} with role {user.role}")
    return 0


def _cmd_staff_reset_two_factor(ns: argparse.Namespace) -> int:
    """For a locked-out sole administrator: turn their two-factor login off from the server."""
    setup_django()
    from propdesk.accounts.models import User
    from propdesk.accounts.services import reset_two_factor
    from propdesk.core.errors import DomainError
    from propdesk.core.text import email_key

    user = User.objects.filter(email__iexact=email_key(ns.email), kind=User.Kind.STAFF).first()
    if user is None:
        print(f"error: no staff user with the email {ns.email}", file=sys.stderr)
        return 2
    try:
        reset_two_factor(user.pk, actor=None, reason=ns.reason)
    except DomainError as exc:
        print(f"error: {exc.fields.get('reason') or exc.message}", file=sys.stderr)
        return 2
    print(
        f"two-factor login of {user.email} reset: they log in with their password and "
        "set it up again"
    )
    return 0


def _cmd_ledger_check(ns: argparse.Namespace) -> int:
    setup_django()
    from propdesk.wallet import ledger
    from propdesk.wallet.models import JournalEntry, LedgerAccount

    problems = ledger.check()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"ledger check FAILED: {len(problems)} problems", file=sys.stderr)
        return 1
    accounts, entries = LedgerAccount.objects.count(), JournalEntry.objects.count()
    print(f"ledger ok: {accounts} accounts match their postings; {entries} entries balance")
    return 0


def _cmd_ledger_rebuild_totals(ns: argparse.Namespace) -> int:
    setup_django()
    from propdesk.wallet import ledger

    rows = ledger.rebuild_day_totals()
    print(f"day totals rebuilt from the postings: {rows} rows")
    return 0


def _cmd_commission_settle(ns: argparse.Namespace) -> int:
    setup_django()
    from propdesk.challenges.growth import settlement
    from propdesk.core.errors import DomainError

    try:
        made = settlement.settle(ns.date_from, ns.date_to, None)
    except DomainError as exc:
        print(f"commission settle refused: {exc}", file=sys.stderr)
        return 2
    for one in made:
        print(f"settlement #{one.pk}: IB {one.ib_id} {one.amount} {one.currency} for approval")
    print(f"{len(made)} settlement(s) submitted" if made else "nothing to settle in that period")
    return 0


def _cmd_sandbox_create_account(ns: argparse.Namespace) -> int:
    setup_django()
    from propdesk.core.errors import DomainError
    from propdesk.platforms import adapters
    from propdesk.platforms.sandbox import accounts as sandbox_accounts

    try:
        if ns.server:
            platform = adapters.platform_named(ns.server)
        else:
            platform = adapters.platform(sandbox_accounts.default_server())
        credentials = platform.create_account(
            group=ns.group,
            leverage=ns.leverage,
            balance=ns.balance,
            currency=ns.currency,
            key=f"cli:{uuid.uuid4().hex}",  # each run opens an account of its own
        )
    except DomainError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        print(f"refused: {exc.message}{' ' + details if details else ''}", file=sys.stderr)
        return 2
    print(json.dumps(credentials.as_dict()))
    return 0


def _cmd_sandbox_feed(ns: argparse.Namespace) -> int:
    setup_django()
    from pathlib import Path

    from propdesk.platforms.sandbox import feed
    from propdesk.platforms.sandbox.models import Instrument

    if ns.rate <= 0 or ns.speed <= 0:
        print("--rate and --speed are more than zero", file=sys.stderr)
        return 2
    if ns.replay:
        try:
            rows = feed.read_quotes_csv(Path(ns.replay))
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        source = feed.replay(rows, speed=ns.speed, loop=ns.loop)
        _feed_log.info("sandbox feed started", extra={"replay": ns.replay, "quotes": len(rows)})
    else:
        instruments = list(Instrument.objects.filter(enabled=True))
        if not instruments:
            print("error: no enabled instruments to move", file=sys.stderr)
            return 2
        synthetic = feed.Synthetic(instruments, rate=ns.rate, seed=ns.seed)
        source = feed.paced(iter(synthetic), ns.rate)
        _feed_log.info(
            "sandbox feed started", extra={"rate": ns.rate, "instruments": len(instruments)}
        )
    count = _until_stopped(lambda stop: feed.run(source, stop=stop))
    if count is not None:
        _feed_log.info("sandbox feed stopped", extra={"ticks": count})
    return 0


_feed_log = logging.getLogger("propdesk.feed")  # the long-running commands log (docs/logging.md)


def _until_stopped(work: Callable[[threading.Event], Any]) -> Any:
    """Run a long-running loop that watches `stop`: SIGTERM sets it; Ctrl-C ends it (None)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        return work(stop)
    except KeyboardInterrupt:
        return None


def _cmd_vault_new_key(ns: argparse.Namespace) -> int:
    """A new newest key: put in front of the key file (a local install) or printed for the
    environment (PROPDESK_VAULT_KEYS). Then `propdesk vault reseal`, then drop the old key."""
    setup_django()
    from django.conf import settings

    from propdesk.core import vault

    key = vault.new_key()
    if os.environ.get("PROPDESK_VAULT_KEYS") or os.environ.get("PROPDESK_SECRET_KEY"):
        keys = ",".join([key, *settings.VAULT_KEYS])
        print(f"Set PROPDESK_VAULT_KEYS={keys} on every process, restart them, then run")
        print("`propdesk vault reseal`; after it, the old keys can be dropped from the list.")
        return 0
    path = settings.VAR_DIR / "vault_keys"
    # Written aside, readable by its owner only, and moved into place in one step: a process
    # starting meanwhile reads the old list or the new one, never half of either.
    spare = settings.VAR_DIR / f".vault_keys.new.{os.getpid()}"
    descriptor = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write("\n".join([key, *settings.VAULT_KEYS]) + "\n")
    os.replace(spare, path)
    print(
        f"A new vault key is first in {path}. Restart propdesk, then run `propdesk vault reseal`."
    )
    return 0


def _cmd_vault_reseal(ns: argparse.Namespace) -> int:
    setup_django()
    from django.conf import settings

    from propdesk.core import vault

    problems = vault.key_problems(settings.VAULT_KEYS) or (
        []
        if settings.VAULT_KEYS
        else ["The vault has no keys of its own: set PROPDESK_VAULT_KEYS."]
    )
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    done = vault.reseal(dry_run=ns.dry_run)
    verb = "would reseal" if ns.dry_run else "resealed"
    print(
        f"{verb} {done.resealed}, already under the newest key {done.current}, "
        f"unreadable {done.unreadable}"
    )
    if done.unreadable:
        print(
            "Unreadable secrets were sealed under a key no longer configured: put that key (or "
            "the old secret key, in PROPDESK_SECRET_KEY_FALLBACKS) back and reseal, or reset "
            "those passwords at the trading platform.",
            file=sys.stderr,
        )
        return 1
    return 0


def _cmd_monitor(ns: argparse.Namespace) -> int:
    setup_django()
    if _refused_by_newer_database():
        return 2
    from propdesk.challenges.monitoring import monitor
    from propdesk.platforms import natslog
    from propdesk.platforms.natsclient import NatsLogError

    if natslog.enabled():
        # A new install's stream does not exist until its first event is published, and every
        # read of a feed would fail until then: the monitor makes it, as a publisher would.
        try:
            natslog.ensure_stream()
        except NatsLogError as exc:
            print(f"error: the account-event log (PROPDESK_EVENT_LOG): {exc}", file=sys.stderr)
            return 1
    logging.getLogger("propdesk.monitor").info("monitor started")
    _until_stopped(lambda stop: monitor.run(stop=stop))
    logging.getLogger("propdesk.monitor").info("monitor stopped")
    return 0


def _rules_replay(args: Sequence[str]) -> int:
    from propdesk.rules.replay import main as replay_main

    return replay_main(list(args))


# Commands whose arguments belong to someone else (Django, the replay's own exact contract):
# everything after their name is handed over untouched, --help included.
PASSTHROUGH: dict[tuple[str, ...], Callable[[Sequence[str]], int]] = {
    ("manage",): _manage,
    ("rules", "replay"): _rules_replay,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="propdesk", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="migrate, load demo data and start the demo site")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument(
        "--match-trader-port",
        type=int,
        default=8010,
        help="where the demo's fake Match-Trader server listens (default 8010)",
    )
    demo.add_argument(
        "--mt5-port",
        type=int,
        default=8011,
        help="where the demo's fake MetaTrader 5 Web API listens (default 8011)",
    )
    for option, vendor, default in (
        ("stripe", "Stripe", 8020),
        ("nowpayments", "NOWPayments", 8021),
        ("sumsub", "SumSub", 8030),
    ):
        demo.add_argument(
            f"--{option}-port",
            type=int,
            default=default,
            help=f"where the demo's fake {vendor} listens (default {default})",
        )
    demo.set_defaults(func=_cmd_demo)

    serve = sub.add_parser(
        "serve", help="run the site, the job worker and the monitor on a migrated database"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=_positive(int, 64),
        default=None,
        help="the site's processes (default PROPDESK_WEB_WORKERS, else the cores + 1)",
    )
    serve.add_argument("--no-worker", action="store_true", help="do not start the job worker")
    serve.add_argument("--no-monitor", action="store_true", help="do not start the monitor")
    serve.add_argument(
        "--feed", action="store_true", help="also move the sandbox's prices (sandbox feed)"
    )
    serve.set_defaults(func=_cmd_serve)

    worker = sub.add_parser("worker", help="run background jobs (emails and the like)")
    worker.add_argument(
        "--interval", type=_positive(float, 3600), default=1.0, help="seconds between looks"
    )
    worker.set_defaults(func=_cmd_worker)

    jobs = sub.add_parser("jobs", help="background jobs that failed or wait to retry")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    jobs_list = jobs_sub.add_parser("list", help="the jobs that gave up or wait to retry")
    jobs_list.add_argument("--limit", type=_positive(int, 10_000), default=200)
    jobs_list.set_defaults(func=_cmd_jobs_list)
    jobs_retry = jobs_sub.add_parser("retry", help="run a failed job again at once")
    jobs_retry.add_argument("job_id")
    jobs_retry.set_defaults(func=_cmd_jobs_retry)
    jobs_run = jobs_sub.add_parser("run", help="run every job due now, then stop")
    jobs_run.set_defaults(func=_cmd_jobs_run)

    staff = sub.add_parser("staff", help="manage staff users")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    create = staff_sub.add_parser("create", help="create a staff user")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, help="Administrator, Compliance, Finance, ...")
    create.add_argument("--name", default=None)
    create.add_argument("--password", default=None, help="prompted for when not given")
    create.set_defaults(func=_cmd_staff_create)
    reset_2fa = staff_sub.add_parser(
        "reset-2fa", help="turn off a staff user's two-factor login (lost phone), audited"
    )
    reset_2fa.add_argument("--email", required=True)
    reset_2fa.add_argument(
        "--reason", default="Reset on the server with `propdesk staff reset-2fa`."
    )
    reset_2fa.set_defaults(func=_cmd_staff_reset_two_factor)

    rules = sub.add_parser("rules", help="challenge rules")
    rules_sub = rules.add_subparsers(dest="rules_command", required=True)
    rules_sub.add_parser(
        "replay", help="RULES.json EVENTS.jsonl [--until TIME] [--explain]: replay an account"
    )
    ledger = sub.add_parser("ledger", help="the books")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    check = ledger_sub.add_parser("check", help="prove every balance and every entry")
    check.set_defaults(func=_cmd_ledger_check)
    rebuild = ledger_sub.add_parser(
        "rebuild-totals", help="sum the report's day totals afresh (after a time zone change)"
    )
    rebuild.set_defaults(func=_cmd_ledger_rebuild_totals)

    commission = sub.add_parser("commission", help="IB commission")
    commission_sub = commission.add_subparsers(dest="commission_command", required=True)
    settle = commission_sub.add_parser(
        "settle", help="submit each IB's collected commission of a period for approval"
    )
    settle.add_argument("--from", dest="date_from", required=True, help="YYYY-MM-DD")
    settle.add_argument("--to", dest="date_to", required=True, help="YYYY-MM-DD (included)")
    settle.set_defaults(func=_cmd_commission_settle)

    monitor = sub.add_parser("monitor", help="watch running challenge stages (long-running)")
    monitor.set_defaults(func=_cmd_monitor)

    sandbox = sub.add_parser("sandbox", help="the built-in sandbox trading platform")
    sandbox_sub = sandbox.add_subparsers(dest="sandbox_command", required=True)
    create = sandbox_sub.add_parser(
        "create-account", help="open a sandbox account; prints its credentials as JSON"
    )
    create.add_argument("--balance", required=True, help="starting balance, e.g. 100000")
    create.add_argument("--leverage", default="100", help="e.g. 100 for 1:100")
    create.add_argument("--group", default="demo")
    create.add_argument("--currency", default="USD")
    create.add_argument("--server", default="", help="a trading server's name (Sandbox)")
    create.set_defaults(func=_cmd_sandbox_create_account)
    run_feed = sandbox_sub.add_parser("feed", help="move the sandbox's prices (runs until stopped)")
    run_feed.add_argument("--rate", type=float, default=50.0, help="ticks a second, in all")
    run_feed.add_argument("--seed", type=int, default=1, help="the synthetic feed's seed")
    run_feed.add_argument("--replay", default="", help="a CSV of time,symbol,bid,ask to replay")
    run_feed.add_argument("--speed", type=float, default=1.0, help="2: twice as fast")
    run_feed.add_argument("--loop", action="store_true", help="replay the CSV over and over")
    run_feed.set_defaults(func=_cmd_sandbox_feed)

    vault = sub.add_parser("vault", help="the keys that seal stored secrets")
    vault_sub = vault.add_subparsers(dest="vault_command", required=True)
    vault_sub.add_parser("new-key", help="add a new newest key (then reseal)").set_defaults(
        func=_cmd_vault_new_key
    )
    reseal = vault_sub.add_parser(
        "reseal", help="seal every stored secret again under the newest key"
    )
    reseal.add_argument("--dry-run", action="store_true", help="count, change nothing")
    reseal.set_defaults(func=_cmd_vault_reseal)

    fake_kinds = fake_platform.add_parser(sub)  # vendors' fakes: no Django
    fake_mt5.add_parser(fake_kinds)
    # The payment and identity vendors' fakes (wallet.providers.fakes,
    # onboarding.vendors.fakes): one sub-command per vendor, each added by its own fake (no
    # Django in them).
    fake_vendor = sub.add_parser("fake-vendor", help="run a fake of a payment or identity vendor")
    vendors = fake_vendor.add_subparsers(dest="fake_vendor", required=True)
    fake_nowpayments.add_parser(vendors)
    fake_stripe.add_parser(vendors)
    fake_sumsub.add_parser(vendors)
    backups.add_parser(sub)  # backup and restore (ops.backup)

    sub.add_parser("manage", help="run a Django management command (propdesk manage help)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    for prefix, command in PASSTHROUGH.items():
        if tuple(args[: len(prefix)]) == prefix:
            return command(args[len(prefix) :])
    ns = build_parser().parse_args(args)
    result: int = ns.func(ns)
    return result


if __name__ == "__main__":
    sys.exit(main())
