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
