"""Helpers for the notifications' tests: a real HTTP webhook receiver, and endpoints made
through the real use cases."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from django.utils import timezone
from django_tasks_db.models import DBTaskResult


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: what it got, in order; `status` is what it answers
    (503: "down"); `stop()`/`start()` take it off and back on the same port."""

    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    answer: bytes = b"ok"
    delay: float = 0.0  # seconds each answer takes
    # Called (on the server's thread) with each request before it is answered: what the
    # rest of the system sees while a worker waits for the answer.
    on_request: Any = None
    busy: int = 0  # requests being answered now
    most_busy: int = 0  # the most at one time
    server: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def types(self) -> list[str]:
        return [r.json["type"] for r in self.requests]

    @property
    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def start(self) -> None:
        port = int(self.url.rsplit(":", 1)[1].split("/")[0])
        self.server = _serve(self, port)


def _serve(receiver: Receiver, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            with receiver.lock:
                receiver.busy += 1
                receiver.most_busy = max(receiver.most_busy, receiver.busy)
            if receiver.on_request is not None:
                try:
                    receiver.on_request(got)
                finally:
                    from django.db import connection

                    connection.close()
            if receiver.delay:
                time.sleep(receiver.delay)
            with receiver.lock:
                receiver.busy -= 1
            if receiver.status < 300:
                receiver.requests.append(got)
            self.send_response(receiver.status)
            self.send_header("Content-Length", str(len(receiver.answer)))
            self.end_headers()
            self.wfile.write(receiver.answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """Start a receiver on a free port: `receiver.url` to subscribe, `receiver.requests` the
    requests it accepted (a 2xx answer), in the order they came."""
    receiver = Receiver(url="")
    receiver.server = _serve(receiver, 0)
    receiver.url = f"http://127.0.0.1:{receiver.server.server_address[1]}/hooks"
    try:
        yield receiver
    finally:
        receiver.stop()


def verify(receiver_request: Received, secret: str) -> Any:
    """The payload, if the Standard Webhooks reference verifier accepts the request."""
    from standardwebhooks.webhooks import Webhook

    return Webhook(secret).verify(receiver_request.body, receiver_request.headers)


def make_endpoint(actor: Any, url: str, events: list[str], **extra: Any) -> Any:
    """An endpoint (added through the use case) and its secret."""
    from propdesk.notifications import webhook_admin

    data = {"url": url, "event_types": events, "description": "", **extra}
    return webhook_admin.create_endpoint(data, actor=actor)


def time_passes() -> None:
    """Every delivery and job waiting for a later time is due now (the back-off is over)."""
    from propdesk.notifications.models import WebhookDelivery

    now = timezone.now()
    WebhookDelivery.objects.filter(next_attempt_at__gt=now).update(next_attempt_at=now)
    DBTaskResult.objects.filter(run_after__gt=now).update(run_after=now)
