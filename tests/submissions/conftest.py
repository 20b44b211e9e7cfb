import pytest

from submissions.demo import seed_categories


@pytest.fixture(autouse=True)
def _cheap_pow(settings):
    # The real ALTCHA code path, with a challenge a test solves in milliseconds.
    settings.TIPS_POW_COST = 10
    settings.TIPS_POW_KEY_PREFIX = "0"


@pytest.fixture
def tips_agency(police):
    seed_categories(police)
    return police


@pytest.fixture
def other_tips_agency(other_police):
    seed_categories(other_police)
    return other_police
