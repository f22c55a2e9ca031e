"""The wallet: the client's in the portal, staff adjustments, Settings > Payment methods and the
sandbox payment provider's checkout and webhook."""

from django.urls import path

from propdesk.wallet import api, backoffice, payments_backoffice, portal

# At the site's root: the sandbox payment provider's own pages.
urlpatterns = [
    path("pay/sandbox/<uuid:token>/", portal.sandbox_checkout, name="sandbox_checkout"),
    path("webhooks/sandbox-payments/", api.sandbox_webhook, name="sandbox_webhook"),
    path("webhooks/payments/<slug:kind>/", api.payment_webhook, name="payment_webhook"),
]

# Under /backoffice/.
backoffice_urls = [
    path("clients/<int:client_id>/adjust/", backoffice.adjust, name="wallet_adjust"),
    path("settings/payment-methods/", backoffice.payment_methods, name="payment_methods"),
    path("settings/payment-providers/", payments_backoffice.providers, name="payment_providers"),
    path(
        "settings/payment-providers/<slug:kind>/",
        payments_backoffice.provider_edit,
        name="payment_provider",
    ),
    path("finance/payments/", payments_backoffice.payment_list, name="payments"),
    path(
        "finance/payments/<int:payment_id>/",
        payments_backoffice.payment_detail,
        name="payment_detail",
    ),
    path(
        "finance/payments/<int:payment_id>/refund/",
        payments_backoffice.payment_refund,
        name="payment_refund",
    ),
    path(
        "finance/payments/<int:payment_id>/refunds/<int:refund_id>/cancel/",
        payments_backoffice.payment_refund_cancel,
        name="payment_refund_cancel",
    ),
    path(
        "finance/payments/<int:payment_id>/sandbox/",
        payments_backoffice.sandbox_control,
        name="payment_sandbox",
    ),
    path(
        "settings/payment-methods/new/",
        backoffice.payment_method_edit,
        name="payment_method_new",
    ),
    path(
        "settings/payment-methods/<int:method_id>/",
        backoffice.payment_method_edit,
        name="payment_method_edit",
    ),
]

# Under /portal/.
portal_urls = [
    path("wallet/", portal.wallet, name="wallet"),
    path("wallet/deposit/", portal.deposit, name="deposit"),
    path("pay/<uuid:token>/", portal.pay, name="pay"),
    path("wallet/deposits/<int:deposit_id>/", portal.deposit_detail, name="deposit_detail"),
    path("wallet/withdraw/", portal.withdraw, name="withdraw"),
    path(
        "wallet/withdrawals/<int:withdrawal_id>/",
        portal.withdrawal_detail,
        name="withdrawal_detail",
    ),
]
