"""Evidence pages without a Canvass account: defence counsel's reshare link, and the custody
verifier script with the checkpoint key it checks against."""

from django.urls import path

from evidence import views
from evidence.disclosure import views as share_views

app_name = "evidence_public"

urlpatterns = [
    path("link/", share_views.link_download, name="link"),
    # Custody proofs are checked offline with this script against this published key.
    path("verify_custody.py", views.custody_verifier, name="custody_verifier"),
    path("custody-key.pem", views.custody_public_key, name="custody_key"),
]
