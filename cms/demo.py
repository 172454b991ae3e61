"""Demo content for the public site: home, about, transparency, support (tiers), supporters, sponsors, grants,
imprint, privacy, the updates (one public post and two for patrons) and the emoji gallery in English and
German.

`seed()` is idempotent and deterministic: it creates what is missing and leaves existing pages alone,
so running it twice gives the same tree. Organisation settings are (re)set to the demo values.
"""

import datetime
import io
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.files import File
from django.core.files.images import ImageFile
from django.db import transaction
from wagtail.images import get_image_model
from wagtail.models import Collection, Locale, Page, Site
from wagtail.rich_text import RichText

from .models import (
    ContentPage,
    EmojiGalleryPage,
    FooterLink,
    GrantsPage,
    HomePage,
    ImprintPage,
    NavigationSettings,
    OrganisationSettings,
    PatronUpdateIndexPage,
    PatronUpdatePage,
    PrivacyPage,
    SponsorsPage,
    SupportersPage,
    TiersPage,
)

ORDER = 20  # after the accounts, before the domain apps: invoices and receipts freeze the organisation

LOGO_TITLE = "Fediverse Commons logo"

ORGANISATION = {
    "short_name": "Fediverse Commons",
    "legal_name": "Fediverse Commons gGmbH",
    "street": "Oranienstraße 183",
    "postcode": "10999",
    "city": "Berlin",
    "country": "DE",
    "founding_year": 2022,
    "email": "hello@fediverse-commons.example",
    "phone": "+49 30 12345678",
    "register_court": "Amtsgericht Charlottenburg",
    "register_number": "HRB 123456 B",
    "managing_directors": "Lena Hoffmann\nTomás Reyes",
    "content_responsible_person": "Lena Hoffmann\nOranienstraße 183\n10999 Berlin",
    "tax_office": "Finanzamt für Körperschaften I Berlin",
    "tax_number": "27/123/45678",
    # "DE" + 12345678 + the check digit the Federal Central Tax Office's MOD 11,10 method gives (8).
    "vat_id": "DE123456788",
    "exemption_notice_date": datetime.date(2025, 3, 14),
    "exemption_period_start_year": 2021,
    "exemption_period_end_year": 2023,
    "section_60a_determination_date": None,
    "bank_account_holder": "Fediverse Commons gGmbH",
    "iban": "DE89370400440532013000",
    "bic": "GENODEM1GLS",
    "bank_name": "GLS Gemeinschaftsbank eG",
    # Transparency (the ten ITZ items of the annual report).
    "statutes_purpose": (
        "Promotion of science and research; adult education (§ 52 (2) nos. 1 and 7 AO), in particular by "
        "developing open-source software for decentralised social networks and publishing it freely."
    ),
    "statutes_purpose_de": (
        "Förderung von Wissenschaft und Forschung; Volksbildung (§ 52 Abs. 2 Nr. 1 und 7 AO), insbesondere "
        "durch die Entwicklung quelloffener Software für dezentrale soziale Netzwerke und ihre freie "
        "Veröffentlichung."
    ),
    "statutes_url": "",
    "decision_makers": "Jana Novak, chair of the advisory board\nDr. Samuel Okafor, member of the advisory board",
    "decision_makers_de": "Jana Novak, Vorsitzende des Beirats\nDr. Samuel Okafor, Mitglied des Beirats",
    "personnel_note": "About 15 volunteers help with moderation, translation and support.",
    "personnel_note_de": "Rund 15 Ehrenamtliche helfen bei Moderation, Übersetzung und Support.",
    "legal_affiliations": (
        "Sole shareholder: Fediverse Commons Förderverein e.V., Berlin\n"
        "Member of the Open Source Business Alliance (no voting rights over us)"
    ),
    "legal_affiliations_de": (
        "Alleinige Gesellschafterin: Fediverse Commons Förderverein e.V., Berlin\n"
        "Mitglied der Open Source Business Alliance (ohne Stimmrechte uns gegenüber)"
    ),
    "publish_gross_pay": True,
}

STATUTES_TITLE = "Fediverse Commons gGmbH – Gesellschaftsvertrag (statutes)"


def paragraph(html: str) -> tuple[str, RichText]:
    return ("paragraph", RichText(html))


def heading(text: str, level: str = "h2") -> tuple[str, dict]:
    return ("heading", {"text": text, "level": level})


def quote(text: str, attribution: str) -> tuple[str, dict]:
    return ("quote", {"quote": text, "attribution": attribution})


def call_to_action(title: str, text: str, button_label: str, page: Page) -> tuple[str, dict]:
    return (
        "call_to_action",
        {"title": title, "text": text, "button_label": button_label, "link_page": page, "link_url": ""},
    )


def call_to_action_url(title: str, text: str, button_label: str, url: str) -> tuple[str, dict]:
    return (
        "call_to_action",
        {"title": title, "text": text, "button_label": button_label, "link_page": None, "link_url": url},
    )


def patron_stats(heading_text: str, goal: Decimal, goal_text: str) -> tuple[str, dict]:
    return ("patron_stats", {"heading": heading_text, "monthly_goal": goal, "goal_text": goal_text})


def figure(key: str, alt_text: str, caption: str, long_description: str) -> tuple[str, dict]:
    return (
        "figure",
        {
            "image": None,
            "figure": key,
            "alt_text": alt_text,
            "caption": caption,
            "long_description": long_description,
        },
    )


