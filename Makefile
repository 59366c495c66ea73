# The README's commands. Each one works from a fresh clone with nothing but python3.

VENV := .venv
PYTHON := $(VENV)/bin/python
# Touched after a successful install: pip runs again only when a requirements file is newer.
# requirements.txt is the running system alone (make run, the image, the Procfile);
# requirements-dev.txt includes it and adds the tests, the tooling and the benchmarks' yardsticks.
INSTALLED := $(VENV)/.requirements-installed
DEV_INSTALLED := $(VENV)/.requirements-dev-installed
# The image's set alone (requirements.txt), in a venv of its own for deploy-check: what the image
# runs must need nothing that only the tests' venv has.
RUNTIME_VENV := .venv-runtime
RUNTIME_PYTHON := $(RUNTIME_VENV)/bin/python
RUNTIME_INSTALLED := $(RUNTIME_VENV)/.requirements-installed

PYTEST_ARGS ?=
RUN_ARGS ?=
# The machine's services, for the suite's second run (CI's `make services-test`).
SERVICES_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
SERVICES_REDIS_URL ?= redis://127.0.0.1:6379/7
# The browser tests drive Debian's chromium (Playwright never downloads a browser here).
CHROMIUM := /usr/bin/chromium

.PHONY: install install-dev run test test-engine lint services-test deploy-check compose-config \
	browser screenshots

install: $(INSTALLED)

install-dev: $(DEV_INSTALLED)

$(PYTHON):
	python3 -m venv $(VENV)

# Order-only: the venv must exist, but its interpreter's timestamp must not force a reinstall.
$(INSTALLED): requirements.txt | $(PYTHON)
	$(PYTHON) -m pip install -r requirements.txt
	touch $@

# The whole set includes the runtime's, so the runtime's stamp is fresh too after it. A venv
# first made by `make run` gets the rest here, at the first `make test`.
$(DEV_INSTALLED): requirements-dev.txt requirements.txt | $(PYTHON)
	$(PYTHON) -m pip install -r requirements-dev.txt
	touch $@ $(INSTALLED)

$(RUNTIME_PYTHON):
	python3 -m venv $(RUNTIME_VENV)

$(RUNTIME_INSTALLED): requirements.txt | $(RUNTIME_PYTHON)
	$(RUNTIME_PYTHON) -m pip install -r requirements.txt
	touch $@

run: $(INSTALLED)
	$(PYTHON) manage.py runsystem $(RUN_ARGS)

# The browser tests fail without chromium, so install it first (as root, with apt-get) or say
# plainly what is missing.
browser:
	@test -x $(CHROMIUM) || { \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        echo "Installing Debian's chromium for the browser tests"; \
	        apt-get update && apt-get install -y chromium; \
	    else \
	        echo "The browser tests need Debian's chromium at $(CHROMIUM):" \
	             "run 'sudo apt-get install chromium' and then make test again." >&2; \
	        exit 1; \
	    fi; }

# Every test once: the engine's (tests/stepfunctions) with the coffee bar not installed, which
# proves the engine stands alone, then all the others with it. `make services-test` runs the whole
# suite again, the engine's tests with the coffee bar installed, on PostgreSQL and Redis.
# PYTEST_ARGS are options for both runs (-x, --durations=20), not paths.
test: test-engine browser
	$(VENV)/bin/pytest --ignore=tests/stepfunctions $(PYTEST_ARGS)

# The engine's tests with the coffee bar (orders) not installed: the engine stands alone.
test-engine: $(DEV_INSTALLED)
	DJANGO_SETTINGS_MODULE=serverlesspresso.settings.engine_only $(VENV)/bin/pytest tests/stepfunctions $(PYTEST_ARGS)

# The README's screenshots, from the browser tests; a normal run never writes them.
screenshots: $(DEV_INSTALLED) browser
	SCREENSHOTS=1 $(VENV)/bin/pytest tests/orders/test_browser_*.py $(PYTEST_ARGS)

lint: $(DEV_INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

services-test: $(DEV_INSTALLED) browser
	DATABASE_URL=$(SERVICES_DATABASE_URL) \
	REDIS_URL=$(SERVICES_REDIS_URL) \
	CELERY_BROKER_URL=$(SERVICES_REDIS_URL) \
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The production settings with .env.example's values, on the image's packages alone: check
# --deploy must have nothing to say, and the web's application, its worker class and the Celery
# tasks must import.
deploy-check: $(RUNTIME_INSTALLED)
	set -a && . ./.env.example && set +a && \
	$(RUNTIME_PYTHON) manage.py check --deploy --fail-level WARNING && \
	$(RUNTIME_PYTHON) -c "import serverlesspresso.asgi, uvicorn_worker; \
	    from serverlesspresso.celery import app; app.loader.import_default_modules()"

# docker-compose.yml is valid with .env.example's values (no Docker engine needed).
compose-config:
	docker-compose --env-file .env.example config --quiet
