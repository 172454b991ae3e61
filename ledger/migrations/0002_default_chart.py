"""Default chart of accounts for a German gGmbH (SKR 03 numbers) and the core cost centre.

Frozen data: later changes to the chart are made by finance staff in the admin (DATEV numbers,
names and the active flag stay editable), not by editing this migration. See docs/ledger.md.
"""

from django.db import migrations

# code, name, kind, report category, tax sphere, DATEV number (SKR 03), VAT rate, DATEV automatic account
DEFAULT_CHART = [
    # Balance sheet
    ("bank", "Bank account", "asset", "cash", None, "1200", None, False),
    ("stripe", "Stripe balance", "asset", "cash", None, "1210", None, False),
    ("receivables", "Receivables from sales and services", "asset", "receivables", None, "1400", None, False),
    ("payables", "Payables for goods and services", "liability", "payables", None, "1600", None, False),
    ("vat-payable-19", "VAT payable 19 %", "liability", "tax", None, "1776", "19.00", False),
    ("opening-balances", "Opening balances", "equity", "equity", None, "9000", None, False),
    # Income
    ("income-patrons-perks", "Patron income with perks", "income", "patrons", 4, "8401", "19.00", True),
    ("income-patrons-no-perks", "Patron income without perks (donation tier)", "income", "patrons", 1, "8011", None, False),
    ("income-donations", "Donations", "income", "donations", 1, "8010", None, False),
    ("income-sponsorship-vat", "Sponsorship with link or emphasis (19 % VAT)", "income", "sponsorships", 4, "8400", "19.00", True),
    ("income-sponsorship-reverse-charge", "Sponsorship, EU business customer (reverse charge)", "income", "sponsorships", 4, "8336", None, True),
    ("income-sponsorship-non-eu", "Sponsorship, business customer outside the EU", "income", "sponsorships", 4, "8338", None, False),
    ("income-sponsorship-passive", "Sponsorship, passive mention (no VAT)", "income", "sponsorships", 1, "8020", None, False),
    ("income-grants", "Grants", "income", "grants", 1, "8030", None, False),
    ("income-services", "Services (hosting, support)", "income", "services", 4, "8402", "19.00", True),
    ("income-merchandise", "Merchandise", "income", "other_income", 4, "8403", "19.00", True),
    ("income-interest", "Interest income", "income", "other_income", 2, "2650", None, False),
    # Spending
    ("expense-salaries", "Salaries", "expense", "personnel", 1, "4120", None, False),
    ("expense-social-costs", "Statutory social costs", "expense", "personnel", 1, "4130", None, False),
    ("expense-freelancers", "Freelancers", "expense", "freelancers", 1, "3100", None, False),
    ("expense-hosting", "Hosting and infrastructure", "expense", "hosting", 1, "4925", None, False),
    ("expense-payment-fees", "Payment fees", "expense", "payment_fees", 1, "4970", None, False),
    ("expense-other", "Other costs", "expense", "other_spending", 1, "4900", None, False),
]


def install_default_chart(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    CostCentre = apps.get_model("ledger", "CostCentre")
    CostCentre.objects.get_or_create(code="CORE", defaults={"name": "Core", "kind": "core", "active": True})
    for code, name, kind, category, sphere, datev_number, vat_rate, automatic in DEFAULT_CHART:
        Account.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "category": category,
                "tax_sphere": sphere,
                "datev_number": datev_number,
                "vat_rate": vat_rate,
                "datev_automatic": automatic,
                "active": True,
            },
        )


def remove_default_chart(apps, schema_editor):
    Account = apps.get_model("ledger", "Account")
    CostCentre = apps.get_model("ledger", "CostCentre")
    Account.objects.filter(code__in=[row[0] for row in DEFAULT_CHART], postings__isnull=True).delete()
    CostCentre.objects.filter(code="CORE", postings__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]

    operations = [migrations.RunPython(install_default_chart, remove_default_chart)]
