import threading
from typing import Any

from django.contrib.auth.hashers import Argon2PasswordHasher


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
