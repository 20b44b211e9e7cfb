"""Body-camera writes, the public API of the app (views, the device API, tasks call these).

inventory.py: devices, their status, training, check-out and check-in, credentials.
"""

from devices.services.inventory import (
    CheckoutRefused,
    credential_issue,
    credential_revoke,
    device_add,
    device_check_in,
    device_check_out,
    device_record_view,
    device_update,
    training_record,
)

__all__ = [
    "CheckoutRefused",
    "credential_issue",
    "credential_revoke",
    "device_add",
    "device_check_in",
    "device_check_out",
    "device_record_view",
    "device_update",
    "training_record",
]
