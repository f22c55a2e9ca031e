"""The portal's pay step: a checkout on another site is a link the client follows (the portal's
`form-action 'self'` would stop a form's redirect there); the sandbox's own page is redirected
to as before."""

from __future__ import annotations

import pytest

from propdesk.wallet import deposits, provider_settings
from propdesk.wallet.providers.fakes.stripe import FakeStripe
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db(transaction=True)

SECRET_KEY = "sk_test_propdesk_pay_step"


def test_a_checkout_on_another_site_is_a_link_not_a_redirect_after_the_form(
    live_server, settings, admin, active_client
):
    settings.PROPDESK_SITE_URL = live_server.url
    with FakeStripe(secret_key=SECRET_KEY, rate_limit=0) as fake:
        provider_settings.save(
            "stripe",
            enabled=True,
            given={"secret_key": SECRET_KEY, "webhook_secret": "whsec_x", "api_base": fake.url},
            actor=admin,
        )
        card = deposits.save_payment_method(
            None,
            name="Card (Stripe)",
            kind="online",
            provider="stripe",
            currencies=["USD"],
            min_amount="10",
            max_amount="5000",
            actor=admin,
        )
        browser = logged_in(active_client.user)
        made = deposits.request_deposit(
            active_client, method=card.pk, amount="120.00", currency="USD"
        )
        answer = post_form(browser, f"/portal/pay/{made.checkout_token}/", {})
        assert answer.status_code == 200
        page = answer.content.decode()
        assert 'id="continue-to-payment"' in page
        assert fake.url + "/c/pay/cs_" in page


def test_the_sandbox_checkout_on_our_own_site_is_still_redirected_to(
    live_server, settings, active_client, sandbox_card
):
    settings.PROPDESK_SITE_URL = "http://testserver"
    browser = logged_in(active_client.user)
    made = deposits.request_deposit(
        active_client, method=sandbox_card.pk, amount="120.00", currency="USD"
    )
    answer = browser.get(f"/portal/pay/{made.checkout_token}/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("http://testserver/")