# --- The pages, in both languages -------------------------------------------------------------

HOME = {
    "en": {
        "title": "Home",
        "hero_heading": "Social media that belongs to everyone",
        "hero_intro": (
            "Fediverse Commons is a non-profit in Berlin that pays the people who build, host and look after "
            "open-source social media. Every euro we receive and spend is published."
        ),
    },
    "de": {
        "title": "Startseite",
        "slug": "startseite",
        "hero_heading": "Soziale Medien, die allen gehören",
        "hero_intro": (
            "Fediverse Commons ist eine gemeinnützige Gesellschaft in Berlin. Wir bezahlen die Menschen, die "
            "quelloffene soziale Medien entwickeln, betreiben und pflegen. Jeden Euro, den wir einnehmen und "
            "ausgeben, legen wir offen."
        ),
    },
}


def home_body(language: str, about: Page) -> list:
    if language == "de":
        return [
            paragraph(
                "<p>Das Fediverse ist ein Netz aus unabhängigen, quelloffenen sozialen Netzwerken, das keinem "
                "einzelnen Unternehmen gehört. Die Software dahinter schreiben und pflegen wenige Menschen, oft "
                "in ihrer Freizeit. Wir sammeln Geld von Unterstützer:innen, Unternehmen und öffentlichen "
                "Förderern und geben es an sie weiter – planbar, fair bezahlt und öffentlich nachvollziehbar.</p>"
            ),
            figure(
                "funding-flow",
                "Diagramm: Unterstützer:innen, Sponsoren und Fördermittel zahlen an unsere gGmbH, die damit "
                "Entwicklung, Server und Hosting sowie Moderation bezahlt.",
                "Alles Geld läuft durch ein öffentliches Hauptbuch.",
                "Links stehen unsere drei Einnahmequellen: Unterstützer:innen, Sponsoren und Fördermittel. "
                "Pfeile führen von ihnen zu unserer gGmbH in der Mitte, die alle Buchungen in einem "
                "öffentlichen Hauptbuch führt. Von dort führen Pfeile zu den drei Ausgabenbereichen rechts: "
                "Entwicklung, Server und Hosting sowie Moderation.",
            ),
            quote(
                "Wenn die Gemeinschaft Software bezahlt, muss die Software der Gemeinschaft gehören.",
                "Lena Hoffmann, Geschäftsführerin",
            ),
            call_to_action(
                "Lernen Sie uns kennen",
                "Wer wir sind, was wir fördern und wie wir arbeiten.",
                "Mehr über uns",
                about,
            ),
        ]
    return [
        paragraph(
            "<p>The fediverse is a web of independent, open-source social networks that no single company "
            "owns. The software behind it is written and maintained by a small number of people, often in "
            "their spare time. We raise money from patrons, companies and public funders and pass it on to "
            "them: reliably, fairly paid and in the open.</p>"
        ),
        figure(
            "funding-flow",
            "Diagram: patrons, sponsors and grants pay into our gGmbH, which pays for development, servers "
            "and hosting, and moderation.",
            "All money flows through one public ledger.",
            "On the left are our three sources of income: patrons, sponsors and grants. Arrows lead from them "
            "to our gGmbH in the middle, which keeps every booking in one public ledger. From there, arrows "
            "lead to the three kinds of spending on the right: development, servers and hosting, and "
            "moderation.",
        ),
        quote(
            "When the community pays for software, the software must belong to the community.",
            "Lena Hoffmann, managing director",
        ),
        call_to_action(
            "Get to know us",
            "Who we are, what we fund and how we work.",
            "More about us",
            about,
        ),
    ]


@dataclass
class DemoPage:
    model: type[Page]
    slug: str
    show_in_menus: bool
    content: dict[str, dict]  # language -> field values (title, slug, …)
    body: Callable[[str, dict[str, Page]], list] | None  # (language, English pages by slug) -> stream


