"""PostgreSQL's second guard over the books: balanced entries, and posted rows never change.

The application already refuses both; these triggers refuse them even to a hand-written SQL
statement. (SQLite, the demo database, has the application's guard only.)
"""

from django.db import migrations

INSTALL = """
CREATE OR REPLACE FUNCTION propdesk_entry_balances() RETURNS trigger AS $$
DECLARE
    bad RECORD;
BEGIN
    SELECT currency, SUM(amount) AS total INTO bad
      FROM wallet_posting WHERE entry_id = NEW.entry_id
     GROUP BY currency HAVING SUM(amount) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger entry % is unbalanced: % postings sum to %',
            NEW.entry_id, bad.currency, bad.total USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER wallet_posting_balanced
    AFTER INSERT ON wallet_posting DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION propdesk_entry_balances();

CREATE OR REPLACE FUNCTION propdesk_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: post a reversing entry instead', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER wallet_posting_append_only BEFORE UPDATE OR DELETE ON wallet_posting
    FOR EACH ROW EXECUTE FUNCTION propdesk_append_only();
CREATE TRIGGER wallet_journalentry_append_only BEFORE UPDATE OR DELETE ON wallet_journalentry
    FOR EACH ROW EXECUTE FUNCTION propdesk_append_only();
"""

REMOVE = """
DROP TRIGGER IF EXISTS wallet_journalentry_append_only ON wallet_journalentry;
DROP TRIGGER IF EXISTS wallet_posting_append_only ON wallet_posting;
DROP TRIGGER IF EXISTS wallet_posting_balanced ON wallet_posting;
DROP FUNCTION IF EXISTS propdesk_append_only();
DROP FUNCTION IF EXISTS propdesk_entry_balances();
"""


def run(sql):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)

    return apply


class Migration(migrations.Migration):
    dependencies = [("wallet", "0001_initial")]
    operations = [migrations.RunPython(run(INSTALL), run(REMOVE))]
