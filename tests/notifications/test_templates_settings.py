"""Settings > Notifications: staff with the permission write the firm's wording of an event per
language (checked, audited), preview it with the event's sample values in that language and
reset it to the default; emit() then tells clients in the firm's words."""

from __future__ import annotations

import pytest

from propdesk.core.audit import AuditAction
from propdesk.core.errors import Forbidden, ValidationFailed
from propdesk.core.models import AuditRecord
from propdesk.notifications import events, firm_templates
from propdesk.notifications.models import Notification, NotificationTemplate
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db

PAGE = "/backoffice/settings/notifications/"
DEPOSIT_ES = f"{PAGE}deposit.approved/es/"


def test_the_list_shows_every_event_by_group_and_whose_wording_each_language_uses(admin):
    firm_templates.save_template(
        "deposit.approved", "es", "Depósito {{ amount }}", "Hola {{ client_name }}", actor=admin
    )
    page = logged_in(admin).get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    for key in events.CATALOGUE:
        assert f'data-event="{key}"' in html
    for group in ("Account", "Money", "Challenge", "Alerts"):
        assert f'data-group="{group}"' in html
    row = html[html.index('data-event="deposit.approved"') :]
    row = row[: row.index("</tr>")]
    english, spanish = row.split('data-language="en"')[1].split('data-language="es"')
    assert "Default" in english
    assert "Own" in spanish


def test_a_client_and_staff_without_the_permission_are_refused(active_client, support, finance):
    assert logged_in(active_client.user).get(PAGE).status_code == 403
    assert logged_in(finance).get(PAGE).status_code == 403  # Finance holds neither permission
    assert logged_in(finance).get(DEPOSIT_ES).status_code == 403
    # Support may read the templates, not change them.
    assert logged_in(support).get(DEPOSIT_ES).status_code == 200
    response = post_form(logged_in(support), DEPOSIT_ES, {"subject": "Hi", "body": "Hello"})
    assert response.status_code == 403
    assert logged_in(support).get(f"{DEPOSIT_ES}reset/").status_code == 403
    with pytest.raises(Forbidden):
        firm_templates.save_template("deposit.approved", "es", "Hi", "Hello", actor=support)
    assert not NotificationTemplate.objects.exists()


def test_an_unknown_event_or_language_is_not_found(admin):
    http = logged_in(admin)
    assert http.get(f"{PAGE}no.such/en/").status_code == 404
    assert http.get(f"{PAGE}deposit.approved/fr/").status_code == 404
    assert (
        post_form(http, f"{PAGE}no.such/en/preview/", {"subject": "a", "body": "b"}).status_code
        == 404
    )
    assert http.get(f"{PAGE}deposit.approved/xx/reset/").status_code == 404


def test_saving_writes_the_firms_template_and_an_audit_row(admin):
    response = post_form(
        logged_in(admin),
        DEPOSIT_ES,
        {
            "subject": "Depósito de {{ amount }} aprobado",
            "body": "Hola {{ client_name }},\r\nlisto.",
        },
    )
    assert response.status_code == 302
    saved = NotificationTemplate.objects.get(event="deposit.approved", language="es")
    assert (saved.subject, saved.body, saved.updated_by) == (
        "Depósito de {{ amount }} aprobado",
        "Hola {{ client_name }},\nlisto.",
        admin,
    )
    record = AuditRecord.objects.get(action=AuditAction.NOTIFICATION_TEMPLATE_SAVE)
    assert (record.actor, record.object_id) == (admin, "deposit.approved/es")
    assert record.before is None
    assert record.after["subject"] == saved.subject


def test_saving_again_replaces_the_firms_wording_and_the_audit_keeps_both(admin):
    firm_templates.save_template("deposit.approved", "en", "First", "One", actor=admin)
    firm_templates.save_template("deposit.approved", "en", "Second", "Two", actor=admin)
    saved = NotificationTemplate.objects.get()
    assert (saved.subject, saved.body) == ("Second", "Two")
    last = AuditRecord.objects.filter(action=AuditAction.NOTIFICATION_TEMPLATE_SAVE).latest("id")
    assert (last.before["subject"], last.after["subject"]) == ("First", "Second")


@pytest.mark.parametrize(
    ("subject", "body", "field", "said"),
    [
        ("Hi {{ nope }}", "Hello", "subject", "Unknown placeholder: nope"),
        ("Hi", "Hello {{ password }}", "body", "Unknown placeholder: password"),
        ("", "Hello", "subject", "Write a subject"),
        ("Hi", "   ", "body", "Write a body"),
        ("Hi\nthere", "Hello", "subject", "one line"),
        ("x" * 201, "Hello", "subject", "at most 200"),
        ("Hi", "x" * 10_001, "body", "at most 10,000"),
    ],
)
def test_a_bad_template_is_refused_with_its_field_error_and_nothing_is_saved(
    admin, subject, body, field, said
):
    firm_templates.save_template("deposit.approved", "es", "Before", "Before", actor=admin)
    with pytest.raises(ValidationFailed) as refused:
        firm_templates.save_template("deposit.approved", "es", subject, body, actor=admin)
    assert said in refused.value.fields[field]
    response = post_form(logged_in(admin), DEPOSIT_ES, {"subject": subject, "body": body})
    assert response.status_code == 422
    assert said in response.content.decode()
    saved = NotificationTemplate.objects.get(event="deposit.approved", language="es")
    assert (saved.subject, saved.body) == ("Before", "Before")
    assert AuditRecord.objects.filter(action=AuditAction.NOTIFICATION_TEMPLATE_SAVE).count() == 1


