from registry import policies
from registry.footage import policies as footage_policies


def navigation(request):
    """Registry entries of the navigation, decided by the registry policies."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "registry_nav": {
            "mine": policies.can_own_cameras(user),
            "search": policies.can_search_cameras(user),
            "requests": footage_policies.can_view_footage_requests(user),
        }
    }
