"""How a published figure reads on the page."""

from django import template
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from transparency.metrics import Unit
from transparency.selectors import SUPPRESSED, WITHHELD

register = template.Library()


@register.filter
def figure(value, unit: str = Unit.COUNT) -> str:
    """ "fewer than 5" for a suppressed figure, a dash where nothing was recorded."""
    if value is None:
        return "–"
    if value == SUPPRESSED:
        return _("fewer than 5")
    if value == WITHHELD:
        return _("withheld")
    if unit == Unit.PERCENT:
        return f"{number_format(value, decimal_pos=1)} %"
    if unit == Unit.COUNT:
        return number_format(value, force_grouping=True)
    return number_format(value, decimal_pos=1)


@register.filter
def dimension_label(table, dimension: str) -> str:
    """A column's heading: the metric's label for a known dimension value, in the page's
    language where the catalogue has it (role and trigger names are plain labels)."""
    return _(str(table.label(dimension)))
