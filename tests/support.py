import threading
from collections.abc import Callable
from typing import Any

from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db import connection

from propdesk.core.errors import DomainError


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with test-sized costs (production keeps Django's defaults)."""

    algorithm = "argon2"
    time_cost = 1
    memory_cost = 64
    parallelism = 1


class CountingPasswordHasher(FastArgon2PasswordHasher):
    """The same hasher, counting the passwords it hashes or checks (from any thread): how many
    attempts reached a password check. Reset `calls` after setting up."""

    calls = 0
    _lock = threading.Lock()

    @classmethod
    def _count(cls) -> None:
        with cls._lock:
            cls.calls += 1

    def encode(self, password: str, salt: str) -> Any:
        self._count()
        return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        self._count()
        return super().verify(password, encoded)


def at_once(*calls: Callable[[], object], timeout: float = 120) -> list[object]:
    """Start every call at the same instant, each on its own thread and database connection;
    what each returned (or the `DomainError` it raised), in the calls' order. Every call must
    finish within `timeout`."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def run(i: int, call: Callable[[], object]) -> None:
        try:
            barrier.wait()
            outcomes[i] = call()
        except DomainError as refused:
            outcomes[i] = refused
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a call did not finish"
    return outcomes


def carry_out_platform_commands() -> int:
    """The worker's turn at the platform outbox: every command due now is carried out (an
    account opened, its access set), as `propdesk worker` does after the commit."""
    from propdesk.platforms import outbox

    return outbox.run_due()
