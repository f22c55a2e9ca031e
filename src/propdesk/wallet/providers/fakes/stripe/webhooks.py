"""Sending the events to the webhook endpoints, signed and retried as Stripe does.

  https://docs.stripe.com/webhooks#verify-manually  (the `Stripe-Signature` header:
      `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the endpoint's signing
      secret>`; in test mode an extra `v0` signature made with another key, to be ignored)
  https://docs.stripe.com/webhooks#retries and
  https://docs.stripe.com/webhooks/process-undelivered-events  (a delivery that is not
      answered 2xx is retried with exponential back-off, for up to three days in live mode and
      three times over a few hours in a sandbox; the Dashboard can resend an event)
  https://docs.stripe.com/webhooks#event-ordering  (events may arrive out of order, or twice)

The fake retries the same way in seconds, not hours (`retry_delays`, configurable), and its
"resend" (`POST /_fake/events/{id}/replay`) sends the event again with a fresh signature, as the
Dashboard's Resend does. The body is the event as JSON, pretty-printed as Stripe sends it.
"""

from __future__ import annotations

import heapq
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from hashlib import sha256
from typing import Any

from propdesk.wallet.providers.fakes.stripe.book import Book

RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)  # after the first attempt; a sandbox retries 3 times
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def signature(payload: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, sha256).hexdigest()


def header(payload: bytes, secret: str, timestamp: int) -> str:
    """The `Stripe-Signature` header Stripe sends in test mode."""
    v0 = signature(payload, "whsec_test_mode_v0_key", timestamp)
    return f"t={timestamp},v1={signature(payload, secret, timestamp)},v0={v0}"


class Sender:
    """Delivers each event to each endpoint that asked for its type, on a thread of its own;
    a failed delivery (refused, not 2xx, no answer within `timeout`) is tried again after each
    of `retry_delays`, then given up."""

    def __init__(
        self, book: Book, retry_delays: tuple[float, ...] = RETRY_DELAYS, timeout: float = 5.0
    ) -> None:
        self.book = book
        self.retry_delays = retry_delays
        self.timeout = timeout
        self.cond = threading.Condition()
        self.queue: list[tuple[float, int, str, str]] = []  # (due, order, event id, endpoint)
        self.order = 0
        self.in_flight = 0
        self.stopped = False
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.stopped = False
        self.thread = threading.Thread(target=self._run, name="fake-stripe-hooks", daemon=True)
        self.thread.start()
        with self.book.lock:  # deliveries still pending when the fake stopped
            for event_id, rows in self.book.deliveries.items():
                for row in rows:
                    if row["state"] == "pending":
                        self._push(0.0, event_id, row["endpoint"])

    def stop(self) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        if self.thread is not None:
            self.thread.join(timeout=5)
            self.thread = None

    def enqueue(self, event: dict[str, Any]) -> None:
        for row in self.book.deliveries.get(event["id"], []):
            self._push(0.0, event["id"], row["endpoint"])

    def replay(self, event_id: str) -> int:
        """Send an event again now to every endpoint that should get it."""
        with self.book.lock:
            rows = self.book.deliveries.get(event_id, [])
            for row in rows:
                row["state"] = "pending"
                row["attempts"] = 0
        for row in rows:
            self._push(0.0, event_id, row["endpoint"])
        return len(rows)

    def _push(self, delay: float, event_id: str, endpoint: str) -> None:
        with self.cond:
            self.order += 1
            heapq.heappush(self.queue, (time.monotonic() + delay, self.order, event_id, endpoint))
            self.cond.notify_all()

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until no delivery is due or being made (True), or `timeout` passed."""
        with self.cond:
            return self.cond.wait_for(lambda: not self.queue and not self.in_flight, timeout)

    def _run(self) -> None:
        while True:
            with self.cond:
                if self.stopped:
                    return
                now = time.monotonic()
                if not self.queue or self.queue[0][0] > now:
                    wait = min(0.5, self.queue[0][0] - now) if self.queue else 0.5
                    self.cond.wait(wait)
                    item = None
                else:
                    item = heapq.heappop(self.queue)
                    self.in_flight += 1
            if item is None:
                self.book.tick()  # expire the sessions whose time is up
                continue
            try:
                self._deliver(item[2], item[3])
            finally:
                with self.cond:
                    self.in_flight -= 1
                    self.cond.notify_all()

    def _deliver(self, event_id: str, endpoint_id: str) -> None:
        with self.book.lock:
            event = self.book.objects.get(event_id)
            endpoint = self.book.objects.get(endpoint_id)
            rows = [
                r for r in self.book.deliveries.get(event_id, []) if r["endpoint"] == endpoint_id
            ]
            if event is None or endpoint is None or not rows or rows[0]["state"] != "pending":
                return
            row = rows[0]
            row["attempts"] += 1
            payload = json.dumps(event, indent=2).encode()
        status: int | None = None
        error = ""
        request = urllib.request.Request(  # noqa: S310  (endpoints are http(s), checked)
            endpoint["url"],
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                "Stripe-Signature": header(payload, endpoint["secret"], int(time.time())),
            },
        )
        try:
            with _NO_PROXY.open(request, timeout=self.timeout) as answer:
                status = answer.status
        except urllib.error.HTTPError as refused:
            status = refused.code
        except (OSError, ValueError) as failure:
            error = str(failure)
        delivered = status is not None and 200 <= status < 300
        with self.book.lock:
            row["last_status"] = status
            row["last_error"] = error
            if delivered:
                row["state"] = "delivered"
            elif row["attempts"] > len(self.retry_delays):
                row["state"] = "failed"
        self.book.save()
        if not delivered and row["state"] == "pending":
            self._push(self.retry_delays[row["attempts"] - 1], event_id, endpoint_id)
