from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

# The expressions Django's icontains writes on PostgreSQL, so the planner can use the indexes.
TRIGRAM = [
    ("evidence_filename_trgm", 'UPPER("original_filename"::text)'),
    ("evidence_source_ref_trgm", 'UPPER("source_ref"::text)'),
]


class Migration(migrations.Migration):
    dependencies = [
        ("evidence", "0012_redaction"),
    ]

    operations = [
        TrigramExtension(),
        migrations.AddIndex(
            model_name="evidenceitem",
            index=models.Index(fields=["source", "source_ref"], name="evidence_source_ref"),
        ),
        *(
            migrations.RunSQL(
                f"CREATE INDEX {name} ON evidence_evidenceitem USING gin (({expr}) gin_trgm_ops)",
                f"DROP INDEX {name}",
            )
            for name, expr in TRIGRAM
        ),
    ]
