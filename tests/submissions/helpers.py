"""Helpers for tip tests: a tipster's client with its own address, and solved ALTCHA payloads."""

import itertools
import json
import random

import altcha
from django.test import Client

from submissions.models import TipCategory

TIPSTER_UA = "Mozilla/5.0 (CanvassTipsterProbe 7.3; zz-ZZ) DistinctiveAgent/0xC0FFEE"
_counter = itertools.count(1)


def new_address() -> str:
    """A client address no other test (or concurrent run) uses, so rate limits never collide."""
    return f"198.{random.randint(18, 19)}.{random.randint(0, 255)}.{next(_counter) % 250 + 1}"


def tipster_client(address: str | None = None) -> Client:
    address = address or new_address()
    client = Client(REMOTE_ADDR=address, HTTP_USER_AGENT=TIPSTER_UA)
    client.address = address
    return client


def solved(client: Client) -> str:
    """Fetch a challenge as the browser would and solve it (outside any timing)."""
    response = client.get("/api/tips/challenge/")
    assert response.status_code == 200, response.content
    challenge = altcha.Challenge.from_dict(response.json())
    solution = altcha.solve_challenge(challenge)
    return altcha.Payload(challenge, solution).to_base64()


def tip_body(target, **overrides) -> dict:
    category = TipCategory.objects.filter(agency=target).first()
    body = {
        "agency": target.slug,
        "category": category.slug,
        "description": "A grey van parked by the school every night.",
        "occurred_at": "2025-01-15T21:30",
        "latitude": 40.75,
        "longitude": -73.95,
        "address": "",
        "contact": "",
        "share_file_metadata": False,
    }
    return body | overrides


def send_tip(client: Client, target, **overrides):
    body = tip_body(target, **overrides)
    body.setdefault("altcha", solved(client))
    return client.post("/api/tips/", json.dumps(body), content_type="application/json")


def tables_containing(needle: str) -> list[str]:
    """Every `table.column` (text, varchar, json, jsonb or inet) whose value contains `needle`.

    Found by introspecting the database itself, so tables added later are searched too.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public'
              AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'inet', 'character')
            """
        )
        columns = cursor.fetchall()
        hits = []
        for table, column in columns:
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',  # noqa: S608 - names from the catalogue
                [f"%{needle}%"],
            )
            if cursor.fetchone()[0]:
                hits.append(f"{table}.{column}")
    return hits
