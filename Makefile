# Two commands for a new user: `make demo` and `make test`. Both set up .venv/ on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO := outputs/demo

.PHONY: demo test lint bench bench-read bench-validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The main job on bundled sample returns: templates, 41 filled returns (15% with deliberate mistakes,
# listed in manifest.json), then the consolidation into the ledger, the summary and the feedback.
demo: $(STAMP)
	$(PY) -m pipeline template --out $(DEMO)/templates
	$(PY) -m pipeline sample --out $(DEMO)/inbox --seed 2007 --error-rate 0.15
	$(PY) -m pipeline consolidate --inbox $(DEMO)/inbox --out $(DEMO) --db $(DEMO)/ledger.sqlite

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Sample returns are generated once into benchmarks/.cache/ (about a minute for 1,000).
bench: $(STAMP)
	$(PY) benchmarks/bench_consolidate.py --n 1000

bench-read: $(STAMP)
	$(PY) benchmarks/bench_read.py --n 1000

bench-validate: $(STAMP)
	$(PY) benchmarks/bench_validate.py --n 1000

clean:
	rm -rf $(DEMO) .pytest_cache
