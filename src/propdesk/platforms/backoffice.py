"""Back-office pages: Settings > Trading platforms (servers, Test connection, sandbox
instruments), Trading > Trading accounts and Trading > Platform commands."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.core.errors import Conflict, DomainError
from propdesk.core.templatetags.money import money, signed_money
from propdesk.core.validation import search_text
from propdesk.core.web import actor, edit_form, staff_view
from propdesk.platforms import commands, servers, services
from propdesk.platforms.forms import (
    BalanceOperationForm,
    SandboxInstrumentForm,
    TradingServerForm,
    TradingStatusForm,
    balance_operation_form,
)
from propdesk.platforms.models import PlatformCommand, TradingServer
from propdesk.platforms.permissions import PLATFORMS_MANAGE, PLATFORMS_VIEW
from propdesk.platforms.sandbox import valuation
from propdesk.platforms.sandbox.models import Account

PAGE_SIZE = 50

# --- Settings > Trading platforms ----------------------------------------------------------------


@staff_view(PLATFORMS_VIEW)
def trading_servers(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "platforms/trading_servers.html",
        {
            "servers": TradingServer.objects.prefetch_related("client_groups"),
            "can_edit": actor(request).has_permission(PLATFORMS_MANAGE),
        },
    )


def _server_form(server: TradingServer | None, data: QueryDict | None) -> TradingServerForm:
    initial: dict[str, Any] = {"enabled": True}
    if server is not None:
        initial = {
            "name": server.name,
            "kind": server.kind,
            "demo_groups": ", ".join(server.demo_groups),
            "live_groups": ", ".join(server.live_groups),
            "enabled": server.enabled,
            "client_groups": list(server.client_groups.all()),
            "base_url": server.base_url,
            "manager_login": server.manager_login,
            "offers": servers.offers_text(server) if servers.is_remote(server.kind) else "",
        }
    form = TradingServerForm(data, initial=initial)
    if server is not None and server.sealed_api_key:
        changed = server.api_key_changed_at
        when = f" (changed {timezone.localtime(changed):%Y-%m-%d %H:%M %Z})" if changed else ""
        form.fields[
            "api_key"
        ].help_text = (
            f"A key is set{when}. Leave this blank to keep it; type a new one to replace it."
        )
    return form


@require_http_methods(["GET", "POST"])
@staff_view(PLATFORMS_MANAGE)
def trading_server_edit(request: HttpRequest, server_id: int | None = None) -> HttpResponse:
    server = get_object_or_404(TradingServer, pk=server_id) if server_id is not None else None
    return edit_form(
        request,
        _server_form(server, request.POST or None),
        lambda data: servers.save_server(
            server.pk if server else None, actor=actor(request), **data
        ),
        saved=lambda saved: f"Trading server {saved.name} saved.",
        then="backoffice:trading_servers",
        template="platforms/trading_server_edit.html",
        context={"server": server},
    )


@require_POST
@staff_view(PLATFORMS_MANAGE)
def trading_server_check(request: HttpRequest, server_id: int) -> HttpResponse:
    """Test connection: the edit page again, with what the platform said (or what failed)."""
    server = get_object_or_404(TradingServer, pk=server_id)
    check = servers.check_connection(server.pk, actor=actor(request))
    return render(
        request,
        "platforms/trading_server_edit.html",
        {"server": server, "form": _server_form(server, None), "check": check},
    )


# --- Settings > Trading platforms > Sandbox instruments ------------------------------------------


@staff_view(PLATFORMS_VIEW)
def sandbox_instruments(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "platforms/sandbox_instruments.html",
        {
            "rows": [
                (i, services.describe_hours(i.trading_hours), services.charged(i))
                for i in services.find_instruments()
            ],
            "can_edit": actor(request).has_permission(PLATFORMS_MANAGE),
        },
    )


@require_http_methods(["GET", "POST"])
@staff_view(PLATFORMS_MANAGE)
def sandbox_instrument_edit(request: HttpRequest, symbol: str) -> HttpResponse:
    instrument = services.find_instrument(symbol)
    initial = {
        "description": instrument.description,
        "spread_points": instrument.spread_points,
        "rollover_spread_multiplier": instrument.rollover_spread_multiplier,
        "volatility_pct": f"{(instrument.volatility * 100).normalize():f}",  # 20, never 2E+1
        "min_volume": instrument.min_volume,
        "max_volume": instrument.max_volume,
        "volume_step": instrument.volume_step,
        "trading_hours": services.hours_text(instrument.trading_hours),
        "enabled": instrument.enabled,
    }
    return edit_form(
        request,
        SandboxInstrumentForm(request.POST or None, initial=initial),
        lambda data: services.save_instrument(instrument.symbol, actor=actor(request), **data),
        saved=lambda saved: f"Sandbox instrument {saved.symbol} saved.",
        then="backoffice:sandbox_instruments",
        template="platforms/sandbox_instrument_edit.html",
        context={
            "instrument": instrument,
            "hours": services.describe_hours(instrument.trading_hours),
            "charged": services.charged(instrument),
        },
    )


# --- Trading > Trading accounts ------------------------------------------------------------------


@staff_view(PLATFORMS_VIEW)
def trading_accounts(request: HttpRequest) -> HttpResponse:
    query = search_text(request.GET.get("q"), max_length=20)
    page = Paginator(services.find_accounts(query), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "platforms/trading_accounts.html",
        {"page": page, "rows": services.with_equity(page.object_list), "q": query},
    )


def _account_page(
    request: HttpRequest,
    account: Account,
    *,
    status_form: TradingStatusForm | None = None,
    balance_form: BalanceOperationForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_manage = actor(request).has_permission(PLATFORMS_MANAGE)
    history = Paginator(services.deal_history(account), PAGE_SIZE).get_page(request.GET.get("page"))
    state = valuation.state(account)
    digits = services.price_digits()
    return render(
        request,
        "platforms/trading_account.html",
        {
            "account": account,
            "state": state,
            "positions": [(p, digits.get(p.symbol, 5)) for p in state.positions],
            "page": history,
            "deals": [(d, digits.get(d.symbol, 5)) for d in history.object_list],
            "can_manage": can_manage,
            "status_form": (status_form or TradingStatusForm()) if can_manage else None,
            "balance_form": (balance_form or balance_operation_form()) if can_manage else None,
        },
        status=status,
    )


@staff_view(PLATFORMS_VIEW)
def trading_account(request: HttpRequest, login: str) -> HttpResponse:
    return _account_page(request, services.find_account(login))


@require_POST
@staff_view(PLATFORMS_MANAGE)
def trading_account_status(request: HttpRequest, login: str, action: str) -> HttpResponse:
    if action not in ("disable", "enable"):
        raise Http404("No such action")
    account = services.find_account(login)
    form = TradingStatusForm(request.POST)
    enabled = action == "enable"
    return edit_form(
        request,
        form,
        lambda data: services.set_trading(
            account.login, enabled=enabled, reason=data["reason"], actor=actor(request)
        ),
        saved=f"Trading on {account.login} {'enabled' if enabled else 'disabled'}.",
        then=lambda _: redirect("backoffice:trading_account", login=account.login),
        page=lambda status: _account_page(request, account, status_form=form, status=status),
        refused=(DomainError,),  # on the form, with its status
    )


@require_POST
@staff_view(PLATFORMS_MANAGE)
def trading_account_balance(request: HttpRequest, login: str) -> HttpResponse:
    account = services.find_account(login)
    form = BalanceOperationForm(request.POST)
    return edit_form(
        request,
        form,
        lambda data: services.balance_operation(
            account.login,
            amount=data["amount"],
            comment=data["comment"],
            actor=actor(request),
            idempotency_key=data["idempotency_key"] or None,
        ),
        saved=lambda deal: (
            f"Balance operation of {signed_money(deal.profit, account.currency)} "
            f"{account.currency} made on {account.login} (deal #{deal.pk}); the balance is "
            f"{money(deal.balance_after, account.currency)} {account.currency}."
        ),
        then=lambda _: redirect("backoffice:trading_account", login=account.login),
        page=lambda status: _account_page(request, account, balance_form=form, status=status),
        refused=(DomainError,),  # on the form, with its status
    )


# --- Trading > Platform commands -----------------------------------------------------------------


@staff_view(PLATFORMS_VIEW)
def platform_commands(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or commands.ATTENTION
    server = request.GET.get("server") or ""
    found = commands.find_commands(status=status, server=server)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "platforms/platform_commands.html",
        {
            "page": page,
            "status": status,
            "server": server,
            "statuses": commands.status_filters(),
            "servers": TradingServer.objects.all(),
            "can_manage": actor(request).has_permission(PLATFORMS_MANAGE),
        },
    )


# Keys a payload would never carry (the outbox keeps no password), hidden all the same.
_SECRET_WORDS = ("password", "secret", "token", "api_key")


def _shown(values: Any) -> list[tuple[str, str]]:
    """A payload's or a result's entries as text, one a line (nested values as JSON)."""
    if not isinstance(values, dict):
        return [] if values in (None, "") else [("", json.dumps(values, default=str))]
    lines = []
    for key, value in values.items():
        if any(word in str(key).lower() for word in _SECRET_WORDS):
            text = "(hidden)"
        elif isinstance(value, str):
            text = value
        else:
            text = json.dumps(value, default=str, ensure_ascii=False)
        lines.append((str(key), text))
    return lines


@staff_view(PLATFORMS_VIEW)
def platform_command(request: HttpRequest, command_id: int) -> HttpResponse:
    command = commands.find_command(command_id)
    return render(
        request,
        "platforms/platform_command.html",
        {
            "command": command,
            "payload": _shown(command.payload),
            "result": _shown(command.result),
            "account": commands.of_subject(command)[:100],
            "retryable": command.status == PlatformCommand.Status.FAILED
            or (
                command.status == PlatformCommand.Status.PENDING
                and command.next_try_at is not None
                and command.next_try_at > timezone.now()
            ),
            "blocking": commands.blocking(command),
            "waiting": commands.waiting_behind(command),
            "can_manage": actor(request).has_permission(PLATFORMS_MANAGE),
        },
    )


@require_POST
@staff_view(PLATFORMS_MANAGE)
def platform_command_retry(request: HttpRequest, command_id: int) -> HttpResponse:
    try:
        command = commands.retry_now(command_id, actor=actor(request))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Command #{command.pk} is due now: the worker sends it to the platform at its next "
            "turn, within a second or so.",
        )
    return redirect("backoffice:platform_command", command_id=command_id)


@require_POST
@staff_view(PLATFORMS_MANAGE)
def platform_command_cancel(request: HttpRequest, command_id: int) -> HttpResponse:
    try:
        command, later = commands.cancel(command_id, actor=actor(request))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Command #{command.pk} is cancelled: the platform is not asked again"
            + (f"; the {later} later command(s) of {command.subject} now run." if later else "."),
        )
    return redirect("backoffice:platform_command", command_id=command_id)