def transparency_body(language: str, pages: dict[str, Page]) -> list:
    if language == "de":
        return [
            heading("Was wir veröffentlichen"),
            paragraph(
                "<p>Wir folgen den zehn Punkten der Initiative Transparente Zivilgesellschaft und gehen "
                "darüber hinaus:</p><ul><li>Name, Sitz, Anschrift und Gründungsjahr</li><li>Satzung und "
                "Ziele</li><li>den aktuellen Freistellungsbescheid des Finanzamts</li><li>die Namen und "
                "Aufgaben der Geschäftsführung</li><li>jeden Monat unsere Einnahmen nach Herkunft und unsere "
                "Ausgaben nach Zweck</li><li>die Namen aller, deren Zahlungen mehr als zehn Prozent unseres "
                "Jahresbudgets ausmachen – mit ihrer Zustimmung, sonst als „anonym“</li></ul>"
            ),
            figure(
                "tax-spheres",
                "Die vier steuerlichen Sphären einer gGmbH",
                "Jeder Euro gehört zu genau einer der vier steuerlichen Sphären.",
                "Ideeller Bereich: Spenden ohne Gegenleistung und Fördermittel. Vermögensverwaltung: Zinsen "
                "und Namenslizenzen. Zweckbetrieb: bei uns selten. Wirtschaftlicher Geschäftsbetrieb: "
                "Unterstützungsstufen mit Dankeschön, Sponsoring mit Link und Merchandise.",
            ),
            heading("Unsere Steuerbegünstigung"),
            paragraph(
                "<p>Das Finanzamt für Körperschaften I Berlin hat uns mit Freistellungsbescheid vom "
                "14. März 2025 für die Jahre 2021 bis 2023 als gemeinnützig anerkannt. Zahlungen ohne "
                "Gegenleistung sind Spenden und steuerlich absetzbar. Für Unterstützungsstufen mit Dankeschön "
                "stellen wir keine Zuwendungsbestätigung aus: Eine Gegenleistung macht aus einer Spende einen "
                "Kauf.</p>"
            ),
            call_to_action_url(
                "Monats- und Jahresberichte",
                "Jeden Monat: Einnahmen nach Herkunft, Ausgaben nach Zweck, Ergebnis und Kontostand – als Seite, "
                "PDF, CSV und JSON.",
                "Zu den Berichten",
                "/de/reports/",
            ),
        ]
    return [
        heading("What we publish"),
        paragraph(
            "<p>We follow the ten points of the Transparent Civil Society Initiative, and go further:</p>"
            "<ul><li>name, seat, address and founding year</li><li>statutes and goals</li><li>the latest "
            "exemption notice from the tax office</li><li>the names and roles of our managing directors</li>"
            "<li>every month, our income by source and our spending by purpose</li><li>the names of everyone "
            "whose payments exceed ten percent of our annual budget – with their consent, otherwise as "
            "“anonymous”</li></ul>"
        ),
        figure(
            "tax-spheres",
            "The four tax spheres of a gGmbH",
            "Every euro belongs to exactly one of four tax spheres.",
            "Non-profit core: donations without perks, and grants. Asset management: interest and licensing "
            "the name. Purpose business: rarely used here. Taxable business: patron tiers with perks, "
            "sponsorship with a link, and merchandise.",
        ),
        heading("Our tax status"),
        paragraph(
            "<p>The Finanzamt für Körperschaften I Berlin recognised us as charitable with its exemption "
            "notice of 14 March 2025 for the years 2021 to 2023. Payments without perks are donations and "
            "tax-deductible. For patron tiers with perks we do not issue donation receipts: a perk turns a "
            "donation into a purchase.</p>"
        ),
        call_to_action_url(
            "Monthly and annual reports",
            "Every month: income by source, spending by purpose, the result and the cash at hand – as a page, "
            "a PDF, a CSV and JSON.",
            "Read the reports",
            "/reports/",
        ),
    ]


def about_body(language: str, pages: dict[str, Page]) -> list:
    transparency = pages["transparency"]
    if language == "de":
        return [
            heading("Warum es uns gibt"),
            paragraph(
                "<p>Millionen Menschen nutzen jeden Tag das Fediverse: dezentrale, quelloffene soziale "
                "Netzwerke, die keinem einzelnen Unternehmen gehören. Die Software dahinter entsteht oft "
                "ehrenamtlich. Die Fediverse Commons gGmbH wurde 2022 in Berlin gegründet, um das zu ändern: "
                "Wir sammeln Geld aus der Gemeinschaft, von Unternehmen und öffentlichen Förderern und geben "
                "es an die Menschen weiter, die entwickeln, übersetzen, dokumentieren und moderieren.</p>"
            ),
            heading("Was wir fördern"),
            paragraph(
                "<ul><li>die Entwicklung quelloffener Server- und App-Software, bezahlt nach Stunden oder "
                "Meilensteinen</li><li>Server, Sicherungen und Sicherheitsprüfungen</li><li>Werkzeuge für "
                "Moderation und die Arbeit für sichere Gemeinschaften</li><li>Übersetzungen und barrierefreie "
                "Dokumentation</li></ul>"
            ),
            quote(
                "Öffentliches Geld, öffentlicher Code: Was die Gemeinschaft bezahlt, soll ihr auch gehören.",
                "Tomás Reyes, Geschäftsführer",
            ),
            heading("Wie wir organisiert sind"),
            paragraph(
                "<p>Wir sind eine gGmbH, eine Gesellschaft mit beschränkter Haftung, die nach deutschem "
                "Steuerrecht als gemeinnützig anerkannt ist. Unsere Mittel dürfen nur für unsere "
                "satzungsmäßigen Zwecke verwendet werden: die Förderung von Bildung sowie von Wissenschaft "
                "und Forschung im Bereich freier Software. Wir führen ein einziges Hauptbuch und "
                "veröffentlichen jeden Monat, woher das Geld kam und wohin es ging.</p>"
            ),
            call_to_action(
                "Sehen Sie, wohin das Geld geht",
                "Unsere Monatsberichte zeigen jede Einnahmequelle und jede Ausgabe.",
                "Zum Transparenzbericht",
                transparency,
            ),
        ]
    return [
        heading("Why we exist"),
        paragraph(
            "<p>Millions of people use the fediverse every day: decentralised, open-source social networks "
            "that no single company owns. The software behind them is often written by volunteers. "
            "Fediverse Commons gGmbH was founded in Berlin in 2022 to change that: we raise money from the "
            "community, from companies and from public funders, and pass it on to the people who develop, "
            "translate, document and moderate.</p>"
        ),
        heading("What we fund"),
        paragraph(
            "<ul><li>development of open-source server and app software, paid by the hour or by milestone"
            "</li><li>servers, backups and security audits</li><li>moderation tools and trust-and-safety work"
            "</li><li>translations and accessible documentation</li></ul>"
        ),
        quote(
            "Public money, public code: what the community pays for should belong to the community.",
            "Tomás Reyes, managing director",
        ),
        heading("How we are organised"),
        paragraph(
            "<p>We are a gGmbH: a limited company with charitable status under German tax law. Our funds may "
            "only be used for the purposes in our statutes: the promotion of education, and of science and "
            "research in the field of free software. We keep a single ledger and publish every month where "
            "the money came from and where it went.</p>"
        ),
        call_to_action(
            "See where the money goes",
            "Our monthly reports show every source of income and every expense.",
            "Read the transparency report",
            transparency,
        ),
    ]


