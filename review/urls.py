"""Community review under /staff/review/: reviewers and their agency's admin."""

from django.urls import path

from review import views

app_name = "review"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:sample_id>/", views.sample, name="sample"),
    path("items/<int:item_id>/", views.item, name="item"),
    path("items/<int:item_id>/redacted/", views.item_redacted, name="item_redacted"),
]
