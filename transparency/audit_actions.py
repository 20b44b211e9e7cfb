"""Audit actions of the goals dashboard: every change to a goal is a row."""

from portal.audit import register_action

GOAL_CREATED = register_action("goal.created", "A goal was set on a transparency metric")
GOAL_UPDATED = register_action(
    "goal.updated", "A goal's target, period, baseline or publication changed"
)
GOAL_RETIRED = register_action("goal.retired", "A goal was retired")
