"""The monitor now reads the account-event log, which the sandbox's ingestor fills from its
stream. Every event the stream holds is copied into the log under its own id, so every position
kept so far (the monitor's cursors, a stage's held_after, set_aside_after and concluded_after)
names the same event in the log; each sandbox server's ingest cursor starts after its last
copied event, and the log's ids go on after the largest copied one."""

from django.db import migrations
from django.db.models import Max


def copy_stream(apps, schema_editor):
    Event = apps.get_model("sandbox", "Event")
    Account = apps.get_model("sandbox", "Account")
    LoggedEvent = apps.get_model("platforms", "LoggedEvent")
    IngestCursor = apps.get_model("platforms", "IngestCursor")
    connection = schema_editor.connection
    log, event, account = (m._meta.db_table for m in (LoggedEvent, Event, Account))
    with connection.cursor() as cursor:
        # One statement, however long the stream: its ids and payloads as they are.
        cursor.execute(
            f"INSERT INTO {log} (id, server_id, login, payload, source) "  # noqa: S608  (our own tables' names)
            "SELECT e.id, a.server_id, a.login, e.payload, 'sandbox:' || CAST(e.id AS TEXT) "
            f"FROM {event} e JOIN {account} a ON a.id = e.account_id ORDER BY e.id"
        )
    last_by_server = Event.objects.values("account__server_id").annotate(last=Max("id")).order_by()
    for row in last_by_server:
        cursor_row, _ = IngestCursor.objects.get_or_create(server_id=row["account__server_id"])
        cursor_row.position = {**cursor_row.position, "stream": row["last"]}
        cursor_row.save()
    if connection.vendor == "postgresql":
        _ids_after_the_copy(connection, log)


def _ids_after_the_copy(connection, log):
    """PostgreSQL's id sequence knew nothing of the ids given: move it past them (never back)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {log}")  # noqa: S608
        (largest,) = cursor.fetchone()
        if not largest:
            return
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [log])
        (sequence,) = cursor.fetchone()
        cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
        last, called = cursor.fetchone()
        if largest > (last if called else last - 1):
            cursor.execute("SELECT setval(%s, %s)", [sequence, largest])


def uncopy_stream(apps, schema_editor):
    """Back to the stream alone: the copies (and what the ingestor appended since) go."""
    LoggedEvent = apps.get_model("platforms", "LoggedEvent")
    IngestCursor = apps.get_model("platforms", "IngestCursor")
    LoggedEvent.objects.filter(source__startswith="sandbox:").delete()
    IngestCursor.objects.filter(server__kind="sandbox").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("sandbox", "0009_access_levels_and_creation_key"),
        ("platforms", "0002_outbox_and_event_log"),
    ]

    operations = [migrations.RunPython(copy_stream, uncopy_stream)]
