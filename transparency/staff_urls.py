"""The goals dashboard under /staff/goals/: supervisors and agency admins."""

from django.urls import path

from transparency import goal_views

app_name = "goals"

urlpatterns = [
    path("", goal_views.goal_list, name="list"),
    path("new/", goal_views.goal_new, name="new"),
    path("<int:goal_id>/", goal_views.goal_detail, name="detail"),
    path("<int:goal_id>/edit/", goal_views.goal_edit, name="edit"),
    path("<int:goal_id>/retire/", goal_views.goal_retire, name="retire"),
]
