from django.urls import path

from evidence import api

urlpatterns = [
    path("", api.ItemList.as_view(), name="api-evidence-list"),
    path("<uuid:item_id>/", api.ItemDetail.as_view(), name="api-evidence-detail"),
    path("<uuid:item_id>/custody", api.ItemCustody.as_view(), name="api-evidence-custody"),
    path(
        "<uuid:item_id>/download-url", api.DownloadUrl.as_view(), name="api-evidence-download-url"
    ),
]