def imprint_body(language: str, pages: dict[str, Page]) -> list:
    if language == "de":
        return [
            heading("Haftung für Links"),
            paragraph(
                "<p>Unsere Seiten enthalten Links zu Websites Dritter, auf deren Inhalte wir keinen Einfluss "
                "haben. Für diese Inhalte ist der jeweilige Anbieter verantwortlich. Wenn uns eine "
                "Rechtsverletzung bekannt wird, entfernen wir den Link umgehend.</p>"
            ),
        ]
    return [
        heading("Liability for links"),
        paragraph(
            "<p>Our pages contain links to other websites whose content we do not control. Their providers "
            "are responsible for that content. When we learn of an infringement, we remove the link at "
            "once.</p>"
        ),
    ]


def privacy_body(language: str, pages: dict[str, Page]) -> list:
    if language == "de":
        return [
            heading("Wenn Sie diese Website besuchen"),
            paragraph(
                "<p>Unser Server speichert zu jedem Aufruf die IP-Adresse, Datum und Uhrzeit, die aufgerufene "
                "Adresse und den Browser. Wir brauchen diese Daten, um Angriffe abzuwehren (Art. 6 Abs. 1 "
                "lit. f DSGVO), und löschen sie nach sieben Tagen. Diese Website lädt nichts von anderen "
                "Servern: keine Schriften, keine Skripte, keine Statistikdienste.</p>"
            ),
            heading("Cookies"),
            paragraph(
                "<p>Wir setzen nur Cookies, die für die Anmeldung und den Schutz von Formularen nötig sind. "
                "Sie enthalten keine Werbe- oder Tracking-Kennungen.</p>"
            ),
            heading("Unterstützer:innen und Zahlungen"),
            paragraph(
                "<p>Wenn Sie uns regelmäßig unterstützen, verarbeiten wir Ihren Namen, Ihre E-Mail-Adresse, "
                "Ihre Anschrift für Zuwendungsbestätigungen und Ihre Zahlungen (Art. 6 Abs. 1 lit. b und c "
                "DSGVO). Zahlungen wickelt Stripe als Auftragsverarbeiter ab. Buchungsbelege bewahren wir "
                "nach § 147 AO acht Jahre auf, Bücher zehn Jahre.</p>"
            ),
            heading("Ihre Rechte"),
            paragraph(
                "<p>Sie haben das Recht auf Auskunft, Berichtigung, Löschung, Einschränkung der Verarbeitung, "
                "Datenübertragbarkeit und Widerspruch (Art. 15 bis 21 DSGVO). Sie können sich bei der "
                "Berliner Beauftragten für Datenschutz und Informationsfreiheit beschweren.</p>"
            ),
        ]
    return [
        heading("When you visit this website"),
        paragraph(
            "<p>For every request our server stores the IP address, date and time, the address requested and "
            "the browser. We need this to fend off attacks (Art. 6(1)(f) GDPR) and delete it after seven days. "
            "This website loads nothing from other servers: no fonts, no scripts, no analytics.</p>"
        ),
        heading("Cookies"),
        paragraph(
            "<p>We only set the cookies needed to log in and to protect forms. They contain no advertising or "
            "tracking identifiers.</p>"
        ),
        heading("Patrons and payments"),
        paragraph(
            "<p>When you support us regularly, we process your name, e-mail address, your postal address for "
            "donation receipts, and your payments (Art. 6(1)(b) and (c) GDPR). Stripe processes payments on "
            "our behalf. We keep accounting vouchers for eight years and our books for ten, as § 147 AO "
            "requires.</p>"
        ),
        heading("Your rights"),
        paragraph(
            "<p>You have the right of access, rectification, erasure, restriction of processing, data "
            "portability and objection (Art. 15 to 21 GDPR). You can complain to the Berlin Commissioner for "
            "Data Protection and Freedom of Information.</p>"
        ),
    ]


MONTHLY_GOAL = Decimal("40000")


def tiers_body(language: str, pages: dict[str, Page]) -> list:
    if language == "de":
        return [
            patron_stats(
                "Wo wir stehen",
                MONTHLY_GOAL,
                "Mit 40.000 € im Monat können wir fünf Entwickler:innen fest anstellen und alle Server bezahlen.",
            ),
            heading("Häufige Fragen"),
            heading("Ist meine Unterstützung steuerlich absetzbar?", "h3"),
            paragraph(
                "<p>Ja, wenn Sie ohne Dankeschön geben: als Spende ohne Gegenleistung, mit "
                "Zuwendungsbestätigung. Eine Stufe mit Dankeschön ist dagegen ein Kauf. Sie können beim "
                "Bezahlen „ohne Dankeschön“ wählen, dann wird derselbe Betrag zur absetzbaren Spende.</p>"
            ),
            heading("Kann ich jederzeit kündigen?", "h3"),
            paragraph(
                "<p>Ja. Unter „Meine Unterstützung“ ändern Sie Stufe, Karte und Betrag oder beenden die "
                "Unterstützung zum Ende des laufenden Zeitraums.</p>"
            ),
        ]
    return [
        patron_stats(
            "Where we stand",
            MONTHLY_GOAL,
            "With €40,000 a month we can employ five developers and pay for every server.",
        ),
        heading("Questions and answers"),
        heading("Is my support tax-deductible?", "h3"),
        paragraph(
            "<p>Yes, when you give without perks: a donation with nothing in return, with a donation receipt. "
            "A tier with perks is a purchase instead. At checkout you may choose “no perks”; the same amount "
            "is then a tax-deductible donation.</p>"
        ),
        heading("Can I stop at any time?", "h3"),
        paragraph(
            "<p>Yes. Under “My support” you change your tier, card or amount, or end your support at the end "
            "of the current period.</p>"
        ),
    ]


