# The README's commands. Each one works from a fresh clone with nothing but python3.

VENV := .venv
PYTHON := $(VENV)/bin/python
# Touched after a successful install: pip runs again only when requirements.txt is newer.
INSTALLED := $(VENV)/.requirements-installed

PYTEST_ARGS ?=
RUN_ARGS ?=
# The machine's services, for the suite's second run (CI's `make services-test`).
SERVICES_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
SERVICES_REDIS_URL ?= redis://127.0.0.1:6379/7
# The browser tests drive Debian's chromium (Playwright never downloads a browser here).
CHROMIUM := /usr/bin/chromium

.PHONY: install run test test-engine lint services-test deploy-check compose-config browser screenshots

install: $(INSTALLED)

$(PYTHON):
	python3 -m venv $(VENV)

# Order-only: the venv must exist, but its interpreter's timestamp must not force a reinstall.
$(INSTALLED): requirements.txt | $(PYTHON)
	$(PYTHON) -m pip install -r requirements.txt
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

test: $(INSTALLED) browser
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The engine's tests with the coffee bar (orders) not installed: the engine stands alone.
test-engine: $(INSTALLED)
	DJANGO_SETTINGS_MODULE=serverlesspresso.settings.engine_only $(VENV)/bin/pytest tests/stepfunctions $(PYTEST_ARGS)

# The README's screenshots, from the browser tests; a normal run never writes them.
screenshots: $(INSTALLED) browser
	SCREENSHOTS=1 $(VENV)/bin/pytest tests/orders/test_browser_*.py $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

services-test: $(INSTALLED) browser
	DATABASE_URL=$(SERVICES_DATABASE_URL) \
	REDIS_URL=$(SERVICES_REDIS_URL) \
	CELERY_BROKER_URL=$(SERVICES_REDIS_URL) \
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# The production settings with .env.example's values: check --deploy must have nothing to say.
deploy-check: $(INSTALLED)
	set -a && . ./.env.example && set +a && \
	$(PYTHON) manage.py check --deploy --fail-level WARNING

# docker-compose.yml is valid with .env.example's values (no Docker engine needed).
compose-config:
	docker-compose --env-file .env.example config --quiet
