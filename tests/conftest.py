"""Fixtures and factories. Everything goes through the real use cases, on a real database."""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client as HttpClient

from propdesk.accounts import groups
from propdesk.accounts.models import Client, User
from propdesk.accounts.services import create_staff_user
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.onboarding import kyc
from propdesk.onboarding.services import register_client
from propdesk.platforms import natslog
from propdesk.settings import kyc_storage_setting

# Playwright's sync API runs an event loop in the test thread; Django's ORM guards against
# that. The test thread never shares a connection with the loop, so the guard is lifted.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct-horse-battery-9"
_sequence = iter(range(1, 10**9))


@pytest.fixture(autouse=True)
def _test_settings(settings: Any, tmp_path: Any) -> None:
    settings.PRIVATE_ROOT = tmp_path / "private"
    # Still argon2, with small cost parameters so that the suite does not spend minutes hashing.
    settings.PASSWORD_HASHERS = ["tests.support.FastArgon2PasswordHasher"]
    # Pages find static files without a collectstatic run.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        # Identity documents as a firm keeps them by default, in this test's own folder.
        "kyc_documents": kyc_storage_setting({}, settings.PRIVATE_ROOT),
    }


def _seed_sandbox() -> None:
    """Transactional tests empty every table, the sandbox's instruments and first quotes that
    its migration seeds included: put them back with that migration's own code (a no-op when
    they are there). A serialized rollback would clash with the content types a flush makes."""
    from django.apps import apps

    migration = importlib.import_module("propdesk.platforms.sandbox.migrations.0002_instruments")
    migration.seed(apps, None)


