"""Request types are registered here by their domains; the engine knows them only through this."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from propdesk.core import references

if TYPE_CHECKING:
    from propdesk.accounts.models import User
    from propdesk.approvals.models import ApprovalRequest


class Method(models.TextChoices):
    """How a request type is approved (its policy's method)."""

    AUTOMATIC = "automatic", "Automatic"
    MANUAL = "manual", "Manual"
    PARTIAL = "partial", "Partial (automatic below a threshold)"


class Amend:
    """Whether a reviewer may change a request's amount as they approve it."""

    NEVER = "never"  # the amount is what the client asked for (the default)
    ANY = "any"  # any positive amount: a deposit credits what actually arrived
    DOWN = "down"  # at most the amount asked: a withdrawal may pay out less, never more


def _nothing(request: ApprovalRequest, actor: User | None) -> None:
    return None


@dataclass(frozen=True)
class DecisionField:
    """Something a reviewer enters as they approve (a bank transfer's reference, say). The
    engine trims it, refuses control characters and text longer than `max_length`; the type's
    `take_inputs` decides the rest (required, unique) and keeps it."""

    key: str
    label: str
    max_length: int = 100
    help: str = ""
    required: bool = False  # said on the form; `take_inputs` enforces it, with its own words


def _no_fields(request: ApprovalRequest) -> tuple[DecisionField, ...]:
    return ()


def _no_inputs(request: ApprovalRequest, inputs: dict[str, str], actor: User) -> None:
    return None


def _no_details(request: ApprovalRequest) -> list[tuple[str, str]]:
    return []


@dataclass(frozen=True)
class RequestType:
    """What a domain tells the engine about one kind of request."""

    key: str
    # English, marked with gettext_noop: the client reads it translated in the `request`
    # placeholder of `request.approved` / `request.rejected` (approvals/notices.py).
    label: str
    review_permission: str
    default_method: Method = Method.MANUAL
    # Whether the reviewer may change the amount (`Amend`), and what the field means to them.
    amend: str = Amend.NEVER
    amend_label: str = "Amount to approve"
    amend_help: str = ""
    # With Amend.DOWN: the most the request may be approved for (a withdrawal's hold), whatever
    # an earlier level amended it to; by default the amount it was submitted with.
    amend_ceiling: Callable[[ApprovalRequest], Decimal] | None = None
    allowed_methods: tuple[Method, ...] = (Method.AUTOMATIC, Method.MANUAL)
    # Called inside the deciding transaction, after the request's status has moved.
    on_approve: Callable[[ApprovalRequest, User | None], None] = _nothing
    on_reject: Callable[[ApprovalRequest, User | None], None] = _nothing
    details: Callable[[ApprovalRequest], list[tuple[str, str]]] = _no_details
    # The event the decision raises (docs/notifications.md): "<event>.approved" or
    # "<event>.rejected" of the notifications' catalogue; a type without one raises
    # "request.approved" / "request.rejected", naming itself. `event_on_approval` False: the
    # approval raises nothing, the domain tells the client once what was approved is done (a
    # participation's account open: `participation.approved`).
    event: str = ""
    event_on_approval: bool = True
    # The event's data besides its reference (and the reason of a rejection), read after the
    # last level's handler ran: what was credited, the challenge's name... By default the
    # request's amount and currency, when it carries one.
    event_data: Callable[[ApprovalRequest], dict[str, object]] = lambda request: {}
    # What the reviewer enters as they approve this request (none by default), and the
    # handler that checks and keeps it, called inside the deciding transaction at every level
    # (before the last level's `on_approve`); it raises ValidationFailed to refuse, naming the
    # field. `decision_initial` fills the form in (what an earlier level entered).
    decision_fields: Callable[[ApprovalRequest], tuple[DecisionField, ...]] = _no_fields
    take_inputs: Callable[[ApprovalRequest, dict[str, str], User], None] = _no_inputs
    decision_initial: Callable[[ApprovalRequest], dict[str, str]] = lambda request: {}
    # A type may show more on the review page (documents, say) with a template of its own.
    review_template: str = ""
    review_context: Callable[[ApprovalRequest], dict[str, object]] = lambda request: {}
    # Personal data (KYC answers, documents) is shown only to those who may review the type.
    details_are_private: bool = False
    # Who submits it: the client (a registration, a deposit), or propdesk itself (a stage passed
    # asks for the next one); the request's history names the submitter.
    submitted_by_client: bool = True
    order: int = 100
    description: str = ""
    # The reference staff and the client both see (docs/references.md) is the subject's: its
    # kind, and where the subject's id is: "pk" (the request is the thing itself),
    # "client_id" (a registration) or "payload.<key>" (a deposit's "payload.deposit_id").
    reference_kind: references.Kind = references.REQUEST
    reference_id: str = "pk"
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = {str(m) for m in self.allowed_methods} - set(Method.values)
        if unknown or self.default_method not in self.allowed_methods:
            raise ValueError(f"request type {self.key}: bad methods {self.allowed_methods}")
        # Members from here on, even if the domain wrote the values.
        object.__setattr__(self, "allowed_methods", tuple(map(Method, self.allowed_methods)))
        object.__setattr__(self, "default_method", Method(self.default_method))
        if self.amend not in (Amend.NEVER, Amend.ANY, Amend.DOWN):
            raise ValueError(f"request type {self.key}: bad amend {self.amend!r}")

    @property
    def carries_amount(self) -> bool:
        return Method.PARTIAL in self.allowed_methods

    def reference(self, request: ApprovalRequest) -> str:
        if self.reference_id.startswith("payload."):
            number = request.payload.get(self.reference_id.removeprefix("payload."))
        else:
            number = getattr(request, self.reference_id)
        return references.of(self.reference_kind, number if isinstance(number, int) else None)

    def with_reference(self, number: int) -> Q:
        """The requests of this type whose reference has this number."""
        field = self.reference_id.replace("payload.", "payload__", 1)
        return Q(type_key=self.key, **{field: number})


_TYPES: dict[str, RequestType] = {}


def register(request_type: RequestType) -> RequestType:
    if request_type.key in _TYPES and _TYPES[request_type.key] != request_type:
        raise ValueError(f"request type {request_type.key!r} is already registered")
    _TYPES[request_type.key] = request_type
    return request_type


def get(key: str) -> RequestType | None:
    return _TYPES.get(key)


def with_reference(text: object) -> Q | None:
    """The requests a typed reference names ("DEP-000002", or an old "#41"), whatever their
    type; None when the text is not a reference."""
    if isinstance(text, str) and text.strip().startswith("#") and text.strip()[1:].isdigit():
        number = int(text.strip()[1:])
        return Q(pk=number) if number < 2**63 else None
    parsed = references.parse(text)
    if parsed is None:
        return None
    found = Q(pk=parsed.number) if parsed.kind == references.REQUEST else Q(pk__in=[])
    for rtype in _TYPES.values():
        if rtype.reference_kind == parsed.kind:
            found |= rtype.with_reference(parsed.number)
    return found


def all_types() -> list[RequestType]:
    return sorted(_TYPES.values(), key=lambda t: (t.order, t.label))
