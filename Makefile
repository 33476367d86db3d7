# kaiteki: two commands. `make test` and `make demo` set everything up themselves.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The default demo: 2 simulated hours of demand (then the vehicles finish) at 60x, drones and
# ground vehicles: about 2.5 minutes of wall time.
DEMO_ARGS ?= --hours 2 --speed 60 --report reports/demo
STAMP  := $(VENV)/.installed

.PHONY: test demo lint typecheck check bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@touch $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check fleet dispatch vehicles sim geofences tests

typecheck: $(STAMP)
	$(PY) -m mypy

check: lint typecheck

test: check
	$(PY) -m pytest $(PYTEST_ARGS)

demo: $(STAMP)
	$(PY) -m fleet demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
