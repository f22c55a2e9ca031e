"""Review of issue 13 (behaviour unchanged): Settings > KYC answered an invalid policy POST with
200 (its page with the form's error) at 0d0c76b; edit_form made it 422."""

from propdesk.accounts.models import Role
from tests.conftest import logged_in, post_form


def test_an_invalid_kyc_policy_post_answers_as_before(admin):
    Role.objects.filter(pk=admin.role_id).update(requires_two_factor=False)
    http = logged_in(admin)
    response = post_form(http, "/backoffice/settings/kyc/", {"blocked_actions": ["no_such_action"]})
    assert response.status_code == 200
    assert b"no_such_action" in response.content
