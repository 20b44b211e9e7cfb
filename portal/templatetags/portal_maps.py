"""{% load portal_maps %}{% map_config %}: the shared map module's settings as a json_script."""

from django import template
from django.utils.html import json_script

from portal.maps import map_config as _map_config

register = template.Library()


@register.simple_tag(takes_context=True)
def map_config(context) -> str:
    """The page's agency (`map_agency`, e.g. the tip form's) or else the viewer's decides the outline."""
    request = context.get("request")
    config = _map_config(getattr(request, "user", None), agency=context.get("map_agency"))
    return json_script(config, "map-config")