def supporters_body(language: str, pages: dict[str, Page]) -> list:
    if language == "de":
        return [
            patron_stats("Gemeinsam", MONTHLY_GOAL, ""),
            paragraph(
                "<p>Möchten Sie hier erscheinen? Wählen Sie unter „Meine Unterstützung“, ob wir Ihren Namen "
                "oder Ihr Fediverse-Profil zeigen, und ob mit Betrag.</p>"
            ),
        ]
    return [
        patron_stats("Together", MONTHLY_GOAL, ""),
        paragraph(
            "<p>Would you like to appear here? Under “My support”, choose whether we show your name or your "
            "fediverse handle, and whether with your amount.</p>"
        ),
    ]


def gallery_body(language: str, pages: dict[str, Page]) -> list:
    if language == "de":
        return [
            paragraph(
                "<p>Ein eigenes Emoji gehört zu den Stufen mit Dankeschön. Nach dem Hochladen sehen wir es uns "
                "an, bevor es hier und auf dem Server erscheint.</p>"
            ),
            call_to_action(
                "Ihr eigenes Emoji",
                "Wählen Sie eine Stufe mit Dankeschön.",
                "Zu den Stufen",
                pages["support-us"],
            ),
        ]
    return [
        paragraph(
            "<p>A custom emoji comes with the perk tiers. After you upload it, we take a look before it "
            "appears here and on the server.</p>"
        ),
        call_to_action(
            "Your own emoji",
            "Choose a tier with perks.",
            "See the tiers",
            pages["support-us"],
        ),
    ]


@dataclass
class DemoUpdate:
    slug: str
    date: datetime.date
    patrons_only: bool
    content: dict[str, dict]  # language -> title, slug, teaser
    body: dict[str, list]  # language -> stream


DEMO_UPDATES = [
    DemoUpdate(
        slug="faster-timelines",
        date=datetime.date(2026, 9, 18),
        patrons_only=False,
        content={
            "en": {
                "title": "Faster timelines on small servers",
                "teaser": "The release we funded this summer makes home timelines load twice as fast.",
            },
            "de": {
                "title": "Schnellere Zeitleisten auf kleinen Servern",
                "slug": "schnellere-zeitleisten",
                "teaser": "Die Version, die wir diesen Sommer bezahlt haben, lädt Zeitleisten doppelt so schnell.",
            },
        },
        body={
            "en": [
                paragraph(
                    "<p>Small servers with one or two volunteers were slowest: their database did work that "
                    "large servers hand to caches. Two developers we pay rewrote the query behind the home "
                    "timeline. On a server with 500 people it now loads in half the time.</p>"
                ),
                heading("What you can do"),
                paragraph("<p>Update your server to the new release. Nothing else needs to change.</p>"),
            ],
            "de": [
                paragraph(
                    "<p>Kleine Server mit ein oder zwei Ehrenamtlichen waren am langsamsten: Ihre Datenbank "
                    "erledigte Arbeit, die große Server an Caches abgeben. Zwei Entwickler:innen, die wir "
                    "bezahlen, haben die Abfrage hinter der Startseite neu geschrieben. Auf einem Server mit "
                    "500 Menschen lädt sie jetzt in der halben Zeit.</p>"
                ),
                heading("Was Sie tun können"),
                paragraph(
                    "<p>Aktualisieren Sie Ihren Server auf die neue Version. Mehr ist nicht nötig.</p>"
                ),
            ],
        },
    ),
    DemoUpdate(
        slug="winter-roadmap",
        date=datetime.date(2026, 10, 14),
        patrons_only=True,
        content={
            "en": {
                "title": "Roadmap for the winter: moderation tools first",
                "teaser": "What we build from November to February, and why moderation comes first.",
            },
            "de": {
                "title": "Fahrplan für den Winter: zuerst die Moderation",
                "slug": "fahrplan-winter",
                "teaser": "Was wir von November bis Februar bauen, und warum die Moderation zuerst kommt.",
            },
        },
        body={
            "en": [
                paragraph(
                    "<p>Moderators asked for one thing above all: to see reports from several servers in one "
                    "place. We start there in November, with a shared report queue that servers can opt "
                    "into.</p>"
                ),
                heading("Then"),
                paragraph(
                    "<ul><li>December: filters that a server can share with its neighbours</li><li>January: "
                    "accessible image descriptions suggested at upload</li><li>February: the security audit's "
                    "findings fixed and published</li></ul>"
                ),
            ],
            "de": [
                paragraph(
                    "<p>Moderator:innen wünschten sich vor allem eines: Meldungen mehrerer Server an einem Ort "
                    "zu sehen. Damit beginnen wir im November, mit einer gemeinsamen Meldeliste, der sich "
                    "Server anschließen können.</p>"
                ),
                heading("Danach"),
                paragraph(
                    "<ul><li>Dezember: Filter, die ein Server mit seinen Nachbarn teilen kann</li><li>Januar: "
                    "barrierefreie Bildbeschreibungen, beim Hochladen vorgeschlagen</li><li>Februar: die "
                    "Ergebnisse der Sicherheitsprüfung behoben und veröffentlicht</li></ul>"
                ),
            ],
        },
    ),
    DemoUpdate(
        slug="security-audit",
        date=datetime.date(2026, 10, 30),
        patrons_only=True,
        content={
            "en": {
                "title": "Behind the scenes: the security audit",
                "teaser": "An outside firm read our code for three weeks. A first look at what they found.",
            },
            "de": {
                "title": "Hinter den Kulissen: die Sicherheitsprüfung",
                "slug": "sicherheitspruefung",
                "teaser": "Eine externe Firma hat drei Wochen lang unseren Code gelesen. Ein erster Blick auf "
                "die Ergebnisse.",
            },
        },
        body={
            "en": [
                paragraph(
                    "<p>The auditors found no critical issue and two of medium severity, both in how media "
                    "uploads are checked. Fixes are written and under review; the full report follows once "
                    "servers have had time to update.</p>"
                ),
                quote(
                    "A careful codebase: the findings are the kind every project of this size has.",
                    "The audit team",
                ),
            ],
            "de": [
                paragraph(
                    "<p>Die Prüfer:innen fanden kein kritisches Problem und zwei mittlere, beide bei der "
                    "Prüfung hochgeladener Medien. Die Korrekturen sind geschrieben und in Prüfung; den "
                    "ganzen Bericht veröffentlichen wir, sobald die Server Zeit zum Aktualisieren hatten.</p>"
                ),
                quote(
                    "Eine sorgfältige Codebasis: Solche Befunde hat jedes Projekt dieser Größe.",
                    "Das Prüfungsteam",
                ),
            ],
        },
    ),
]


