"""IBAN, BIC and VAT ID checks, with messages an editor can act on."""

import pytest
from django.core.exceptions import ValidationError

from cms.validators import german_vat_id_check_digit, validate_bic, validate_german_vat_id, validate_iban


def message_of(error: pytest.ExceptionInfo) -> str:
    return " ".join(str(message) for message in error.value.messages)


@pytest.mark.parametrize(
    "iban", ["DE89370400440532013000", "de89 3704 0044 0532 0130 00", "GB82WEST12345698765432"]
)
def test_valid_ibans_pass(iban):
    validate_iban(iban)


def test_iban_with_a_typing_mistake_fails_the_checksum():
    with pytest.raises(ValidationError) as error:
        validate_iban("DE89370400440532013001")

    assert message_of(error) == "This IBAN's check digits do not match: please look for a typing mistake."


def test_iban_of_the_wrong_length_says_how_long_it_should_be():
    with pytest.raises(ValidationError) as error:
        validate_iban("DE8937040044053201300")

    assert message_of(error) == "An IBAN from DE has 22 characters; this one has 21."


def test_iban_from_outside_the_sepa_area_is_refused():
    with pytest.raises(ValidationError) as error:
        validate_iban("US12345678901234567890")

    assert message_of(error) == "US is not a country in the SEPA area."


def test_text_that_is_not_an_iban_says_what_an_iban_looks_like():
    with pytest.raises(ValidationError) as error:
        validate_iban("account 12345")

    assert "two letters for the country, two check digits" in message_of(error)


@pytest.mark.parametrize("bic", ["GENODEM1GLS", "COBADEFF", "cobadeff xxx"])
def test_valid_bics_pass(bic):
    validate_bic(bic)


def test_bic_of_the_wrong_shape_is_refused():
    with pytest.raises(ValidationError) as error:
        validate_bic("GLS123")

    assert message_of(error) == "Enter a BIC of 8 or 11 letters and digits, for example GENODEM1GLS."


@pytest.mark.parametrize("first_eight, check_digit", [("13669597", 6), ("81112813", 5), ("12345678", 8)])
def test_german_vat_id_check_digit_follows_the_federal_central_tax_office(first_eight, check_digit):
    # 136695976 and 811128135 are published, valid German VAT IDs.
    assert german_vat_id_check_digit(first_eight) == check_digit


@pytest.mark.parametrize("vat_id", ["DE123456788", "DE 136 695 976", "de811128135"])
def test_valid_german_vat_ids_pass(vat_id):
    validate_german_vat_id(vat_id)


def test_german_vat_id_with_a_wrong_check_digit_is_refused():
    with pytest.raises(ValidationError) as error:
        validate_german_vat_id("DE123456789")

    assert message_of(error) == "This VAT ID's check digit does not match: please look for a typing mistake."


@pytest.mark.parametrize("vat_id", ["DE12345678", "ATU12345678", "123456789"])
def test_text_that_is_not_a_german_vat_id_says_what_one_looks_like(vat_id):
    with pytest.raises(ValidationError) as error:
        validate_german_vat_id(vat_id)

    assert message_of(error) == "Enter a German VAT ID: DE followed by nine digits, for example DE123456788."
