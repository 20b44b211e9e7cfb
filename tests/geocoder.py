"""A Nominatim-compatible stand-in for the geocoder, the one internet service address search uses.

It answers `/search?q=...&format=json` over real HTTP from a small gazetteer, so
`portal.geocoding` is exercised through geopy exactly as in production.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

GAZETTEER = {
    "100 main street, riverton": (40.7128, -74.0060, "100 Main Street, Riverton"),
    "1 harbour road, riverton": (40.7100, -74.0100, "1 Harbour Road, Riverton"),
    # Inside the demo town's streets (portal/demo_town.py): the maps' address search.
    "200 main street, riverton": (40.7576, -73.9530, "200 Main Street, Riverton"),
}


class _Handler(BaseHTTPRequestHandler):
    queries: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        url = urlsplit(self.path)
        if url.path != "/search":
            self.send_error(404)
            return
        query = parse_qs(url.query).get("q", [""])[0]
        self.queries.append(query)
        hit = GAZETTEER.get(" ".join(query.lower().split()))
        body = []
        if hit:
            lat, lon, name = hit
            body = [{"lat": str(lat), "lon": str(lon), "display_name": name}]
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def geocoder_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Handler.queries
    server.shutdown()


@pytest.fixture
def geocoder(geocoder_server, settings):
    """Points GEOCODER_URL at the stand-in; yields the list of queries it received."""
    url, queries = geocoder_server
    settings.GEOCODER_URL = url
    queries.clear()
    return queries
