from django.urls import include, path

from . import checkout_views

app_name = "fundraising"

urlpatterns = [
    path("checkout/own-amount/", checkout_views.free_checkout, name="checkout_free"),
    path("checkout/<slug:tier>/", checkout_views.tier_checkout, name="checkout"),
    path("thanks/", checkout_views.thanks, name="thanks"),
    path("", include("fundraising.account_urls")),
    path("", include("fundraising.receipt_urls")),
]
