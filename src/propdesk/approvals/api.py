from __future__ import annotations

from datetime import datetime
from typing import Annotated

from annotated_types import Interval
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from pydantic import AfterValidator, StrictInt, StrictStr

from propdesk.accounts.api_auth import current_staff
from propdesk.accounts.models import Client, User
from propdesk.approvals import registry
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalAction, ApprovalRequest
from propdesk.approvals.permissions import APPROVALS_VIEW
from propdesk.approvals.registry import Method
from propdesk.core.errors import ValidationFailed
from propdesk.core.pagination import After, Page, by_key, refuse_offset
from propdesk.core.permissions import require_permission
from propdesk.core.schema import WHOLE, Blank, DecimalText, Money, OneOf

router = Router(tags=["approvals"])
settings_router = Router(tags=["settings"])

MAX_PAGE = 200


class ClientRef(Schema):
    id: int
    name: str
    email: str
    status: Annotated[str, OneOf(Client.Status.values)]


class RequestOut(Schema):
    id: int
    reference: str = Field(
        "", description="Its subject's reference, as the client sees it (e.g. DEP-000002)"
    )
    type: str = Field(description="The request type's key (its queue): see the list above.")
    type_label: str
    status: Annotated[str, OneOf(ApprovalRequest.Status.values)]
    client: ClientRef
    amount: Money | None
    currency: str
    method: Annotated[str, OneOf(Method.values)]
    current_level: int
    levels_total: int
    awaiting_role: str | None
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_comment: str
    rejection_reason: str


class Detail(Schema):
    label: str
    value: str


class ActionOut(Schema):
    kind: Annotated[str, OneOf(ApprovalAction.Kind.values)]
    actor: str | None
    level: int | None
    text: str
    at: datetime


class RequestDetailOut(RequestOut):
    details: list[Detail]
    history: list[ActionOut]
    can_decide: bool
    decision_block: str | None


class RequestPage(Page[RequestOut]):
    pass


MESSAGE_HELP = (
    "A personal message to the client, added to the notification and email about the decision "
    "(at most 2,000 characters; the comment stays internal). Only with the last level's "
    "approval: an earlier level refuses it (422)."
)


class ApproveIn(Schema):
    comment: str | None = None
    message: str | None = Field(None, description=MESSAGE_HELP)
    amount: DecimalText = Field(
        None,
        description="The amount to move instead of the one asked, where the request type "
        "allows it: a deposit credits what arrived; a withdrawal pays out at most what was asked "
        "(the rest goes back to the wallet). Other types refuse it (422).",
    )
    level: StrictInt | None = Field(
        None, description="The level you reviewed; refused with 409 if the request moved on."
    )
    inputs: dict[str, str] | None = Field(
        None,
        description="What the request type asks of its reviewer as they approve, by key: a "
        "bank-transfer deposit needs its `bank_reference` (the transaction reference on the "
        "bank statement, at most 64 characters, never one already credited); refused with 422 "
        "and the field named. Other types ask nothing.",
    )


class RejectIn(Schema):
    reason: str | None = None
    message: str | None = Field(
        None,
        description="A personal message to the client, added to the notification and email "
        "with the reason (at most 2,000 characters).",
    )
    level: StrictInt | None = Field(
        None, description="The level you reviewed; refused with 409 if the request moved on."
    )


class NoteIn(Schema):
    text: str


def _out(request: ApprovalRequest) -> RequestOut:
    rtype = registry.get(request.type_key)
    client = request.client
    return RequestOut(
        id=request.pk,
        reference=request.reference,
        type=request.type_key,
        type_label=rtype.label if rtype else request.type_key,
        status=request.status,
        client=ClientRef(
            id=client.pk, name=client.user.name, email=client.user.email, status=client.status
        ),
        amount=request.amount,
        currency=request.currency,
        method=request.method,
        current_level=request.current_level,
        levels_total=request.levels_total,
        awaiting_role=request.awaiting_role.name if request.awaiting_role else None,
        created_at=request.created_at,
        decided_at=request.decided_at,
        decided_by=request.decided_by.email if request.decided_by else None,
        decision_comment=request.decision_comment,
        rejection_reason=request.rejection_reason,
    )


def _detail(actor: User, request: ApprovalRequest) -> RequestDetailOut:
    rtype = approvals.request_type(request.type_key)
    block = approvals.decision_block(actor, request)
    return RequestDetailOut(
        **_out(request).dict(),
        details=[Detail(label=k, value=v) for k, v in rtype.details(request)]
        if approvals.may_see_details(actor, request)
        else [],
        history=[
            ActionOut(
                kind=a.kind,
                actor=a.actor.email if a.actor else None,
                level=a.level,
                text=a.text,
                at=a.created_at,
            )
            for a in approvals.history(request)
        ],
        can_decide=block is None,
        decision_block=block,
    )


def _known_type(value: str) -> str:
    if registry.get(value) is None:
        raise ValueError("Unknown request type.")
    return value


QUEUES = (
    "Each request type is a queue under *Approvals* in the back office; `type` is its key: "
    "`trader_registration` (Trader Registration), `ib_registration` (IB Registration), `kyc` "
    "(KYC), `deposit` (Deposit), `withdrawal` (Withdrawal), `prop_participation` (Prop Trading "
    "Participation), `prop_stage_progression` (Prop Trading Next Stage), `prop_live_step` (Prop "
    "Trading Live Step). A request's `type_label` is its queue's name."
)


