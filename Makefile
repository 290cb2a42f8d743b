# Two commands for a new user: `make demo` and `make test`. Both set up .venv/ on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO := outputs/demo

.PHONY: demo serve test lint bench bench-read bench-validate bench-serve bench-formats clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

# The main job on bundled sample returns: templates, 41 filled returns (15% with deliberate mistakes,
# listed in manifest.json), then the consolidation into the ledger, the summary, the draft report and the
# feedback; last, PDF copies of the summary (its print set) and of the report where LibreOffice is installed.
# `ictplan demo` does it all (so it works without make, on Windows); this target only calls it.
demo: $(STAMP)
	$(PY) -m pipeline demo --out $(DEMO)

# The department's desk in a browser on the demo's round (made first if it is not there): http://127.0.0.1:8000
serve: $(STAMP) $(DEMO)/ledger.sqlite
	$(PY) -m pipeline serve --inbox $(DEMO)/inbox --out $(DEMO) --db $(DEMO)/ledger.sqlite

$(DEMO)/ledger.sqlite:
	$(MAKE) demo

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

bench-serve: $(STAMP)
	$(PY) benchmarks/bench_serve.py

bench-formats: $(STAMP)
	$(PY) benchmarks/bench_formats.py

clean:
	rm -rf $(DEMO) .pytest_cache
