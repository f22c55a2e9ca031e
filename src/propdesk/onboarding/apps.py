from django.apps import AppConfig
from django.utils.translation import gettext_noop


class OnboardingConfig(AppConfig):
    name = "propdesk.onboarding"
    label = "onboarding"

    def ready(self) -> None:
        from propdesk.approvals.permissions import APPROVALS_VIEW
        from propdesk.core import menu, panels, vault
        from propdesk.jobs import housekeeping
        from propdesk.onboarding import (  # noqa: F401  (registers the codes and the types)
            backoffice,
            kept_uploads,
            permissions,
            request_types,
        )
        from propdesk.onboarding.permissions import KYC_REVIEW

        for field in ("sealed_app_token", "sealed_secret_key", "sealed_webhook_secret"):
            vault.register("onboarding.KycVendorSettings", field)
        housekeeping.register("onboarding.discard_kept_uploads", every=housekeeping.HOUR)(
            kept_uploads.sweep
        )

        menu.link(
            menu.BACKOFFICE,
            section="settings",
            label="KYC",
            url="backoffice:kyc_settings",
            order=20,
            permission=APPROVALS_VIEW,
        )
        menu.link(menu.PORTAL, label=gettext_noop("Identity"), url="portal:kyc", order=60)
        panels.register(
            panels.CLIENT,
            key="kyc",
            template="onboarding/client_panel.html",
            context=backoffice.client_panel,
            order=40,
            permission=KYC_REVIEW,
            title="KYC",
        )
