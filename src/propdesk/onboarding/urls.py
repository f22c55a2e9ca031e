"""Registering and identity verification (KYC): the portal's pages, the documents, and
Settings > KYC."""

from django.urls import path

from propdesk.onboarding import backoffice, portal, vendor_views

# At the site's root: a KYC document, for its client and for the staff who review it.
urlpatterns = [
    path("documents/kyc/<uuid:token>/", portal.kyc_document, name="kyc_document"),
    path("webhooks/kyc/sumsub/", vendor_views.webhook, name="kyc_vendor_webhook"),
]

# Under /backoffice/.
backoffice_urls = [
    path("settings/kyc/", backoffice.kyc_settings, name="kyc_settings"),
    path("settings/kyc/vendor/", vendor_views.vendor_settings, name="kyc_vendor"),
    path("settings/kyc/forms/new/", backoffice.kyc_form_edit, name="kyc_form_new"),
    path("settings/kyc/forms/<int:form_id>/", backoffice.kyc_form_edit, name="kyc_form_edit"),
]

# Under /portal/.
portal_urls = [
    path("register/", portal.register, name="register"),
    path("register/done/", portal.registered, name="registered"),
    path("kyc/", portal.kyc_home, name="kyc"),
    path("kyc/<int:form_id>/", portal.kyc_submit, name="kyc_submit"),
    path("kyc/vendor/", vendor_views.start, name="kyc_vendor_start"),
]
