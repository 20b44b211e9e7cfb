"""The registry's audited actions. Searches name the cameras they returned, so owners can see who looked."""

from portal.audit import register_action

CAMERA_REGISTERED = register_action("registry.camera_registered", "A camera was registered")
CAMERA_CHANGED = register_action("registry.camera_changed", "A camera's details were changed")
CAMERA_PAUSED = register_action("registry.camera_paused", "A camera's participation was paused")
CAMERA_RESUMED = register_action("registry.camera_resumed", "A camera's participation resumed")
CAMERA_DELETED = register_action("registry.camera_deleted", "A camera was deleted by its owner")
CAMERAS_IMPORTED = register_action("registry.cameras_imported", "Cameras were imported from CSV")
# details: case_number, reason, camera_ids (list of str), radius_m, window.
CAMERA_SEARCH = register_action(
    "registry.camera_search",
    "Cameras near an incident were searched",
    needs_reason=True,
    needs_case=True,
)
# details: search_id, camera_count. Not a new search: owners' "who looked" lists the search once.
CAMERA_SEARCH_VIEWED = register_action(
    "registry.camera_search_viewed",
    "A stored camera search's results were viewed again",
    needs_reason=True,
    needs_case=True,
)
# Live feeds. Details never hold the stream's address or credentials.
# details: has_credentials.
FEED_SET = register_action("registry.feed_set", "A camera's live stream address was set")
FEED_REMOVED = register_action("registry.feed_removed", "A camera's live stream was removed")
# details: state, video_codec, audio_codec.
FEED_TESTED = register_action("registry.feed_tested", "A camera's live stream was tested")
# details: mode, before, agency_id, incident_distance_m.
LIVE_POLICY_CHANGED = register_action(
    "registry.live_policy_changed", "A camera's live sharing policy was changed"
)
LIVE_PAUSED = register_action("registry.live_paused", "A camera's live sharing was paused")
LIVE_RESUMED = register_action("registry.live_resumed", "A camera's live sharing resumed")
# details: camera_id, ask_id. The owner is emailed a link to allow or decline.
LIVE_ASKED = register_action(
    "registry.live_asked", "An agency asked to watch a camera live", needs_reason=True
)
# details: camera_id, minutes, allowed_until.
LIVE_ASK_ALLOWED = register_action(
    "registry.live_ask_allowed", "An owner allowed live viewing for a time"
)
LIVE_ASK_DECLINED = register_action("registry.live_ask_declined", "An owner declined live viewing")
