"""Back office: the approvals queues, the review page and the approval-method settings."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.accounts.models import Client, Role, User
from propdesk.accounts.permissions import AUDIT_VIEW
from propdesk.approvals import registry
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.approvals.permissions import APPROVALS_NOTE, APPROVALS_VIEW
from propdesk.approvals.registry import Amend, Method
from propdesk.core import menu
from propdesk.core.errors import DomainError, ValidationFailed
from propdesk.core.forms import AmountField, WholeNumberField
from propdesk.core.models import AuditRecord
from propdesk.core.permissions import SETTINGS_MANAGE
from propdesk.core.templatetags.money import money
from propdesk.core.validation import search_text
from propdesk.core.web import actor, apply_errors, edit_form, staff_view
from propdesk.jobs import services as jobs
from propdesk.jobs.permissions import JOBS_VIEW

MAX_TEXT = approvals.MAX_TEXT


def _message_field() -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=approvals.MAX_MESSAGE,
        label="Personal message to the client (optional)",
        help_text="Added to the notification and email the client gets about the decision.",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ApproveForm(forms.Form):
    amount = AmountField(required=False, label="Amount to approve")
    comment = forms.CharField(
        required=False,
        max_length=MAX_TEXT,
        label="Comment (internal: kept with the request, not sent to the client)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    message = _message_field()
    level = WholeNumberField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Its fields' ids differ from the reject form's on the same page: each label (the
        # personal message's above all) points at its own box.
        kwargs.setdefault("auto_id", "approve_%s")
        super().__init__(*args, **kwargs)


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=MAX_TEXT,
        label="Reason (sent to the client)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    message = _message_field()
    level = WholeNumberField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "reject_%s")
        super().__init__(*args, **kwargs)


class NoteForm(forms.Form):
    text = forms.CharField(
        max_length=MAX_TEXT, label="Note", widget=forms.Textarea(attrs={"rows": 2})
    )


def menu_links(user: User) -> list[menu.Link]:
    """The menu's Approvals section: the overview (the back office's home), my to-do and each
    queue with its count, all requests."""
    counts = approvals.pending_counts(user)
    todo = approvals.todo(user).count()
    return [
        menu.Link("Approvals overview", reverse("backoffice:dashboard")),
        menu.Link(
            "My to-do",
            reverse("backoffice:approvals_todo"),
            count=todo,
            count_zero=True,
            count_id="nav-todo",
        ),
        *(
            menu.Link(
                t.label,
                reverse("backoffice:approvals_queue", kwargs={"scope": t.key}),
                count=counts.get(t.key, 0),
                count_zero=True,
                data=(("queue", t.key),),
            )
            for t in registry.all_types()
        ),
        menu.Link("All requests", reverse("backoffice:approvals_all")),
    ]


def client_panel(request: HttpRequest, client: Client) -> dict[str, object]:
    """The client's page in the back office: their requests, the pending ones first, then the
    latest decided."""
    mine = approvals.visible_requests(actor(request)).filter(client=client)
    waiting = ApprovalRequest.Status.PENDING
    pending = list(mine.filter(status=waiting).order_by("-created_at", "-id"))
    decided = mine.exclude(status=waiting).order_by("-created_at", "-id")[:20]
    return {"requests": [*pending, *decided], "pending_count": len(pending)}


@staff_view(APPROVALS_VIEW)
def home(request: HttpRequest) -> HttpResponse:
    """The back office's home (Approvals overview): the approval queues, my to-do, recent activity,
    and the background jobs that gave up."""
    me = actor(request)
    counts = approvals.pending_counts(me)
    queues = [(t, counts.get(t.key, 0)) for t in registry.all_types()]
    todo = approvals.todo(me)[:10]
    recent = AuditRecord.objects.select_related("actor")[:10]
    return render(
        request,
        "approvals/dashboard.html",
        {
            "queues": queues,
            "todo": todo,
            "recent": recent if me.has_permission(AUDIT_VIEW) else [],
            "jobs_gave_up": jobs.gave_up_count() if me.has_permission(JOBS_VIEW) else 0,
        },
    )


@staff_view(APPROVALS_VIEW)
def queue(request: HttpRequest, scope: str = "todo") -> HttpResponse:
    me = actor(request)
    rtype = None
    status = request.GET.get("status", "")
    if scope == "todo":
        requests = approvals.todo(me)
        title = "My to-do"
    elif scope == "all":
        requests = approvals.visible_requests(me)
        title = "All requests"
    else:
        rtype = registry.get(scope)
        if rtype is None:
            raise Http404("No such queue")
        requests = approvals.visible_requests(me).filter(type_key=scope)
        title = rtype.label
        status = request.GET.get("status", ApprovalRequest.Status.PENDING)
    if status in ApprovalRequest.Status.values:
        requests = requests.filter(status=status)
    query = search_text(request.GET.get("q"))
    if query:
        # A reference ("DEP-000002", or an old "#41") finds its request; else a name or email.
        by_reference = registry.with_reference(query)
        requests = requests.filter(
            by_reference
            if by_reference is not None
            else Q(client__user__email__icontains=query) | Q(client__user__name__icontains=query)
        )
    page = Paginator(requests, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "approvals/queue.html",
        {
            "title": title,
            "scope": scope,
            "rtype": rtype,
            "page": page,
            "status": status,
            "statuses": ApprovalRequest.Status.choices,
            "q": query,
            "types": {t.key: t.label for t in registry.all_types()},
        },
    )


def _approve_form(req: ApprovalRequest, data: object = None) -> ApproveForm:
    # The amount as the page shows it (1,000.00); the field reads it back either way.
    shown = money(req.amount, req.currency) if req.amount is not None else None
    form = ApproveForm(data, initial={"level": req.current_level, "amount": shown})
    rtype = approvals.request_type(req.type_key)
    if req.current_level < req.levels_total:
        del form.fields["message"]  # the client hears of the last level's decision only
    if req.amount is None or rtype.amend == Amend.NEVER:
        del form.fields["amount"]  # only types whose amount a reviewer may change show it
    else:
        form.fields["amount"].label = rtype.amend_label
        form.fields["amount"].help_text = rtype.amend_help
    initial = rtype.decision_initial(req)
    for field in rtype.decision_fields(req):
        # Not required in the browser: the type's own message says why it is needed.
        form.fields[field.key] = forms.CharField(
            required=False,
            max_length=field.max_length,
            label=field.label + (" (required)" if field.required else ""),
            help_text=field.help,
            initial=initial.get(field.key, ""),
        )
    return form


def _inputs(req: ApprovalRequest, form: ApproveForm) -> dict[str, str]:
    rtype = approvals.request_type(req.type_key)
    return {f.key: form.cleaned_data.get(f.key, "") for f in rtype.decision_fields(req)}


def _review_context(request: HttpRequest, req: ApprovalRequest) -> dict[str, object]:
    me = actor(request)
    rtype = approvals.request_type(req.type_key)
    level_roles = {r.pk: r.name for r in Role.objects.filter(pk__in=req.level_role_ids)}
    private = not approvals.may_see_details(me, req)
    return {
        **({} if private else rtype.review_context(req)),
        "req": req,
        "rtype": rtype,
        "details_hidden": private,
        "details": [] if private else rtype.details(req),
        "history": approvals.history(req),
        "decision_block": approvals.decision_block(me, req),
        "levels": [level_roles.get(pk, "?") for pk in req.level_role_ids],
        "approve_form": _approve_form(req),
        "reject_form": RejectForm(initial={"level": req.current_level}),
        "note_form": NoteForm(),
        "can_note": me.has_permission(APPROVALS_NOTE),
        "other_requests": approvals.visible_requests(me)
        .filter(client=req.client)
        .exclude(pk=req.pk)[:10],
    }


@staff_view(APPROVALS_VIEW)
def review(request: HttpRequest, request_id: int) -> HttpResponse:
    req = approvals.get_request(actor(request), request_id)
    return render(request, "approvals/review.html", _review_context(request, req))


def _rerender(request: HttpRequest, req_id: int, **forms_: forms.Form) -> HttpResponse:
    req = approvals.get_request(actor(request), req_id)
    context = _review_context(request, req)
    context.update(forms_)
    return render(request, "approvals/review.html", context, status=422)


@require_POST
@staff_view(APPROVALS_VIEW)
def approve(request: HttpRequest, request_id: int) -> HttpResponse:
    me = actor(request)
    req = approvals.get_request(me, request_id)
    form = _approve_form(req, request.POST)
    if not form.is_valid():
        return _rerender(request, request_id, approve_form=form)
    try:
        req = approvals.approve(
            request_id,
            actor=me,
            comment=form.cleaned_data["comment"],
            expected_level=form.cleaned_data["level"],
            amount=form.cleaned_data.get("amount") or None,
            inputs=_inputs(req, form),
            message=form.cleaned_data.get("message", ""),
        )
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _rerender(request, request_id, approve_form=form)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if req.is_pending:
            messages.success(
                request,
                f"Level {req.current_level - 1} approved; "
                f"the request moves to level {req.current_level}.",
            )
        else:
            messages.success(request, f"{req.type_label} {req.reference} approved.")
    return redirect("backoffice:approval_review", request_id=request_id)


@require_POST
@staff_view(APPROVALS_VIEW)
def reject(request: HttpRequest, request_id: int) -> HttpResponse:
    me = actor(request)
    approvals.get_request(me, request_id)
    form = RejectForm(request.POST)
    if not form.is_valid():
        return _rerender(request, request_id, reject_form=form)
    try:
        req = approvals.reject(
            request_id,
            actor=me,
            reason=form.cleaned_data["reason"],
            expected_level=form.cleaned_data["level"],
            message=form.cleaned_data["message"],
        )
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _rerender(request, request_id, reject_form=form)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{req.type_label} {req.reference} rejected.")
    return redirect("backoffice:approval_review", request_id=request_id)


@require_POST
@staff_view(APPROVALS_NOTE)
def add_note(request: HttpRequest, request_id: int) -> HttpResponse:
    me = actor(request)
    approvals.get_request(me, request_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _rerender(request, request_id, note_form=form)
    try:
        approvals.add_note(request_id, actor=me, text=form.cleaned_data["text"])
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _rerender(request, request_id, note_form=form)
    messages.success(request, "Note added.")
    return redirect("backoffice:approval_review", request_id=request_id)


# --- Settings > Approval methods -----------------------------------------------------------


@staff_view(APPROVALS_VIEW)
def policies(request: HttpRequest) -> HttpResponse:
    rows = []
    for rtype in registry.all_types():
        policy = approvals.policy_for(rtype.key)
        rows.append((rtype, policy, approvals.policy_snapshot(policy)["levels"]))
    can_edit = actor(request).has_permission(SETTINGS_MANAGE)
    return render(request, "approvals/policies.html", {"rows": rows, "can_edit": can_edit})


class PolicyForm(forms.Form):
    method = forms.ChoiceField(widget=forms.RadioSelect)
    threshold = forms.CharField(required=False, max_length=30)

    def __init__(self, *args: object, allowed: tuple[Method, ...], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["method"].choices = [(m.value, m.label) for m in allowed]  # type: ignore[attr-defined]
        role_choices = [("", "—")] + [(str(r.pk), r.name) for r in Role.objects.all()]
        for i in range(1, approvals.MAX_LEVELS + 1):
            self.fields[f"level_{i}"] = forms.ChoiceField(
                choices=role_choices, required=False, label=f"Level {i}"
            )

    def level_fields(self) -> list[forms.BoundField]:
        return [self[f"level_{i}"] for i in range(1, approvals.MAX_LEVELS + 1)]


@require_http_methods(["GET", "POST"])
@staff_view(SETTINGS_MANAGE)
def policy_edit(request: HttpRequest, type_key: str) -> HttpResponse:
    rtype = registry.get(type_key)
    if rtype is None:
        raise Http404("No such request type")
    policy = approvals.policy_for(type_key)
    level_ids = (
        [str(pk) for pk in policy.levels.values_list("role_id", flat=True)] if policy.pk else []
    )
    initial: dict[str, object] = {"method": policy.method, "threshold": policy.threshold or ""}
    initial.update({f"level_{i}": pk for i, pk in enumerate(level_ids, start=1)})
    form = PolicyForm(request.POST or None, initial=initial, allowed=rtype.allowed_methods)

    def save(data: dict[str, Any]) -> Any:
        chosen = [data[f"level_{i}"] for i in range(1, approvals.MAX_LEVELS + 1)]
        return approvals.set_policy(
            type_key,
            method=data["method"],
            threshold=data["threshold"] or None,
            level_roles=[c for c in chosen if c],
            actor=actor(request),
        )

    return edit_form(
        request,
        form,
        save,
        saved=f"Approval method of {rtype.label} saved.",
        then="backoffice:policies",
        template="approvals/policy_edit.html",
        context={"rtype": rtype},
    )