DEMO_PAGES = [
    DemoPage(
        model=ContentPage,
        slug="about-us",
        show_in_menus=True,
        content={
            "en": {
                "title": "About us",
                "intro": (
                    "Fediverse Commons is a non-profit company in Berlin. We pay people to build, host and look "
                    "after open-source social media that belongs to everyone."
                ),
            },
            "de": {
                "title": "Über uns",
                "slug": "ueber-uns",
                "intro": (
                    "Fediverse Commons ist eine gemeinnützige GmbH in Berlin. Wir bezahlen Menschen dafür, "
                    "quelloffene soziale Medien zu entwickeln, zu betreiben und zu pflegen, die allen gehören."
                ),
            },
        },
        body=about_body,
    ),
    DemoPage(
        model=ContentPage,
        slug="transparency",
        show_in_menus=True,
        content={
            "en": {
                "title": "Transparency",
                "intro": "We publish our finances every month. This is what we report, and why.",
            },
            "de": {
                "title": "Transparenz",
                "slug": "transparenz",
                "intro": "Wir veröffentlichen unsere Finanzen jeden Monat. Das berichten wir, und darum.",
            },
        },
        body=transparency_body,
    ),
    DemoPage(
        model=TiersPage,
        slug="support-us",
        show_in_menus=True,
        content={
            "en": {
                "title": "Support us",
                "intro": (
                    "<p>Most of our money comes from people like you. Choose a tier with perks, a donation "
                    "without perks, your own amount or a one-time gift. You can change or end it at any time.</p>"
                ),
            },
            "de": {
                "title": "Unterstützen",
                "slug": "unterstuetzen",
                "intro": (
                    "<p>Das meiste Geld bekommen wir von Menschen wie Ihnen. Wählen Sie eine Stufe mit "
                    "Dankeschön, eine Spende ohne Gegenleistung, einen eigenen Betrag oder eine einmalige "
                    "Spende. Sie können jederzeit ändern oder kündigen.</p>"
                ),
            },
        },
        body=tiers_body,
    ),
    DemoPage(
        model=SupportersPage,
        slug="supporters",
        show_in_menus=False,
        content={
            "en": {
                "title": "Our supporters",
                "intro": "<p>Thank you to everyone who makes our work possible. These patrons chose to be named.</p>",
            },
            "de": {
                "title": "Unsere Unterstützer:innen",
                "slug": "unterstuetzer-innen",
                "intro": (
                    "<p>Danke an alle, die unsere Arbeit möglich machen. Diese Unterstützer:innen möchten "
                    "genannt werden.</p>"
                ),
            },
        },
        body=supporters_body,
    ),
    DemoPage(
        model=SponsorsPage,
        slug="sponsors",
        show_in_menus=False,
        content={
            "en": {
                "title": "Sponsors",
                "intro": (
                    "<p>Companies that rely on open social media help pay for it. Their logos appear here for "
                    "the period they paid for; the packages below say what each one gets.</p>"
                ),
                "outro": "<p>Questions about a sponsorship? Write to hello@fediverse-commons.example.</p>",
            },
            "de": {
                "title": "Sponsoren",
                "intro": (
                    "<p>Unternehmen, die auf offene soziale Medien setzen, helfen sie zu bezahlen. Ihre Logos "
                    "stehen hier für den bezahlten Zeitraum; die Pakete unten zeigen, was jedes umfasst.</p>"
                ),
                "outro": "<p>Fragen zu einem Sponsoring? Schreiben Sie an hello@fediverse-commons.example.</p>",
            },
        },
        body=None,
    ),
    DemoPage(
        model=GrantsPage,
        slug="grants",
        show_in_menus=False,
        content={
            "en": {
                "title": "Grants",
                "intro": (
                    "<p>Public funders and foundations pay for parts of our work, usually per milestone. These "
                    "are the grants we hold and held, with what each pays for and how far we are.</p>"
                ),
            },
            "de": {
                "title": "Förderungen",
                "intro": (
                    "<p>Öffentliche Förderer und Stiftungen bezahlen Teile unserer Arbeit, meist nach "
                    "Meilensteinen. Das sind unsere laufenden und abgeschlossenen Förderungen: wofür sie "
                    "gedacht sind und wie weit wir sind.</p>"
                ),
            },
        },
        body=None,
    ),
    DemoPage(
        model=PatronUpdateIndexPage,
        slug="updates",
        show_in_menus=True,
        content={
            "en": {
                "title": "Updates",
                "intro": (
                    "<p>What we are working on, and what comes next. Some posts are for patrons: everyone reads "
                    "the summary, patrons with the updates perk read the whole post.</p>"
                ),
            },
            "de": {
                "title": "Neuigkeiten",
                "slug": "neuigkeiten",
                "intro": (
                    "<p>Woran wir arbeiten und was als Nächstes kommt. Manche Beiträge sind für "
                    "Unterstützer:innen: Die Zusammenfassung lesen alle, den ganzen Beitrag lesen "
                    "Unterstützer:innen mit dem Dankeschön „Entwicklungs-Updates“.</p>"
                ),
            },
        },
        body=None,
    ),
    DemoPage(
        model=EmojiGalleryPage,
        slug="emoji",
        show_in_menus=False,
        content={
            "en": {
                "title": "Custom emoji",
                "intro": (
                    "<p>Patrons add their own emoji to our flagship server. These are the ones we approved; "
                    "patrons who chose to be named are credited.</p>"
                ),
            },
            "de": {
                "title": "Eigene Emoji",
                "slug": "emoji",
                "intro": (
                    "<p>Unterstützer:innen bringen eigene Emoji auf unseren Server. Das sind die, die wir "
                    "freigegeben haben; wer genannt werden möchte, steht darunter.</p>"
                ),
            },
        },
        body=gallery_body,
    ),
    DemoPage(
        model=ImprintPage,
        slug="imprint",
        show_in_menus=False,
        content={"en": {"title": "Imprint"}, "de": {"title": "Impressum", "slug": "impressum"}},
        body=imprint_body,
    ),
    DemoPage(
        model=PrivacyPage,
        slug="privacy",
        show_in_menus=False,
        content={
            "en": {"title": "Privacy notice"},
            "de": {"title": "Datenschutzerklärung", "slug": "datenschutz"},
        },
        body=privacy_body,
    ),
]


