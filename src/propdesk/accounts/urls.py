"""People's pages: logging in and out, the client's home, and the back office's clients, staff
users, roles, two-factor login and audit log."""

from django.urls import path, re_path

from propdesk.accounts import login, portal
from propdesk.accounts.backoffice import audit, clients, security, staff
from propdesk.accounts.backoffice import referrals as referral_pages

# At the site's root.
urlpatterns = [
    path("", login.home, name="home"),
    path("login/", login.login_view, name="login"),
    path("login/code/", login.login_code, name="login_code"),
    path("logout/", login.logout_view, name="logout"),
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
    path("staff/", staff.staff, name="staff"),
    path("staff/<int:user_id>/", staff.staff_edit, name="staff_edit"),
    path(
        "staff/<int:user_id>/reset-two-factor/",
        staff.staff_reset_two_factor,
        name="staff_reset_two_factor",
    ),
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
]
