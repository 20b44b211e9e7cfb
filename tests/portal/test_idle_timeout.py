import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from portal.models import AuditEvent
from portal.roles import Role

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("portal:dashboard")
START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)


def test_staff_session_survives_29_idle_minutes(make_staff, signed_in):
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in(make_staff())
        assert client.get(DASHBOARD).status_code == 200
        clock.shift(dt.timedelta(minutes=29))
        assert client.get(DASHBOARD).status_code == 200
        # Activity resets the clock: another 29 minutes is still fine.
        clock.shift(dt.timedelta(minutes=29))
        assert client.get(DASHBOARD).status_code == 200


def test_staff_session_ends_after_30_idle_minutes_and_is_audited(make_staff, signed_in):
    user = make_staff()
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in(user)
        client.get(DASHBOARD)
        clock.shift(dt.timedelta(minutes=30, seconds=1))
        response = client.get(DASHBOARD)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("portal:login"))
        assert client.get(DASHBOARD).status_code == 302
    expired = AuditEvent.objects.get(action="auth.session_expired")
    assert expired.actor_id == user.pk and expired.details["idle_seconds"] == 1801


def test_idle_api_call_gets_401_json(make_staff, signed_in):
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in(make_staff())
        client.get(reverse("api-me"))
        clock.shift(dt.timedelta(minutes=31))
        response = client.get(reverse("api-me"))
    assert response.status_code == 401
    assert "inactivity" in response.json()["detail"]


def test_public_sessions_are_not_cut_at_30_minutes(resident, signed_in):
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in(resident)
        clock.shift(dt.timedelta(minutes=45))
        assert client.get(reverse("portal:account")).status_code == 200


def test_last_seen_is_written_at_most_once_a_minute(make_staff, signed_in):
    """Saving the session on every request raced concurrent requests (HLS segments, fetches):
    a request within the minute leaves the session untouched (no save, no new cookie)."""
    from portal.middleware import LAST_SEEN_KEY

    with time_machine.travel(START, tick=False) as clock:
        client = signed_in(make_staff())
        client.get(DASHBOARD)
        first = client.session[LAST_SEEN_KEY]
        clock.shift(dt.timedelta(seconds=30))
        response = client.get(reverse("api-me"))
        assert response.status_code == 200
        assert client.session[LAST_SEEN_KEY] == first
        assert "sessionid" not in response.cookies
        clock.shift(dt.timedelta(seconds=31))
        client.get(reverse("api-me"))
        assert client.session[LAST_SEEN_KEY] == first + 61


@pytest.mark.django_db(transaction=True)  # the stream gives its database connection back
def test_a_page_reconnecting_its_own_stream_is_not_activity(make_staff, signed_in):
    """The operations page's event stream reconnects every few minutes by itself: that must not
    keep an unattended console signed in past the idle timeout."""
    operations = reverse("devices:operations")
    events = reverse("devices:operations_events")
    with time_machine.travel(START, tick=False) as clock:
        client = signed_in(make_staff(role=Role.SUPERVISOR))
        assert client.get(operations).status_code == 200
        clock.shift(dt.timedelta(minutes=20))
        stream = client.get(events)
        assert stream.status_code == 200 and stream["Content-Type"] == "text/event-stream"
        stream.close()
        clock.shift(dt.timedelta(minutes=11))  # 31 minutes after the person last did anything
        assert client.get(operations).status_code == 302