@pytest.fixture(autouse=True)
def _books_balance_after_each_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever a test did with money, the ledger proves itself afterwards (`ledger check`)."""
    names = request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in names or bool(marker and marker.kwargs.get("transaction"))
    uses_db = "db" in names or transactional or marker is not None
    if uses_db:
        # Set the database up from here, so that this check runs before it is rolled back;
        # and the settings, so that it runs before a test's changes to them are undone (a
        # test in another time zone is checked in that zone, whatever the hour).
        request.getfixturevalue("transactional_db" if transactional else "db")
        request.getfixturevalue("settings")
        _seed_sandbox()
    yield
    if uses_db and not request.node.get_closest_marker("books_tampered"):
        from propdesk.wallet import ledger

        assert ledger.check() == [], "the books do not balance after this test"


@pytest.fixture
def staff_factory(db: None) -> Callable[..., User]:
    def make(role: str = "Compliance", email: str | None = None) -> User:
        n = next(_sequence)
        return create_staff_user(
            email=email or f"{role.lower()}{n}@firm.test",
            name=f"{role} {n}",
            role_name=role,
            password=PASSWORD,
            actor=None,
        )

    return make


@pytest.fixture
def admin(staff_factory: Callable[..., User]) -> User:
    return staff_factory("Administrator")


@pytest.fixture
def compliance(staff_factory: Callable[..., User]) -> User:
    return staff_factory("Compliance")


@pytest.fixture
def support(staff_factory: Callable[..., User]) -> User:
    return staff_factory("Support")


def unique_phone() -> str:
    # Czech mobile numbers: +420 6xx xxx xxx are valid for any last six digits.
    return f"+420601{next(_sequence) % 1_000_000:06d}"


def registration(**overrides: Any) -> dict[str, Any]:
    n = next(_sequence)
    data: dict[str, Any] = {
        "kind": "trader",
        "name": f"Trader {n}",
        "email": f"trader{n}@example.com",
        "password": PASSWORD,
        "nationality": "CZ",
        "phone": unique_phone(),
        "referral_code": None,
    }
    data.update(overrides)
    return data


@pytest.fixture
def register(db: None) -> Callable[..., tuple[Client, ApprovalRequest]]:
    def make(**overrides: Any) -> tuple[Client, ApprovalRequest]:
        return register_client(**registration(**overrides))

    return make


@pytest.fixture
def set_method(admin: User) -> Callable[..., None]:
    def apply(type_key: str, method: str, levels: list[str] | None = None, **kw: Any) -> None:
        approvals.set_policy(type_key, method=method, level_roles=levels or [], actor=admin, **kw)

    return apply


@pytest.fixture
def vip(admin: User) -> Any:
    """A client group "VIP" (growth: what its clients are offered)."""
    return groups.save_group(None, name="VIP", actor=admin)


@pytest.fixture
def vip_client(admin: User, register: Any, set_method: Any, vip: Any) -> Client:
    """An active client of the "VIP" group."""
    set_method("trader_registration", "automatic")
    client, _ = register()
    groups.assign([client.pk], vip.pk, actor=admin)
    client.refresh_from_db()
    return client


@pytest.fixture
def run_jobs() -> Callable[[], int]:
    """Run every background job due now, as `propdesk worker` would (retries included)."""
    from propdesk.jobs.worker import run_batch

    return run_batch


def post_form(http: HttpClient, path: str, data: dict[str, Any]) -> Any:
    """Post a form as a browser does, with the CSRF token from the cookie."""
    http.get("/login/")  # sets the CSRF cookie
    return http.post(path, {**data, "csrfmiddlewaretoken": http.cookies["csrftoken"].value})


def logged_in(user: User) -> HttpClient:
    client = HttpClient(enforce_csrf_checks=True)
    client.force_login(user, backend="propdesk.accounts.backends.EmailBackend")
    return client


@pytest.fixture
def kyc_form(admin: User) -> Any:
    return kyc.save_form(
        None,
        name="Individual",
        description="For private persons",
        is_default=True,
        fields=[
            {"key": "date_of_birth", "label": "Date of birth", "kind": "date"},
            {"key": "residence", "label": "Country of residence", "kind": "country"},
            {
                "key": "id_type",
                "label": "Identity document type",
                "kind": "choice",
                "choices": ["Passport", "ID card"],
            },
            {"key": "middle_name", "label": "Middle name", "kind": "text", "required": False},
        ],
        documents=[
            {"key": "identity_document", "label": "Identity document"},
            {"key": "proof_of_address", "label": "Proof of address"},
        ],
        actor=admin,
    )


@pytest.fixture
def active_client(register: Callable[..., Any], set_method: Callable[..., None]) -> Client:
    set_method("trader_registration", "automatic")
    client, _ = register()
    return client


@pytest.fixture
def bank_transfer(admin: User) -> Any:
    from propdesk.wallet import deposits

    return deposits.save_payment_method(
        None,
        name="Bank transfer",
        kind="offline",
        currencies=["USD", "EUR"],
        min_amount="50",
        max_amount="10000",
        instructions="IBAN CZ65 0800 0000 1920 0014 5399, reference: your email",
        payout_to="bank",
        actor=admin,
    )


@pytest.fixture
def finance(staff_factory: Callable[..., User]) -> User:
    return staff_factory("Finance")


@pytest.fixture
def sandbox_card(admin: User) -> Any:
    from propdesk.wallet import deposits

    return deposits.save_payment_method(
        None,
        name="Card (sandbox)",
        kind="online",
        provider="sandbox",
        currencies=["USD", "EUR"],
        min_amount="10",
        max_amount="5000",
        actor=admin,
    )


# The NATS server the event log's tests use (CI runs one; without it those tests fail).
NATS_URL = os.environ.get("PROPDESK_TEST_NATS", "nats://127.0.0.1:4222")


@pytest.fixture
def nats_log(settings: Any) -> Iterator[str]:
    """The account-event log on NATS, in a stream of this test's own (deleted after it): the
    stream's name."""
    settings.EVENT_LOG = NATS_URL
    settings.EVENT_PARTITIONS = 8
    settings.EVENT_STREAM = f"T_{uuid.uuid4().hex[:16].upper()}"
    natslog.ensure_stream()
    yield settings.EVENT_STREAM
    natslog.delete_stream(settings.EVENT_STREAM)


@pytest.fixture
def webhook_receiver() -> Iterator[Any]:
    """A real HTTP receiver on 127.0.0.1 (tests/notifications/factories.py): its `url` to
    subscribe, `requests` what it accepted, in order; `status = 503` makes it "down"."""
    from tests.notifications.factories import webhook_receiver as receiver

    with receiver() as running:
        yield running
