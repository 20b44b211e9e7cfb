from django.urls import path

from evidence import views

app_name = "evidence"

urlpatterns = [
    path("", views.item_list, name="list"),
    path("upload/", views.upload_page, name="upload"),
    path("<uuid:item_id>/", views.item_detail, name="detail"),
    path("<uuid:item_id>/custody/", views.custody_report, name="custody_report"),
    path("<uuid:item_id>/metadata/", views.item_metadata, name="metadata"),
    path("<uuid:item_id>/download/", views.download, name="download_issue"),
    path("<uuid:item_id>/media/<str:name>", views.media_file, name="media"),
    path("download/", views.download_signed, name="download"),
]
