"""Demo data hooks: apps register what `seed_demo` should add after the platform's own data."""

from collections.abc import Callable

_SEEDERS: list[Callable] = []


def register_seeder(seeder: Callable) -> Callable:
    """Apps call this in ready(); the seeder gets (agencies, users, stdout) and must be idempotent."""
    if seeder not in _SEEDERS:
        _SEEDERS.append(seeder)
    return seeder


def run_seeders(*, agencies: dict, users: dict, stdout) -> None:
    for seeder in _SEEDERS:
        seeder(agencies=agencies, users=users, stdout=stdout)
