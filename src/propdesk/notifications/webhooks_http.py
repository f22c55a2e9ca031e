"""One webhook POST: to the address the endpoint's host resolves to (checked first), with a
deadline for the whole exchange, no redirects, and a bounded answer (docs/webhooks.md).

- The whole request (connect, send, the answer's headers and the body we read) takes at most
  WEBHOOK_TIMEOUT_SECONDS: a receiver that trickles its answer a byte at a time is cut off
  then. The delivery job's lease on the endpoint is longer than that, so no second worker
  starts on the endpoint while this one still talks to it.
- The host is resolved once and every address it resolves to is checked: link-local
  addresses (169.254.0.0/16, fe80::/10: where clouds answer with their instance metadata and
  credentials) and the known metadata addresses are refused, unless the firm allows them
  (PROPDESK_WEBHOOK_ALLOW_LINK_LOCAL=1). The connection is made to the checked address (a DNS
  answer that changes between the check and the connection cannot move it). Loopback and
  private addresses are allowed: a firm's own systems are often on its own network.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

RESPONSE_KEPT = 1000  # characters of an answer kept in the delivery log
RESPONSE_READ = 64 * 1024  # bytes read of an answer at most

# Cloud instance metadata outside 169.254.0.0/16 (AWS over IPv6, Alibaba Cloud).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200")
)


class Refused(Exception):
    """The endpoint's address is one we do not send to."""


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    body: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def timeout() -> float:
    return float(settings.WEBHOOK_TIMEOUT_SECONDS)


def forbidden(address: str) -> bool:
    """Whether we refuse to send to this IP address (link-local or cloud metadata)."""
    if settings.WEBHOOK_ALLOW_LINK_LOCAL:
        return False
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_link_local or ip.is_unspecified or ip.is_multicast or ip in METADATA_ADDRESSES


def resolve(host: str, port: int) -> str:
    """The address to connect to; `Refused` if any address the host has is forbidden."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as failed:
        raise OSError(f"cannot resolve {host}: {failed}") from failed
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise OSError(f"cannot resolve {host}")
    bad = [a for a in addresses if forbidden(a)]
    if bad:
        raise Refused(
            f"{host} resolves to {bad[0]}, a link-local or metadata address "
            "(PROPDESK_WEBHOOK_ALLOW_LINK_LOCAL=1 allows it)"
        )
    return addresses[0]


class _Pinned(http.client.HTTPConnection):
    """HTTP to the checked address; the Host header still names the URL's host."""

    def __init__(self, host: str, port: int, address: str, seconds: float) -> None:
        super().__init__(host, port, timeout=seconds)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    """HTTPS to the checked address; the certificate is checked against the URL's host."""

    def __init__(self, host: str, port: int, address: str, seconds: float) -> None:
        super().__init__(host, port, timeout=seconds, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def _cut(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes the read blocked on it


def post(url: str, body: bytes, sent_headers: dict[str, str]) -> Answer:
    """POST once; never raises for what the endpoint (or the network) does."""
    started = time.monotonic()
    status: int | None = None
    text, error = b"", ""
    seconds = timeout()
    parts = urlsplit(url)
    try:
        host = parts.hostname or ""
        tls = parts.scheme.lower() == "https"
        port = parts.port or (443 if tls else 80)
        address = resolve(host, port)
        made = _PinnedTLS if tls else _Pinned
        connection = made(host, port, address, seconds)
        deadline = threading.Timer(
            max(0.0, seconds - (time.monotonic() - started)), _cut, (connection,)
        )
        deadline.daemon = True
        deadline.start()
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("POST", path, body=body, headers=sent_headers)
            response = connection.getresponse()
            status = int(response.status)
            try:
                text = response.read(RESPONSE_READ)
            except (OSError, http.client.HTTPException):
                text = b""  # the status came: it is the answer
        finally:
            deadline.cancel()
            connection.close()
    except Refused as refused:
        error = f"Refused: {refused}"
    except (OSError, ValueError, http.client.HTTPException) as failed:  # refused, timed out, reset
        error = f"{type(failed).__name__}: {failed}"
    if status is None and not error:
        error = "no answer"
    if time.monotonic() - started >= seconds and status is None:
        error = f"timed out after {seconds:g} s ({error})"
    duration = int((time.monotonic() - started) * 1000)
    return Answer(status, text.decode(errors="replace")[:RESPONSE_KEPT], error[:500], duration)
