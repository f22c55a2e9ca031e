"""How fast the NATS account-event log takes events in and gives them back: publish N equity
events (batches of `--batch`, each acknowledged, as an ingestor does) to a stream of its own,
then read one partition's back through `NatsFeed.read` (pulls of `--limit`, JSON decoded into
FeedEvents, as the monitor reads) and print events a second both ways.

    .venv/bin/python benchmarks/nats_feed.py [--events 100000] [--accounts 1000] \
        [--partitions 1] [--nats nats://127.0.0.1:4222]

With one partition (the default) every event is read back; with more, the first partition's.
The stream (`BENCH_NATS_FEED_<pid>`) is deleted at the end. Needs no database.

Aim (issue 16): 50,000 events a second read and decoded by one process.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "propdesk.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402

from propdesk.platforms import natslog  # noqa: E402
from propdesk.platforms.natsfeed import NatsFeed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--limit", type=int, default=5000)
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    args = parser.parse_args()
    settings.EVENT_LOG = args.nats
    settings.EVENT_PARTITIONS = args.partitions
    settings.EVENT_STREAM = f"BENCH_NATS_FEED_{os.getpid()}"
    natslog.ensure_stream()
    try:
        run(args)
    finally:
        natslog.delete_stream(settings.EVENT_STREAM)


def run(args: argparse.Namespace) -> None:
    events = [
        (
            str(100_000 + n % args.accounts),
            {
                "kind": "equity",
                "at": "2026-12-06T05:00:00.000000+00:00",
                "equity": f"{10_000 + n % 977}.25",
                "balance": "10000.00",
                "floating": f"{n % 977}.25",
            },
            f"eq:{n}",
        )
        for n in range(args.events)
    ]
    started = time.perf_counter()
    for first in range(0, len(events), args.batch):
        natslog.publish(1, events[first : first + args.batch])
    took = time.perf_counter() - started
    print(f"published {len(events)} events in {took:.2f} s: {len(events) / took:,.0f} events/s")

    feed = NatsFeed(0)
    started = time.perf_counter()
    read, after = 0, 0
    while page := feed.read(after=after, limit=args.limit):
        read += len(page)
        after = page[-1].position
    took = time.perf_counter() - started
    feed.close()
    print(
        f"read back {read} events of partition 0 (of {args.partitions}) in {took:.2f} s: "
        f"{read / took:,.0f} events/s"
    )


if __name__ == "__main__":
    main()
