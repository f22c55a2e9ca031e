"""Prop trading's pages: Challenge Settings and Participants under /backoffice/, the published
challenges and the client's own under /portal/. (The dashboard is the reports app's.)"""

from django.urls import path

from propdesk.challenges.catalogue import backoffice as catalogue
from propdesk.challenges.certificates import urls as certificates
from propdesk.challenges.growth import commission_backoffice as commission
from propdesk.challenges.growth import coupons_backoffice
from propdesk.challenges.growth import link_pages as promo_links
from propdesk.challenges.growth import portal as growth_portal
from propdesk.challenges.monitoring import backoffice as monitoring
from propdesk.challenges.participation import backoffice as participants
from propdesk.challenges.participation import portal, portal_challenge, portal_retries
from propdesk.challenges.payouts import portal as payouts_portal

# Under /backoffice/.
backoffice_urls = [
    # IB commission (growth)
    path("settings/commission-schemes/", commission.schemes, name="commission_schemes"),
    path(
        "settings/commission-schemes/new/",
        commission.scheme_edit,
        name="commission_scheme_new",
    ),
    path(
        "settings/commission-schemes/<int:scheme_id>/",
        commission.scheme_edit,
        name="commission_scheme_edit",
    ),
    path(
        "clients/<int:client_id>/commission-scheme/",
        commission.set_ib_scheme,
        name="commission_ib_scheme",
    ),
    path(
        "prop-trading/commission-settlements/",
        commission.settlements,
        name="commission_settlements",
    ),
    path("growth/coupons/", coupons_backoffice.coupon_list, name="coupons"),
    path("growth/coupons/new/", coupons_backoffice.coupon_edit, name="coupon_new"),
    path("growth/coupons/<int:coupon_id>/", coupons_backoffice.coupon_edit, name="coupon_edit"),
    path(
        "growth/coupons/<int:coupon_id>/enable/",
        coupons_backoffice.coupon_enable,
        name="coupon_enable",
    ),
    path("prop-trading/challenges/", catalogue.challenges, name="challenges"),
    path("prop-trading/challenges/new/", catalogue.challenge_new, name="challenge_new"),
    path(
        "prop-trading/challenges/<int:challenge_id>/",
        catalogue.challenge,
        name="challenge",
    ),
    path(
        "prop-trading/challenges/<int:challenge_id>/edit/",
        catalogue.challenge_edit,
        name="challenge_edit",
    ),
    path(
        "prop-trading/challenges/<int:challenge_id>/publish/",
        catalogue.challenge_publish,
        name="challenge_publish",
    ),
    path(
        "prop-trading/challenges/<int:challenge_id>/duplicate/",
        catalogue.challenge_duplicate,
        name="challenge_duplicate",
    ),
    path(
        "prop-trading/challenges/<int:challenge_id>/end/",
        catalogue.challenge_end,
        name="challenge_end",
    ),
    path(
        "prop-trading/challenges/<int:challenge_id>/alerts/",
        catalogue.challenge_alerts,
        name="challenge_alerts",
    ),
    path("prop-trading/monitor/", monitoring.monitor_status, name="monitor_status"),
    path(
        "prop-trading/participants/",
        participants.participants,
        name="participants",
    ),
    path(
        "prop-trading/participants/rows/",
        participants.participant_rows,
        name="participant_rows",
    ),
    path(
        "prop-trading/participants/<int:participation_id>/",
        participants.participant,
        name="participant",
    ),
    path(
        "prop-trading/participants/<int:participation_id>/figures/",
        participants.participant_figures,
        name="participant_figures",
    ),
    path(
        "prop-trading/participants/<int:participation_id>/advance/",
        participants.participant_advance,
        name="participant_advance",
    ),
    path(
        "prop-trading/participants/<int:participation_id>/reinstate/",
        participants.participant_reinstate,
        name="participant_reinstate",
    ),
    path(
        "prop-trading/participants/<int:participation_id>/retry/",
        participants.participant_retry,
        name="participant_retry",
    ),
    path(
        "prop-trading/participants/<int:participation_id>/cancel/",
        participants.participant_cancel,
        name="participant_cancel",
    ),
    *certificates.backoffice_urls,
    *promo_links.backoffice_urls,
]

# Under /portal/.
portal_urls = [
    path("challenges/", portal.challenges, name="challenges"),
    path("challenges/<int:challenge_id>/", portal.challenge, name="challenge"),
    path("my-challenges/", portal.my_challenges, name="my_challenges"),
    path(
        "my-challenges/<int:participation_id>/",
        portal_challenge.my_challenge,
        name="my_challenge",
    ),
    path(
        "my-challenges/<int:participation_id>/pay-from-wallet/",
        portal_challenge.my_challenge_pay_from_wallet,
        name="my_challenge_pay_from_wallet",
    ),
    path(
        "my-challenges/<int:participation_id>/payouts/",
        payouts_portal.payouts_page,
        name="my_challenge_payouts",
    ),
    path(
        "my-challenges/<int:participation_id>/figures/",
        portal.my_challenge_figures,
        name="my_challenge_figures",
    ),
    path(
        "my-challenges/<int:participation_id>/retry/",
        portal_retries.my_challenge_retry,
        name="my_challenge_retry",
    ),
    path(
        "my-challenges/<int:participation_id>/reset/",
        portal_retries.my_challenge_reset,
        name="my_challenge_reset",
    ),
    *certificates.portal_urls,
    path("referrals/", growth_portal.referrals_page, name="referrals"),
]

# At the root: the certificates' public pages, and the promotional links (/go/<code>/).
urlpatterns = [*certificates.urlpatterns, *promo_links.urlpatterns]
