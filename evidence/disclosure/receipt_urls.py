"""Receipt pages anyone may use: include under "receipts/"."""

from django.urls import path

from evidence.disclosure import receipt_views

app_name = "receipts"

urlpatterns = [
    path("verify/", receipt_views.verify, name="verify"),
    path("keys/<slug:agency_slug>/", receipt_views.keys, name="keys"),
    path("keys/<slug:agency_slug>/<str:key_id>.pub", receipt_views.public_key, name="public_key"),
]
