"""The client's page says which promotional link the client registered through."""

from __future__ import annotations

import pytest

from tests.conftest import logged_in

pytestmark = pytest.mark.django_db


def page_of(client, staff):
    return logged_in(staff).get(f"/backoffice/clients/{client.pk}/").content.decode()


def test_the_client_page_shows_the_promotional_link_they_came_by(register, support):
    client, _ = register(arrived_via="SPRING-24")
    assert "<code>SPRING-24</code>" in page_of(client, support)


def test_a_client_who_came_by_no_link_shows_none(register, support):
    client, _ = register()
    text = page_of(client, support)
    assert "<dd data-arrived-via>—</dd>" in text


def test_a_hostile_link_code_is_never_kept_nor_shown(register, support):
    client, _ = register(arrived_via="<script>alert(1)</script>")
    assert client.arrived_via == ""
    assert "<script>alert(1)" not in page_of(client, support)
