import pytest

from portal import geocoding


def test_known_address_resolves_through_the_configured_geocoder(geocoder):
    place = geocoding.geocode("  100 Main   Street, Riverton ")

    assert (place.latitude, place.longitude) == (40.7128, -74.0060)
    assert place.label == "100 Main Street, Riverton"
    assert geocoder == ["100 Main Street, Riverton"]


def test_unknown_address_is_none(geocoder):
    assert geocoding.geocode("nowhere at all") is None


def test_unconfigured_geocoder_is_unavailable(settings):
    settings.GEOCODER_URL = ""

    with pytest.raises(geocoding.GeocoderUnavailable):
        geocoding.geocode("100 Main Street, Riverton")


def test_unreachable_geocoder_is_unavailable(settings):
    settings.GEOCODER_URL = "http://127.0.0.1:9"  # discard port: nothing listens
    settings.GEOCODER_TIMEOUT_SECONDS = 1

    with pytest.raises(geocoding.GeocoderUnavailable):
        geocoding.geocode("100 Main Street, Riverton")


def test_oversized_address_is_refused_before_any_lookup(geocoder):
    with pytest.raises(ValueError):
        geocoding.geocode("x" * 301)
    assert geocoder == []
