"""Forms of the sponsor's own pages (application, logo replacement, cancellation): validation and clear
messages only. The workflows themselves are ``sponsors.services``."""

from __future__ import annotations

import datetime
import re
import unicodedata
from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils import timezone
from django.utils.translation import get_language, gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .models import EU_COUNTRIES, HOME_COUNTRY, Package, Sponsor, SponsorContact

LOGO_ACCEPT = "image/png,image/jpeg,image/webp,image/svg+xml"
START_YEARS_AHEAD = 5  # a sponsorship starts at most this many years from today

# Babel knows a few territories that are not ISO 3166-1 countries (regions, pseudo-codes, reserved
# codes); Kosovo (XK) stays in: it is the code the EU and banks use.
NOT_COUNTRIES = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)

# The VAT prefix of each member state is its country code, except Greece (EL).
VAT_PREFIXES = {code: ("EL" if code == "GR" else code) for code in EU_COUNTRIES}
VAT_PREFIX_COUNTRIES = {prefix: code for code, prefix in VAT_PREFIXES.items()} | {"GR": "GR"}


def _language() -> str:
    return (get_language() or "en").split("-")[0]


def money_display(amount: Decimal, currency: str = "EUR") -> str:
    """“€6,000.00” in English, “6.000,00 €” in German (always with cents: these are invoice figures)."""
    return format_currency(amount, currency.upper(), locale=_language())


def country_name(code: str) -> str:
    try:
        return Locale.parse(_language()).territories.get(code, code)
    except (ValueError, TypeError):
        return code


