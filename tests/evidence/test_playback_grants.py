"""Segment grants survive two playlist fetches at once in one session (a page of players)."""

import pytest
from django.contrib.sessions.backends.db import SessionStore

from evidence.playback import SESSION_FALLBACK_KEY, playback_grant, playback_granted

pytestmark = pytest.mark.django_db


def _same_session_twice() -> tuple[SessionStore, SessionStore]:
    first = SessionStore()
    first["user"] = "someone"
    first.save()
    return SessionStore(first.session_key), SessionStore(first.session_key)


def test_two_playlists_fetched_at_once_both_grant_their_segments():
    # Two requests of one session, each loaded before the other saved (as two players do).
    a, b = _same_session_twice()
    a.load(), b.load()
    playback_grant(session=a, item_id="item-a")
    a.save()
    playback_grant(session=b, item_id="item-b")
    b.save()  # saves b's copy of the session over a's
    later = SessionStore(a.session_key)
    assert playback_granted(session=later, item_id="item-a")
    assert playback_granted(session=later, item_id="item-b")
    assert not playback_granted(session=later, item_id="item-c")


def test_another_session_has_no_grant():
    a, _ = _same_session_twice()
    playback_grant(session=a, item_id="item-a")
    other = SessionStore()
    other.save()
    assert not playback_granted(session=other, item_id="item-a")


def test_with_redis_down_the_session_holds_the_grant(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    session, _ = _same_session_twice()
    playback_grant(session=session, item_id="item-a")
    assert session[SESSION_FALLBACK_KEY] == ["item-a"]
    assert playback_granted(session=session, item_id="item-a")
    assert not playback_granted(session=session, item_id="item-b")
