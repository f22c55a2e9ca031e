"""Back office > Settings > Background jobs."""

from django.urls import path

from propdesk.jobs import backoffice

# Under /backoffice/.
backoffice_urls = [
    path("settings/background-jobs/", backoffice.jobs, name="jobs"),
    path("settings/background-jobs/<uuid:job_id>/", backoffice.job, name="job"),
    path(
        "settings/background-jobs/<uuid:job_id>/retry/",
        backoffice.job_retry,
        name="job_retry",
    ),
    path(
        "settings/background-jobs/<uuid:job_id>/dismiss/",
        backoffice.job_dismiss,
        name="job_dismiss",
    ),
]
