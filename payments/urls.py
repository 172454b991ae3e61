from django.urls import include, path

from . import views

app_name = "payments"

urlpatterns = [
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path(
        "sandbox/", include("payments.sandbox_urls")
    ),  # the local Stripe stand-in: 404 unless the sandbox is on
]
