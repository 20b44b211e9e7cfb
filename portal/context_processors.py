from portal import policies


def navigation(request):
    """What the navigation shows, decided by the same policies that guard the views."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": {}}
    return {
        "nav": {
            "staff": policies.can_enter_staff_area(user),
            "audit": policies.can_view_audit_log(user),
            "admin": policies.can_use_admin(user),
        }
    }
