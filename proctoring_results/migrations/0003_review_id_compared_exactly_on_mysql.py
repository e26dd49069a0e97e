# Written by hand: a MySQL/MariaDB-only column collation, which Django's model
# state cannot express portably (``db_collation`` names differ per database).
#
# Under MySQL's usual collations (utf8mb4_unicode_ci, utf8mb4_0900_ai_ci)
# ``'Rev-A' = 'rev-a'``, so the (provider, review_id) unique constraint took a
# provider's second review as a redelivery of the first and dropped it.
# PostgreSQL and SQLite already compare text exactly. A later AlterField of
# ``review_id`` would rebuild the column with the table's collation: repeat
# this step after one.

from django.db import migrations

BINARY_COLLATION = "utf8mb4_bin"


def _modify_review_id(schema_editor, collation):
    if schema_editor.connection.vendor != "mysql":
        return
    table = schema_editor.quote_name("proctoring_results_review")
    column = schema_editor.quote_name("review_id")
    collate = f" CHARACTER SET utf8mb4 COLLATE {collation}" if collation else ""
    schema_editor.execute(f"ALTER TABLE {table} MODIFY {column} varchar(255){collate} NOT NULL")


def review_ids_compared_exactly(apps, schema_editor):
    _modify_review_id(schema_editor, BINARY_COLLATION)


def review_ids_in_the_table_collation(apps, schema_editor):
    _modify_review_id(schema_editor, None)


class Migration(migrations.Migration):
    dependencies = [
        ("proctoring_results", "0002_reporttask_active"),
    ]

    operations = [
        migrations.RunPython(review_ids_compared_exactly, review_ids_in_the_table_collation, atomic=False),
    ]
