from django.urls import include, path, re_path

from propdesk.accounts import portal_views, security_views
from propdesk.accounts import views as accounts_views
from propdesk.api import api
from propdesk.approvals import views as approvals_views
from propdesk.challenges.catalogue import backoffice as challenges_views
from propdesk.challenges.participation import backoffice as challenges_participants
from propdesk.challenges.participation import portal as challenges_portal
from propdesk.core import views as core_views
from propdesk.jobs import views as jobs_views
from propdesk.onboarding import kyc_views
from propdesk.onboarding import views as onboarding_views
from propdesk.platforms import terminal
from propdesk.platforms import views as platforms_views
from propdesk.reports import prop_dashboard as challenges_dashboard
from propdesk.wallet import views as wallet_views

backoffice = (
    [
        path("", approvals_views.dashboard, name="dashboard"),
        path("approvals/", approvals_views.queue, {"scope": "todo"}, name="approvals_todo"),
        path("approvals/all/", approvals_views.queue, {"scope": "all"}, name="approvals_all"),
        path("approvals/queue/<slug:scope>/", approvals_views.queue, name="approvals_queue"),
        path("approvals/<int:request_id>/", approvals_views.review, name="approval_review"),
        path(
            "approvals/<int:request_id>/approve/", approvals_views.approve, name="approval_approve"
        ),
        path("approvals/<int:request_id>/reject/", approvals_views.reject, name="approval_reject"),
        path("approvals/<int:request_id>/note/", approvals_views.add_note, name="approval_note"),
        path("clients/", accounts_views.clients, name="clients"),
        path("clients/<int:client_id>/", accounts_views.client_detail, name="client"),
        re_path(
            r"^clients/(?P<client_id>[0-9]+)/(?P<action>suspend|reactivate)/$",
            accounts_views.client_status,
            name="client_status",
        ),
        path("settings/approval-methods/", approvals_views.policies, name="policies"),
        path(
            "settings/approval-methods/<slug:type_key>/",
            approvals_views.policy_edit,
            name="policy_edit",
        ),
        path("staff/", accounts_views.staff, name="staff"),
        path("staff/<int:user_id>/", accounts_views.staff_edit, name="staff_edit"),
        path(
            "staff/<int:user_id>/reset-two-factor/",
            accounts_views.staff_reset_two_factor,
            name="staff_reset_two_factor",
        ),
        path("account/security/", security_views.security, name="security"),
        path("account/security/begin/", security_views.begin, name="security_begin"),
        path("account/security/confirm/", security_views.confirm, name="security_confirm"),
        path(
            "account/security/recovery-codes/",
            security_views.regenerate,
            name="security_regenerate",
        ),
        path("account/security/disable/", security_views.disable, name="security_disable"),
        path("roles/", accounts_views.roles, name="roles"),
        path("roles/new/", accounts_views.role_edit, name="role_new"),
        path("roles/<int:role_id>/", accounts_views.role_edit, name="role_edit"),
        path("audit/", core_views.audit_log, name="audit"),
        path("settings/background-jobs/", jobs_views.jobs, name="jobs"),
        path("settings/background-jobs/<uuid:job_id>/", jobs_views.job, name="job"),
        path(
            "settings/background-jobs/<uuid:job_id>/retry/",
            jobs_views.job_retry,
            name="job_retry",
        ),
        path(
            "settings/background-jobs/<uuid:job_id>/dismiss/",
            jobs_views.job_dismiss,
            name="job_dismiss",
        ),
        path("clients/<int:client_id>/adjust/", wallet_views.adjust, name="wallet_adjust"),
        path("settings/kyc/", kyc_views.kyc_settings, name="kyc_settings"),
        path("settings/payment-methods/", wallet_views.payment_methods, name="payment_methods"),
        path(
            "reports/transactions/",
            wallet_views.transactions_report,
            name="transactions_report",
        ),
        path(
            "settings/payment-methods/new/",
            wallet_views.payment_method_edit,
            name="payment_method_new",
        ),
        path(
            "settings/payment-methods/<int:method_id>/",
            wallet_views.payment_method_edit,
            name="payment_method_edit",
        ),
        path("settings/kyc/forms/new/", kyc_views.kyc_form_edit, name="kyc_form_new"),
        path("settings/kyc/forms/<int:form_id>/", kyc_views.kyc_form_edit, name="kyc_form_edit"),
        path(
            "settings/trading-platforms/",
            platforms_views.trading_servers,
            name="trading_servers",
        ),
        path(
            "settings/trading-platforms/new/",
            platforms_views.trading_server_edit,
            name="trading_server_new",
        ),
        path(
            "settings/trading-platforms/<int:server_id>/",
            platforms_views.trading_server_edit,
            name="trading_server_edit",
        ),
        path(
            "settings/trading-platforms/sandbox-instruments/",
            platforms_views.sandbox_instruments,
            name="sandbox_instruments",
        ),
        path(
            "settings/trading-platforms/sandbox-instruments/<str:symbol>/",
            platforms_views.sandbox_instrument_edit,
            name="sandbox_instrument_edit",
        ),
        path("trading/accounts/", platforms_views.trading_accounts, name="trading_accounts"),
        path(
            "trading/accounts/<str:login>/",
            platforms_views.trading_account,
            name="trading_account",
        ),
        re_path(
            r"^trading/accounts/(?P<login>[^/]+)/(?P<action>disable|enable)/$",
            platforms_views.trading_account_status,
            name="trading_account_status",
        ),
        path(
            "trading/accounts/<str:login>/balance/",
            platforms_views.trading_account_balance,
            name="trading_account_balance",
        ),
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
    ],
    "backoffice",
)

portal = (
    [
        path("", portal_views.home, name="home"),
        path("register/", onboarding_views.register, name="register"),
        path("register/done/", onboarding_views.registered, name="registered"),
        path("notifications/", portal_views.notifications, name="notifications"),
        path("kyc/", kyc_views.kyc_home, name="kyc"),
        path("wallet/", wallet_views.wallet, name="wallet"),
        path("wallet/deposit/", wallet_views.deposit, name="deposit"),
        path("wallet/withdraw/", wallet_views.withdraw, name="withdraw"),
        path("kyc/<int:form_id>/", kyc_views.kyc_submit, name="kyc_submit"),
        path("notifications/read/", portal_views.notifications_read, name="notifications_read"),
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
    ],
    "portal",
)

urlpatterns = [
    path("", core_views.home, name="home"),
    path("login/", core_views.login_view, name="login"),
    path("login/code/", core_views.login_code, name="login_code"),
    path("logout/", core_views.logout_view, name="logout"),
    path("backoffice/", include(backoffice)),
    path("portal/", include(portal)),
    path("terminal/", include((terminal.urlpatterns, "terminal"))),
    path("documents/kyc/<uuid:token>/", kyc_views.kyc_document, name="kyc_document"),
    path("pay/sandbox/<uuid:token>/", wallet_views.sandbox_checkout, name="sandbox_checkout"),
    path("webhooks/sandbox-payments/", wallet_views.sandbox_webhook, name="sandbox_webhook"),
    path("api/v1/", api.urls),
]
