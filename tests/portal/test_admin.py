import pytest
from django.core import mail
from django.urls import reverse

from portal.models import AuditEvent, User
from portal.roles import Role

pytestmark = pytest.mark.django_db

ADD = reverse("admin:portal_user_add")


def test_agency_admin_adds_a_colleague_who_gets_an_invite(
    make_staff, signed_in, django_capture_on_commit_callbacks
):
    admin = make_staff(role=Role.AGENCY_ADMIN)
    client = signed_in(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ADD,
            {
                "email": "new.officer@example.org",
                "full_name": "New Officer",
                "role": Role.INVESTIGATOR,
            },
        )
    assert response.status_code == 302, response.content[:2000]
    user = User.objects.get(email="new.officer@example.org")
    assert user.agency_id == admin.agency_id and not user.has_usable_password()
    assert "/password/set/" in mail.outbox[-1].body
    created = AuditEvent.objects.get(action="account.created", target_id=str(user.pk))
    assert created.actor_id == admin.pk
    assert AuditEvent.objects.filter(action="admin.added", target_id=str(user.pk)).exists()


def test_role_change_in_admin_is_audited_with_old_and_new(make_staff, signed_in):
    admin = make_staff(role=Role.AGENCY_ADMIN)
    user = make_staff()
    client = signed_in(admin)
    response = client.post(
        reverse("admin:portal_user_change", args=[user.pk]),
        {
            "email": user.email,
            "full_name": user.full_name,
            "role": Role.SUPERVISOR,
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    user.refresh_from_db()
    assert user.role == Role.SUPERVISOR
    change = AuditEvent.objects.get(action="account.role_changed")
    assert change.details == {"old": Role.INVESTIGATOR, "new": Role.SUPERVISOR}
    assert change.actor_id == admin.pk
    assert AuditEvent.objects.filter(action="admin.changed", target_id=str(user.pk)).exists()


def test_a_role_that_does_not_fit_the_agency_is_a_form_error(make_staff, signed_in):
    admin = make_staff(role=Role.AGENCY_ADMIN)
    user = make_staff()
    client = signed_in(admin)
    response = client.post(
        reverse("admin:portal_user_change", args=[user.pk]),
        {
            "email": user.email,
            "full_name": user.full_name,
            "role": Role.PROSECUTOR,
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert b"cannot belong to a police agency" in response.content
    user.refresh_from_db()
    assert user.role == Role.INVESTIGATOR


def test_disabling_in_admin_is_audited(make_staff, signed_in):
    admin = make_staff(role=Role.AGENCY_ADMIN)
    user = make_staff()
    signed_in(admin).post(
        reverse("admin:portal_user_change", args=[user.pk]),
        {"email": user.email, "full_name": user.full_name, "role": user.role},
    )
    user.refresh_from_db()
    assert not user.is_active
    assert AuditEvent.objects.filter(
        action="account.disabled", target_id=str(user.pk), actor=admin
    ).exists()


def test_admin_lists_only_their_agency_and_cannot_open_others(make_staff, other_police, signed_in):
    admin = make_staff(role=Role.AGENCY_ADMIN)
    mine, theirs = make_staff(), make_staff(agency=other_police)
    client = signed_in(admin)
    listing = client.get(reverse("admin:portal_user_changelist")).content.decode()
    assert mine.email in listing and theirs.email not in listing
    response = client.get(reverse("admin:portal_user_change", args=[theirs.pk]))
    assert response.status_code == 302  # the admin redirects unknown ids to its index
    assert theirs.email not in client.get(response["Location"]).content.decode()


def test_admin_cannot_delete_users(make_staff, signed_in):
    admin = make_staff(role=Role.AGENCY_ADMIN)
    user = make_staff()
    response = signed_in(admin).post(
        reverse("admin:portal_user_delete", args=[user.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert User.objects.filter(pk=user.pk).exists()


def test_admin_resets_a_lost_second_factor_with_a_reason(make_staff, signed_in):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    admin = make_staff(role=Role.AGENCY_ADMIN)
    user = make_staff()
    signed_in(admin).post(
        reverse("admin:portal_user_changelist"),
        {"action": "reset_second_factor", "_selected_action": [user.pk]},
    )
    assert not TOTPDevice.objects.filter(user=user).exists()
    reset = AuditEvent.objects.get(action="auth.mfa_reset", target_id=str(user.pk))
    assert reset.reason and reset.actor_id == admin.pk


def test_investigator_cannot_use_the_admin(make_staff, signed_in):
    client = signed_in(make_staff())
    assert client.get("/admin/").status_code == 302
    assert (
        client.post(
            ADD, {"email": "x@example.org", "full_name": "X", "role": Role.AGENCY_ADMIN}
        ).status_code
        == 302
    )
    assert not User.objects.filter(email="x@example.org").exists()
