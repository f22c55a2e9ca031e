"""The approval engine: submit, approve (level by level), reject, note, and the policies.

It knows request types only through `approvals.registry`; what approval *means* for a
deposit or a registration is the registering domain's business.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from propdesk.accounts.models import Client, Role, User
from propdesk.approvals import notices, registry
from propdesk.approvals.models import ApprovalAction, ApprovalLevel, ApprovalPolicy, ApprovalRequest
from propdesk.approvals.permissions import APPROVALS_NOTE, APPROVALS_VIEW
from propdesk.approvals.registry import Amend, Method, RequestType
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from propdesk.core.money import is_currency, parse_amount
from propdesk.core.permissions import SETTINGS_MANAGE, require_permission
from propdesk.core.status import move_status
from propdesk.core.templatetags.money import money
from propdesk.core.text import in_sentence
from propdesk.core.validation import FieldErrors, clean_text, parse_decimal

MAX_LEVELS = 5
MAX_TEXT = 2000
MAX_MESSAGE = 2000  # the reviewer's personal message to the client


def request_type(key: str) -> RequestType:
    rtype = registry.get(key)
    if rtype is None:
        raise NotFound(f"There is no request type {key!r}.")
    return rtype


def policy_for(type_key: str) -> ApprovalPolicy:
    """The stored policy, or the type's default one (unsaved) while staff have set none."""
    policy = ApprovalPolicy.objects.filter(type_key=type_key).first()
    if policy is None:
        policy = ApprovalPolicy(type_key=type_key, method=request_type(type_key).default_method)
    return policy


def _level_roles(policy: ApprovalPolicy) -> list[int]:
    if policy.pk is None:
        return []
    return list(policy.levels.order_by("position").values_list("role_id", flat=True))


def _is_automatic(policy: ApprovalPolicy, amount: Decimal | None) -> bool:
    if policy.method == Method.AUTOMATIC:
        return True
    if policy.method == Method.PARTIAL:
        return amount is not None and policy.threshold is not None and amount < policy.threshold
    return False


def submit(
    type_key: str,
    *,
    client: Client,
    payload: dict[str, Any] | None = None,
    amount: Decimal | None = None,
    currency: str = "",
    manual_only: bool = False,
) -> ApprovalRequest:
    """Open a request for the client; an automatic policy decides it on the spot.

    `manual_only`: the domain wants a person to look at this one whatever the policy (a bank
    transfer whose receipt someone must verify, say).
    """
    rtype = request_type(type_key)
    with transaction.atomic():
        policy = policy_for(type_key)
        if manual_only or policy.method not in rtype.allowed_methods:
            # A method the type does not allow can only come from old settings: be strict.
            policy.method = Method.MANUAL
        level_roles = _level_roles(policy)
        request = ApprovalRequest.objects.create(
            type_key=type_key,
            client=client,
            payload=payload or {},
            amount=amount,
            currency=currency,
            method=policy.method,
            level_role_ids=level_roles,
            awaiting_role_id=level_roles[0] if level_roles else None,
        )
        ApprovalAction.objects.create(request=request, kind=ApprovalAction.Kind.SUBMITTED)
        if _is_automatic(policy, amount):
            _finish(request, rtype, approved=True, actor=None, text="")
    return request


