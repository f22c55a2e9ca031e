"""The trader's web terminal: a trading account's own login (not the portal's), live quotes,
market orders with SL/TP, open positions with their floating profit, and the deal history.

The session holds the account's id and a digest of its password hash (as Django does for
people), so a new password ends every terminal session of the account. Every view works on the
session's account only. Money and prices leave here as text, exactly as the services give them;
the page's script shows that text and never does arithmetic on it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import wraps
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from propdesk.accounts import devices, throttle
from propdesk.core.errors import DomainError, NotAuthenticated, ValidationFailed
from propdesk.core.money import quantize
from propdesk.core.net import client_ip
from propdesk.core.templatetags.money import money
from propdesk.core.web import apply_errors
from propdesk.platforms import owners
from propdesk.platforms.protocol import AccountState, OpenPosition
from propdesk.platforms.sandbox import accounts as sandbox_accounts
from propdesk.platforms.sandbox import auth, orders, valuation
from propdesk.platforms.sandbox.models import Account, Deal, Instrument, Quote

SESSION_KEY = "propdesk_terminal"
HISTORY_LIMIT = 100
DEFAULT_VOLUME = "0.10"

P = ParamSpec("P")
AccountView = Callable[Concatenate[HttpRequest, Account, P], HttpResponse]
RequestView = Callable[Concatenate[HttpRequest, P], HttpResponse]


# --- the terminal session ------------------------------------------------------------------------


def _digest(account: Account) -> str:
    return salted_hmac("propdesk.platforms.terminal", account.password).hexdigest()


def _start_session(request: HttpRequest, account: Account) -> None:
    request.session.cycle_key()  # a session id known before the login is worthless after it
    rotate_token(request)
    request.session[SESSION_KEY] = {"account": account.pk, "digest": _digest(account)}


def _end_session(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()


def session_account(request: HttpRequest) -> Account | None:
    """The account this browser logged into the terminal with, or None."""
    held = request.session.get(SESSION_KEY)
    if not isinstance(held, dict) or not isinstance(held.get("account"), int):
        return None
    account = Account.objects.select_related("server").filter(pk=held["account"]).first()
    digest = held.get("digest")
    if account is None or not isinstance(digest, str):
        request.session.pop(SESSION_KEY, None)
        return None
    if not constant_time_compare(digest, _digest(account)) or not account.login_enabled:
        request.session.pop(SESSION_KEY, None)  # a new password, or the firm blocked it
        return None
    return account


def terminal_view(
    *, api: bool = False, words: bool = True
) -> Callable[[AccountView[P]], RequestView[P]]:
    """Views of a logged-in terminal: they get the session's account. Without one, pages go to
    the terminal's login and the script's endpoints answer 401. A view with `words` answers in
    its owner's language; one without (figures only, polled every second) skips the look-up."""

    def decorate(view: AccountView[P]) -> RequestView[P]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            account = session_account(request)
            if account is None:
                if api:
                    error = NotAuthenticated(_("Log in to the terminal first."))
                    return JsonResponse(error.as_json(), status=error.status)
                return redirect("terminal:login")
            language = _language(account) if words else None
            if language is None:
                return view(request, account, *args, **kwargs)
            with translation.override(language):
                request.LANGUAGE_CODE = language
                response = view(request, account, *args, **kwargs)
            response.headers["Content-Language"] = language
            return response

        return wrapper

    return decorate


def _language(account: Account) -> str | None:
    """The language of the client whose account it is (docs/languages.md): their choice wins,
    as in the portal; an account of nobody's reads in the browser's (LanguageMiddleware)."""
    client = owners.owner(account.server_id, account.login)
    language = client.user.language if client is not None else None
    return language if language in {code for code, _name in settings.LANGUAGES} else None


# --- what the terminal shows ---------------------------------------------------------------------


def _money(amount: Decimal, currency: str) -> str:
    return f"{quantize(amount, currency)}"  # refuses, never rounds, an amount finer than cents


def _price(price: Decimal | None, digits: int | None) -> str:
    if price is None:
        return ""
    if digits is None:
        return f"{price.normalize():f}"
    return f"{price:.{digits}f}"


def _trend(amount: Decimal) -> str:
    return "loss" if amount < 0 else "gain" if amount > 0 else ""


def _digits(quotes: dict[str, Quote]) -> dict[str, int]:
    return {symbol: q.instrument.digits for symbol, q in quotes.items()}