def test_the_edit_page_lists_the_events_placeholders(admin):
    html = logged_in(admin).get(DEPOSIT_ES).content.decode()
    for name in events.CATALOGUE["deposit.approved"].placeholders:
        assert f'data-placeholder="{name}"' in html
    assert "<script>" not in html
    assert " style=" not in html


def test_the_preview_fills_the_unsaved_wording_with_sample_values_in_spanish(admin):
    wording = {
        "subject": "Su depósito de {{ amount }} {{ currency }}",
        "body": "Hola {{ client_name }},\nreferencia {{ reference }}.",
    }
    http = logged_in(admin)
    http.get("/login/")
    token = {"csrfmiddlewaretoken": http.cookies["csrftoken"].value}
    fragment = http.post(f"{DEPOSIT_ES}preview/", {**wording, **token}, HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert fragment.status_code == 200
    assert "Su depósito de 1" in html
    assert "000,00 USD" in html
    assert "Hola Lena Fischer,<br>referencia DEP-5120." in html
    assert not NotificationTemplate.objects.exists()  # a preview saves nothing
    # Without scripts: the whole page, the form as typed.
    page = post_form(http, f"{DEPOSIT_ES}preview/", wording)
    assert page.status_code == 200
    assert "000,00 USD" in page.content.decode()
    assert "referencia {{ reference }}" in page.content.decode()


def test_the_preview_shows_why_a_wording_would_be_refused(admin):
    page = post_form(logged_in(admin), f"{DEPOSIT_ES}preview/", {"subject": "{{ x }}", "body": "b"})
    assert page.status_code == 422
    assert "Unknown placeholder: x" in page.content.decode()


def test_reset_asks_first_then_brings_the_default_back(admin):
    firm_templates.save_template(
        "deposit.approved", "en", "Money {{ amount }}", "Ours", actor=admin
    )
    http = logged_in(admin)
    question = http.get(f"{PAGE}deposit.approved/en/reset/")
    assert question.status_code == 200
    assert b"Reset to the default" in question.content
    assert NotificationTemplate.objects.exists()  # asking changes nothing
    assert post_form(http, f"{PAGE}deposit.approved/en/reset/", {}).status_code == 302
    assert not NotificationTemplate.objects.exists()
    subject, _, own = events.wording("deposit.approved", "en")
    assert not own
    assert subject == "Your deposit of {{ amount }} {{ currency }} was approved"
    record = AuditRecord.objects.get(action=AuditAction.NOTIFICATION_TEMPLATE_RESET)
    assert record.before["body"] == "Ours"
    assert record.after is None
    assert firm_templates.reset_template("deposit.approved", "en", actor=admin) is False


def test_emit_uses_the_firms_template_in_the_clients_language(admin, active_client):
    user = active_client.user
    user.language = "es"
    user.save(update_fields=["language"])
    firm_templates.save_template(
        "kyc.approved",
        "es",
        "Identidad verificada",
        "Hola {{ client_name }}: {{ reference }}.",
        actor=admin,
    )
    firm_templates.save_template("kyc.approved", "en", "Verified", "Hi", actor=admin)
    note = events.emit("kyc.approved", user=user, data={"reference": "KYC-9"})
    assert (note.title, note.body) == ("Identidad verificada", f"Hola {user.name}: KYC-9.")
    firm_templates.reset_template("kyc.approved", "es", actor=admin)
    again = events.emit("kyc.approved", user=user, data={"reference": "KYC-9"})
    assert again.title != "Identidad verificada"  # the default, translated
    assert Notification.objects.filter(user=user, event="kyc.approved").count() == 2


def test_html_in_a_template_is_shown_as_text_in_the_preview_and_the_portal(admin, active_client):
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    wording = {"subject": "Hi {{ reference }}", "body": f"{hostile}\n{{{{ reference }}}}"}
    preview = post_form(logged_in(admin), f"{PAGE}kyc.approved/en/preview/", wording)
    assert hostile not in preview.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview.content.decode()
    firm_templates.save_template("kyc.approved", "en", actor=admin, **wording)
    events.emit("kyc.approved", user=active_client.user, data={"reference": "<b>KYC</b>"})
    portal = logged_in(active_client.user)
    for path in ("/portal/", "/portal/notifications/"):
        html = portal.get(path).content.decode()
        assert hostile not in html
        assert "<b>KYC</b>" not in html
        assert "&lt;b&gt;KYC&lt;/b&gt;" in html
