"""Audit actions of the body-camera app (the strings are permanent: the log keeps them)."""

from portal.audit import register_action

DEVICE_ADDED = register_action("device.added", "A body camera was added to the inventory")
DEVICE_CHANGED = register_action("device.changed", "A body camera's status or details changed")
DEVICE_CHECKED_OUT = register_action("device.checked_out", "A body camera was checked out")
DEVICE_CHECKED_IN = register_action("device.checked_in", "A body camera was checked in")
DEVICE_CHECKOUT_REFUSED = register_action(
    "device.checkout_refused", "A check-out was refused (no current training, or in use)"
)
CREDENTIAL_ISSUED = register_action("device.credential_issued", "A device credential was issued")
CREDENTIAL_REVOKED = register_action("device.credential_revoked", "A device credential was revoked")
TRAINING_RECORDED = register_action(
    "device.training_recorded", "An officer's body-camera training was recorded"
)
RECORDING_ANNOUNCED = register_action(
    "device.recording_announced", "A device announced a recording (its manifest)"
)
RECORDING_RECEIVED = register_action(
    "device.recording_received", "A recording's last byte arrived and became evidence"
)
RECORDING_HASH_MISMATCH = register_action(
    "device.recording_hash_mismatch", "The device's SHA-256 and the server's differ"
)
TRACK_RECEIVED = register_action("device.track_received", "A recording's GPS track arrived")
DEVICE_VIEWED = register_action("device.viewed", "A device's page was viewed")
COMMAND_ACKNOWLEDGED = register_action(
    "device.command_acknowledged", "A device acknowledged a command it was sent"
)
CAD_SECRET_ROTATED = register_action(
    "device.cad_secret_rotated", "The agency's CAD webhook secret was made or rotated"
)
CAD_REMOTE_ACTIVATION_SET = register_action(
    "device.cad_remote_activation_set", "CAD remote camera activation was turned on or off"
)
CAD_INCIDENT_RECEIVED = register_action(
    "device.cad_incident_received", "A CAD incident arrived; its units' recordings were filed"
)
TRIGGER_SOURCE_ADDED = register_action(
    "device.trigger_source_added", "A trigger source (and its webhook secret) was added"
)
TRIGGER_SOURCE_ROTATED = register_action(
    "device.trigger_source_rotated", "A trigger source's webhook secret was rotated"
)
TRIGGER_SOURCE_REVOKED = register_action(
    "device.trigger_source_revoked", "A trigger source was revoked; its webhook stops working"
)
ALERT_RULE_SET = register_action(
    "device.alert_rule_set", "The agency's policy for a trigger type was set"
)
TRIGGER_RECEIVED = register_action(
    "device.trigger_received", "An activation trigger arrived; cameras were told to record"
)
ALERT_RAISED = register_action("device.alert_raised", "An alert was raised on the operations page")
ALERT_RESOLVED = register_action(
    "device.alert_resolved", "An alert was resolved", needs_reason=True
)
ALERT_MARKED_FALSE = register_action(
    "device.alert_marked_false", "An alert was marked false", needs_reason=True
)
OPERATIONS_VIEWED = register_action(
    "device.operations_viewed",
    "The operations page (alerts, recording officers' places) was opened",
)