@router.get("", response=RequestPage, summary="List requests", description=QUEUES)
def list_requests(
    request: HttpRequest,
    type: Annotated[
        Annotated[
            str,
            AfterValidator(_known_type),
            Field(max_length=50, description="A request type's key, e.g. `deposit`."),
        ]
        | None,
        Blank,
    ] = None,
    status: Annotated[Annotated[str, OneOf(ApprovalRequest.Status.values)] | None, Blank] = None,
    mine: bool = False,
    reference: Annotated[
        Annotated[str, Field(max_length=40, description="e.g. DEP-000002")] | None, Blank
    ] = None,
    after: After = None,
    limit: Annotated[int, Interval(ge=1, le=MAX_PAGE), WHOLE] = 50,
) -> RequestPage:
    refuse_offset(request)
    actor = current_staff(request)
    qs = approvals.todo(actor) if mine else approvals.visible_requests(actor)
    if type:
        qs = qs.filter(type_key=type)
    if status:
        qs = qs.filter(status=status)
    if reference:
        named = registry.with_reference(reference)
        if named is None:
            raise ValidationFailed(fields={"reference": "Give a reference such as DEP-000002."})
        qs = qs.filter(named)
    # `mine` is a to-do list, oldest first; the others newest first
    asked = f"{actor.pk}:{mine}:{type or ''}:{status or ''}:{reference or ''}"
    found, next_cursor = by_key(
        qs, after=after, limit=limit, tag="approvals", scope=asked, newest_first=not mine
    )
    return RequestPage(items=[_out(r) for r in found], next=next_cursor)


@router.get(
    "/counts",
    response=dict[str, int],
    summary="Pending requests per type (each Approvals queue's count)",
    description=QUEUES,
)
def counts(request: HttpRequest) -> dict[str, int]:
    return approvals.pending_counts(current_staff(request))


@router.get("/{int:request_id}", response=RequestDetailOut, summary="One request, with history")
def get_request(request: HttpRequest, request_id: int) -> RequestDetailOut:
    actor = current_staff(request)
    return _detail(actor, approvals.get_request(actor, request_id))


@router.post("/{int:request_id}/approve", response=RequestDetailOut, summary="Approve")
def approve(
    request: HttpRequest, request_id: int, payload: ApproveIn | None = None
) -> RequestDetailOut:
    actor = current_staff(request)
    payload = payload or ApproveIn(comment=None, message=None, level=None, amount=None, inputs=None)
    approvals.get_request(actor, request_id)
    approvals.approve(
        request_id,
        actor=actor,
        comment=payload.comment or "",
        expected_level=payload.level,
        amount=payload.amount,
        inputs=payload.inputs,
        message=payload.message or "",
    )
    return _detail(actor, approvals.get_request(actor, request_id))


@router.post("/{int:request_id}/reject", response=RequestDetailOut, summary="Reject")
def reject(request: HttpRequest, request_id: int, payload: RejectIn) -> RequestDetailOut:
    actor = current_staff(request)
    approvals.get_request(actor, request_id)
    approvals.reject(
        request_id,
        actor=actor,
        reason=payload.reason,
        expected_level=payload.level,
        message=payload.message or "",
    )
    return _detail(actor, approvals.get_request(actor, request_id))


@router.post(
    "/{int:request_id}/notes", response={201: RequestDetailOut}, summary="Add a note to the log"
)
def add_note(request: HttpRequest, request_id: int, payload: NoteIn) -> Status[RequestDetailOut]:
    actor = current_staff(request)
    approvals.get_request(actor, request_id)
    approvals.add_note(request_id, actor=actor, text=payload.text)
    return Status(201, _detail(actor, approvals.get_request(actor, request_id)))


class PolicyOut(Schema):
    type: str
    label: str
    method: Annotated[str, OneOf(Method.values)]
    threshold: Money | None
    levels: list[str]
    allowed_methods: list[Annotated[str, OneOf(Method.values)]]


class PolicyIn(Schema):
    method: str
    threshold: DecimalText = None
    levels: list[StrictStr | StrictInt] | None = None


def _policy_out(type_key: str) -> PolicyOut:
    rtype = approvals.request_type(type_key)
    policy = approvals.policy_for(type_key)
    snapshot = approvals.policy_snapshot(policy)
    return PolicyOut(
        type=type_key,
        label=rtype.label,
        method=policy.method,
        threshold=policy.threshold,
        levels=snapshot["levels"],
        allowed_methods=list(rtype.allowed_methods),
    )


@settings_router.get("/approval-methods", response=list[PolicyOut], summary="Approval methods")
def list_policies(request: HttpRequest) -> list[PolicyOut]:
    require_permission(current_staff(request), APPROVALS_VIEW)
    return [_policy_out(t.key) for t in registry.all_types()]


@settings_router.get("/approval-methods/{type_key}", response=PolicyOut, summary="One type's")
def get_policy(request: HttpRequest, type_key: str) -> PolicyOut:
    require_permission(current_staff(request), APPROVALS_VIEW)
    return _policy_out(type_key)


@settings_router.put("/approval-methods/{type_key}", response=PolicyOut, summary="Change it")
def put_policy(request: HttpRequest, type_key: str, payload: PolicyIn) -> PolicyOut:
    actor = current_staff(request)
    approvals.set_policy(
        type_key,
        method=payload.method,
        threshold=payload.threshold,
        level_roles=list(payload.levels) if payload.levels is not None else None,
        actor=actor,
    )
    return _policy_out(type_key)
