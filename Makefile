# Set-up and everyday commands. `make demo` and `make test` work on a fresh Debian machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CODE := $(wildcard src tests benchmarks)

.PHONY: demo test test-sqlite test-postgres lint format check serve clean browser messages

$(STAMP): pyproject.toml
	@echo "Installing propdesk and its dependencies into $(VENV) (the first time only, a minute or two)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Browser tests drive Debian's Chromium; Playwright never downloads a browser of its own.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

demo: $(STAMP)
	$(BIN)/propdesk demo

serve: $(STAMP)
	$(BIN)/propdesk serve

# The whole suite on SQLite, then again on PostgreSQL when DATABASE_URL is set.
test: $(STAMP) browser
	env -u DATABASE_URL $(BIN)/pytest -n 2 -p no:cacheprovider
	@if [ -n "$$DATABASE_URL" ]; then \
	  echo "== again on PostgreSQL ($$DATABASE_URL)"; \
	  $(BIN)/pytest -n 2 -p no:cacheprovider; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format $(CODE)
	$(BIN)/ruff check --fix $(CODE)

check: lint test

# The translations (docs/languages.md): re-extract every translatable string into each
# language's catalogue (src/propdesk/locale/<code>/LC_MESSAGES/django.po), keeping what is
# translated, then compile the .mo files that are committed with them. Translate the new or
# changed entries (empty or "fuzzy") and run it again: tests/core/test_translations.py fails
# while one is missing or a .mo is stale.
MESSAGE_LANGUAGES := es
messages: $(STAMP)
	cd src/propdesk && ../../$(BIN)/python -m propdesk.cli manage makemessages \
	  $(foreach code,$(MESSAGE_LANGUAGES),-l $(code)) --add-location file -i "static/*" -i "demo*.py"
	cd src/propdesk && ../../$(BIN)/python -m propdesk.cli manage compilemessages \
	  $(foreach code,$(MESSAGE_LANGUAGES),-l $(code))

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
