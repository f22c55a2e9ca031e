"""On PostgreSQL, trigram indexes let a search for part of a name or email (`icontains`, which
Django writes as UPPER(column) LIKE UPPER('%text%')) use an index instead of reading every
user. pg_trgm is a trusted extension: the database's owner may create it. (SQLite reads the
table; it holds a demo's worth.)"""

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

EXTENSION = "CREATE EXTENSION IF NOT EXISTS pg_trgm"
INDEXES = """
CREATE INDEX IF NOT EXISTS accounts_user_email_trgm
    ON accounts_user USING gin (UPPER(email::text) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS accounts_user_name_trgm
    ON accounts_user USING gin (UPPER(name::text) gin_trgm_ops);
"""
REMOVE = """
DROP INDEX IF EXISTS accounts_user_name_trgm;
DROP INDEX IF EXISTS accounts_user_email_trgm;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic():  # a savepoint: a refusal leaves the migration usable
            schema_editor.execute(EXTENSION, params=None)
    except DatabaseError:
        # A role without CREATE on the database (some managed services): searching still
        # works, by reading the table; an administrator can add pg_trgm and migrate back and
        # forth over this step to build the indexes.
        logger.warning("pg_trgm could not be created: name and email search reads every user")
        return
    schema_editor.execute(INDEXES, params=None)


def remove(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REMOVE, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_client_kyc_status")]
    operations = [migrations.RunPython(install, remove)]
