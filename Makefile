# The two commands a newcomer needs: `make run` and `make test`.
PY := .venv/bin/python
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint format setup-run setup-test bench

# The demo CCTV camera: the Procfile's `democam:` (scripts/rtsp_test_camera.py on loopback),
# which seed_demo links to a shop camera; the relay may reach exactly this loopback address
# only because `make run` says so here (the settings refuse it with HTTPS on).
DEMO_CAMERA := rtsp://127.0.0.1:8554/stream

run: setup-run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	RELAY_DEMO_CAMERA=$(DEMO_CAMERA) $(PY) manage.py seed_demo
	$(PY) manage.py transparency_backfill
	@echo "==> Canvass on http://127.0.0.1:8000 (web, worker, beat, the live relay, which serves Canvass with live video on http://127.0.0.1:18089, and a demo CCTV camera; Ctrl-C stops them all)"
	RELAY_DEMO_CAMERA=$(DEMO_CAMERA) .venv/bin/honcho start

test: setup-test lint
	SECRET_KEY=only-for-the-migrations-check $(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest

# mypy loads portal.settings (django-stubs' plugin), which wants a SECRET_KEY.
lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	SECRET_KEY=only-for-the-type-check ENV_FILE=/nonexistent .venv/bin/mypy
	.venv/bin/lint-imports --no-cache

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

setup-run:
	scripts/setup.sh run

setup-test:
	scripts/setup.sh test

# Each prints one JSON line, devices one per measurement (bench/hello_*.py are the tips bench's
# peer and bench/harness.py the servers and files the others share, not benches).
BENCHES := audit_append upload media tips registry package audit_verify custody_proof devices transparency live_clip live cctv_relay cctv_live basemap scale redact

bench: setup-test
	for b in $(BENCHES); do $(PY) bench/$$b.py || exit 1; done
