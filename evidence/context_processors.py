from evidence import policies
from evidence.disclosure import policies as share_policies


def navigation(request):
    """Evidence entries of the navigation, decided by the evidence policies."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "evidence_nav": {
            "list": policies.can_view_evidence(user),
            "upload": policies.can_upload_evidence(user),
            "cases": policies.can_view_evidence(user),
            "shared": share_policies.can_view_shared(user),
        }
    }
