# Qunyun: one target for everything a person does. `make run` and `make test`
# create the virtualenv on first use (pinned by constraints.txt).

VENV ?= .venv
PYTHON ?= python3
LOCK_VENV ?= .lock-venv

PY := $(VENV)/bin/python
PIP := $(PY) -m pip
LOCAL := $(VENV)/bin/qunyun-local

ALL_PACKAGES := shared gateway identity-service campaign-service tagging-service messaging-service \
  metrics-service deploy/local deploy/local/simulator
# Every package directory that has a pyproject.toml.
PACKAGES := $(patsubst %/pyproject.toml,%,$(wildcard $(addsuffix /pyproject.toml,$(ALL_PACKAGES))))
EDITABLES := $(addprefix -e ,$(PACKAGES))
PYPROJECTS := $(wildcard pyproject.toml $(addsuffix /pyproject.toml,$(PACKAGES)))

# Our own distributions, never pinned in constraints.txt.
OWN_PACKAGES := ^(qunyun[-_]|wechat[-_]simulator)

.DEFAULT_GOAL := help
.PHONY: help install console run test lint typecheck bench migrate revision lock clean demo

# The operations console (console/): npm ci when the lock changes, vite build when a source changes.
CONSOLE_DEPS := console/node_modules/.installed
CONSOLE_BUILT := console/dist/.built
CONSOLE_SOURCES := $(shell find console/src console/public console/plugins -type f 2>/dev/null) \
  $(wildcard console/index.html console/vite.config.ts console/tsconfig.json)

help:
	@echo "make run        start the whole system locally (Ctrl-C stops it; data in .data/)"
	@echo "make test       run the test suite against real PostgreSQL and the real broker"
	@echo "make console    build the operations console (console/dist, served at /console/)"
	@echo "make lint       ruff"
	@echo "make typecheck  mypy on shared and every service (strict on shared/), vue-tsc on the console"
	@echo "make bench      every bench/*/run.py"
	@echo "make demo       walk the running system (make run in another terminal) through a small campaign"
	@echo "make migrate    apply every service's migrations to the local database"
	@echo "make revision SERVICE=identity MSG='add x'   autogenerate a migration"
	@echo "make lock       re-resolve constraints.txt from requirements-lock.in"
	@echo "make clean      stop the local servers, remove .venv and .data"

$(VENV)/.installed: $(PYPROJECTS) constraints.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install -c constraints.txt $(EDITABLES) -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

$(CONSOLE_DEPS): console/package.json console/package-lock.json
	npm --prefix console ci --no-audit --no-fund
	touch $@

$(CONSOLE_BUILT): $(CONSOLE_DEPS) $(CONSOLE_SOURCES)
	npm --prefix console run build
	touch $@

console: $(CONSOLE_BUILT)

run: $(VENV)/.installed $(CONSOLE_BUILT)
	$(LOCAL) run

# Lint and type checks first (seconds), then the tests.
# pytest exits 5 when it collects no test: not a failure while packages are being built.
test: $(VENV)/.installed lint typecheck $(CONSOLE_BUILT)
	npm --prefix console run test:unit
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

# One mypy run over shared and every service's package, each read from its src/ (mypy_path in pyproject.toml).
MYPY_PACKAGES := shared gateway identity_service campaign_service tagging_service messaging_service metrics_service

typecheck: $(VENV)/.installed $(CONSOLE_DEPS)
	$(VENV)/bin/mypy $(addprefix -p ,$(MYPY_PACKAGES))
	npm --prefix console run typecheck

# Every benchmark runs even when one fails; the failed ones are listed at the end (exit 1).
bench: $(VENV)/.installed
	@found=0; failed=""; for script in bench/*/run.py; do \
		[ -f "$$script" ] || continue; found=1; \
		echo "== $$script"; $(PY) "$$script" || { echo "!! $$script failed (exit $$?)"; failed="$$failed $$script"; }; \
	done; [ $$found -eq 1 ] || echo "no bench/*/run.py yet"; \
	if [ -n "$$failed" ]; then echo "benchmarks failed:$$failed"; exit 1; fi

demo: $(VENV)/.installed
	$(LOCAL) demo

migrate: $(VENV)/.installed
	$(LOCAL) migrate

revision: $(VENV)/.installed
	@test -n "$(SERVICE)" || { echo "usage: make revision SERVICE=identity MSG='what changed'"; exit 2; }
	@test -n "$(MSG)" || { echo "usage: make revision SERVICE=$(SERVICE) MSG='what changed'"; exit 2; }
	$(LOCAL) revision $(SERVICE) -m "$(MSG)"

# Fresh venv, everything unconstrained, then pin what was resolved (minus our own packages).
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install -r requirements-lock.in \
		$(addprefix -e ,$(patsubst %/pyproject.toml,%,$(filter-out pyproject.toml,$(PYPROJECTS))))
	{ echo "# Exact versions of every third-party dependency; regenerate with 'make lock'."; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable | grep -viE '$(OWN_PACKAGES)'; \
	} > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(LOCK_VENV)
	@echo "constraints.txt: $$(grep -vc '^#' constraints.txt) pins"

clean:
	-@if [ -x $(LOCAL) ]; then $(LOCAL) --data-dir .data/test stop; $(LOCAL) --data-dir .data stop; fi
	rm -rf $(VENV) .data
