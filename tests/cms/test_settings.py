"""The organisation's settings: validation on save and the properties other parts of the site read."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from wagtail.models import Locale

from cms.models import OrganisationSettings

pytestmark = pytest.mark.django_db


def errors_of(settings: OrganisationSettings) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as error:
        settings.full_clean()
    return error.value.message_dict


def test_both_content_languages_exist_as_locales_after_migrating():
    assert set(Locale.objects.values_list("language_code", flat=True)) >= {"en", "de"}


def test_fresh_settings_are_valid_without_any_tax_status(home):
    settings = OrganisationSettings.for_site(home.get_site())

    settings.full_clean()


def test_invalid_iban_is_reported_on_the_iban_field(organisation):
    organisation.iban = "DE89370400440532013001"

    assert errors_of(organisation)["iban"] == [
        "This IBAN's check digits do not match: please look for a typing mistake."
    ]


def test_invalid_vat_id_is_reported_on_the_vat_id_field(organisation):
    organisation.vat_id = "DE123456789"

    assert errors_of(organisation)["vat_id"] == [
        "This VAT ID's check digit does not match: please look for a typing mistake."
    ]


def test_identifiers_are_stored_without_spaces_in_capitals(organisation):
    organisation.iban = "de89 3704 0044 0532 0130 00"
    organisation.bic = "genodem1gls"
    organisation.vat_id = "de 123 456 788"

    organisation.full_clean()

    assert (organisation.iban, organisation.bic, organisation.vat_id) == (
        "DE89370400440532013000",
        "GENODEM1GLS",
        "DE123456788",
    )


def test_exemption_notice_needs_its_assessment_period(organisation):
    organisation.exemption_period_start_year = None

    assert "exemption_period_start_year" in errors_of(organisation)


def test_assessment_period_needs_the_exemption_notice_date(organisation):
    organisation.exemption_notice_date = None

    assert "exemption_notice_date" in errors_of(organisation)


def test_assessment_period_cannot_end_before_it_starts(organisation):
    organisation.exemption_period_start_year, organisation.exemption_period_end_year = 2023, 2021

    assert errors_of(organisation)["exemption_period_end_year"] == ["The period cannot end before it starts."]


def test_section_60a_determination_alone_is_a_valid_tax_status(organisation):
    organisation.exemption_notice_date = None
    organisation.exemption_period_start_year = organisation.exemption_period_end_year = None
    organisation.section_60a_determination_date = datetime.date(2024, 6, 3)

    organisation.full_clean()


def test_unknown_country_code_is_refused(organisation):
    organisation.country = "XX"

    assert "country" in errors_of(organisation)


def test_address_lines_name_the_country_in_the_active_language(organisation):
    with translation.override("de"):
        german = organisation.address_lines
    english = organisation.address_lines

    assert english == ["Oranienstraße 183", "10999 Berlin", "Germany"]
    assert german == ["Oranienstraße 183", "10999 Berlin", "Deutschland"]


def test_exemption_period_reads_as_a_range_or_a_single_year(organisation):
    assert organisation.exemption_period == "2021–2023"
    organisation.exemption_period_start_year = 2023

    assert organisation.exemption_period == "2023"


def test_iban_is_displayed_in_groups_of_four(organisation):
    assert organisation.iban_display == "DE89 3704 0044 0532 0130 00"


def test_managing_director_names_are_one_per_line(organisation):
    organisation.managing_directors = "Lena Hoffmann\n\n  Tomás Reyes  \n"

    assert organisation.managing_director_names == ["Lena Hoffmann", "Tomás Reyes"]


def test_display_name_falls_back_to_the_legal_name(organisation):
    organisation.short_name = ""

    assert organisation.display_name == "Fediverse Commons gGmbH"
