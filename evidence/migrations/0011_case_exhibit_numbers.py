from django.db import migrations, models


def number_existing_exhibits(apps, schema_editor):
    """Items already in cases get exhibit numbers in the order they joined."""
    Case = apps.get_model("evidence", "Case")
    CaseItem = apps.get_model("evidence", "CaseItem")
    for case in Case.objects.all().iterator():
        links = CaseItem.objects.filter(case=case).order_by("added_at", "pk")
        number = 0
        for number, link in enumerate(links, start=1):
            CaseItem.objects.filter(pk=link.pk).update(exhibit_number=number)
        Case.objects.filter(pk=case.pk).update(last_exhibit_number=number)


class Migration(migrations.Migration):
    dependencies = [("evidence", "0010_live_clip_source_and_flow")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="last_exhibit_number",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="caseitem",
            name="exhibit_number",
            field=models.PositiveIntegerField(editable=False, null=True),
        ),
        migrations.RunPython(number_existing_exhibits, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="caseitem",
            name="exhibit_number",
            field=models.PositiveIntegerField(editable=False),
        ),
        migrations.AlterModelOptions(name="caseitem", options={"ordering": ["exhibit_number"]}),
        migrations.AddConstraint(
            model_name="caseitem",
            constraint=models.UniqueConstraint(
                fields=("case", "exhibit_number"), name="case_item_exhibit_unique"
            ),
        ),
    ]