# --- Seeding --------------------------------------------------------------------------------


def seed(
    *, rng: random.Random, today: datetime.date, real_kinds: Iterable[str] = (), log: Callable[[str], None]
) -> None:
    """Set up the public site. `rng`, `today` and `real_kinds` are unused: the site content is fixed."""
    with transaction.atomic():
        english = Locale.objects.get_or_create(language_code="en")[0]
        german = Locale.objects.get_or_create(language_code="de")[0]
        home, site = _english_home_and_site(english, log)
        _translation(home, german, HOME["de"], log)

        pages: dict[str, Page] = {}
        for demo_page in DEMO_PAGES:
            page = _english_page(home, demo_page, log)
            _translation(page, german, demo_page.content["de"], log)
            pages[demo_page.slug] = page

        # Bodies link to other pages, so they are filled once every page exists.
        for language in (english, german):
            code = language.language_code
            _fill_body(home.get_translation(language), home_body(code, pages["about-us"]), log)
            for demo_page in DEMO_PAGES:
                if demo_page.body is not None:
                    translation = pages[demo_page.slug].get_translation(language)
                    _fill_body(translation, demo_page.body(code, pages), log)

        _updates(pages["updates"], english, german, log)

        _organisation_settings(site, log)
        _navigation_settings(site, pages["transparency"], log)


def _english_home_and_site(english: Locale, log) -> tuple[HomePage, Site]:
    """The English HomePage as the default site's root, replacing Wagtail's “Welcome” page."""
    root = Page.get_first_root_node()
    if root is None:  # a flushed database (transactional tests) has lost what Wagtail's migrations made
        root = Page.add_root(instance=Page(title="Root", slug="root", locale=english))
        log("cms: created the page tree's root")
    home = HomePage.objects.filter(depth=2, locale__language_code="en").order_by("path").first()
    welcome = root.get_children().filter(slug="home").exclude(pk__in=HomePage.objects.values("pk")).first()
    if home is None:
        if welcome is not None:
            Page.objects.filter(pk=welcome.pk).update(slug="welcome-to-wagtail")
        home = HomePage(slug="home", **HOME["en"])
        root.add_child(instance=home)
        _publish(home)
        log("cms: created the English home page")

    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        site = Site.objects.create(hostname="localhost", port=80, root_page=home, is_default_site=True)
    if site.root_page_id != home.pk or site.site_name != ORGANISATION["short_name"]:
        site.root_page = home
        site.site_name = ORGANISATION["short_name"]
        site.save()

    if welcome is not None and not Site.objects.filter(root_page=welcome).exists():
        welcome.delete()
        log("cms: deleted Wagtail's welcome page")
    return home, site


