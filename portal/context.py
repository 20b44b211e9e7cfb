"""The id of the request being served, for logs and audit rows outside the request object."""

import contextvars

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current_request_id() -> str:
    """The id of the request being served, or "" outside a request (tasks, commands)."""
    return _request_id.get()


def request_id_set(request_id: str) -> contextvars.Token[str]:
    """Make this the current request id until `request_id_reset` with the returned token."""
    return _request_id.set(request_id)


def request_id_reset(token: contextvars.Token[str]) -> None:
    _request_id.reset(token)


# The signed-in staff member's agency zone: staff forms read typed times in it and the
# local_and_utc filter shows it; "UTC" outside a staff request (owners, tipsters, tasks).
_agency_zone: contextvars.ContextVar[str] = contextvars.ContextVar("agency_zone", default="UTC")


def current_agency_zone() -> str:
    """The IANA zone staff times are typed and shown in for this request ("UTC" if none)."""
    return _agency_zone.get()


def agency_zone_set(zone: str) -> contextvars.Token[str]:
    """Make `zone` the current agency zone until `agency_zone_reset` with the returned token."""
    return _agency_zone.set(zone)


def agency_zone_reset(token: contextvars.Token[str]) -> None:
    _agency_zone.reset(token)
