"""Expense accounts that grant budgets need (travel, equipment, subcontracting), SKR 03 numbers."""

from django.db import migrations

ACCOUNTS = [
    ("expense-travel", "Travel", "expense", "other_spending", 1, "4660"),
    ("expense-equipment", "Equipment (low-value assets)", "expense", "other_spending", 1, "4855"),
    ("expense-subcontracting", "Subcontracting", "expense", "freelancers", 1, "4909"),
]


def install(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    for code, name, kind, category, sphere, datev_number in ACCOUNTS:
        Account.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "category": category,
                "tax_sphere": sphere,
                "datev_number": datev_number,
                "datev_automatic": False,
                "active": True,
            },
        )


def remove(apps, schema_editor):
    apps.get_model("ledger", "Account").objects.filter(code__in=[row[0] for row in ACCOUNTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_documentsequence")]
    operations = [migrations.RunPython(install, remove)]
