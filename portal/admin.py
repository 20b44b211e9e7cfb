"""Django admin for agency admins: their agency's users, roles, unlocks. Every change is audited."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from portal import audit_actions as actions
from portal import policies, selectors, services
from portal.audit import audit_record
from portal.models import Agency, User


class AuditedAdminMixin:
    """Writes an audit row for every add, change and delete made through the admin."""

    def _audit(self, request, action, obj, message=""):
        audit_record(
            action=action.name,
            actor=request.user,
            target=obj,
            details={
                "model": obj._meta.label_lower,
                "object": str(obj)[:200],
                "message": str(message)[:2000],
            },
        )

    def log_addition(self, request, obj, message):
        self._audit(request, actions.ADMIN_ADDED, obj, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit(request, actions.ADMIN_CHANGED, obj, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._audit(request, actions.ADMIN_DELETED, obj)
        return super().log_deletions(request, queryset)


@admin.register(Agency)
class AgencyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "time_zone"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        agencies = super().get_queryset(request)
        return agencies if request.user.is_superuser else agencies.filter(pk=request.user.agency_id)

    def has_module_permission(self, request):
        return policies.can_use_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return policies.can_use_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and policies.can_use_admin(request.user)

    has_add_permission = has_change_permission

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "email",
        "full_name",
        "role",
        "agency",
        "is_active",
        "lock_status",
        "last_login",
    ]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "full_name"]
    readonly_fields = ["locked_at", "last_login", "date_joined", "disabled_reason"]
    actions = ["unlock_accounts", "reset_second_factor"]

    def get_fields(self, request, obj=None):
        fields = ["email", "full_name", "role"]
        if request.user.is_superuser:
            fields.append("agency")
        if obj is not None:
            fields += ["is_active", "disabled_reason", "locked_at", "last_login", "date_joined"]
        return fields

    @admin.display(description="Locked")
    def lock_status(self, obj):
        return f"Locked since {obj.locked_at:%Y-%m-%d %H:%M} UTC" if obj.locked_at else "—"

    def get_queryset(self, request):
        return selectors.users_for(actor=request.user)

    def get_form(self, request, obj=None, **kwargs):
        base = super().get_form(request, obj, **kwargs)
        actor_agency = request.user.agency

        class ScopedUserForm(base):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                if self.instance.agency_id is None and not request.user.is_superuser:
                    self.instance.agency = actor_agency

            def clean(self):
                data = super().clean()
                agency = data.get("agency", self.instance.agency)
                if not data.get("role"):
                    return data
                try:
                    services.check_role_fits_agency(data.get("role", ""), agency)
                except ValidationError as exc:
                    self.add_error("role", exc)
                return data

        return ScopedUserForm

    def has_module_permission(self, request):
        return policies.can_use_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return policies.can_use_admin(request.user)

    def has_add_permission(self, request):
        return policies.can_use_admin(request.user)

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return policies.can_use_admin(request.user)
        return policies.can_manage_user(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        # Accounts are disabled, never deleted: the audit log refers to them.
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            created = services.staff_user_create(
                actor=request.user,
                email=obj.email,
                full_name=obj.full_name,
                role=obj.role,
                agency=obj.agency,
            )
            obj.pk, obj._state.adding = created.pk, False
            return
        if "role" in form.changed_data:
            services.user_set_role(actor=request.user, user=obj, role=form.cleaned_data["role"])
        if "is_active" in form.changed_data:
            services.user_set_active(
                actor=request.user, user=obj, active=form.cleaned_data["is_active"]
            )
        other = [f for f in form.changed_data if f in ("email", "full_name", "agency")]
        if other:
            obj.save(update_fields=other)

    @admin.action(description="Unlock selected accounts")
    def unlock_accounts(self, request, queryset):
        unlocked = 0
        for user in queryset.filter(locked_at__isnull=False):
            try:
                services.account_unlock(actor=request.user, user=user)
                unlocked += 1
            except PermissionDenied:
                self.message_user(request, f"You cannot unlock {user.email}.", messages.ERROR)
        self.message_user(request, f"Unlocked {unlocked} account(s).", messages.SUCCESS)

    @admin.action(description="Reset second factor (lost or replaced phone)")
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            services.mfa_reset(
                actor=request.user,
                user=user,
                reason="Lost or replaced authenticator, reset by an admin",
            )
        self.message_user(
            request, f"Reset {queryset.count()} account(s); they enrol again at next sign-in."
        )
