"""The site's URLs: each app's own, put together. Names are global within their namespace
(`backoffice:`, `portal:`, `terminal:`, `api:`, or none at the root) and paths are the apps' own."""

from django.urls import include, path

from propdesk.accounts import urls as accounts
from propdesk.api import api
from propdesk.approvals import urls as approvals
from propdesk.challenges import dashboard as challenges_dashboard
from propdesk.challenges import participants as challenges_participants
from propdesk.challenges import portal as challenges_portal
from propdesk.challenges import views as challenges_views
from propdesk.jobs import urls as jobs
from propdesk.notifications import urls as notifications
from propdesk.onboarding import urls as onboarding
from propdesk.platforms import urls as platforms
from propdesk.wallet import urls as wallet

# --- challenges (until challenges/urls.py) -------------------------------------------------------
challenges_backoffice = [
    path("prop-trading/challenges/", challenges_views.challenges, name="challenges"),
    path("prop-trading/challenges/new/", challenges_views.challenge_new, name="challenge_new"),
    path(
        "prop-trading/challenges/<int:challenge_id>/",
        challenges_views.challenge,
        name="challenge",
    ),
    path(
        "prop-trading/challenges/<int:challenge_id>/edit/",
        challenges_views.challenge_edit,
        name="challenge_edit",
    ),
    path(
        "prop-trading/challenges/<int:challenge_id>/publish/",
        challenges_views.challenge_publish,
        name="challenge_publish",
    ),
    path(
        "prop-trading/challenges/<int:challenge_id>/duplicate/",
        challenges_views.challenge_duplicate,
        name="challenge_duplicate",
    ),
    path(
        "prop-trading/challenges/<int:challenge_id>/end/",
        challenges_views.challenge_end,
        name="challenge_end",
    ),
    path(
        "prop-trading/participants/",
        challenges_participants.participants,
        name="participants",
    ),
    path(
        "prop-trading/participants/rows/",
        challenges_participants.participant_rows,
        name="participant_rows",
    ),
    path(
        "prop-trading/participants/<int:participation_id>/",
        challenges_participants.participant,
        name="participant",
    ),
    path(
        "prop-trading/participants/<int:participation_id>/figures/",
        challenges_participants.participant_figures,
        name="participant_figures",
    ),
    path(
        "prop-trading/participants/<int:participation_id>/advance/",
        challenges_participants.participant_advance,
        name="participant_advance",
    ),
    path(
        "prop-trading/participants/<int:participation_id>/reinstate/",
        challenges_participants.participant_reinstate,
        name="participant_reinstate",
    ),
    path(
        "prop-trading/participants/<int:participation_id>/retry/",
        challenges_participants.participant_retry,
        name="participant_retry",
    ),
    path(
        "prop-trading/participants/<int:participation_id>/cancel/",
        challenges_participants.participant_cancel,
        name="participant_cancel",
    ),
    path("prop-trading/dashboard/", challenges_dashboard.dashboard, name="prop_dashboard"),
]

challenges_portal_urls = [
    path("challenges/", challenges_portal.challenges, name="challenges"),
    path("challenges/<int:challenge_id>/", challenges_portal.challenge, name="challenge"),
    path("my-challenges/", challenges_portal.my_challenges, name="my_challenges"),
    path(
        "my-challenges/<int:participation_id>/",
        challenges_portal.my_challenge,
        name="my_challenge",
    ),
    path(
        "my-challenges/<int:participation_id>/figures/",
        challenges_portal.my_challenge_figures,
        name="my_challenge_figures",
    ),
]
# --- end of challenges ---------------------------------------------------------------------------

backoffice = [
    *approvals.backoffice_urls,
    *accounts.backoffice_urls,
    *jobs.backoffice_urls,
    *wallet.backoffice_urls,
    *onboarding.backoffice_urls,
    *platforms.backoffice_urls,
    *challenges_backoffice,
]

portal = [
    *accounts.portal_urls,
    *onboarding.portal_urls,
    *notifications.portal_urls,
    *wallet.portal_urls,
    *challenges_portal_urls,
]

urlpatterns = [
    *accounts.urlpatterns,
    path("backoffice/", include((backoffice, "backoffice"))),
    path("portal/", include((portal, "portal"))),
    path("terminal/", include((platforms.terminal_urls, "terminal"))),
    *onboarding.urlpatterns,
    *wallet.urlpatterns,
    path("api/v1/", api.urls),
]
