"""The kinds of notification, each with the words it is shown in (translated per recipient)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    FOOTAGE_ARRIVED = "footage_arrived", _("Footage arrived for a request I made")
    TIPSTER_REPLIED = "tipster_replied", _("A tipster replied on a tip assigned to me")
    CASE_SHARED = "case_shared", _("A case was shared with me")
    REQUEST_DUE = "request_due", _("A footage request I made is nearly due")


# The title of each kind; `%(...)s` names come from the emitter's params (plain text only).
TITLES = {
    Kind.FOOTAGE_ARRIVED: _("Footage arrived for your request under case %(case_number)s"),
    Kind.TIPSTER_REPLIED: _("The tipster replied on tip %(reference)s"),
    Kind.CASE_SHARED: _("%(agency)s shared case %(case_number)s with you"),
    Kind.REQUEST_DUE: _(
        "Your footage request under case %(case_number)s is due %(deadline)s UTC: "
        "%(waiting)s camera(s) have not answered"
    ),
}
