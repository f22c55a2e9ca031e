"""The demo's notifications: alerts switched on for its challenges (warnings at 80% of a loss
limit, three days before a period ends, after five days without a trade) and the firm's own
wording of one event in both languages, so that *Settings > Notifications* shows an "Own"
template beside the defaults. Sofía Ramírez (`sofia@example.com`) reads the portal and her
emails in Spanish (her failed stage among them): see demo.PARTICIPANTS."""

from __future__ import annotations

from collections.abc import Iterable

from propdesk.accounts.models import User
from propdesk.challenges.catalogue import alert_settings
from propdesk.challenges.models import Challenge
from propdesk.notifications import firm_templates

ALERTS = {
    "daily_loss_percent": 80,
    "max_loss_percent": 80,
    "period_end_days": 3,
    "inactivity_days": 5,
}

PASSED = {
    "en": (
        "Well done, {{ client_name }}: {{ stage }} passed",
        "Congratulations, {{ client_name }}!\n\n"
        "You passed {{ stage }} of {{ challenge }} on account {{ login }}. Our team will be in "
        "touch about what comes next; you can follow it in the portal:\n{{ portal_url }}\n\n"
        "{{ firm_name }}",
    ),
    "es": (
        "Bien hecho, {{ client_name }}: superó {{ stage }}",
        "¡Felicidades, {{ client_name }}!\n\n"
        "Superó {{ stage }} de {{ challenge }} en la cuenta {{ login }}. Nuestro equipo le "
        "contactará sobre el siguiente paso; puede seguirlo en el portal:\n{{ portal_url }}\n\n"
        "{{ firm_name }}",
    ),
}


def seed(admin: User, challenges: Iterable[Challenge]) -> None:
    for challenge in challenges:
        alert_settings.set_alerts(challenge.pk, ALERTS, actor=admin)
    for language, (subject, body) in PASSED.items():
        firm_templates.save_template("stage.passed", language, subject, body, actor=admin)
