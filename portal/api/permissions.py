from rest_framework.permissions import BasePermission

from portal import policies


class IsVerifiedUser(BasePermission):
    """Signed in, and past the second factor wherever one is required."""

    message = "Sign in (with your second factor) to use the API."

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        return not policies.needs_second_factor(user) or policies._passed_second_factor(user)


class CanViewAuditLog(BasePermission):
    message = "Only auditors and agency admins read the audit log."

    def has_permission(self, request, view):
        return policies.can_view_audit_log(request.user)
