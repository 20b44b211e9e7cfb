from submissions.policies import can_view_tips


def navigation(request):
    """Whether the header links to the tip inbox."""
    user = getattr(request, "user", None)
    return {"tips_nav": {"inbox": user is not None and can_view_tips(user)}}