def _updates(index: Page, english: Locale, german: Locale, log) -> None:
    """The demo updates under the index in both languages; bodies only where a post has none yet."""
    for update in DEMO_UPDATES:
        page = index.get_children().filter(slug=update.slug).first()
        if page is None:
            page = PatronUpdatePage(
                slug=update.slug, date=update.date, patrons_only=update.patrons_only, **update.content["en"]
            )
            index.add_child(instance=page)
            _publish(page)
            log(f"cms: created the update {page.title!r}")
        _translation(page, german, update.content["de"], log)
        for language in (english, german):
            _fill_body(page.get_translation(language), update.body[language.language_code], log)


def _english_page(home: HomePage, demo_page: DemoPage, log) -> Page:
    existing = home.get_children().filter(slug=demo_page.slug).first()
    if existing is not None:
        return existing.specific
    values = {key: value for key, value in demo_page.content["en"].items() if key != "slug"}
    page = demo_page.model(slug=demo_page.slug, show_in_menus=demo_page.show_in_menus, **values)
    home.add_child(instance=page)
    _publish(page)
    log(f"cms: created {page.title!r}")
    return page


def _translation(page: Page, locale: Locale, values: dict, log) -> Page:
    """The page's translation into `locale`; created from a copy with `values` and published if missing."""
    existing = page.get_translation_or_none(locale)
    if existing is not None:
        return existing.specific
    translation = page.copy_for_translation(locale).specific
    for name, value in values.items():
        if value is not None:
            setattr(translation, name, value)
    translation.save()
    _publish(translation)
    log(f"cms: translated {page.title!r} into {locale.language_code}: {translation.title!r}")
    return translation


def _fill_body(page: Page, body: list, log) -> None:
    """Give a page its demo body unless it has one (an editor's changes stay)."""
    page = page.specific_class.objects.get(pk=page.pk)  # fresh: the tree changed since it was loaded
    if not page.body:
        page.body = body
        _publish(page)
        log(f"cms: wrote the body of {page.title!r}")


def _publish(page: Page) -> None:
    page.save_revision().publish()


def _organisation_settings(site: Site, log) -> None:
    organisation = OrganisationSettings.for_site(site)
    for name, value in ORGANISATION.items():
        setattr(organisation, name, value)
    organisation.logo = _logo()
    organisation.statutes_document = _statutes_document()
    organisation.full_clean()
    organisation.save()
    log("cms: organisation settings set")


def _navigation_settings(site: Site, transparency: Page, log) -> None:
    navigation = NavigationSettings.for_site(site)
    if not FooterLink.objects.filter(navigation=navigation).exists():
        FooterLink.objects.create(navigation=navigation, page=transparency, sort_order=0)
        log("cms: footer link to the transparency page added")


def _statutes_document():
    """The statutes as a one-page PDF written by hand (the same bytes every time), stored once."""
    from wagtail.documents import get_document_model

    document_model = get_document_model()
    existing = document_model.objects.filter(title=STATUTES_TITLE).first()
    if existing is not None:
        return existing
    collection = Collection.get_first_root_node() or Collection.add_root(name="Root")
    return document_model.objects.create(
        title=STATUTES_TITLE,
        collection=collection,
        file=File(io.BytesIO(_statutes_pdf()), name="statutes.pdf"),
    )


def _statutes_pdf() -> bytes:
    """A minimal valid PDF with the purpose clause of the demo statutes."""
    lines = [
        "Gesellschaftsvertrag der Fediverse Commons gGmbH (Demo)",
        "§ 2 Zweck: Foerderung von Wissenschaft und Forschung; Volksbildung.",
    ]
    text = (
        "BT /F1 12 Tf 56 780 Td 16 TL "
        + " ".join(
            "(" + line.replace("§", "Par.").replace("(", "[").replace(")", "]") + ") '" for line in lines
        )
        + " ET"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n{content}\nendobj\n".encode("latin-1")
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    body += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return body


def _logo():
    """A simple logo drawn with Pillow: the same bytes every time, stored once."""
    from PIL import Image as PillowImage
    from PIL import ImageDraw

    image_model = get_image_model()
    existing = image_model.objects.filter(title=LOGO_TITLE).first()
    if existing is not None:
        return existing

    size = 256
    canvas = PillowImage.new("RGB", (size, size), "#3730a3")
    draw = ImageDraw.Draw(canvas)
    centre, outer = (128, 128), [(64, 72), (192, 72), (64, 184), (192, 184)]
    for point in outer:
        draw.line([point, centre], fill="#ffffff", width=12)
    for x, y in outer:
        draw.ellipse((x - 22, y - 22, x + 22, y + 22), fill="#ffffff")
    draw.ellipse((centre[0] - 38, centre[1] - 38, centre[0] + 38, centre[1] + 38), fill="#fde68a")
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", optimize=False)
    buffer.seek(0)
    collection = Collection.get_first_root_node() or Collection.add_root(name="Root")
    return image_model.objects.create(
        title=LOGO_TITLE, collection=collection, file=ImageFile(buffer, name="fediverse-commons-logo.png")
    )
