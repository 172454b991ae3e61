"""Roles are Django groups. This module is the one place that says what each role may do.

- patron: everyone who signs up (their own account pages only; no staff pages)
- sponsor contact: a company's contact person (their own sponsorship pages; no staff pages)
- editor: Wagtail pages, images and documents (staff pages, MFA required)
- finance: money, people, grants, reports and failed jobs (staff pages, MFA required)

Permissions are named by "app_label.codename". A permission that does not exist yet (its app arrives in
a later issue) is skipped, and `roles_sync` runs after every `migrate`, so a role gains the permissions
of a new app as soon as that app's migrations have run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

PATRON = "patron"
SPONSOR_CONTACT = "sponsor contact"
EDITOR = "editor"
FINANCE = "finance"

PAGE_PERMISSIONS = ("add_page", "change_page", "publish_page", "lock_page", "unlock_page")
COLLECTION_PERMISSIONS = {
    "wagtailimages": ("add_image", "change_image", "choose_image"),
    "wagtaildocs": ("add_document", "change_document", "choose_document"),
}


@dataclass(frozen=True)
class Role:
    name: str
    label: str
    staff: bool
    permissions: tuple[str, ...] = ()
    page_permissions: tuple[str, ...] = ()
    collection_permissions: dict[str, tuple[str, ...]] = field(default_factory=dict)


ROLES: tuple[Role, ...] = (
    Role(PATRON, _("Patron"), staff=False),
    Role(SPONSOR_CONTACT, _("Sponsor contact"), staff=False),
    Role(
        EDITOR,
        _("Editor"),
        staff=True,
        permissions=(
            "wagtailadmin.access_admin",
            "wagtailcore.view_locale",
            "wagtailredirects.add_redirect",
            "wagtailredirects.change_redirect",
            "wagtailredirects.delete_redirect",
            "simple_translation.submit_translation",
            "cms.change_organisationsettings",
            "cms.change_navigationsettings",
            "cms.change_footersettings",
            # Moderating patrons' custom emoji (the queue shows pseudonymous ids only)
            "perks.view_emoji",
            "perks.change_emoji",
            # Reviewing sponsors' logos (the queue shows the company's display name and website only;
            # editors see no sponsorships, invoices, billing addresses or amounts)
            "sponsors.view_sponsorlogo",
            "sponsors.change_sponsorlogo",
        ),
        page_permissions=PAGE_PERMISSIONS,
        collection_permissions=COLLECTION_PERMISSIONS,
    ),
    Role(
        FINANCE,
        _("Finance"),
        staff=True,
        permissions=(
            "wagtailadmin.access_admin",
            "ledger.view_account",
            "ledger.add_account",
            "ledger.change_account",
            "ledger.view_costcentre",
            "ledger.add_costcentre",
            "ledger.change_costcentre",
            "ledger.view_transaction",
            "ledger.view_posting",
            "ledger.view_closingbalance",
            "ledger.view_closedmonth",
            "ledger.view_monthreopening",
            # Reports: draft, commentary, publish (closes the month), re-open (recorded); tax figures
            "reports.view_monthlyreport",
            "reports.add_monthlyreport",
            "reports.change_monthlyreport",
            "reports.publish_monthlyreport",
            "reports.view_reportevent",
            "reports.view_thresholdalert",
            "ledger.view_finance",
            "jobs.view_failedtask",
            "jobs.change_failedtask",
            "cms.change_organisationsettings",
            # Patrons (donors' personal data: finance only)
            "fundraising.add_tier",
            "fundraising.change_tier",
            "fundraising.publish_tier",
            "fundraising.view_tier",
            "fundraising.view_patron",
            "fundraising.view_patronage",
            "fundraising.view_payment",
            "fundraising.view_checkoutattempt",
            "fundraising.view_donationreceipt",
            "fundraising.view_receiptbatch",
            "fundraising.add_receiptbatch",
            "payments.view_webhookevent",
            # Perks: the catalogue and who holds which perk
            "perks.add_perk",
            "perks.change_perk",
            "perks.view_perk",
            "perks.view_entitlement",
            "perks.change_entitlement",
            "perks.view_emoji",
            "perks.change_emoji",
            # Sponsors: packages (snippet), companies, sponsorships, invoices, logo review
            "sponsors.add_package",
            "sponsors.change_package",
            "sponsors.publish_package",
            "sponsors.view_package",
            "sponsors.view_sponsor",
            "sponsors.change_sponsor",
            "sponsors.view_sponsorship",
            "sponsors.change_sponsorship",
            "sponsors.view_invoice",
            "sponsors.change_invoice",
            "sponsors.view_sponsorlogo",
            "sponsors.change_sponsorlogo",
            # Grants, people, pay, allocations and bills (salaries: finance only). Nothing that posted is
            # deleted, so no delete permission: corrections are new bookings.
            "grants.view_funder",
            "grants.add_funder",
            "grants.change_funder",
            "grants.view_grant",
            "grants.add_grant",
            "grants.change_grant",
            "grants.view_grantdocument",
            "grants.add_grantdocument",
            "grants.change_grantdocument",
            "grants.view_budgetline",
            "grants.add_budgetline",
            "grants.change_budgetline",
            "grants.view_milestone",
            "grants.add_milestone",
            "grants.change_milestone",
            "grants.view_grantpayment",
            "grants.add_grantpayment",
            "grants.change_grantpayment",
            "grants.view_person",
            "grants.add_person",
            "grants.change_person",
            "grants.view_payrecord",
            "grants.add_payrecord",
            "grants.change_payrecord",
            "grants.view_allocation",
            "grants.add_allocation",
            "grants.change_allocation",
            "grants.view_bill",
            "grants.add_bill",
            "grants.change_bill",
        ),
        collection_permissions={"wagtaildocs": ("add_document", "change_document", "choose_document")},
    ),
)
ROLES_BY_NAME = {role.name: role for role in ROLES}
STAFF_ROLE_NAMES = frozenset(role.name for role in ROLES if role.staff)
