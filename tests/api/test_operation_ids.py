"""The OpenAPI operation ids that clients generate code from do not move with the modules: these
are the ids published before the challenges and the reports moved into packages and apps."""

from propdesk.api import api

BEFORE = {
    ("get", "/api/v1/challenges"): "propdesk_challenges_api_listing",
    ("post", "/api/v1/challenges"): "propdesk_challenges_api_create",
    ("get", "/api/v1/challenges/{challenge_id}"): "propdesk_challenges_api_detail",
    ("put", "/api/v1/challenges/{challenge_id}/draft"): "propdesk_challenges_api_save_draft",
    ("post", "/api/v1/challenges/{challenge_id}/duplicate"): "propdesk_challenges_api_duplicate",
    ("post", "/api/v1/challenges/{challenge_id}/end"): "propdesk_challenges_api_end",
    ("post", "/api/v1/challenges/{challenge_id}/participations"): "propdesk_challenges_api_start",
    ("post", "/api/v1/challenges/{challenge_id}/publish"): "propdesk_challenges_api_publish",
    ("get", "/api/v1/participants"): "propdesk_challenges_api_participants_listing",
    ("get", "/api/v1/participations"): "propdesk_challenges_api_my_participations",
    ("get", "/api/v1/participations/{participation_id}"): (
        "propdesk_challenges_api_my_participation"
    ),
    ("get", "/api/v1/reports/transactions"): "propdesk_wallet_api_transactions_report",
    ("get", "/api/v1/kyc/forms"): "propdesk_onboarding_kyc_api_forms",
    ("post", "/api/v1/kyc"): "propdesk_onboarding_kyc_api_submit",
    ("get", "/api/v1/kyc"): "propdesk_onboarding_kyc_api_status",
    ("post", "/api/v1/auth/register"): "propdesk_onboarding_api_register",
    ("post", "/api/v1/auth/token"): "propdesk_onboarding_api_token",
    ("delete", "/api/v1/auth/token"): "propdesk_onboarding_api_revoke_token",
}


def test_operations_keep_the_ids_they_were_published_with_when_their_module_moves():
    paths = api.get_openapi_schema()["paths"]
    now = {key: paths[key[1]][key[0]]["operationId"] for key in BEFORE}
    assert now == BEFORE
