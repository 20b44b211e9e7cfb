from django.urls import path

from evidence import api
from evidence.cases import api as case_api
from evidence.disclosure import api as share_api

urlpatterns = [
    path("", api.ItemList.as_view(), name="api-evidence-list"),
    path("<uuid:item_id>/", api.ItemDetail.as_view(), name="api-evidence-detail"),
    path("<uuid:item_id>/custody", api.ItemCustody.as_view(), name="api-evidence-custody"),
    path(
        "<uuid:item_id>/custody/proof",
        api.ItemCustodyProof.as_view(),
        name="api-evidence-custody-proof",
    ),
    path(
        "<uuid:item_id>/download-url", api.DownloadUrl.as_view(), name="api-evidence-download-url"
    ),
]

urlpatterns += [
    path("cases/", case_api.CaseList.as_view(), name="api-case-list"),
    path("cases/<uuid:case_id>/", case_api.CaseDetail.as_view(), name="api-case-detail"),
    path("cases/<uuid:case_id>/shares/", share_api.CaseShares.as_view(), name="api-case-shares"),
    path("shares/<uuid:share_id>/revoke", share_api.ShareRevoke.as_view(), name="api-share-revoke"),
    path("shared/", share_api.SharedWithMe.as_view(), name="api-shared-list"),
    path("shared/<uuid:share_id>/", share_api.SharedCase.as_view(), name="api-shared-case"),
]
