"""The tip inbox under /staff/tips/."""

from django.urls import path

from submissions import staff_views

app_name = "submissions_staff"

urlpatterns = [
    path("", staff_views.inbox, name="inbox"),
    path("<str:reference>/", staff_views.tip_detail, name="tip"),
    path("<str:reference>/status/", staff_views.tip_transition, name="transition"),
    path("<str:reference>/assign/", staff_views.tip_assign, name="assign"),
    path("<str:reference>/details/", staff_views.tip_details, name="details"),
    path("<str:reference>/notes/", staff_views.tip_note, name="note"),
    path("<str:reference>/questions/", staff_views.tip_question, name="question"),
]
