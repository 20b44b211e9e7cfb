"""The community review's named audit actions."""

from portal.audit import register_action

SAMPLE_DRAWN = register_action(
    "review.sample_drawn", "A monthly community review sample was drawn (its seed and items)"
)
ITEM_OPENED = register_action(
    "review.item_opened", "A community reviewer opened an item of the review sample"
)
FINDING_RECORDED = register_action(
    "review.finding_recorded", "A community reviewer recorded a finding on a sampled item"
)
SAMPLE_VIEWED = register_action("review.sample_viewed", "A review sample's page was opened")
REDACTED_COPY_PLAYED = register_action(
    "review.redacted_copy_played",
    "A community reviewer played the released (solid-fill) redacted copy of a sampled recording",
)