def _figures(account: Account, state: AccountState) -> dict[str, Any]:
    currency = state.currency
    level = state.margin_level
    return {
        "login": account.login,
        "server": account.server.name,
        "currency": currency,
        "leverage": account.leverage,
        "balance": _money(state.balance, currency),
        "equity": _money(state.equity, currency),
        "profit": _money(state.equity - state.balance, currency),
        "margin": _money(state.margin, currency),
        "free_margin": _money(state.free_margin, currency),
        "margin_level": "" if level is None else f"{level}",
        "trading_enabled": state.trading_enabled,
    }


def _position(p: OpenPosition, currency: str, digits: dict[str, int]) -> dict[str, Any]:
    places = digits.get(p.symbol)
    return {
        "id": p.position,
        "symbol": p.symbol,
        "side": p.side,
        "volume": f"{p.volume}",
        "open_price": _price(p.open_price, places),
        "current_price": _price(p.current_price, places),
        "sl": _price(p.sl, places),
        "tp": _price(p.tp, places),
        "profit": _money(p.profit, currency),
        "trend": _trend(p.profit),
        "opened_at": p.opened_at,
    }


def _quote(symbol: str, quote: Quote) -> dict[str, str]:
    digits = quote.instrument.digits
    return {"symbol": symbol, "bid": _price(quote.bid, digits), "ask": _price(quote.ask, digits)}


def _deal(deal: Deal, currency: str, digits: dict[str, int]) -> dict[str, Any]:
    traded = bool(deal.symbol)
    notes = [deal.get_reason_display()] if traded and deal.reason != Deal.Reason.CLIENT else []
    if deal.comment:
        notes.append(deal.comment)
    return {
        "id": deal.pk,
        "at": deal.at,
        "position": deal.position_id or "",
        "symbol": deal.symbol,
        "kind": deal.get_kind_display(),
        "entry": deal.entry,
        "entry_label": deal.get_entry_display() if deal.entry else "",
        "volume": f"{deal.volume}" if traded else "",
        "price": _price(deal.price, digits.get(deal.symbol)) if traded else "",
        "profit": _money(deal.profit, currency),
        "trend": _trend(deal.profit),
        "balance_after": _money(deal.balance_after, currency),
        "comment": " · ".join(notes),
    }


def _tables(account: Account, state: AccountState, quotes: dict[str, Quote]) -> dict[str, Any]:
    digits = _digits(quotes)
    deals = sandbox_accounts.history(account, limit=HISTORY_LIMIT)
    return {
        "positions": [_position(p, state.currency, digits) for p in state.positions],
        "deals": [_deal(d, state.currency, digits) for d in deals],
        "last_deal": deals[0].pk if deals else None,
        "history_limit": HISTORY_LIMIT,
    }


def _live(account: Account) -> dict[str, Any]:
    """What the page's script polls: the figures, the quotes and the open positions."""
    state = valuation.state(account)
    quotes = valuation.latest_quotes()
    digits = _digits(quotes)
    return {
        "account": _figures(account, state),
        "quotes": [_quote(symbol, q) for symbol, q in sorted(quotes.items())],
        "positions": [_position(p, state.currency, digits) for p in state.positions],
        "last_deal": account.deals.order_by("-id").values_list("id", flat=True).first(),
    }


# --- pages ---------------------------------------------------------------------------------------


