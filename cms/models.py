"""Editorial pages and the site settings that hold the organisation's legal identity and navigation."""

import datetime

from babel import Locale as BabelLocale
from babel import UnknownLocaleError
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Count
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    HelpPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
)
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Orderable, Page
from wagtail.search import index

from .blocks import RICH_TEXT_FEATURES, BodyBlock
from .validators import normalise_identifier, validate_bic, validate_german_vat_id, validate_iban


def validate_country_code(value: str) -> None:
    if value not in BabelLocale("en").territories or not value.isalpha():
        raise ValidationError(
            _("Enter a two-letter country code such as DE."), code="invalid_country", params={"value": value}
        )


# --- Site settings --------------------------------------------------------------------------


@register_setting(icon="home")
class OrganisationSettings(BaseSiteSetting):
    """The organisation's legal identity: imprint, privacy notice, receipts, invoices and reports read it."""

    short_name = models.CharField(
        _("short name"),
        max_length=100,
        blank=True,
        help_text=_("Shown in the header, e.g. “Fediverse Commons”. Leave empty to show the legal name."),
    )
    legal_name = models.CharField(
        _("legal name"), max_length=200, blank=True, help_text=_("As registered, e.g. “Example gGmbH”.")
    )
    logo = models.ForeignKey(
        "wagtailimages.Image",
        verbose_name=_("logo"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    street = models.CharField(_("street and number"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=12, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(
        _("country"),
        max_length=2,
        default="DE",
        blank=True,
        validators=[validate_country_code],
        help_text=_("Two-letter code (ISO 3166), e.g. DE."),
    )
    founding_year = models.PositiveSmallIntegerField(
        _("founding year"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1800), MaxValueValidator(2200)],
    )
    email = models.EmailField(_("e-mail address"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    register_court = models.CharField(
        _("register court"), max_length=120, blank=True, help_text=_("e.g. Amtsgericht Charlottenburg")
    )
    register_number = models.CharField(
        _("register number"), max_length=40, blank=True, help_text=_("e.g. HRB 123456 B")
    )
    managing_directors = models.TextField(
        _("managing directors"), blank=True, help_text=_("One name per line.")
    )
    content_responsible_person = models.TextField(
        _("responsible for the content (§ 18 (2) MStV)"),
        blank=True,
        help_text=_(
            "Name and address of the person responsible for journalistic content, one item per line."
        ),
    )

    tax_office = models.CharField(
        _("tax office"), max_length=120, blank=True, help_text=_("e.g. Finanzamt für Körperschaften I Berlin")
    )
    tax_number = models.CharField(
        _("tax number"), max_length=40, blank=True, help_text=_("e.g. 27/123/45678")
    )
    vat_id = models.CharField(
        _("VAT ID"),
        max_length=14,
        blank=True,
        validators=[validate_german_vat_id],
        help_text=_("German VAT identification number: DE and nine digits."),
    )
    exemption_notice_date = models.DateField(
        _("date of the exemption notice"),
        null=True,
        blank=True,
        help_text=_(
            "Freistellungsbescheid (or annex to the corporate tax assessment). Donation receipts may be "
            "issued for five years after this date."
        ),
    )
    exemption_period_start_year = models.PositiveSmallIntegerField(
        _("assessment period from (year)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1900), MaxValueValidator(2200)],
    )
    exemption_period_end_year = models.PositiveSmallIntegerField(
        _("assessment period to (year)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1900), MaxValueValidator(2200)],
    )
    section_60a_determination_date = models.DateField(
        _("date of the § 60a AO determination"),
        null=True,
        blank=True,
        help_text=_(
            "Separate determination that the statutes meet the requirements (for new organisations "
            "without an exemption notice yet). Valid for receipts for three calendar years."
        ),
    )

    bank_account_holder = models.CharField(_("account holder"), max_length=200, blank=True)
    iban = models.CharField(_("IBAN"), max_length=34, blank=True, validators=[validate_iban])
    bic = models.CharField(_("BIC"), max_length=11, blank=True, validators=[validate_bic])
    bank_name = models.CharField(_("bank"), max_length=120, blank=True)

    # Transparency (Initiative Transparente Zivilgesellschaft): what the annual report publishes beyond
    # the identity above. English texts, with German ones the German report shows when filled in.
    statutes_purpose = models.TextField(
        _("purposes under the statutes"),
        blank=True,
        help_text=_(
            "The organisation's goals as its statutes state them, e.g. “Promotion of science and research; "
            "adult education”. Shown in the annual report."
        ),
    )
    statutes_purpose_de = models.TextField(
        _("purposes under the statutes (German)"),
        blank=True,
        help_text=_(
            "e.g. “Förderung von Wissenschaft und Forschung; Volksbildung”. Empty: the English text."
        ),
    )
    statutes_document = models.ForeignKey(
        "wagtaildocs.Document",
        verbose_name=_("statutes (document)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "The current statutes (Gesellschaftsvertrag / Satzung) as a PDF, linked in the annual report."
        ),
    )
    statutes_url = models.URLField(
        _("statutes (link)"),
        blank=True,
        help_text=_("Or a link to the statutes elsewhere; the document above is used when both are set."),
    )
    decision_makers = models.TextField(
        _("other decision makers"),
        blank=True,
        help_text=_(
            "Besides the managing directors: one per line, name and role, e.g. “Jana Novak, chair of the "
            "advisory board”. Shown in the annual report."
        ),
    )
    decision_makers_de = models.TextField(
        _("other decision makers (German)"),
        blank=True,
        help_text=_("The same with the roles in German. Empty: the English lines."),
    )
    personnel_note = models.TextField(
        _("about our personnel"),
        blank=True,
        help_text=_(
            "Shown with the personnel structure in the annual report, e.g. how many volunteers help. The "
            "positions, hours and (if published) pay come from the pay records."
        ),
    )
    personnel_note_de = models.TextField(_("about our personnel (German)"), blank=True)
    legal_affiliations = models.TextField(
        _("legal affiliations with third parties"),
        blank=True,
        help_text=_(
            "Shareholders, parent or subsidiary organisations, memberships that carry votes, one per line, "
            "e.g. “Sole shareholder: Example e.V., Berlin”. Shown in the annual report."
        ),
    )
    legal_affiliations_de = models.TextField(_("legal affiliations with third parties (German)"), blank=True)
    publish_gross_pay = models.BooleanField(
        _("publish gross pay per position"),
        default=False,
        help_text=_(
            "Show each position's average gross monthly pay in the annual report (as Mastodon does). Names "
            "are never shown; a position held by one person still reveals that person's pay."
        ),
    )

    select_related = ["logo", "statutes_document"]

    identity_panels = [
        FieldRowPanel([FieldPanel("legal_name"), FieldPanel("short_name")]),
        FieldPanel("logo"),
        MultiFieldPanel(
            [
                FieldPanel("street"),
                FieldRowPanel([FieldPanel("postcode"), FieldPanel("city"), FieldPanel("country")]),
            ],
            heading=_("Address"),
        ),
        FieldRowPanel([FieldPanel("email"), FieldPanel("phone")]),
        FieldPanel("founding_year"),
    ]
    legal_panels = [
        FieldRowPanel([FieldPanel("register_court"), FieldPanel("register_number")]),
        FieldPanel("managing_directors"),
        FieldPanel("content_responsible_person"),
    ]
    tax_panels = [
        FieldRowPanel([FieldPanel("tax_office"), FieldPanel("tax_number")]),
        FieldPanel("vat_id"),
        HelpPanel(
            content=_(
                "A charitable organisation proves its tax status in one of two ways: the exemption notice "
                "(Freistellungsbescheid) for a past assessment period, or — before the first one — the "
                "separate determination under § 60a AO. Fill in the one that is current."
            )
        ),
        MultiFieldPanel(
            [
                FieldPanel("exemption_notice_date"),
                FieldRowPanel(
                    [FieldPanel("exemption_period_start_year"), FieldPanel("exemption_period_end_year")]
                ),
            ],
            heading=_("Exemption notice"),
        ),
        FieldPanel("section_60a_determination_date"),
    ]
    bank_panels = [
        FieldPanel("bank_account_holder"),
        FieldPanel("iban"),
        FieldRowPanel([FieldPanel("bic"), FieldPanel("bank_name")]),
    ]
    transparency_panels = [
        HelpPanel(
            content=_(
                "The annual report publishes the ten items of the Initiative Transparente Zivilgesellschaft: "
                "name, seat and founding year (Identity), the managing directors (Legal), the tax status (Tax), "
                "the figures from the books and the personnel from the pay records, and the texts below."
            )
        ),
        MultiFieldPanel(
            [
                FieldPanel("statutes_purpose"),
                FieldPanel("statutes_purpose_de"),
                FieldRowPanel([FieldPanel("statutes_document"), FieldPanel("statutes_url")]),
            ],
            heading=_("Statutes and goals"),
        ),
        MultiFieldPanel(
            [FieldPanel("decision_makers"), FieldPanel("decision_makers_de")],
            heading=_("Decision makers"),
        ),
        MultiFieldPanel(
            [FieldPanel("personnel_note"), FieldPanel("personnel_note_de"), FieldPanel("publish_gross_pay")],
            heading=_("Personnel"),
        ),
        MultiFieldPanel(
            [FieldPanel("legal_affiliations"), FieldPanel("legal_affiliations_de")],
            heading=_("Legal affiliations"),
        ),
    ]
    edit_handler = TabbedInterface(
        [
            ObjectList(identity_panels, heading=_("Identity")),
            ObjectList(legal_panels, heading=_("Legal")),
            ObjectList(tax_panels, heading=_("Tax")),
            ObjectList(bank_panels, heading=_("Bank account")),
            ObjectList(transparency_panels, heading=_("Transparency")),
        ]
    )

    class Meta:
        verbose_name = _("organisation")
        verbose_name_plural = _("organisation")

    def __str__(self):
        return self.legal_name or str(_("Organisation"))

    def clean(self):
        super().clean()
        self.iban = normalise_identifier(self.iban)
        self.bic = normalise_identifier(self.bic)
        self.vat_id = normalise_identifier(self.vat_id)
        self.country = (self.country or "").upper()
        errors = {}
        years = (self.exemption_period_start_year, self.exemption_period_end_year)
        if self.exemption_notice_date and None in years:
            errors["exemption_period_start_year"] = _(
                "Enter the assessment period the exemption notice covers (first and last year)."
            )
        if any(year is not None for year in years) and not self.exemption_notice_date:
            errors["exemption_notice_date"] = _("Enter the date of the exemption notice for this period.")
        if None not in years and years[0] > years[1]:
            errors["exemption_period_end_year"] = _("The period cannot end before it starts.")
        if errors:
            raise ValidationError(errors)

    @property
    def display_name(self) -> str:
        return self.short_name or self.legal_name

    @property
    def country_name(self) -> str:
        """The country in the active language (Babel's CLDR data), e.g. “Germany” or “Deutschland”."""
        if not self.country:
            return ""
        try:
            locale = BabelLocale.parse(get_language() or "en", sep="-")
        except (ValueError, UnknownLocaleError):
            locale = BabelLocale("en")
        return locale.territories.get(self.country.upper(), self.country)

    @property
    def address_lines(self) -> list[str]:
        """Street, postcode and city, country: the lines under the name on a letter."""
        town = " ".join(part for part in (self.postcode, self.city) if part)
        return [line for line in (self.street, town, self.country_name) if line]

    @property
    def managing_director_names(self) -> list[str]:
        return [name.strip() for name in self.managing_directors.splitlines() if name.strip()]

    @property
    def content_responsible_lines(self) -> list[str]:
        return [line.strip() for line in self.content_responsible_person.splitlines() if line.strip()]

    @property
    def exemption_period(self) -> str:
        """The assessment period as people write it: “2021–2023”, or one year."""
        start, end = self.exemption_period_start_year, self.exemption_period_end_year
        if start is None or end is None:
            return ""
        return str(start) if start == end else f"{start}–{end}"

    def transparency_text(self, field: str, language: str | None = None) -> str:
        """One of the transparency texts (``statutes_purpose``, ``decision_makers``, ``personnel_note``,
        ``legal_affiliations``) in ``language`` (the active one by default): German when filled in, else
        English."""
        language = (language or get_language() or "en")[:2]
        if language == "de":
            german = getattr(self, f"{field}_de", "").strip()
            if german:
                return german
        return getattr(self, field).strip()

    @property
    def statutes_link(self) -> str:
        """Where the statutes can be read: the document's URL, else the link; "" when neither is set."""
        if self.statutes_document_id:
            return self.statutes_document.url
        return self.statutes_url

    @property
    def iban_display(self) -> str:
        """The IBAN in groups of four, as printed on letters."""
        return " ".join(self.iban[i : i + 4] for i in range(0, len(self.iban), 4))

    @classmethod
    def of_default_site(cls) -> "OrganisationSettings | None":
        from wagtail.models import Site

        site = Site.objects.filter(is_default_site=True).first() or Site.objects.first()
        return cls.for_site(site) if site else None

    def document_party(self) -> dict:
        """The organisation as the issuer of a document (invoice, request for payment), as plain data that
        the document freezes: name, address, tax and register numbers, bank account."""
        return {
            "name": self.legal_name or self.display_name,
            "street": self.street,
            "postcode": self.postcode,
            "city": self.city,
            "country": self.country or "DE",
            "email": self.email,
            "phone": self.phone,
            "vat_id": (self.vat_id or "").replace(" ", ""),
            "tax_number": self.tax_number,
            "tax_office": self.tax_office,
            "register_court": self.register_court,
            "register_number": self.register_number,
            "managing_directors": list(self.managing_director_names),
            "bank_account_holder": self.bank_account_holder or self.legal_name,
            "iban": (self.iban or "").replace(" ", ""),
            "bic": self.bic,
            "bank_name": self.bank_name,
        }


@register_setting(icon="list-ul")
class NavigationSettings(ClusterableModel, BaseSiteSetting):
    """Footer links beyond the imprint and privacy notice (which are found by page type)."""

    panels = [
        HelpPanel(
            content=_(
                "The main menu lists the pages under each language's home page that have “Show in menus” "
                "ticked. The footer always links to the imprint and the privacy notice; add more links here."
            )
        ),
        InlinePanel("footer_links", heading=_("Footer links"), label=_("Footer link")),
    ]

    class Meta:
        verbose_name = _("navigation")
        verbose_name_plural = _("navigation")


class FooterLink(Orderable):
    navigation = ParentalKey(NavigationSettings, on_delete=models.CASCADE, related_name="footer_links")
    locale = models.ForeignKey(
        "wagtailcore.Locale",
        verbose_name=_("language"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Show this link only on pages in this language. Leave empty to show it everywhere."),
    )
    page = models.ForeignKey(
        "wagtailcore.Page",
        verbose_name=_("page"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Visitors see the page's translation in their language when there is one."),
    )
    url = models.URLField(_("or URL"), blank=True)
    label = models.CharField(
        _("label"), max_length=80, blank=True, help_text=_("Leave empty to use the page's title.")
    )

    panels = [
        FieldPanel("page"),
        FieldPanel("url"),
        FieldPanel("label"),
        FieldPanel("locale"),
    ]

    class Meta(Orderable.Meta):
        verbose_name = _("footer link")
        verbose_name_plural = _("footer links")

    def __str__(self):
        return self.label or (self.page.title if self.page else self.url)

    def clean(self):
        super().clean()
        if bool(self.page_id) == bool(self.url):
            raise ValidationError(_("Choose either a page or a URL, not both and not neither."))
        if self.url and not self.label:
            raise ValidationError({"label": _("A link to a URL needs a label.")})


# --- Pages ----------------------------------------------------------------------------------


class HomePage(Page):
    """The start page of one language; the site's root page is the English one."""

    hero_heading = models.CharField(
        _("hero heading"), max_length=200, blank=True, help_text=_("Leave empty to use the page title.")
    )
    hero_intro = models.TextField(_("hero introduction"), blank=True)
    body = StreamField(BodyBlock(), blank=True, verbose_name=_("body"))

    content_panels = [
        *Page.content_panels,
        FieldPanel("hero_heading"),
        FieldPanel("hero_intro"),
        FieldPanel("body"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("hero_heading"),
        index.SearchField("hero_intro"),
        index.SearchField("body"),
    ]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = [
        "cms.ContentPage",
        "cms.ImprintPage",
        "cms.PrivacyPage",
        "cms.TiersPage",
        "cms.SupportersPage",
        "cms.PatronUpdateIndexPage",
        "cms.EmojiGalleryPage",
        "cms.SponsorsPage",
        "cms.GrantsPage",
    ]

    class Meta:
        verbose_name = _("home page")

    @classmethod
    def can_create_at(cls, parent):
        # Only directly under the tree's root: one home page per language, each a site root.
        return super().can_create_at(parent) and parent.is_root()


class ContentPage(Page):
    """A standard page: about us, transparency, how to help."""

    intro = models.TextField(_("introduction"), blank=True, help_text=_("A short lead paragraph."))
    body = StreamField(BodyBlock(), blank=True, verbose_name=_("body"))

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]

    parent_page_types = ["cms.HomePage", "cms.ContentPage"]
    subpage_types = ["cms.ContentPage"]
    show_in_menus_default = True

    class Meta:
        verbose_name = _("content page")


class LegalPage(Page):
    """A page that renders the organisation's legal identity from site settings, plus optional text."""

    body = StreamField(BodyBlock(), blank=True, verbose_name=_("body"))

    content_panels = [*Page.content_panels, FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("body")]

    parent_page_types = ["cms.HomePage"]
    subpage_types = []
    max_count_per_parent = 1

    class Meta:
        abstract = True

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["organisation"] = OrganisationSettings.for_request(request)
        return context


class ImprintPage(LegalPage):
    """Impressum (§ 5 DDG, § 18 MStV)."""

    class Meta:
        verbose_name = _("imprint")


class PrivacyPage(LegalPage):
    """Datenschutzerklärung: the controller's identity comes from settings, the notice itself is the body."""

    class Meta:
        verbose_name = _("privacy notice")


class TiersPage(Page):
    """The tiers as cards, a free amount and a one-time gift, each linking to the (uncached) checkout.

    Shows the same to everyone and carries no form, so its HTML can be cached; the cards come from
    fundraising/public.py, cached and refreshed when a tier or a patronage changes.
    """

    intro = RichTextField(_("introduction"), blank=True, features=RICH_TEXT_FEATURES)
    body = StreamField(
        BodyBlock(),
        blank=True,
        verbose_name=_("below the tiers"),
        help_text=_("For example questions and answers."),
    )

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]

    parent_page_types = ["cms.HomePage"]
    subpage_types = []
    max_count_per_parent = 1
    show_in_menus_default = True
    shows_patron_figures = True  # fundraising/signals.py refreshes the cached figures when it is published

    class Meta:
        verbose_name = _("tiers page")

    def get_context(self, request, *args, **kwargs):
        from fundraising import public

        context = super().get_context(request, *args, **kwargs)
        context["offer"] = public.tiers_offer()
        context["supporters_page"] = _sibling(self, SupportersPage)
        return context


class SupportersPage(Page):
    """The supporters wall: patrons who chose to be listed, by tier, with fediverse handles linked."""

    intro = RichTextField(_("introduction"), blank=True, features=RICH_TEXT_FEATURES)
    body = StreamField(BodyBlock(), blank=True, verbose_name=_("below the wall"))

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]

    parent_page_types = ["cms.HomePage"]
    subpage_types = []
    max_count_per_parent = 1
    shows_patron_figures = True

    class Meta:
        verbose_name = _("supporters page")

    def get_context(self, request, *args, **kwargs):
        from fundraising import public

        context = super().get_context(request, *args, **kwargs)
        context["wall"] = public.supporters_wall()
        context["tiers_page"] = _sibling(self, TiersPage)
        return context


class SponsorsPage(Page):
    """The sponsorship offer (packages with price, VAT, benefits and free places) and the current sponsors.

    The same for every visitor and without a form: “Become a sponsor” links to the application (a plain
    Django view). The sponsors come from sponsors/placements.py through a fragment that is cached and
    refreshed whenever a package, sponsor, logo or sponsorship changes.
    """

    intro = RichTextField(_("introduction"), blank=True, features=RICH_TEXT_FEATURES)
    outro = RichTextField(
        _("below the sponsors"),
        blank=True,
        features=RICH_TEXT_FEATURES,
        help_text=_("For example how to get in touch about a sponsorship."),
    )

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("outro")]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("outro")]

    parent_page_types = ["cms.HomePage"]
    subpage_types = []
    max_count_per_parent = 1  # one per language: each home page (a language's tree) has its own

    class Meta:
        verbose_name = _("sponsors page")

    def offered_packages(self, *, on: datetime.date | None = None) -> list:
        """The packages a company can apply for, best first, each with ``price_display`` (net, in the
        active language) and ``places_left`` (None without a capacity). Two queries."""
        from fundraising.public import money_display
        from sponsors.models import Package, Sponsorship

        day = on or timezone.localdate()
        packages = list(Package.objects.offered())
        limited = [package for package in packages if package.capacity is not None]
        taken = {}
        if limited:
            # The seats of Package.seats_taken(), counted for all limited packages at once.
            taken = dict(
                Sponsorship.objects.holding_seat()
                .filter(package__in=limited, start_date__lte=day, end_date__gte=day)
                .order_by()
                .values("package")
                .annotate(count=Count("pk"))
                .values_list("package", "count")
            )
        for package in packages:
            package.price_display = money_display(package.price, "eur")
            package.places_left = (
                None if package.capacity is None else max(package.capacity - taken.get(package.pk, 0), 0)
            )
        return packages

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["packages"] = self.offered_packages()
        return context


class GrantsPage(Page):
    """Our grants: current and past ones with funder, amount, period, purpose and milestone progress; never
    people, pay or costs.

    The same for every visitor. The listing comes from grants/figures.py (``public_grants``) through a
    fragment that is cached and refreshed whenever a grant, milestone or funder changes (grants/signals.py).
    """

    intro = RichTextField(_("introduction"), blank=True, features=RICH_TEXT_FEATURES)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    search_fields = [*Page.search_fields, index.SearchField("intro")]

    parent_page_types = ["cms.HomePage"]
    subpage_types = []
    max_count_per_parent = 1  # one per language: each home page (a language's tree) has its own

    class Meta:
        verbose_name = _("grants page")

    def get_context(self, request, *args, **kwargs):
        from grants import figures, signals

        context = super().get_context(request, *args, **kwargs)
        # A callable: the template calls it only when the cached fragment has to be rendered anew.
        context["public_grants"] = figures.public_grants
        context["grants_cache_version"] = signals.public_grants_cache_version()
        context["grants_cache_day"] = timezone.localdate().isoformat()
        return context


class PatronUpdateIndexPage(Page):
    """Development updates and roadmap posts, newest first. The same for everyone: bodies are never listed."""

    intro = RichTextField(_("introduction"), blank=True, features=RICH_TEXT_FEATURES)

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    search_fields = [*Page.search_fields, index.SearchField("intro")]

    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.PatronUpdatePage"]
    max_count_per_parent = 1
    show_in_menus_default = True
    updates_per_page = 20

    class Meta:
        verbose_name = _("updates index")

    def updates(self):
        return (
            PatronUpdatePage.objects.child_of(self).live().public().order_by("-date", "-first_published_at")
        )

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["updates"] = Paginator(self.updates(), self.updates_per_page).get_page(
            request.GET.get("page")
        )
        return context


class PatronUpdatePage(Page):
    """A development update or roadmap post. With “patrons only” on, the body is for patrons with the updates
    perk: everyone else sees the title, date, teaser and the tiers that unlock it.

    The body of a protected post never leaves the server for anyone else: it is left out of the HTML, of the
    search index (``searchable_body``) and of the meta description (the teaser stands in), and the response
    is ``Cache-Control: private`` because it differs per visitor. Staff see it in the admin's preview.
    """

    date = models.DateField(_("date"), default=timezone.localdate)
    teaser = models.TextField(
        _("teaser"),
        max_length=500,
        help_text=_("One or two sentences everyone may read, in listings, feeds and search results."),
    )
    body = StreamField(BodyBlock(), blank=True, verbose_name=_("body"))
    patrons_only = models.BooleanField(
        _("patrons only"),
        default=True,
        help_text=_("Only patrons with the updates perk may read the body. Untick to make the post public."),
    )

    content_panels = [
        *Page.content_panels,
        FieldRowPanel([FieldPanel("date"), FieldPanel("patrons_only")]),
        FieldPanel("teaser"),
        FieldPanel("body"),
    ]
    search_fields = [
        *Page.search_fields,
        index.SearchField("teaser"),
        index.SearchField("searchable_body"),
        index.FilterField("date"),
    ]

    parent_page_types = ["cms.PatronUpdateIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = _("update")
        verbose_name_plural = _("updates")

    def searchable_body(self) -> str:
        """The body's text for the search index: empty for a post only patrons may read."""
        if self.patrons_only or not self.body:
            return ""
        return " ".join(str(text) for text in self.body.stream_block.get_searchable_content(self.body))

    def readable_by(self, request) -> bool:
        """Whether this request may see the body: a public post, a staff preview, or a patron with the perk."""
        from perks.services import has_perk

        if not self.patrons_only or getattr(request, "is_preview", False):
            return True
        return has_perk(user=request.user, kind="updates")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["can_read"] = self.readable_by(request)
        if not context["can_read"]:
            context["unlocking_tiers"] = updates_tiers()
            context["tiers_page"] = TiersPage.objects.live().public().filter(locale=self.locale).first()
        return context

    def serve(self, request, *args, **kwargs):
        response = super().serve(request, *args, **kwargs)
        if self.patrons_only:
            # Patrons and everyone else get different HTML from the same URL: no shared cache may keep it.
            patch_cache_control(response, private=True, no_cache=True)
            patch_vary_headers(response, ["Cookie"])
        return response


def updates_tiers() -> list:
    """The offered tiers whose perks include patron-only updates, cheapest first."""
    from fundraising.models import Tier

    return list(
        Tier.objects.offered()
        .filter(perk_links__perk__kind="updates", perk_links__perk__active=True)
        .distinct()
        .order_by("sort_order", "monthly_amount", "pk")
    )


class EmojiGalleryPage(Page):
    """Approved custom emoji, each with its :shortcode: and the patron's name or handle if they chose to
    be named (the same choice as for the supporters wall)."""

    intro = RichTextField(_("introduction"), blank=True, features=RICH_TEXT_FEATURES)
    body = StreamField(BodyBlock(), blank=True, verbose_name=_("below the gallery"))

    content_panels = [*Page.content_panels, FieldPanel("intro"), FieldPanel("body")]
    search_fields = [*Page.search_fields, index.SearchField("intro"), index.SearchField("body")]

    parent_page_types = ["cms.HomePage"]
    subpage_types = []
    max_count_per_parent = 1

    class Meta:
        verbose_name = _("emoji gallery")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["emoji"] = gallery_emoji()
        context["tiers_page"] = _sibling(self, TiersPage)
        return context


def gallery_emoji() -> list:
    """Approved emoji by shortcode, each with ``credit`` (the patron's public label or "") and
    ``credit_url`` (their fediverse profile for a handle). One query."""
    from django.db.models.functions import Lower

    from fundraising.models import Patron
    from perks.models import Emoji

    emoji = list(
        Emoji.objects.filter(status=Emoji.Status.APPROVED)
        .select_related("patron")
        .only(
            "shortcode",
            "image",
            "width",
            "height",
            "patron__listing",
            "patron__public_name",
            "patron__name",
            "patron__fediverse_handle",
            "patron__erased_at",
        )
        .order_by(Lower("shortcode"), "pk")
    )
    for item in emoji:
        patron = item.patron
        named = patron.listing != Patron.Listing.ANONYMOUS and patron.erased_at is None
        item.credit = patron.public_label if named else ""
        item.credit_url = (
            patron.fediverse_url if named and patron.listing == Patron.Listing.HANDLE and item.credit else ""
        )
    return emoji


def _sibling(page: Page, model: type[Page]) -> Page | None:
    """The live page of type `model` next to `page` (same parent, so same language), or None."""
    return model.objects.live().public().sibling_of(page).first()
