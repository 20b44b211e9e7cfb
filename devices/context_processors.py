from devices import policies


def navigation(request):
    """Body-camera entries of the navigation, decided by the devices policies."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "devices_nav": {
            "inventory": policies.can_view_devices(user),
            "operations": policies.can_operate(user),
        }
    }
