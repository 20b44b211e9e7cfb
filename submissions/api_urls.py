"""The public tips API under /api/tips/."""

from django.urls import path

from submissions import api

app_name = "tips_api"

urlpatterns = [
    path("", api.TipCreateView.as_view(), name="create"),
    path("challenge/", api.ChallengeView.as_view(), name="challenge"),
    path("geocode/", api.GeocodeView.as_view(), name="geocode"),
    path("agencies/<slug:slug>/categories/", api.CategoriesView.as_view(), name="categories"),
    path("mine/", api.MineView.as_view(), name="mine"),
    path("mine/messages/", api.MineMessagesView.as_view(), name="mine_messages"),
    path("mine/uploads/", api.MineUploadsView.as_view(), name="mine_uploads"),
]
