"""People's pages: logging in and out, the client's home, and the back office's clients, staff
users, roles, two-factor login and audit log."""

from django.urls import path, re_path

from propdesk.accounts import login, portal
from propdesk.accounts import recovery_views as recovery
from propdesk.accounts.backoffice import audit, clients, security, staff
from propdesk.accounts.backoffice import groups as client_groups
from propdesk.accounts.backoffice import referrals as referral_pages

# At the site's root.
urlpatterns = [
    path("", login.home, name="home"),
    path("login/", login.login_view, name="login"),
    path("login/code/", login.login_code, name="login_code"),
    path("logout/", login.logout_view, name="logout"),
    # Account recovery (docs/authentication-recovery.md).
    path("login/forgot/", recovery.password_forgot, name="password_forgot"),
    path("login/forgot/sent/", recovery.password_forgot_sent, name="password_forgot_sent"),
    path("login/reset/<str:uidb64>/<str:token>/", recovery.password_reset, name="password_reset"),
    path("login/verify/again/", recovery.verification_again, name="verification_again"),
    path("login/verify/sent/", recovery.verification_sent, name="verification_sent"),
    path("login/verify/<str:token>/", recovery.verify_email, name="verify_email"),
]

# Under /backoffice/.
backoffice_urls = [
    path("clients/", clients.clients, name="clients"),
    path("clients/<int:client_id>/", clients.client_detail, name="client"),
    path("clients/<int:client_id>/notes/", clients.client_note, name="client_note"),
    re_path(
        r"^clients/(?P<client_id>[0-9]+)/(?P<action>suspend|reactivate)/$",
        clients.client_status,
        name="client_status",
    ),
    # The referral tree.
    path(
        "clients/<int:client_id>/downline/",
        referral_pages.client_downline,
        name="client_downline",
    ),
    path(
        "clients/<int:client_id>/move-referrer/",
        referral_pages.client_move_referrer,
        name="client_move_referrer",
    ),
    path("growth/referral-tree/", referral_pages.referral_tree, name="referral_tree"),
    # Client groups (Settings > Client groups; a client's group; many clients moved at once).
    path("clients/move-to-group/", client_groups.clients_assign, name="clients_assign"),
    path(
        "clients/<int:client_id>/group/",
        client_groups.client_group_assign,
        name="client_group_assign",
    ),
    path("client-groups/", client_groups.client_groups, name="client_groups"),
    path("client-groups/new/", client_groups.client_group_edit, name="client_group_new"),
    path(
        "client-groups/<int:group_id>/",
        client_groups.client_group_edit,
        name="client_group_edit",
    ),
    path(
        "client-groups/<int:group_id>/default/",
        client_groups.client_group_default,
        name="client_group_default",
    ),
    path(
        "client-groups/<int:group_id>/delete/",
        client_groups.client_group_delete,
        name="client_group_delete",
    ),
    path("client-groups/rules/new/", client_groups.group_rule_edit, name="group_rule_new"),
    path(
        "client-groups/rules/<int:rule_id>/",
        client_groups.group_rule_edit,
        name="group_rule_edit",
    ),
    path(
        "client-groups/rules/<int:rule_id>/delete/",
        client_groups.group_rule_delete,
        name="group_rule_delete",
    ),
    path("staff/", staff.staff, name="staff"),
    path("staff/<int:user_id>/", staff.staff_edit, name="staff_edit"),
    path(
        "staff/<int:user_id>/reset-two-factor/",
        staff.staff_reset_two_factor,
        name="staff_reset_two_factor",
    ),
    path("account/password/", recovery.backoffice_password, name="password"),
    path("account/security/", security.security, name="security"),
    path("account/security/begin/", security.begin, name="security_begin"),
    path("account/security/confirm/", security.confirm, name="security_confirm"),
    path("account/security/recovery-codes/", security.regenerate, name="security_regenerate"),
    path("account/security/disable/", security.disable, name="security_disable"),
    path("roles/", staff.roles, name="roles"),
    path("roles/new/", staff.role_edit, name="role_new"),
    path("roles/<int:role_id>/", staff.role_edit, name="role_edit"),
    path("audit/", audit.audit_log, name="audit"),
]

# Under /portal/.
portal_urls = [
    path("", portal.home, name="home"),
    path("profile/", portal.profile, name="profile"),
    path("profile/password/", recovery.portal_password, name="password"),
]
