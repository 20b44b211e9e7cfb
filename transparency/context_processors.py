from transparency import policies


def navigation(request):
    """The goals entry of the navigation, decided by the goals policy."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"goals_nav": policies.can_manage_goals(user)}
