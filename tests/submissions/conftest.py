import pytest

from submissions.demo import seed_categories


@pytest.fixture(autouse=True)
def _cheap_pow(cheap_pow):
    """Every tips-line test solves its proof-of-work in milliseconds (tests/conftest.py)."""


@pytest.fixture
def other_tips_agency(other_police):
    seed_categories(other_police)
    return other_police
