from django.utils.functional import SimpleLazyObject

from workbench.selectors import COUNT_CAP, badge_counts


def badges(request):
    """The header's counts, worked out only if a page shows them and then once per request."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"badges": {}, "badge_cap": COUNT_CAP}

    def counts() -> dict[str, int]:
        cached = getattr(request, "_workbench_badges", None)
        if cached is None:
            cached = request._workbench_badges = badge_counts(user=user)
        return cached

    return {"badges": SimpleLazyObject(counts), "badge_cap": COUNT_CAP}
