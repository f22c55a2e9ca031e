"""The site's URLs: each app's own, put together. Names are global within their namespace
(`backoffice:`, `portal:`, `terminal:`, `api:`, or none at the root) and paths are the apps' own."""

from django.urls import include, path

from propdesk.accounts import urls as accounts
from propdesk.api import api
from propdesk.approvals import urls as approvals
from propdesk.challenges import urls as challenges
from propdesk.jobs import urls as jobs
from propdesk.notifications import urls as notifications
from propdesk.onboarding import urls as onboarding
from propdesk.platforms import urls as platforms
from propdesk.reports import urls as reports
from propdesk.wallet import urls as wallet

backoffice = [
    *approvals.backoffice_urls,
    *accounts.backoffice_urls,
    *jobs.backoffice_urls,
    *notifications.backoffice_urls,
    *wallet.backoffice_urls,
    *onboarding.backoffice_urls,
    *platforms.backoffice_urls,
    *challenges.backoffice_urls,
    *reports.backoffice_urls,
]

portal = [
    *accounts.portal_urls,
    *onboarding.portal_urls,
    *notifications.portal_urls,
    *wallet.portal_urls,
    *challenges.portal_urls,
]

urlpatterns = [
    *accounts.urlpatterns,
    path("backoffice/", include((backoffice, "backoffice"))),
    path("portal/", include((portal, "portal"))),
    path("terminal/", include((platforms.terminal_urls, "terminal"))),
    *onboarding.urlpatterns,
    *challenges.urlpatterns,
    *wallet.urlpatterns,
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language chooser
]
