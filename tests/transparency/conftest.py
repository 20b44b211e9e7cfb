# The relay ring of the clip tests, for the live clip among the recorded facts.
from tests.livefeeds.clips.conftest import encoded_segments, relay_dir  # noqa: F401
