"""Promotional links' pages: the public `/go/<code>/` a visitor clicks, and *Growth >
Promotional links* in the back office (the list with each link's counts; add, edit, disable)."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from propdesk.accounts.models import Client
from propdesk.challenges.catalogue import offering
from propdesk.challenges.growth import links
from propdesk.challenges.growth.models import PromoLink
from propdesk.challenges.models import Challenge
from propdesk.challenges.permissions import GROWTH_LINKS
from propdesk.core.errors import NotFound
from propdesk.core.web import actor, edit_form, person, staff_view

# --- the visitor --------------------------------------------------------------------------------


@require_GET
def go(request: HttpRequest, code: str) -> HttpResponse:
    """Count the click (once per visitor's session), remember the link in the session, and send
    the visitor where the link lands. A malformed, unknown or disabled code is a 404 that
    writes nothing."""
    if not links.well_formed(code):
        raise Http404("No such link.")
    try:
        link = links.click(code, count=not links.seen(request.session, code))
    except NotFound as exc:
        raise Http404("No such link.") from exc
    links.remember(request.session, link)
    user = person(request)
    client = getattr(user, "client", None) if user is not None and user.is_client else None
    return redirect(landing(link, client))


def landing(link: PromoLink, client: Client | None = None) -> str:
    """Where the link sends a visitor: registration (with the referrer's code as ?ref=), the
    portal's challenges, or one challenge's page (the list, once that challenge is no longer
    on offer, or when it is not offered to the visitor: a challenge meant for some client
    groups lands only their clients on its page; `client` None: a visitor not logged in as a
    client, to whom it is offered only if it is offered to everyone). The portal's pages send
    a logged-out visitor through the login page."""
    if link.landing == PromoLink.Landing.CHALLENGE:
        if (
            link.challenge is not None
            and link.challenge.status == Challenge.Status.PUBLISHED
            and _offered(link.challenge_id, client)
        ):
            return reverse("portal:challenge", args=[link.challenge_id])
        return reverse("portal:challenges")
    if link.landing == PromoLink.Landing.CHALLENGES:
        return reverse("portal:challenges")
    page = reverse("portal:register")
    if link.referrer is not None and link.referrer.referral_code:
        page += "?" + urlencode({"ref": link.referrer.referral_code})
    return page


def _offered(challenge_id: Any, client: Client | None) -> bool:
    try:
        offering.offered_to(challenge_id, client)
    except NotFound:
        return False
    return True


# --- Growth > Promotional links -----------------------------------------------------------------


class LinkForm(forms.Form):
    code = forms.CharField(
        max_length=40,
        help_text="In the link: /go/<code>/. Letters, digits, - and _; case is ignored. "
        "It cannot change once the link is made.",
    )
    name = forms.CharField(max_length=100, help_text="For staff: the campaign, the IB, the site.")
    landing = forms.ChoiceField(choices=PromoLink.Landing.choices)
    challenge = forms.TypedChoiceField(
        required=False, help_text="For the landing on one challenge: a published one."
    )
    coupon = forms.CharField(
        max_length=40,
        required=False,
        help_text="Optional: an enabled coupon's code, filled in on the visitor's purchase form.",
    )
    referrer = forms.CharField(
        max_length=254,
        required=False,
        help_text="Optional: a client's referral code or email. Registrations through the link "
        "record them as referrer, unless the visitor types another referral code.",
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        published = Challenge.objects.filter(status=Challenge.Status.PUBLISHED)
        choices = [("", "—"), *((str(c.pk), c.name) for c in published)]
        cast(forms.ChoiceField, self.fields["challenge"]).choices = choices
        if editing:
            self.fields["code"].disabled = True


@staff_view(GROWTH_LINKS)
def link_list(request: HttpRequest) -> HttpResponse:
    shown = list(
        PromoLink.objects.select_related("challenge", "coupon", "referrer__user").order_by(
            "-enabled", "-created_at", "-id"
        )
    )
    counts = links.stats(shown)
    rows = [{"link": link, "url": links.address(link), "stats": counts[link.pk]} for link in shown]
    return render(request, "challenges/growth_links.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@staff_view(GROWTH_LINKS)
def link_edit(request: HttpRequest, link_id: int | None = None) -> HttpResponse:
    link = get_object_or_404(PromoLink, pk=link_id) if link_id is not None else None
    initial = (
        {
            "code": link.code,
            "name": link.name,
            "landing": link.landing,
            "challenge": link.challenge_id or "",
            "coupon": link.coupon.code if link.coupon else "",
            "referrer": link.referrer.referral_code if link.referrer else "",
        }
        if link
        else {"landing": PromoLink.Landing.REGISTER}
    )
    return edit_form(
        request,
        LinkForm(request.POST or None, initial=initial, editing=link is not None),
        lambda data: links.save_link(
            link.pk if link else None,
            code=data["code"],
            name=data["name"],
            landing=data["landing"],
            challenge=data["challenge"] or None,
            coupon=data["coupon"],
            referrer=data["referrer"],
            actor=actor(request),
        ),
        saved=lambda saved: f"Promotional link {saved.code} saved: {links.address(saved)}",
        then="backoffice:promo_links",
        template="challenges/growth_link_edit.html",
        context={"link": link, "url": links.address(link) if link else ""},
    )


@require_POST
@staff_view(GROWTH_LINKS)
def link_enable(request: HttpRequest, link_id: int) -> HttpResponse:
    enabled = request.POST.get("enabled") == "1"
    link = links.set_enabled(link_id, enabled=enabled, actor=actor(request))
    messages.success(
        request, f"Promotional link {link.code} {'enabled' if link.enabled else 'disabled'}."
    )
    return redirect("backoffice:promo_links")


# Under /backoffice/.
backoffice_urls = [
    path("growth/links/", link_list, name="promo_links"),
    path("growth/links/new/", link_edit, name="promo_link_new"),
    path("growth/links/<int:link_id>/", link_edit, name="promo_link_edit"),
    path("growth/links/<int:link_id>/enable/", link_enable, name="promo_link_enable"),
]

# At the site's root: the link a visitor clicks.
urlpatterns = [path("go/<str:code>/", go, name="promo_link")]
