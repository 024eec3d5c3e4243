# Two commands do all the setup on a fresh machine:
#   make demo   run the demo (a Flask marketing shop, simulated visitors, SQLite, report)
#   make test   lint, type-check and run the test suite
#   make dist   build a wheel into dist/ (convsdk is not on PyPI: install that wheel)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench field dist clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/convsdk demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run_all.py

# Starlette's, FastAPI's, Flask's and Falcon's own test suites, without and with convsdk's
# middleware, then Django's, Wagtail's and django CMS's with its Django middleware
# (sdists and venvs of their test dependencies in .field-cache/; ~30 min). Not in `test`.
field: $(STAMP)
	$(BIN)/python tests/field/run_suites.py all
	$(BIN)/python tests/field/run_django.py

# A wheel of convsdk in dist/, to `pip install dist/convsdk-*.whl` where there is no checkout.
dist:
	$(PYTHON) -m pip wheel --no-deps --quiet -w dist .

clean:
	rm -rf dist $(VENV) .field-cache .convsdk-spool convsdk.db convsdk.db-* demo-output
