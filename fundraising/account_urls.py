"""The patron's own pages under /support/mine/ (names in the ``fundraising`` namespace)."""

from django.urls import path

from . import account_views

urlpatterns = [
    path("mine/", account_views.my_support, name="my_support"),
    path("mine/listing/", account_views.listing_update, name="my_support_listing"),
    path("mine/manage/", account_views.billing_portal, name="my_support_manage"),
    path("mine/export.json", account_views.data_export, name="my_support_export"),
    path("mine/delete/", account_views.account_delete, name="my_support_delete"),
    path("mine/payments/<str:number>.pdf", account_views.confirmation_download, name="payment_confirmation"),
]
