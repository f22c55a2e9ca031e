"""Emails are stored as identifiers since the text cleaning (core.text.email_key: NFKC, no
invisible characters, lowercased), and logins look them up that way. Addresses stored before as
typed (full-width letters from an input method, a soft hyphen) are rewritten to that form, or
their owners could no longer log in and someone could register the same mailbox again. Two
accounts whose addresses meet in one form are both left as they are, for staff to sort out."""

import unicodedata

from django.db import migrations

_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def email_key(text):
    text = unicodedata.normalize("NFKC", text)
    kept = (ch for ch in text if ch not in _INVISIBLE_LETTERS and unicodedata.category(ch) != "Cf")
    return "".join(kept).strip().lower()


def normalise(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    wanted = {}
    for pk, email in User.objects.values_list("pk", "email"):
        wanted.setdefault(email_key(email), []).append((pk, email))
    for key, owners in wanted.items():
        if len(owners) != 1 or len(key) > 254:
            continue  # two accounts meet in one form (or it would not fit): left for staff
        ((pk, email),) = owners
        if email != key:
            User.objects.filter(pk=pk).update(email=key)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_two_factor")]

    operations = [migrations.RunPython(normalise, migrations.RunPython.noop)]
