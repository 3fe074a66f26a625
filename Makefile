# minidock: `make demo` sets everything up and runs the demo; `make test` runs the whole suite.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
CHAPTERS := $(sort $(wildcard chapters/[0-9][0-9]_*))
export NO_MKDOCS_2_WARNING := 1
PYTEST  := $(BIN)/python -m pytest -q

.PHONY: demo test test-chapter test-cross docs serve-docs system-deps venv bench bench-registry doctor clean

$(BIN)/minidock: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python -m compileall -q chapters >/dev/null  # byte-code now: every command starts faster
	touch $@

venv: $(BIN)/minidock

system-deps:
	scripts/install-system-deps

demo: system-deps venv
	$(BIN)/minidock doctor || true
	$(BIN)/python -m minidock.demo

# Every chapter's suite in its own chapter world, then what crosses chapters, then the book.
test: venv
	@set -e; for dir in $(CHAPTERS); do \
	  n=$$(basename $$dir | cut -c1-2 | sed 's/^0//'); \
	  echo "== chapter $$n: $$dir/tests (MINIDOCK_CHAPTER=$$n)"; \
	  MINIDOCK_CHAPTER=$$n $(PYTEST) $$dir/tests; \
	done
	@echo "== tests/ (all chapters)"
	$(PYTEST) tests
	@echo "== the book"
	$(BIN)/mkdocs build --strict -q -d build/site

test-chapter: venv
	@test -n "$(N)" || (echo "usage: make test-chapter N=1" >&2; exit 2)
	@dir=$$(ls -d chapters/$$(printf %02d $(N))_* 2>/dev/null) || (echo "no chapter $(N)" >&2; exit 2); \
	MINIDOCK_CHAPTER=$(N) $(PYTEST) $$dir/tests

test-cross: venv
	$(PYTEST) tests

docs: venv
	$(BIN)/mkdocs build --strict -d build/site

serve-docs: venv
	$(BIN)/mkdocs serve -a 127.0.0.1:8000

bench: venv
	$(BIN)/python bench/cli_startup.py

bench-registry: venv
	$(BIN)/python bench/registry_pull.py

doctor: venv
	$(BIN)/minidock doctor

clean:
	rm -rf build site .pytest_cache .hypothesis
