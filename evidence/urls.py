from django.urls import path

from evidence import views
from evidence.cases import views as case_views
from evidence.disclosure import views as share_views

app_name = "evidence"

urlpatterns = [
    path("", views.item_list, name="list"),
    path("upload/", views.upload_page, name="upload"),
    path("<uuid:item_id>/", views.item_detail, name="detail"),
    path("<uuid:item_id>/custody/", views.custody_report, name="custody_report"),
    path("<uuid:item_id>/custody/proof.json", views.custody_proof, name="custody_proof"),
    path("<uuid:item_id>/metadata/", views.item_metadata, name="metadata"),
    path("<uuid:item_id>/download/", views.download, name="download_issue"),
    path("<uuid:item_id>/media/<str:name>", views.media_file, name="media"),
    path("download/", views.download_signed, name="download"),
    path("<uuid:item_id>/disclosure/", share_views.item_do_not_disclose, name="item_disclosure"),
    path("<uuid:item_id>/legal-hold/", views.item_legal_hold, name="item_legal_hold"),
    path("<uuid:item_id>/retention/", views.item_retention, name="item_retention"),
    path("<uuid:item_id>/delete/", views.item_deletion_request, name="item_delete"),
    path("<uuid:item_id>/redact/", views.item_redact, name="item_redact"),
    path("<uuid:item_id>/redactions/<uuid:redaction_id>/", views.redaction_page, name="redaction"),
    path(
        "<uuid:item_id>/redactions/<uuid:redaction_id>/cancel/",
        views.redaction_cancel,
        name="redaction_cancel",
    ),
    path(
        "<uuid:item_id>/redactions/<uuid:redaction_id>/draft/",
        views.redaction_draft,
        name="redaction_draft",
    ),
    path(
        "<uuid:item_id>/redactions/<uuid:redaction_id>/track/",
        views.redaction_track,
        name="redaction_track",
    ),
    path(
        "<uuid:item_id>/redactions/<uuid:redaction_id>/approve/",
        views.redaction_approve,
        name="redaction_approve",
    ),
    path("retention/", views.retention_page, name="retention"),
    path("retention/<uuid:request_id>/", views.deletion_decide, name="deletion_decide"),
    path("cases/", case_views.case_list, name="case_list"),
    path("cases/new/", case_views.case_create, name="case_create"),
    path("cases/suggest/", case_views.case_suggest, name="case_suggest"),
    path("cases/lookup/", case_views.case_lookup, name="case_lookup"),
    path("add-to-case/", case_views.items_add_to_case, name="add_to_case"),
    path("cases/<uuid:case_id>/", case_views.case_detail, name="case_detail"),
    path("cases/<uuid:case_id>/edit/", case_views.case_edit, name="case_edit"),
    path("cases/<uuid:case_id>/activity/", case_views.case_activity, name="case_activity"),
    path("cases/<uuid:case_id>/members/", case_views.case_member_add, name="case_member_add"),
    path(
        "cases/<uuid:case_id>/members/<int:user_id>/remove/",
        case_views.case_member_remove,
        name="case_member_remove",
    ),
    path("cases/<uuid:case_id>/items/", case_views.case_item_add, name="case_item_add"),
    path(
        "cases/<uuid:case_id>/items/<uuid:item_id>/remove/",
        case_views.case_item_remove,
        name="case_item_remove",
    ),
    path(
        "cases/<uuid:case_id>/items/<uuid:item_id>/clock/",
        views.case_item_clock,
        name="case_item_clock",
    ),
    path(
        "cases/<uuid:case_id>/items/<uuid:item_id>/custody/",
        case_views.case_item_custody,
        name="case_item_custody",
    ),
    path("cases/<uuid:case_id>/playback/", case_views.case_playback, name="case_playback"),
    path("cases/<uuid:case_id>/package/", share_views.case_package, name="case_package"),
    path("cases/<uuid:case_id>/share/", share_views.share_create, name="share_create"),
    path(
        "cases/<uuid:case_id>/shares/<uuid:share_id>/revoke/",
        share_views.share_revoke,
        name="share_revoke",
    ),
    path("shared/", share_views.shared_list, name="shared_list"),
    path("shared/<uuid:share_id>/", share_views.shared_case, name="shared_case"),
    path("shared/<uuid:share_id>/package/", share_views.shared_package, name="shared_package"),
    path(
        "shared/<uuid:share_id>/acknowledge/",
        share_views.shared_acknowledge,
        name="shared_acknowledge",
    ),
    path("shared/<uuid:share_id>/receipt.json", share_views.shared_receipt, name="shared_receipt"),
    path("shared/<uuid:share_id>/links/", share_views.shared_link_create, name="shared_link"),
    path(
        "shared/<uuid:share_id>/items/<uuid:item_id>/",
        share_views.shared_item,
        name="shared_item",
    ),
    path(
        "shared/<uuid:share_id>/items/<uuid:item_id>/download/",
        share_views.shared_item_download,
        name="shared_item_download",
    ),
    path(
        "shared/<uuid:share_id>/items/<uuid:item_id>/media/<str:name>",
        share_views.shared_media,
        name="shared_media",
    ),
]
