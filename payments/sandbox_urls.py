"""The sandbox's local pages (404 unless PAYMENTS_SANDBOX is on): included under /sandbox/ by payments.urls."""

from django.urls import path

from . import sandbox_views

urlpatterns = [
    path("checkout/<str:session_id>/", sandbox_views.checkout, name="sandbox_checkout"),
    path("checkout/<str:session_id>/debit/", sandbox_views.checkout_debit, name="sandbox_checkout_debit"),
    path("invoice/<str:token>/", sandbox_views.invoice, name="sandbox_invoice"),
    path("portal/<str:token>/", sandbox_views.portal, name="sandbox_portal"),
    path("portal/<str:token>/card/", sandbox_views.portal_card, name="sandbox_portal_card"),
    path(
        "portal/<str:token>/subscriptions/<str:subscription_id>/<slug:action>/",
        sandbox_views.portal_subscription,
        name="sandbox_portal_subscription",
    ),
]
