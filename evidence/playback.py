"""Which items' HLS segments a signed-in session may fetch: those whose playlist it fetched.

A playlist fetch is a custody event; its segments are not (there are hundreds), so they are
served only to a session that has fetched the item's playlist. The grant is a member of a Redis
set per session, added atomically: a page with several players fetches their playlists at
once, and a list kept in the session itself lost all but one of them (each request saved the
whole session over the others). While Redis is unreachable, the session holds the grant.
"""

from django.conf import settings
from redis.exceptions import RedisError

from portal import redis_fallback

SESSION_FALLBACK_KEY = "canvass_played_items"


def _set_name(session) -> str:
    return f"canvass:played:{session.session_key}"


def playback_grant(*, session, item_id) -> None:
    """This session fetched the item's playlist: it may fetch the item's segments."""
    if session.session_key is None:
        session.save()
    try:
        name = _set_name(session)
        pipe = redis_fallback.client().pipeline()
        pipe.sadd(name, str(item_id))
        pipe.expire(name, settings.SESSION_COOKIE_AGE)
        pipe.execute()
    except RedisError:
        played = session.get(SESSION_FALLBACK_KEY, [])
        session[SESSION_FALLBACK_KEY] = [*played[-49:], str(item_id)]


def playback_granted(*, session, item_id) -> bool:
    if str(item_id) in session.get(SESSION_FALLBACK_KEY, []):
        return True
    if session.session_key is None:
        return False
    try:
        return bool(redis_fallback.client().sismember(_set_name(session), str(item_id)))
    except RedisError:
        return False
