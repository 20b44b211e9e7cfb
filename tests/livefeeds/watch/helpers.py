"""Linking a camera's feed and setting its owner's policy, through the registry's services."""

from registry import feeds

LOOPBACK_RTSP = "rtsp://127.0.0.1:9/stream"


def link(camera, owner, *, address=LOOPBACK_RTSP, user="", password="", mode="always",
         agency=None):  # fmt: skip
    feeds.feed_set(
        actor=owner, camera_id=camera.pk, address=address, username=user, password=password
    )
    feeds.live_policy_set(
        actor=owner, camera_id=camera.pk, mode=mode, agency_id=agency.pk if agency else None
    )