def _sort_key(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def country_choices() -> list[tuple[str, str]]:
    """ISO 3166-1 alpha-2 codes with their names in the active language, sorted by name."""
    territories = Locale.parse(_language()).territories
    countries = [
        (code, name)
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code.isupper() and code not in NOT_COUNTRIES
    ]
    return [("", gettext("Choose a country"))] + sorted(countries, key=lambda item: _sort_key(item[1]))


def vat_id_clean(value: str, country: str) -> str:
    """The VAT ID in its compact form (``FR40303265045``), or ``ValidationError`` saying what is wrong.

    EU countries: format and check digits through python-stdnum, and the prefix must be the country's
    (Greece: EL; a GR prefix is turned into EL). Elsewhere the ID is only checked loosely (letters and
    digits), but an EU VAT ID with another country is refused."""
    from stdnum.eu import vat as eu_vat
    from stdnum.exceptions import InvalidChecksum
    from stdnum.exceptions import ValidationError as NumberInvalid

    compact = re.sub(r"[\s.\-/_]", "", value or "").upper()
    if not compact:
        return ""
    country = (country or "").upper()
    prefix = VAT_PREFIXES.get(country)
    if prefix is None:
        other = VAT_PREFIX_COUNTRIES.get(compact[:2])
        if other and eu_vat.is_valid(compact):
            raise ValidationError(
                gettext(
                    "This is a VAT ID from %(other)s, but you chose %(country)s as the country. "
                    "Choose the country of the company's address, or enter that company's own tax number."
                )
                % {"other": country_name(other), "country": country_name(country)},
                code="vat_country",
            )
        if not re.fullmatch(r"[A-Z0-9]{4,20}", compact):
            raise ValidationError(
                gettext("Enter the tax or VAT number with letters and digits only (4 to 20 characters)."),
                code="vat_format",
            )
        return compact
    if country == "GR" and compact.startswith("GR"):
        compact = "EL" + compact[2:]
    if not compact.startswith(prefix):
        other = VAT_PREFIX_COUNTRIES.get(compact[:2])
        if other:
            raise ValidationError(
                gettext(
                    "This VAT ID starts with %(found)s, the prefix of %(other)s, but the company is in "
                    "%(country)s, whose VAT IDs start with %(prefix)s. Check the country or the VAT ID."
                )
                % {
                    "found": compact[:2],
                    "other": country_name(other),
                    "country": country_name(country),
                    "prefix": prefix,
                },
                code="vat_country",
            )
        compact = prefix + compact
    try:
        eu_vat.validate(compact)
    except InvalidChecksum:
        raise ValidationError(
            gettext(
                "The check digit of this VAT ID is wrong: one of its digits is probably mistyped. "
                "Please compare it with your company's documents."
            ),
            code="vat_checksum",
        ) from None
    except NumberInvalid:
        raise ValidationError(
            gettext(
                "This is not a valid VAT ID for %(country)s: it starts with %(prefix)s followed by the "
                "number in the format of that country. Please compare it with your company's documents."
            )
            % {"country": country_name(country), "prefix": prefix},
            code="vat_format",
        ) from None
    return compact


def package_benefits(package: Package) -> list[str]:
    """What a package gives, in words, for the offer and the dashboard."""
    places = placement_places(package)
    benefits = []
    if places:
        benefits.append(
            gettext("Logo (%(size)s) on: %(places)s")
            % {
                "size": package.get_logo_size_display(),
                "places": places_text(places),
            }
        )
    if package.links_to_sponsor:
        benefits.append(gettext("The logo links to your website"))
    else:
        benefits.append(gettext("Name and logo without a link (a passive mention)"))
    if package.mentioned_in_announcements:
        benefits.append(gettext("Mentioned in our announcements"))
    return benefits


def places_text(places: list[str]) -> str:
    """“the home page, the sponsors page and the footer” in the active language."""
    from babel.lists import format_list

    return format_list(places, locale=_language()) if places else ""


def placement_places(package: Package) -> list[str]:
    places = []
    if package.on_home_page:
        places.append(gettext("the home page"))
    if package.on_sponsors_page:
        places.append(gettext("the sponsors page"))
    if package.in_footer:
        places.append(gettext("the footer of every page"))
    return places


def package_price_text(package: Package) -> str:
    price = money_display(package.price)
    if package.price_period == Package.PricePeriod.MONTH:
        price_text = gettext("%(price)s per month (net)") % {"price": price}
    else:
        price_text = gettext("%(price)s per year (net)") % {"price": price}
    period = ngettext(
        "one period lasts %(months)d month: %(total)s net",
        "one period lasts %(months)d months: %(total)s net",
        package.duration_months,
    ) % {"months": package.duration_months, "total": money_display(package.period_net())}
    return f"{price_text}; {period}"


def package_vat_text(package: Package) -> str:
    if package.is_passive_mention:
        return gettext("No VAT: a mention without a link is not a taxable sale.")
    return gettext(
        "Plus 19 % VAT for companies in Germany and for EU companies without a VAT ID; EU companies with "
        "a VAT ID: reverse charge (no German VAT); companies outside the EU: not taxable in Germany."
    )


def _model_formfield(model_field, **kwargs):
    if isinstance(model_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return model_field.formfield(**kwargs)


class SponsorApplicationForm(forms.ModelForm):
    """The company, the package, the start date, the logo and the consents, in one form.

    The contacts are a formset next to it (``ContactFormSet``). ``cleaned_data["logo"]`` is the upload,
    checked by ``sponsors.logos.logo_process`` (and rewound), or ``None`` when the sponsor keeps its logo.
    """

    country = forms.ChoiceField(label=_("Country"), choices=())
    website = forms.URLField(
        label=_("Website"),
        max_length=300,
        required=False,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],  # the logo links here: no ftp://
        help_text=_("Where your logo links to, in packages with a link. Example: https://example.com/"),
        widget=forms.URLInput(attrs={"autocomplete": "url", "placeholder": "https://"}),
    )
    package = forms.ModelChoiceField(
        label=_("Package"),
        queryset=Package.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={
            "required": _("Choose a package."),
            "invalid_choice": _("Choose one of the packages."),
        },
    )
    start_date = forms.DateField(
        label=_("Start date"),
        help_text=_("Your logo appears from this day once the invoice is paid. Today or later."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Enter the day the sponsorship starts."),
            "invalid": _("Enter a date."),
        },
    )
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        widget=forms.FileInput(attrs={"accept": LOGO_ACCEPT}),
    )
    accept_terms = forms.BooleanField(
        label=_("I confirm these details and accept the sponsorship terms"),
        help_text=_(
            "I may act for the company. We review the application; the invoice follows approval and is due "
            "within 14 days; the logo is shown only for the paid period and only after our review."
        ),
        error_messages={"required": _("Please confirm the details and the terms to apply.")},
    )

    class Meta:
        model = Sponsor
        formfield_callback = _model_formfield
        fields = [
            "legal_name",
            "display_name",
            "website",
            "street",
            "address_extra",
            "postcode",
            "city",
            "country",
            "vat_id",
            "billing_email",
            "purchase_order",
            "consent_annual_report",
        ]
        labels = {
            "legal_name": _("Legal name of the company"),
            "display_name": _("Name to show on our site"),
            "street": _("Street and number"),
            "address_extra": _("Address line 2 (optional)"),
            "vat_id": _("VAT ID (optional)"),
            "billing_email": _("E-mail address for invoices"),
            "purchase_order": _("Purchase order or reference (optional)"),
            "consent_annual_report": _("You may name our company in your annual report"),
        }
        help_texts = {
            "legal_name": _("As in the commercial register; it appears on the invoice."),
            "display_name": _("Shown next to or instead of your logo, e.g. “Example Hosting”."),
            "vat_id": _(
                "With the country prefix, e.g. FR40303265045. Companies in another EU country: with a "
                "valid VAT ID the invoice uses the reverse charge; without one we must charge German VAT "
                "(19 %). Companies in Germany: printed on the invoice. Outside the EU: your tax number, "
                "if you want it on the invoice."
            ),
            "billing_email": _("Invoices, credit notes and payment reminders go here."),
            "purchase_order": _("Printed on every invoice, if your accounts department needs one."),
            "consent_annual_report": _("Only if you tick this box. You can ask us to change it at any time."),
        }
        widgets = {
            "legal_name": forms.TextInput(attrs={"autocomplete": "organization"}),
            "street": forms.TextInput(attrs={"autocomplete": "address-line1"}),
            "address_extra": forms.TextInput(attrs={"autocomplete": "address-line2"}),
            "postcode": forms.TextInput(attrs={"autocomplete": "postal-code"}),
            "city": forms.TextInput(attrs={"autocomplete": "address-level2"}),
            "billing_email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "vat_id": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        }

    def __init__(self, *args, user=None, logo_required: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["country"].choices = country_choices()
        self.fields["package"].queryset = Package.objects.offered()
        self.fields["package"].label_from_instance = lambda package: package.display_name
        today = timezone.localdate()
        self.fields["start_date"].widget.attrs["min"] = today.isoformat()
        self.fields["logo"].required = logo_required
        self.fields["logo"].help_text = gettext(
            "PNG, JPEG, WebP or SVG, at most %(megabytes)s MB; a wide logo on a transparent background "
            "looks best. We re-encode it and remove its metadata, and we look at it before it goes live."
        ) % {"megabytes": _max_logo_megabytes()}
        if not logo_required:
            self.fields["logo"].help_text += " " + gettext("Leave it empty to keep your current logo.")
        self.fields["logo"].error_messages["required"] = gettext("Choose your logo file.")
        if not self.instance.pk:
            self.initial.setdefault("country", HOME_COUNTRY)
            if user is not None and user.email:
                self.initial.setdefault("billing_email", user.email)
        self.initial.setdefault("start_date", today)
        self.initial.setdefault("consent_annual_report", False)

    def package_options(self) -> list[dict]:
        """Each package's radio button with its price, benefits, VAT and whether it is fully booked."""
        today = timezone.localdate()
        options = []
        for radio in self["package"]:
            package = radio.data["value"].instance
            options.append(
                {
                    "radio": radio,
                    "package": package,
                    "price": package_price_text(package),
                    "benefits": package_benefits(package),
                    "vat": package_vat_text(package),
                    "fully_booked": not package.has_capacity(start=today),
                }
            )
        return options

    def clean_legal_name(self) -> str:
        return " ".join(self.cleaned_data["legal_name"].split())

    def clean_display_name(self) -> str:
        return " ".join(self.cleaned_data["display_name"].split())

    def clean_start_date(self):
        start = self.cleaned_data["start_date"]
        if start < timezone.localdate():
            raise ValidationError(
                gettext("The start date lies in the past. Choose today or a later day."), code="past"
            )
        if start > timezone.localdate() + datetime.timedelta(days=365 * START_YEARS_AHEAD):
            # also keeps every period's end (and the next period's) within the calendar: 9999-06-01 was a 500
            raise ValidationError(
                gettext("The start date lies more than %(years)d years ahead. Choose an earlier day.")
                % {"years": START_YEARS_AHEAD},
                code="too_far",
            )
        return start

    def clean_logo(self):
        upload = self.cleaned_data.get("logo")
        if not upload:
            return None
        from .logos import logo_process

        self.processed_logo = logo_process(upload)  # raises ValidationError with the message to show
        upload.seek(0)
        return upload

    def clean(self):
        cleaned = super().clean()
        country = cleaned.get("country")
        if country and "vat_id" not in self.errors:
            try:
                cleaned["vat_id"] = vat_id_clean(cleaned.get("vat_id", ""), country)
            except ValidationError as error:
                self.add_error("vat_id", error)
        package = cleaned.get("package")
        if package is not None:
            if package.links_to_sponsor and not cleaned.get("website") and "website" not in self.errors:
                self.add_error(
                    "website",
                    gettext("In this package your logo links to your website: enter its address."),
                )
            start = cleaned.get("start_date")
            if start is not None and not package.has_capacity(start=start):
                self.add_error(
                    "package",
                    gettext(
                        "The package “%(name)s” is fully booked for that start date. Choose another "
                        "date or package."
                    )
                    % {"name": package.display_name},
                )
        return cleaned


def _max_logo_megabytes() -> str:
    from django.conf import settings

    megabytes = Decimal(settings.SPONSOR_LOGO_MAX_BYTES) / Decimal(1024 * 1024)
    return f"{megabytes.normalize():f}"


class ContactForm(forms.ModelForm):
    class Meta:
        model = SponsorContact
        fields = ["name", "email", "phone"]
        labels = {"name": _("Name"), "email": _("E-mail address"), "phone": _("Phone (optional)")}
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "name"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "phone": forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
        }

    def has_changed(self) -> bool:
        """A contact filled in for the applicant counts even if they did not touch it."""
        if super().has_changed():
            return True
        return any((self[name].value() or "").strip() for name in ("name", "email", "phone"))


class BaseContactFormSet(BaseInlineFormSet):
    default_error_messages = {
        "too_few_forms": _("Enter at least one contact person with name and e-mail address."),
        "too_many_forms": _("Enter at most five contact persons."),
    }


ContactFormSet = inlineformset_factory(
    Sponsor,
    SponsorContact,
    form=ContactForm,
    formset=BaseContactFormSet,
    extra=1,
    min_num=1,
    validate_min=True,
    max_num=5,
    validate_max=True,
    can_delete=False,
)
ContactFormSet.__doc__ = "The sponsor's contacts: at least one (name, e-mail, phone), at most five."


class LogoReplaceForm(forms.Form):
    logo = forms.FileField(
        label=_("New logo"),
        widget=forms.FileInput(attrs={"accept": LOGO_ACCEPT}),
        error_messages={"required": _("Choose your new logo file.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["logo"].help_text = gettext(
            "PNG, JPEG, WebP or SVG, at most %(megabytes)s MB. We look at it before it goes live; "
            "until then your current logo stays."
        ) % {"megabytes": _max_logo_megabytes()}

    def clean_logo(self):
        upload = self.cleaned_data["logo"]
        from .logos import logo_process

        self.processed_logo = logo_process(upload)
        upload.seek(0)
        return upload


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you withdraw the application?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Please tell us briefly why.")},
    )

    def clean_reason(self) -> str:
        reason = " ".join(self.cleaned_data["reason"].split())
        if not reason:
            raise ValidationError(gettext("Please tell us briefly why."))
        return reason
