"""A site with one page that fails, for the error reports' tests (pytest.mark.urls)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt


class LedgerOutOfBalance(Exception):
    pass


@csrf_exempt
def fails(request: HttpRequest) -> HttpResponse:
    request.POST.get("password")  # the body was read, as a login form's is
    raise LedgerOutOfBalance("the books do not balance")


urlpatterns = [path("fails/", fails)]
