from review import policies


def navigation(request):
    """The review link, shown by the same policy that guards the pages."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"review_nav": {}}
    return {"review_nav": {"samples": policies.can_see_samples(user)}}
