"""The company's own pages under /sponsors/account/ (inside the language prefix; names in ``sponsors``)."""

from django.urls import path

from . import views

app_name = "sponsors"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("apply/", views.apply, name="apply"),
    path("logo/<int:pk>/", views.logo_replace, name="logo_replace"),
    path("sponsorships/<int:pk>/renew/", views.renewal_accept, name="renewal_accept"),
    path("sponsorships/<int:pk>/withdraw/", views.application_withdraw, name="application_withdraw"),
    path("invoices/<str:number>.pdf", views.invoice_download, name="invoice_download"),
    path("invoices/<str:number>/pay/", views.invoice_pay, name="invoice_pay"),
    path("invoices/<str:number>/paid/", views.invoice_paid, name="invoice_paid"),
]
