"""The firm's go-live guide (tests/browser/test_go_live_walkthrough.py) done the way an
integrating firm does it: through a Python client generated from our OpenAPI with
openapi-python-client, against a running server, every request approved by hand.

`walk_through` knows only the generated package and the server's address. The two steps that
need the platform's own machinery are handed in as callables, so that the same walk-through runs
against pytest-django's live server and against processes started from compose.yaml:
`carry_out_commands()` (the worker's turn at the platform outbox) and `pass_stage(participation
id)` (the trading that passes the current stage). It expects what an operator sets up in the back
office first: an Administrator (email and password), a KYC form, and a payment method of kind
`offline` (a bank transfer) taking USD.

The reads of list responses are in `items_of`; the money read is `money`. When the list or money
shapes change, those two are the places to adapt.
"""

from __future__ import annotations

import enum
import hashlib
import importlib
import inspect
import json
import pkgutil
import re
import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from types import ModuleType
from typing import Any

PACKAGE = "propdesk_client"
BANK_REFERENCE_PREFIX = "FT26GL"


# --- The generated client ------------------------------------------------------------------------


_generated: dict[str, ModuleType] = {}  # the schema's digest -> its client, one per process


def generate_client(schema: dict[str, Any], folder: Path) -> ModuleType:
    """Generate the client from `schema` into `folder` and import it (as `propdesk_client`);
    once per process (a second call with the same schema returns the same package).

    Any warning of the generator fails (an operation or a model it had to leave out is a client
    that cannot do what the schema promises). Its formatting hooks are off: nothing depends on
    the generated code's layout."""
    text = json.dumps(schema, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()
    if digest in _generated:
        return _generated[digest]
    assert not _generated, "one generated client per process: the schema changed"
    folder.mkdir(parents=True, exist_ok=True)
    schema_file = folder / "openapi.json"
    schema_file.write_text(text)
    config = folder / "generator.yaml"
    config.write_text("post_hooks: []\n")
    argv = [sys.executable, "-m", "openapi_python_client", "generate"]
    argv += ["--path", str(schema_file), "--output-path", str(folder / PACKAGE)]
    argv += ["--meta", "none", "--config", str(config), "--fail-on-warning", "--overwrite"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"openapi-python-client failed:\n{done.stdout}\n{done.stderr}")
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    _generated[digest] = importlib.import_module(PACKAGE)
    return _generated[digest]


def snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def _enum_in(annotation: Any) -> type[enum.Enum] | None:
    for kind in getattr(annotation, "__args__", (annotation,)):
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            return kind
    return None


def _model_in(annotation: Any) -> Any:
    for kind in getattr(annotation, "__args__", (annotation,)):
        if isinstance(kind, type) and hasattr(kind, "from_dict"):
            return kind
    raise AssertionError(f"no model in {annotation!r}")


class Api:
    """The generated package, its operations found by their operation ids (the stable part of the
    contract: the module `approve_request` for `approveRequest`, in whichever tag's folder)."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.base_url = base_url
        self.types = importlib.import_module(f"{package.__name__}.types")
        self._operations: dict[str, str] = {}
        operations = importlib.import_module(f"{package.__name__}.api")
        for found in pkgutil.walk_packages(operations.__path__, f"{operations.__name__}."):
            self._operations[found.name.rsplit(".", 1)[-1]] = found.name

    def anonymous(self) -> Any:
        return self.package.Client(base_url=self.base_url, raise_on_unexpected_status=True)

    def bearer(self, token: str) -> Any:
        return self.package.AuthenticatedClient(
            base_url=self.base_url, token=token, raise_on_unexpected_status=True
        )

    def operation(self, operation_id: str) -> ModuleType:
        name = snake(operation_id)
        assert name in self._operations, f"the generated client has no {name} ({operation_id})"
        return importlib.import_module(self._operations[name])

    def call(
        self,
        client: Any,
        operation_id: str,
        *path: Any,
        expect: int = 200,
        body: dict[str, Any] | None = None,
        **query: Any,
    ) -> Any:
        """Call an operation with its generated function; the parsed answer, which must come
        with status `expect`. A body is given as JSON and made into the generated model the
        operation takes (`Model.from_dict`), so that the model serializes what is sent; a text
        given for an enum parameter becomes the generated enum."""
        function = self.operation(operation_id).sync_detailed
        parameters = inspect.signature(function).parameters
        arguments: dict[str, Any] = dict(zip(parameters, path, strict=False))
        arguments.update(query)
        for name, value in arguments.items():
            kind = _enum_in(parameters[name].annotation)
            if kind is not None and isinstance(value, str):
                arguments[name] = kind(value)
        if body is not None:
            arguments["body"] = _model_in(parameters["body"].annotation).from_dict(body)
        response = function(client=client, **arguments)
        return self._answer(operation_id, response, expect)

    def _answer(self, operation_id: str, response: Any, expect: int) -> Any:
        status = int(response.status_code)
        assert status == expect, f"{operation_id}: {status} {response.content[:500]!r}"
        return response.parsed

    def submit_kyc(
        self, client: Any, form: Any, answers: dict[str, str], documents: dict[str, Any]
    ) -> Any:
        """Submit KYC through `submitKyc`, as a multipart body: `form` (the form's id),
        `answers` (the fields as a JSON object) and each document as a file part named by its
        key, all carried by the generated body model (the documents as its additional
        properties): the schema must describe that body."""
        assert self.kyc_body_is_described(), "submitKyc's body is not in the OpenAPI"
        module = self.operation("submitKyc")
        files = {
            key: self.types.File(payload=BytesIO(content), file_name=name, mime_type=mime)
            for key, (name, content, mime) in documents.items()
        }
        parts = {"form": f"{form.id}", "answers": json.dumps(answers)}
        body_type = inspect.signature(module.sync_detailed).parameters["body"].annotation
        body = _model_in(body_type).from_dict(parts)
        for key, file in files.items():
            body[key] = file
        return self._answer("submitKyc", module.sync_detailed(client=client, body=body), 201)

    def kyc_body_is_described(self) -> bool:
        return "body" in inspect.signature(self.operation("submitKyc").sync_detailed).parameters


# --- The shapes the API answers in (the places to adapt when they change) --------------------


def items_of(answer: Any) -> list[Any]:
    """A paged list's items: the page (`items` and `next`) every paged list answers; anything
    else (a bare array, `count`/`offset`) fails here. The lists that are not paged (forms,
    payment methods, the catalogue) answer an array, read through `listed`."""
    assert not isinstance(answer, list), "a paged list answers a page, not an array"
    assert hasattr(answer, "items"), f"not a page: {answer!r}"
    assert hasattr(answer, "next_"), f"not a page: {answer!r}"  # `next`, renamed by the generator
    return list(answer.items)


def listed(answer: Any) -> list[Any]:
    """A list that is not paged (a few rows at most): a JSON array."""
    assert isinstance(answer, list), f"not an array: {answer!r}"
    return answer


def money(value: Any) -> Decimal:
    """An amount as the API writes it: a decimal string, never a number (a float has already
    lost the cents a JSON number could carry)."""
    assert isinstance(value, str), f"money as {type(value).__name__}: {value!r}"
    return Decimal(value)


# --- The walk-through ----------------------------------------------------------------------------

CHALLENGE_FEE = Decimal("499.00")
DEPOSIT = Decimal("1000.00")
MANUAL = ("trader_registration", "kyc", "deposit", "prop_participation")


def go_live_challenge(name: str) -> dict[str, Any]:
    """A challenge as staff define it over the API: one demo stage with an 8% target, then the
    live (funded) stage; 499.00 USD, paid from the wallet."""
    rules = {
        "profit_target_pct": "8",
        "max_daily_loss": {"pct": "5", "basis": "prev_day_balance"},
        "max_loss": {"pct": "10", "mode": "static"},
    }
    return {
        "name": name,
        "currency": "USD",
        "tags": ["go-live"],
        "time_zone": "Europe/Prague",
        "fee": f"{CHALLENGE_FEE}",
        "payment_ways": ["wallet"],
        "progression": "automatic",
        "stages": [
            {"kind": "demo", "balance": "100000", "leverage": 100, "rules": rules},
            {
                "kind": "live",
                "balance": "100000",
                "leverage": 100,
                "profit_share_pct": "80",
                "rules": rules,
            },
        ],
    }


@dataclass(frozen=True)
class GoLive:
    """What the walk-through is given: the Administrator's login, an identity document to upload
    (file name, content, type) and the two steps done by the platform's own machinery. Each
    returns once its work is done: `carry_out_commands()` once the platform commands due now
    are carried out (an outbox run of the test's own, or waiting for a running worker);
    `pass_stage(participation_id)` once the participation's current stage has passed (a
    running monitor included), its next step waiting for approval."""

    staff_email: str
    staff_password: str
    document: tuple[str, bytes, str]
    carry_out_commands: Callable[[], object]
    pass_stage: Callable[[int], object]
    trader_password: str = "correct-horse-battery-9"


@dataclass(frozen=True)
class WentLive:
    """What the walk-through made, for a caller's own checks."""

    trader_email: str
    challenge_id: int
    participation_id: int
    live_login: str


def _answer_for(field: Any) -> str:
    kind = f"{field.kind}"
    if kind == "date":
        return "1990-05-17"
    if kind == "country":
        return "CZ"
    if kind == "choice":
        return f"{field.choices[0]}"
    return "Go Live"


def _pending(api: Api, staff: Any, type_key: str, email: str, reference: str = "") -> Any:
    """The one pending request of this type for this client, as staff find it in its queue (by
    the reference the client was given, where there is one)."""
    found = {"reference": reference} if reference else {}
    listed = api.call(staff, "listApprovalRequests", type_=type_key, status="pending", **found)
    mine = [r for r in items_of(listed) if r.client.email == email]
    assert len(mine) == 1, f"{type_key}: {len(mine)} pending requests for {email}"
    return mine[0]


def _approve(
    api: Api, staff: Any, type_key: str, email: str, reference: str = "", **approval: Any
) -> Any:
    request = _pending(api, staff, type_key, email, reference)
    decided = api.call(staff, "approveRequest", request.id, body=approval)
    assert f"{decided.status}" == "approved", decided
    return decided


def _trading_group(api: Api, credentials: Any) -> str:
    """Log in to the trading platform with the credentials the trader was shown."""
    assert credentials is not None
    assert not credentials.being_prepared
    anonymous = api.anonymous()
    issued = api.call(
        anonymous,
        "sandboxCreateToken",
        body={"login": credentials.login, "password": credentials.password},
    )
    account = api.call(api.bearer(issued.token), "sandboxGetAccount")
    assert account.login == credentials.login
    return f"{account.group}"


def walk_through(package: ModuleType, base_url: str, given: GoLive) -> WentLive:
    api = Api(package, base_url)
    tag = secrets.token_hex(4)
    email = f"go-live-{tag}@example.com"

    # The Administrator's token; every request type of the guide approved by a person.
    token = api.call(
        api.anonymous(),
        "createToken",
        body={"email": given.staff_email, "password": given.staff_password},
    ).token
    staff = api.bearer(token)
    for type_key in MANUAL:
        api.call(staff, "setApprovalMethod", type_key, body={"method": "manual"})
    made = api.call(staff, "createChallenge", body=go_live_challenge(f"Go Live {tag}"), expect=201)
    api.call(staff, "publishChallenge", f"{made.id}")

    # 1. A trader registers; until staff approve, they get no token.
    registration = {
        "type": "trader",
        "name": "Jana Go-Live",
        "email": email,
        "password": given.trader_password,
        "nationality": "CZ",
        "phone": f"+420601{secrets.randbelow(10**6):06d}",
    }
    api.call(api.anonymous(), "registerClient", body=registration, expect=201)
    login = {"email": email, "password": given.trader_password}
    refused = api.call(api.anonymous(), "createToken", body=login, expect=403)
    assert refused.code == "registration_pending"
    _approve(api, staff, "trader_registration", email)
    trader = api.bearer(api.call(api.anonymous(), "createToken", body=login).token)

    # 2. KYC: the form's answers and a document for each document it asks.
    form = listed(api.call(trader, "listKycForms"))[0]
    answers = {f.key: _answer_for(f) for f in form.fields}
    documents = {d.key: given.document for d in form.documents}
    submitted = api.submit_kyc(trader, form, answers, documents)
    assert f"{submitted.status}" == "pending"
    _approve(api, staff, "kyc", email, submitted.reference)

    # 3. A bank-transfer deposit, approved against the transfer that arrived.
    methods = listed(api.call(trader, "listPaymentMethods"))
    bank = next(m for m in methods if f"{m.kind}" == "offline" and "USD" in m.currencies)
    deposit = {"amount": f"{DEPOSIT}", "currency": "USD", "method": bank.id}
    asked = api.call(trader, "requestDeposit", body=deposit, expect=201)
    assert f"{asked.status}" == "pending"
    transfer = f"{BANK_REFERENCE_PREFIX}{tag}".upper()  # on the bank statement
    _approve(api, staff, "deposit", email, asked.reference, inputs={"bank_reference": transfer})
    balances = {b.currency: money(b.balance) for b in api.call(trader, "getWallet").balances}
    assert balances == {"USD": DEPOSIT}, balances

    # 4. The challenge, bought from the wallet; the first stage's credentials once the worker
    # has opened its account.
    offered = listed(api.call(trader, "listChallenges"))
    assert made.id in [c.id for c in offered]
    joined = api.call(trader, "joinChallenge", f"{made.id}", body={"payment": "wallet"}, expect=201)
    assert money(joined.fee) == CHALLENGE_FEE
    _approve(api, staff, "prop_participation", email)
    mine = api.call(trader, "getParticipation", f"{joined.id}")
    assert f"{mine.status}" == "active"
    assert mine.credentials is not None  # being prepared, unless a worker was quicker
    given.carry_out_commands()
    mine = api.call(trader, "getParticipation", f"{joined.id}")
    assert mine.stage == 1
    assert _trading_group(api, mine.credentials) != "live"
    balances = {b.currency: money(b.balance) for b in api.call(trader, "getWallet").balances}
    assert balances == {"USD": DEPOSIT - CHALLENGE_FEE}, balances

    # 5. The participant, as staff list them.
    participants = items_of(api.call(staff, "listParticipants", challenge=made.id))
    assert [(p.id, p.client.email) for p in participants] == [(joined.id, email)]

    # 6. The stage passed; the live step approved; the live account's credentials.
    given.pass_stage(joined.id)
    _approve(api, staff, "prop_live_step", email)
    given.carry_out_commands()
    mine = api.call(trader, "getParticipation", f"{joined.id}")
    assert (mine.stage, f"{mine.stage_kind}") == (2, "live")
    assert _trading_group(api, mine.credentials) == "live"

    # 7. The fee in the transactions report.
    report = api.call(staff, "reportTransactions", type_="prop_trading_fee", client_query=email)
    fees = [(money(t.amount), t.currency, t.email) for t in items_of(report)]
    assert fees == [(CHALLENGE_FEE, "USD", email)], fees

    return WentLive(
        trader_email=email,
        challenge_id=made.id,
        participation_id=joined.id,
        live_login=mine.credentials.login,
    )
