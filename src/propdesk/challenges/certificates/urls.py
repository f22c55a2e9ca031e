"""Certificates' addresses: the public page and PDF at the site's root, the trader's download
under /portal/, staff's under /backoffice/ (put together by challenges.urls)."""

from django.urls import path

from propdesk.challenges.certificates import backoffice, portal

# At the root: anyone with the code.
urlpatterns = [
    path("certificates/<str:code>/", portal.certificate, name="certificate"),
    path("certificates/<str:code>/pdf/", portal.certificate_pdf, name="certificate_pdf"),
]

# Under /portal/.
portal_urls = [
    path(
        "certificates/<int:certificate_id>/pdf/",
        portal.my_certificate_pdf,
        name="my_certificate_pdf",
    ),
]

# Under /backoffice/.
backoffice_urls = [
    path(
        "prop-trading/certificates/<int:certificate_id>/pdf/",
        backoffice.certificate_pdf,
        name="certificate_pdf",
    ),
]