def _lock(request_id: int) -> ApprovalRequest:
    request = (
        ApprovalRequest.objects.select_for_update()
        .select_related("client__user")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise NotFound("No such request.")
    return request


def approved_levels_by(request: ApprovalRequest, actor: User) -> bool:
    return request.actions.filter(kind=ApprovalAction.Kind.LEVEL_APPROVED, actor=actor).exists()


def decision_block(actor: User, request: ApprovalRequest) -> str | None:
    """Why `actor` cannot approve or reject `request` now; None when they can."""
    if not request.is_pending:
        return f"This request is already {request.get_status_display().lower()}."
    if not actor.is_staff_user or not actor.is_active:
        return "Only staff decide requests."
    rtype = request_type(request.type_key)
    if not actor.has_permission(rtype.review_permission):
        return "Your role does not allow deciding this type of request."
    if request.awaiting_role_id is not None:
        if actor.role_id != request.awaiting_role_id:
            role = Role.objects.filter(pk=request.awaiting_role_id).first()
            return (
                f"Level {request.current_level} of {request.levels_total} is for the {role} role."
            )
        if approved_levels_by(request, actor):
            return (
                "You approved an earlier level of this request; "
                "another person must decide this one."
            )
    return None


def _raise_block(actor: User, request: ApprovalRequest, expected_level: int | None) -> None:
    if (
        expected_level is not None
        and request.is_pending
        and expected_level != request.current_level
    ):
        raise Conflict(
            "Someone decided this level while you were looking at it; review the request again.",
            code="stale_level",
        )
    block = decision_block(actor, request)
    if block is None:
        return
    if not request.is_pending:
        raise Conflict(block, code="already_decided")
    raise Forbidden(block)


def _finish(
    request: ApprovalRequest,
    rtype: RequestType,
    *,
    approved: bool,
    actor: User | None,
    text: str,
    message: str = "",
) -> None:
    """Decide the request: move its status, run the domain's handler, tell the client, audit."""
    before = audit.snapshot(request, ["status"], level=request.current_level)
    new = ApprovalRequest.Status.APPROVED if approved else ApprovalRequest.Status.REJECTED
    move_status(request, new, ApprovalRequest.TRANSITIONS, what="request")
    request.decided_at = timezone.now()
    request.decided_by = actor
    request.awaiting_role = None
    if approved:
        request.decision_comment = text
        kind = ApprovalAction.Kind.APPROVED if actor else ApprovalAction.Kind.AUTO_APPROVED
    else:
        request.rejection_reason = text
        kind = ApprovalAction.Kind.REJECTED
    request.save()
    ApprovalAction.objects.create(
        request=request, kind=kind, actor=actor, level=request.current_level, text=text
    )
    (rtype.on_approve if approved else rtype.on_reject)(request, actor)
    notices.tell_client(request, rtype, approved=approved, reason=text, message=message)
    if message:
        # What the client was told, for the staff reading the request's history.
        ApprovalAction.objects.create(
            request=request,
            kind=ApprovalAction.Kind.NOTE,
            actor=actor,
            level=request.current_level,
            text=f"Message to the client: {message}",
        )
    audit.record(
        actor=actor,
        action=AuditAction.APPROVAL_APPROVE if approved else AuditAction.APPROVAL_REJECT,
        object_type="approval_request",
        object_id=request.pk,
        summary=f"{rtype.label} {request.reference} for {request.client.user.email} "
        + ("approved" if approved else "rejected")
        + ("" if actor else " automatically"),
        before=before,
        after=audit.snapshot(
            request, ["status"], level=request.current_level, text=text, message=message
        ),
    )


def approve(
    request_id: int,
    *,
    actor: User,
    comment: Any = "",
    expected_level: int | None = None,
    amount: Any = None,
    inputs: Any = None,
    message: Any = "",
) -> ApprovalRequest:
    """Approve the current level; the last level approves the request itself.

    For a request that carries an amount, the reviewer may amend it (`amount`) as they approve.
    `inputs` are the values of the type's decision fields (a bank transfer's reference), by key.
    `message` is the reviewer's personal message to the client, sent with the last level's
    approval (an earlier level refuses one: the client hears nothing until the decision).
    """
    errors = FieldErrors()
    text = clean_text(
        errors,
        "comment",
        comment,
        label="Comment",
        max_length=MAX_TEXT,
        required=False,
        multiline=True,
    )
    said = _message(errors, message)
    errors.raise_if_any()
    with transaction.atomic():
        request = _lock(request_id)
        _raise_block(actor, request, expected_level)
        rtype = request_type(request.type_key)
        if amount not in (None, ""):
            _amend_amount(request, rtype, amount, actor=actor)
        _take_inputs(request, rtype, inputs, actor=actor)
        if request.current_level < request.levels_total:
            if said:
                raise ValidationFailed(
                    fields={
                        "message": f"This is level {request.current_level} of "
                        f"{request.levels_total}: the message to the client goes with the "
                        "last level's decision."
                    }
                )
            level = request.current_level
            ApprovalAction.objects.create(
                request=request,
                kind=ApprovalAction.Kind.LEVEL_APPROVED,
                actor=actor,
                level=level,
                text=text,
            )
            request.current_level = level + 1
            request.awaiting_role_id = request.level_role_ids[level]
            request.save(update_fields=["current_level", "awaiting_role"])
            audit.record(
                actor=actor,
                action=AuditAction.APPROVAL_APPROVE_LEVEL,
                object_type="approval_request",
                object_id=request.pk,
                summary=f"{rtype.label} {request.reference}: level {level} of "
                f"{request.levels_total} approved",
                before={"level": level},
                after={"level": level + 1, "text": text},
            )
        else:
            _finish(request, rtype, approved=True, actor=actor, text=text, message=said)
    return request


def _message(errors: FieldErrors, message: Any) -> str:
    return clean_text(
        errors,
        "message",
        message,
        label="Message to the client",
        max_length=MAX_MESSAGE,
        required=False,
        multiline=True,
    )


def _take_inputs(request: ApprovalRequest, rtype: RequestType, inputs: Any, *, actor: User) -> None:
    """Clean the decision fields' values and hand them to the type (which may refuse them);
    each value given goes in the request's history."""
    fields = rtype.decision_fields(request)
    if not fields:
        return
    given = inputs if isinstance(inputs, dict) else {}
    errors = FieldErrors()
    cleaned = {
        f.key: clean_text(
            errors, f.key, given.get(f.key), label=f.label, max_length=f.max_length, required=False
        )
        for f in fields
    }
    errors.raise_if_any()
    rtype.take_inputs(request, cleaned, actor)
    said = "; ".join(f"{f.label}: {cleaned[f.key]}" for f in fields if cleaned[f.key])
    if said:
        ApprovalAction.objects.create(
            request=request,
            kind=ApprovalAction.Kind.NOTE,
            actor=actor,
            level=request.current_level,
            text=f"{said}.",
        )


def _amend_amount(
    request: ApprovalRequest, rtype: RequestType, amount: Any, *, actor: User
) -> None:
    """Change the amount the approval moves, where the request type allows it: a deposit
    credits what arrived; a withdrawal pays out at most what was held. Nothing is changed
    when the new amount is refused."""
    if request.amount is None or not is_currency(request.currency):
        raise ValidationFailed(fields={"amount": "This request carries no amount to amend."})
    if rtype.amend == Amend.NEVER:
        raise ValidationFailed(
            fields={
                "amount": f"The amount of a {in_sentence(rtype.label)} request cannot be changed."
            }
        )
    errors = FieldErrors()
    new = parse_amount(errors, "amount", amount, request.currency)
    errors.raise_if_any()
    if new is None or new == request.amount:
        return
    ceiling = request.amount if rtype.amend_ceiling is None else rtype.amend_ceiling(request)
    if rtype.amend == Amend.DOWN and new > ceiling:
        raise ValidationFailed(
            fields={
                "amount": "This request can be approved for at most "
                f"{money(ceiling, request.currency)} {request.currency}."
            }
        )
    old = request.amount
    request.amount = new
    request.save(update_fields=["amount"])
    currency = request.currency
    text = f"Amount amended from {money(old, currency)} to {money(new, currency)} {currency}."
    ApprovalAction.objects.create(
        request=request, kind=ApprovalAction.Kind.NOTE, actor=actor, text=text
    )
    audit.record(
        actor=actor,
        action=AuditAction.APPROVAL_AMEND_AMOUNT,
        object_type="approval_request",
        object_id=request.pk,
        summary=f"Request {request.reference}: {text}",
        before={"amount": str(old)},
        after={"amount": str(new)},
    )


def cancel_pending(requests: QuerySet[ApprovalRequest], *, actor: User | None, text: str) -> int:
    """Withdraw the still-pending requests among `requests` (what they asked for no longer
    applies: its participation was cancelled, say). No handler runs; returns how many."""
    withdrawn = 0
    for request in requests.select_for_update().filter(status=ApprovalRequest.Status.PENDING):
        move_status(request, ApprovalRequest.Status.CANCELLED, ApprovalRequest.TRANSITIONS)
        request.decided_at = timezone.now()
        request.decided_by = actor
        request.awaiting_role = None
        request.save()
        ApprovalAction.objects.create(
            request=request,
            kind=ApprovalAction.Kind.CANCELLED,
            actor=actor,
            level=request.current_level,
            text=text,
        )
        withdrawn += 1
    return withdrawn


def decide_automatically(request_id: int, *, approved: bool, text: str) -> ApprovalRequest:
    """A domain's own automatic decision, for a request still pending (an identity vendor's
    verdict where the firm chose to follow it): decided as an automatic policy would be, with no
    person named, the client told and the audit log saying "automatically"."""
    with transaction.atomic():
        request = _lock(request_id)
        if request.status != ApprovalRequest.Status.PENDING:
            return request
        _finish(request, request_type(request.type_key), approved=approved, actor=None, text=text)
    return request


def reject(
    request_id: int,
    *,
    actor: User,
    reason: Any,
    expected_level: int | None = None,
    message: Any = "",
) -> ApprovalRequest:
    """Reject the request at any level: the client is told the reason, and `message`, the
    reviewer's personal message, when there is one."""
    errors = FieldErrors()
    text = clean_text(errors, "reason", reason, label="Reason", max_length=MAX_TEXT, multiline=True)
    said = _message(errors, message)
    errors.raise_if_any("Give the client a reason for the rejection.")
    with transaction.atomic():
        request = _lock(request_id)
        _raise_block(actor, request, expected_level)
        rtype = request_type(request.type_key)
        _finish(request, rtype, approved=False, actor=actor, text=text, message=said)
    return request


def add_note(request_id: int, *, actor: User, text: Any) -> ApprovalAction:
    require_permission(actor, APPROVALS_NOTE)
    errors = FieldErrors()
    note = clean_text(errors, "text", text, label="Note", max_length=MAX_TEXT, multiline=True)
    errors.raise_if_any()
    with transaction.atomic():
        request = _lock(request_id)
        action = ApprovalAction.objects.create(
            request=request, kind=ApprovalAction.Kind.NOTE, actor=actor, text=note
        )
        audit.record(
            actor=actor,
            action=AuditAction.APPROVAL_NOTE,
            object_type="approval_request",
            object_id=request.pk,
            summary=f"Note on request {request.reference}",
            after={"text": note},
        )
    return action


# --- reading -------------------------------------------------------------------------------


def visible_requests(actor: User) -> QuerySet[ApprovalRequest]:
    require_permission(actor, APPROVALS_VIEW)
    known = [t.key for t in registry.all_types()]
    return ApprovalRequest.objects.filter(type_key__in=known).select_related(
        "client__user", "awaiting_role", "decided_by"
    )


def get_request(actor: User, request_id: int) -> ApprovalRequest:
    request = visible_requests(actor).filter(pk=request_id).first()
    if request is None:
        raise NotFound("No such request.")
    return request


def todo(actor: User) -> QuerySet[ApprovalRequest]:
    """What `actor` can decide now: their role's level, or their permission where no levels."""
    reviewable = [t.key for t in registry.all_types() if actor.has_permission(t.review_permission)]
    mine = Q(awaiting_role__isnull=True)
    if actor.role_id is not None:
        mine |= Q(awaiting_role_id=actor.role_id)
    already = ApprovalAction.objects.filter(
        request=OuterRef("pk"), kind=ApprovalAction.Kind.LEVEL_APPROVED, actor=actor
    )
    return (
        visible_requests(actor)
        .filter(mine, type_key__in=reviewable, status=ApprovalRequest.Status.PENDING)
        .exclude(Exists(already))
        .order_by("created_at", "id")
    )


def pending_counts(actor: User) -> dict[str, int]:
    """Pending requests per type key, every registered type present."""
    counts = {t.key: 0 for t in registry.all_types()}
    rows = (
        visible_requests(actor)
        .filter(status=ApprovalRequest.Status.PENDING)
        .values("type_key")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        counts[row["type_key"]] = row["n"]
    return counts


def may_see_details(actor: User, request: ApprovalRequest) -> bool:
    rtype = request_type(request.type_key)
    return not rtype.details_are_private or actor.has_permission(rtype.review_permission)


def history(request: ApprovalRequest) -> QuerySet[ApprovalAction]:
    return request.actions.select_related("actor")


# --- settings ------------------------------------------------------------------------------


def policy_snapshot(policy: ApprovalPolicy) -> dict[str, Any]:
    return audit.snapshot(
        policy,
        ["method", "threshold"],
        levels=(
            [level.role.name for level in policy.levels.select_related("role")] if policy.pk else []
        ),
    )


def set_policy(
    type_key: str,
    *,
    method: Any,
    threshold: Any = None,
    level_roles: list[Any] | None = None,
    actor: User,
) -> ApprovalPolicy:
    """Change how a request type is approved. `level_roles` are role names or ids, in order."""
    require_permission(actor, SETTINGS_MANAGE)
    rtype = request_type(type_key)
    errors = FieldErrors()
    if method not in rtype.allowed_methods:
        allowed = ", ".join(rtype.allowed_methods)
        errors.add("method", f"{rtype.label} can only be approved by: {allowed}.")
    amount: Decimal | None = None
    if method == Method.PARTIAL:
        amount = parse_decimal(errors, "threshold", threshold, label="Threshold", places=2)
        if amount is not None and amount <= 0:
            errors.add("threshold", "Threshold must be more than zero.")
    roles: list[Role] = []
    if level_roles is not None:
        if not isinstance(level_roles, list):
            errors.add("levels", "Levels must be a list of roles.")
        elif len(level_roles) > MAX_LEVELS:
            errors.add("levels", f"At most {MAX_LEVELS} levels.")
        else:
            for item in level_roles:
                role = _find_role(item)
                if role is None:
                    errors.add("levels", f"Unknown role: {item!r}.")
                    break
                if not role.has_permission(rtype.review_permission):
                    errors.add(
                        "levels",
                        f"The {role} role may not review {in_sentence(rtype.label)} requests; "
                        "give it that permission first or choose another role.",
                    )
                    break
                roles.append(role)
    errors.raise_if_any()
    with transaction.atomic():
        policy, _created = ApprovalPolicy.objects.select_for_update().get_or_create(
            type_key=type_key, defaults={"method": rtype.default_method}
        )
        before = policy_snapshot(policy)
        policy.method = method
        policy.threshold = amount
        policy.save()
        if level_roles is not None:
            policy.levels.all().delete()
            ApprovalLevel.objects.bulk_create(
                ApprovalLevel(policy=policy, position=i, role=role)
                for i, role in enumerate(roles, start=1)
            )
        after = policy_snapshot(policy)
        if before != after:
            audit.record(
                actor=actor,
                action=AuditAction.APPROVAL_POLICY_UPDATE,
                object_type="approval_policy",
                object_id=type_key,
                summary=f"Approval method of {rtype.label} changed",
                before=before,
                after=after,
            )
    return policy


def _find_role(item: Any) -> Role | None:
    if isinstance(item, int) and not isinstance(item, bool):
        return Role.objects.filter(pk=item).first() if 0 < item < 2**31 else None
    if isinstance(item, str) and item.strip() and item.isprintable() and len(item) <= 60:
        text = item.strip()
        if text.isascii() and text.isdigit():
            return _find_role(int(text))
        return Role.objects.filter(name__iexact=text).first()
    return None
