"""A Python client generated from our OpenAPI (openapi-python-client) builds, and does the
go-live guide against a running server (pytest-django's live server, a real HTTP server on
the test database): every call through the generated functions and models."""

from __future__ import annotations

from types import ModuleType

import pytest

from propdesk.api import api as propdesk_api
from propdesk.challenges.models import Participation
from tests.api import go_live
from tests.challenges.factories import pass_stage
from tests.conftest import PASSWORD
from tests.onboarding.factories import png_bytes
from tests.support import carry_out_platform_commands


@pytest.fixture(scope="session")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """Generated once per session (a few seconds), from the schema the server publishes."""
    schema = propdesk_api.get_openapi_schema()
    return go_live.generate_client(schema, tmp_path_factory.mktemp("generated_client"))


def pass_current_stage(participation_id: int) -> None:
    attempt = Participation.objects.get(pk=participation_id).current_attempt()
    assert attempt is not None
    pass_stage(attempt)


@pytest.mark.django_db(transaction=True)
def test_the_generated_client_takes_a_trader_through_the_go_live_guide(
    generated_client, live_server, admin, kyc_form, bank_transfer
):
    went = go_live.walk_through(
        generated_client,
        live_server.url,
        go_live.GoLive(
            staff_email=admin.email,
            staff_password=PASSWORD,
            document=("passport.png", png_bytes(), "image/png"),
            carry_out_commands=carry_out_platform_commands,
            pass_stage=pass_current_stage,
        ),
    )
    joined = Participation.objects.get(pk=went.participation_id)
    assert joined.client.user.email == went.trader_email
    assert joined.current_attempt().login == went.live_login


def test_every_operation_of_the_schema_is_in_the_generated_client(generated_client):
    schema = propdesk_api.get_openapi_schema()
    published = {
        operation["operationId"]
        for methods in schema["paths"].values()
        for operation in methods.values()
    }
    client = go_live.Api(generated_client, "http://127.0.0.1")
    for operation_id in published:
        assert client.operation(operation_id).sync_detailed is not None
