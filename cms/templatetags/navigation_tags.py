"""Header and footer navigation.

`{% load navigation_tags %}`, then `{% main_menu %}`, `{% language_switcher %}`, `{% footer_links %}`,
`{% language_alternates %}` or `{% home_page_url %}`. Each reads the tree once per request (see
cms/navigation.py) and shows the same to every visitor, so a page's HTML can be cached whole.
"""

from django import template

from cms import navigation

register = template.Library()


@register.inclusion_tag("includes/main_menu.html", takes_context=True)
def main_menu(context):
    request = context.get("request")
    return {"links": navigation.main_menu(request, current_page=context.get("page"))}


@register.inclusion_tag("includes/language_switcher.html", takes_context=True)
def language_switcher(context):
    request = context.get("request")
    return {"languages": navigation.language_links(request, page=context.get("page"))}


@register.inclusion_tag("includes/language_alternates.html", takes_context=True)
def language_alternates(context):
    """`<link rel="alternate" hreflang>` for each language the current page exists in."""
    request = context.get("request")
    languages = navigation.language_links(request, page=context.get("page"))
    return {
        "alternates": [
            (language.language_code, request.build_absolute_uri(language.url) if request else language.url)
            for language in languages
            if language.is_translation
        ]
    }


@register.inclusion_tag("includes/footer_links.html", takes_context=True)
def footer_links(context):
    return {"links": navigation.footer_links(context.get("request"))}


@register.simple_tag(takes_context=True)
def home_page_url(context):
    """The URL of the home page in the active language."""
    request = context.get("request")
    home = navigation.home_page(request)
    return home.get_url(request) if home is not None else "/"
