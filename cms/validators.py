"""Checks for the organisation's bank and tax identifiers, with messages an editor can act on.

Each validator accepts the value as people type it (spaces, lower case) and checks its normalised
form; `normalise_identifier` gives that form so models can store it.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# IBAN lengths of the countries in the SEPA area (ISO 13616 registry).
IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31,
    "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "VA": 22,
}  # fmt: skip

IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
BIC_SHAPE = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")
GERMAN_VAT_ID_SHAPE = re.compile(r"^DE[0-9]{9}$")


def normalise_identifier(value: str) -> str:
    """IBAN, BIC and VAT ID without spaces, dots or dashes, in capitals."""
    return re.sub(r"[\s.\-]", "", value or "").upper()


def iban_checksum_is_valid(iban: str) -> bool:
    """ISO 7064 MOD 97-10: move the first four characters to the end, letters to numbers, remainder 1."""
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(character, 36)) for character in rearranged)
    return int(digits) % 97 == 1


def validate_iban(value: str) -> None:
    iban = normalise_identifier(value)
    if not IBAN_SHAPE.match(iban):
        raise ValidationError(
            _("Enter an IBAN: two letters for the country, two check digits, then the account number."),
            code="invalid_iban_format",
        )
    expected_length = IBAN_LENGTHS.get(iban[:2])
    if expected_length is None:
        raise ValidationError(
            _("%(country)s is not a country in the SEPA area."),
            code="invalid_iban_country",
            params={"country": iban[:2]},
        )
    if len(iban) != expected_length:
        raise ValidationError(
            _("An IBAN from %(country)s has %(expected)d characters; this one has %(actual)d."),
            code="invalid_iban_length",
            params={"country": iban[:2], "expected": expected_length, "actual": len(iban)},
        )
    if not iban_checksum_is_valid(iban):
        raise ValidationError(
            _("This IBAN's check digits do not match: please look for a typing mistake."),
            code="invalid_iban_checksum",
        )


def validate_bic(value: str) -> None:
    if not BIC_SHAPE.match(normalise_identifier(value)):
        raise ValidationError(
            _("Enter a BIC of 8 or 11 letters and digits, for example GENODEM1GLS."),
            code="invalid_bic",
        )


def german_vat_id_check_digit(first_eight_digits: str) -> int:
    """The ninth digit of a German VAT ID (ISO 7064 MOD 11,10, as the Federal Central Tax Office uses)."""
    product = 10
    for digit in first_eight_digits:
        total = (int(digit) + product) % 10 or 10
        product = (2 * total) % 11
    check_digit = 11 - product
    return 0 if check_digit == 10 else check_digit


def validate_german_vat_id(value: str) -> None:
    vat_id = normalise_identifier(value)
    if not GERMAN_VAT_ID_SHAPE.match(vat_id):
        raise ValidationError(
            _("Enter a German VAT ID: DE followed by nine digits, for example DE123456788."),
            code="invalid_vat_id_format",
        )
    if german_vat_id_check_digit(vat_id[2:10]) != int(vat_id[10]):
        raise ValidationError(
            _("This VAT ID's check digit does not match: please look for a typing mistake."),
            code="invalid_vat_id_checksum",
        )
