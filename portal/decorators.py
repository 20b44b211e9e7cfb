"""View guards built on the policies: one place decides how a refusal looks and is audited."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from portal import audit_actions as actions
from portal.audit import audit_record
from portal.models import AuditEvent


def requires(policy):
    """Let the view run only when `policy(request.user)` holds; refusals are audited 403s."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not policy(request.user):
                audit_record(
                    action=actions.ACCESS_DENIED.name,
                    actor=request.user,
                    outcome=AuditEvent.Outcome.DENIED,
                    details={"path": request.path[:300], "policy": policy.__name__},
                )
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def not_user_activity(view):
    """The request is the page's own (a stream reconnecting, a poll), not the person: it does
    not count as activity for the staff idle timeout, which still ends an idle session."""
    view.not_user_activity = True
    return view
