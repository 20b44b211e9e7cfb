"""The admin site: only verified agency admins get in, through the one MFA sign-in page."""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login

from portal import policies


class CanvassAdminSite(admin.AdminSite):
    site_header = "Canvass administration"
    site_title = "Canvass admin"
    index_title = "Your agency"

    def login(self, request, extra_context=None):
        # One sign-in page for everyone, so the admin is behind the second factor too.
        return redirect_to_login(request.get_full_path())

    def has_permission(self, request):

        return policies.can_use_admin(request.user)