class TerminalLoginForm(forms.Form):
    # Both optional here: the service answers an empty field with its own message.
    login = forms.CharField(
        label=gettext_lazy("Login"),
        required=False,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=gettext_lazy("Password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class OrderForm(forms.Form):
    # Checked by the service alone, so that a refusal reads the same here and in the API.
    symbol = forms.CharField(
        label=gettext_lazy("Symbol"), required=False, max_length=20, widget=forms.Select
    )
    volume = forms.CharField(label=gettext_lazy("Volume (lots)"), required=False, max_length=30)
    sl = forms.CharField(label=gettext_lazy("Stop loss"), required=False, max_length=30)
    tp = forms.CharField(label=gettext_lazy("Take profit"), required=False, max_length=30)

    def __init__(self, *args: Any, symbols: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        widget = self.fields["symbol"].widget
        assert isinstance(widget, forms.Select)
        widget.choices = [(s, s) for s in symbols]
        for name in ("volume", "sl", "tp"):
            self.fields[name].widget.attrs["inputmode"] = "decimal"
        self.fields["sl"].widget.attrs["placeholder"] = _("optional")
        self.fields["tp"].widget.attrs["placeholder"] = _("optional")


def _symbols() -> list[str]:
    return list(Instrument.objects.filter(enabled=True).values_list("symbol", flat=True))


@require_http_methods(["GET", "POST"])
@never_cache
def login(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and session_account(request) is not None:
        return redirect("terminal:home")
    form = TerminalLoginForm(request.POST or None)
    status = 200
    retry_after = None
    if request.method == "POST" and form.is_valid():
        login_name = form.cleaned_data["login"]
        try:
            account = auth.authenticate(
                login_name,
                form.cleaned_data["password"],
                ip=client_ip(request),
                device=devices.known_device(request, throttle.TRADING, login_name),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status
            retry_after = exc.extra.get("retry_after")
        else:
            _start_session(request, account)
            home = redirect("terminal:home")
            devices.remember_device(request, home, throttle.TRADING, account.login)
            return home
    response = render(request, "platforms/terminal_login.html", {"form": form}, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    _end_session(request)
    messages.info(request, _("You are logged out of the terminal."))
    return redirect("terminal:login")


@require_http_methods(["GET", "POST"])
@never_cache
@terminal_view()
def terminal(request: HttpRequest, account: Account) -> HttpResponse:
    """The terminal; a POST here is a market order (the button pressed is its side)."""
    symbols = _symbols()
    status = 200
    if request.method == "POST":
        form = OrderForm(request.POST, symbols=symbols)
        if form.is_valid():
            data = form.cleaned_data
            try:
                position = orders.place_order(
                    account,
                    symbol=data["symbol"],
                    side=request.POST.get("side"),
                    volume=data["volume"],
                    sl=data["sl"] or None,
                    tp=data["tp"] or None,
                )
            except ValidationFailed as exc:
                apply_errors(form, exc)
                status = exc.status
            except DomainError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                spec = position.instrument.spec
                filled = {
                    "volume": position.volume,
                    "symbol": spec.symbol,
                    "price": _price(position.open_price, spec.digits),
                    "position": position.pk,
                }
                if position.side == "buy":
                    done = _("Bought %(volume)s %(symbol)s at %(price)s (position #%(position)s).")
                else:
                    done = _("Sold %(volume)s %(symbol)s at %(price)s (position #%(position)s).")
                messages.success(request, done % filled)
                again = urlencode({"symbol": spec.symbol, "volume": f"{position.volume}"})
                return redirect(f"{reverse('terminal:home')}?{again}")
        else:
            status = 422
    else:
        wanted = request.GET.get("symbol")
        volume = request.GET.get("volume", "")
        form = OrderForm(
            symbols=symbols,
            initial={
                "symbol": wanted if wanted in symbols else None,
                "volume": volume if 0 < len(volume) <= 12 else DEFAULT_VOLUME,
            },
        )
    state = valuation.state(account)
    quotes = valuation.latest_quotes()
    context = {
        "account": _figures(account, state),
        "quotes": [_quote(symbol, q) for symbol, q in sorted(quotes.items())],
        "form": form,
        **_tables(account, state, quotes),
    }
    return render(request, "platforms/terminal.html", context, status=status)


@require_POST
@terminal_view()
def close(request: HttpRequest, account: Account, position_id: int) -> HttpResponse:
    try:
        deal = orders.close_position(account, position_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        digits = deal.position.instrument.digits if deal.position else None
        closed = _("Position #%(position)s closed at %(price)s: profit %(profit)s %(currency)s.")
        messages.success(
            request,
            closed
            % {
                "position": position_id,
                "price": _price(deal.price, digits),
                "profit": money(deal.profit, account.currency),
                "currency": account.currency,
            },
        )
    return redirect("terminal:home")


@require_GET
@never_cache
@terminal_view(api=True, words=False)
def live_state(request: HttpRequest, account: Account) -> HttpResponse:
    return JsonResponse(_live(account))


@require_GET
@never_cache
@terminal_view(api=True)
def tables(request: HttpRequest, account: Account) -> HttpResponse:
    """The positions and history tables, for the script to swap in when either changed."""
    state = valuation.state(account)
    context = _tables(account, state, valuation.latest_quotes())
    return render(request, "platforms/terminal_tables.html", context)
