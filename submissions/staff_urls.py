"""The tip inbox under /staff/tips/."""

from django.urls import path

from submissions import staff_views

app_name = "submissions_staff"

urlpatterns = [
    path("", staff_views.inbox, name="inbox"),
    # Before the tip pages, so "templates" is never read as a tip's reference.
    path("templates/", staff_views.templates_page, name="templates"),
    path("templates/period/", staff_views.conversation_period, name="conversation_period"),
    path("templates/<int:template_id>/", staff_views.template_edit, name="template_edit"),
    path(
        "templates/<int:template_id>/delete/", staff_views.template_delete, name="template_delete"
    ),
    path("<str:reference>/", staff_views.tip_detail, name="tip"),
    path("<str:reference>/status/", staff_views.tip_transition, name="transition"),
    path("<str:reference>/assign/", staff_views.tip_assign, name="assign"),
    path("<str:reference>/details/", staff_views.tip_details, name="details"),
    path("<str:reference>/notes/", staff_views.tip_note, name="note"),
    path("<str:reference>/questions/", staff_views.tip_question, name="question"),
]
