# The two commands: `make run` (the portal with demo data) and `make test`.
# Every step is a file target, so a second run reuses what is there.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
MANAGE := $(PY) manage.py
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint typecheck pytest pytest-services install static translations migrate seed clean bench

# Ctrl-C (or a TERM) makes honcho stop every process and exit 130 (or 143):
# the way the portal is meant to end, not a failure.
run: install static translations migrate seed
	@$(VENV)/bin/honcho -f Procfile.dev start; rc=$$?; [ $$rc -eq 130 ] || [ $$rc -eq 143 ] || exit $$rc

test: $(VENV)/.dev-installed static translations lint typecheck pytest pytest-services

install: $(VENV)/.installed

$(VENV)/.created:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	touch $@

$(VENV)/.installed: requirements.txt $(VENV)/.created
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

# Bootstrap and its icons from npm, copied into static/vendor (served by us, no CDN);
# axe-core, which the browser tests run on every page, stays in node_modules.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/vendor/.built: node_modules/.package-lock.json
	rm -rf static/vendor
	mkdir -p static/vendor/bootstrap static/vendor/bootstrap-icons
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/css/bootstrap.min.css.map \
	   node_modules/bootstrap/dist/js/bootstrap.bundle.min.js node_modules/bootstrap/dist/js/bootstrap.bundle.min.js.map \
	   static/vendor/bootstrap/
	cp -r node_modules/bootstrap-icons/font/bootstrap-icons.min.css node_modules/bootstrap-icons/font/fonts \
	   static/vendor/bootstrap-icons/
	touch $@

static: static/vendor/.built

translations: $(VENV)/.installed
	$(MANAGE) compile_translations

migrate: $(VENV)/.installed
	@mkdir -p var
	$(MANAGE) migrate --noinput

seed: migrate
	$(MANAGE) seed_demo

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

typecheck: $(VENV)/.dev-installed
	$(VENV)/bin/mypy portal accounts subscriptions sandbox bench

# Unit, view and browser tests on SQLite with eager tasks. The browser tests
# serve the built assets and give every page axe-core from node_modules.
pytest: $(VENV)/.dev-installed static
	$(VENV)/bin/pytest -m "not services"

# Service tests on PostgreSQL with a real Celery worker over Redis.
pytest-services: $(VENV)/.dev-installed
	PORTAL_TEST_SERVICES=1 $(VENV)/bin/pytest -m services

# The benchmark (bench/, bench/README.md), not part of `make test`: a large
# dataset in the portal_bench database on the local PostgreSQL (built once,
# then reused), gunicorn driven by wrk, the sweeps and generators timed;
# prints a table and writes var/bench/*.json. Needs PostgreSQL and Redis
# running; installs wrk. Options: make bench BENCH_ARGS="--scale 0.02 --seconds 3"
# (DJANGO_SETTINGS_MODULE=bench.settings .venv/bin/python manage.py bench --help).
BENCH_ARGS ?=
bench: $(VENV)/.installed static translations
	@command -v wrk >/dev/null 2>&1 || { \
		sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$sudo apt-get install -y wrk || { $$sudo apt-get update && $$sudo apt-get install -y wrk; }; }
	DJANGO_SETTINGS_MODULE=bench.settings $(MANAGE) bench $(BENCH_ARGS)

clean:
	rm -rf var static/vendor
