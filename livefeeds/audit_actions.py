"""Audit actions of live feeds (the strings are permanent: the log keeps them)."""

from portal.audit import register_action

VIEW_STARTED = register_action(
    "live.view_started",
    "A live view started (who, which feed, why, for which case)",
    needs_reason=True,
    needs_case=True,
)
VIEW_REFUSED = register_action("live.view_refused", "A live view was refused")
VIEW_RENEWED = register_action("live.view_renewed", "A live view was renewed by its open page")
VIEW_ENDED = register_action("live.view_ended", "A live view ended (stopped or expired)")
VIEW_REVOKED = register_action(
    "live.view_revoked", "A live view was revoked by a supervisor", needs_reason=True
)
PUBLISH_STARTED = register_action("live.publish_started", "A stream went live on the relay")
PUBLISH_REFUSED = register_action("live.publish_refused", "The relay was refused a stream")
PUBLISH_ENDED = register_action("live.publish_ended", "A stream on the relay ended")
