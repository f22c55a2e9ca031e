"""The web terminal's price chart: an instrument's recent bids (sandbox.history), as text at the
instrument's digits; the page's script draws them and adds each price it polls after."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from propdesk.core.errors import NotFound
from propdesk.platforms.sandbox import history
from propdesk.platforms.sandbox.models import Account, Instrument
from propdesk.platforms.terminal import terminal_view


@require_GET
@never_cache
@terminal_view(api=True)
def chart(request: HttpRequest, account: Account) -> HttpResponse:
    symbol = request.GET.get("symbol", "")
    instrument = Instrument.objects.filter(symbol=symbol[:20], enabled=True).first()
    if instrument is None:
        error = NotFound("Unknown symbol.")
        return JsonResponse(error.as_json(), status=error.status)
    digits = instrument.digits
    return JsonResponse(
        {
            "symbol": instrument.symbol,
            "digits": digits,
            "interval_seconds": int(history.BUCKET.total_seconds()),
            "points": [
                {"t": s.at.isoformat(), "bid": f"{s.bid:.{digits}f}"}
                for s in history.recent(instrument)
            ],
        }
    )
