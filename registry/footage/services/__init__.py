"""Footage request writes."""

from registry.footage.services.create import *  # noqa: F403
from registry.footage.services.create import ANSWERS, LinkClosed, duration_text  # noqa: F401
