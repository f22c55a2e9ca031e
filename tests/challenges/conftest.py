"""What the challenge tests share."""

from __future__ import annotations

import pytest

from propdesk.challenges.catalogue import services as catalogue
from tests.challenges.factories import definition


@pytest.fixture
def challenge(admin):
    """The 2-step challenge of test_catalogue, published."""
    made = catalogue.create(definition(), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return made
