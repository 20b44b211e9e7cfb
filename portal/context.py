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
