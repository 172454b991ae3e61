"""Make sure both content languages exist as Wagtail locales.

Wagtail's own migration creates only the locale of LANGUAGE_CODE ("en"); German pages need "de".
"""

from django.db import migrations

LANGUAGE_CODES = ["en", "de"]


def create_locales(apps, schema_editor):
    Locale = apps.get_model("wagtailcore", "Locale")
    for language_code in LANGUAGE_CODES:
        Locale.objects.get_or_create(language_code=language_code)


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0001_initial"),
        ("wagtailcore", "0054_initial_locale"),
    ]

    operations = [
        migrations.RunPython(create_locales, migrations.RunPython.noop),
    ]
