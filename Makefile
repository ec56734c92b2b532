# polytope.core development and test entry points (run as root on Debian 12).
#
#   make demo         setup + engine + images, then the web-stack example playbook
#   make test         setup + engine + images + registry, then every check below
#
# Building blocks:
#   setup             .venv (Python 3.11, requirements-dev.txt), .venv313 (Python 3.13,
#                     requirements-dev-py313.txt), build/ansible_collections links
#   engine            Debian packages and a running dockerd          (scripts/engine.sh)
#   images            offline test/demo images                       (scripts/images.sh)
#   registry          local registry on 127.0.0.1:5000 + pushed image (scripts/registry.sh)
#   lint              ansible-lint (production profile), ruff and mypy (pyproject.toml)
#   sanity, units     ansible-test with ansible-core 2.19 on Python 3.11
#   sanity-313, units-313   the same with the newest ansible-core on Python 3.13
#   integration       ansible-test integration against the real engine (Python 3.11)
#   molecule          molecule test for every scenario, when there is one
#   bench             bench/expansion.py, bench/run.py, then bench/swarm.py (bench-expansion: only the first)
#   format            ruff --fix and black on the Python code
#   fuzz              property-based tests (hypothesis), long profile, cases and failures per test
#   chaos             faults injected into real rollouts on an engine of its own (CHAOS_SEED, CHAOS_FAULTS);
#                     chaos-small, a few of them, is a step of make test (mk/chaos.mk)
#   docs              HTML docs site (antsibull-docs, Sphinx -W) in build/docs/html, its links and
#                     Chromium screenshots checked                     (scripts/docs.sh, mk/docs.mk)
#   swarm, swarm-down a 3-node test swarm of engines in the namespaces pt-swarm-1..3, and its removal;
#                     the container_swarm target starts it when it is not up (scripts/swarm.sh, mk/swarm.mk)
#   bench-swarm       N=10 Swarm services, polytope.core.container against docker_swarm_service (bench/swarm.py)
#   galaxy-check      galaxy-importer on the built collection tarball (scripts/galaxy-check.sh)
#   ee-check          ansible-builder introspect + create for meta/execution-environment.yml
#   clean             build/ and test output (keeps the venvs; `make distclean` drops them)
#
# ansible-test runs through scripts/ansible-test.sh, which copies the working tree to
# build/test/run-PID/ansible_collections/polytope/core (ansible-test does not accept a symlinked
# checkout) and copies results back to tests/output/.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

VENV      := .venv
VENV313   := .venv313
BIN       := $(CURDIR)/$(VENV)/bin
# the venv first, never pyenv shims (the venv's python is the real interpreter)
empty :=
space := $(empty) $(empty)
export PATH := $(BIN):$(subst $(space),:,$(filter-out %/shims,$(subst :, ,$(PATH))))
unexport PYENV_VERSION

# extra arguments, e.g. make integration INTEGRATION_ARGS='container -v'
SANITY_ARGS      ?=
UNITS_ARGS       ?=
INTEGRATION_ARGS ?=
MOLECULE_ARGS    ?=

.PHONY: help setup engine images registry demo test lint sanity units integration bench-expansion \
        sanity-313 units-313 molecule bench format clean distclean fuzz

# the steps of `make test`, in order; a concern's own mk/*.mk file may append to it
TEST_STEPS := lint sanity units integration sanity-313 units-313 molecule

help:
	@sed -n '/^$$/q; s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

setup:
	@scripts/setup.sh

engine:
	@scripts/engine.sh

images: engine
	@scripts/images.sh

registry: images
	@scripts/registry.sh

# the example's directory is the working directory (polytope.core.up reads ./polytope.yml there);
# ANSIBLE_CONFIG keeps the checkout's ansible.cfg (collections path, interpreter) in force
demo: setup engine images
	cd examples/web-stack && ANSIBLE_CONFIG=$(CURDIR)/ansible.cfg ansible-playbook polytope.core.up -e template_name=web-stack
	@port=$$(docker port web-stack.web-server 80/tcp | head -n1); url="http://localhost:$${port##*:}/"; \
	echo; echo "web-stack is up at $$url"; echo "\$$ curl $$url"; \
	curl -fsS --retry 10 --retry-connrefused --retry-delay 1 "$$url"; echo; \
	echo "Tear it down: cd examples/web-stack && ANSIBLE_CONFIG=$(CURDIR)/ansible.cfg $(BIN)/ansible-playbook polytope.core.down -e template_name=web-stack"

# ------------------------------------------------------------------ checks --
# make test: everything, continuing past a failing step, with a summary and timings
test: setup engine images registry
	@scripts/run-tests.sh $(TEST_STEPS)

lint: setup
	ansible-lint $$([ -t 1 ] || echo --nocolor)
	ruff check $$([ -t 1 ] || echo --no-cache) .
	mypy

sanity: setup
	scripts/ansible-test.sh $(VENV) sanity --venv --python 3.11 $(SANITY_ARGS)

units: setup
	@if [ -z "$$(find tests/unit -name 'test_*.py' 2>/dev/null | head -n1)" ]; then \
	    echo "units: no unit tests yet (tests/unit/**/test_*.py), skipped"; exit 0; fi; \
	scripts/ansible-test.sh $(VENV) units --local --python 3.11 $(UNITS_ARGS)

integration: setup engine images registry
	@if [ -z "$$(find tests/integration/targets -mindepth 2 -maxdepth 2 -name aliases 2>/dev/null | head -n1)" ]; then \
	    echo "integration: no targets yet (tests/integration/targets/*/aliases), skipped"; exit 0; fi; \
	scripts/ansible-test.sh $(VENV) integration --local --python 3.11 --allow-destructive --continue-on-error $(INTEGRATION_ARGS)

sanity-313: setup
	@if [ ! -x $(VENV313)/bin/ansible-test ]; then echo "sanity-313: no $(VENV313) (no Python 3.13/3.12 here), skipped"; exit 0; fi; \
	py=$$($(VENV313)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	scripts/ansible-test.sh $(VENV313) sanity --venv --python $$py $(SANITY_ARGS)

units-313: setup
	@if [ ! -x $(VENV313)/bin/ansible-test ]; then echo "units-313: no $(VENV313) (no Python 3.13/3.12 here), skipped"; exit 0; fi; \
	if [ -z "$$(find tests/unit -name 'test_*.py' 2>/dev/null | head -n1)" ]; then \
	    echo "units-313: no unit tests yet, skipped"; exit 0; fi; \
	py=$$($(VENV313)/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	scripts/ansible-test.sh $(VENV313) units --local --python $$py $(UNITS_ARGS)

molecule: setup engine images
	@scripts/molecule.sh $(MOLECULE_ARGS)

bench: setup engine images bench-expansion
	@$(BIN)/python bench/run.py
	@$(BIN)/python bench/swarm.py

# polytope.yml expansion times (no engine): the largest corpus file, carbonbridge, runaway code
bench-expansion: setup
	@$(BIN)/python bench/expansion.py

# property-based (hypothesis) tests, long profile; the short profile runs with `units`
FUZZ_FILES := tests/unit/plugins/module_utils/_spec/test_parse_fuzz.py tests/unit/plugins/module_utils/_language/test_expand_fuzz.py \
              tests/unit/plugins/module_utils/_language/code/test_code_fuzz.py
fuzz:
	@mkdir -p build; rc=0; POLYTOPE_FUZZ=long PYTHONPATH=build $(BIN)/python -m pytest -q -p no:cacheprovider \
	    --hypothesis-show-statistics -rA $(FUZZ_FILES) > build/fuzz.log 2>&1 || rc=$$?; \
	tail -n 3 build/fuzz.log; $(BIN)/python scripts/fuzz-summary.py build/fuzz.log; exit $$rc

format: setup
	ruff check --fix .
	black plugins tests/unit

clean:
	rm -rf build/test tests/output .ruff_cache .pytest_cache
	find . -path ./.venv -prune -o -path ./.venv313 -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf build $(VENV) $(VENV313)

# targets of one concern each (docs site, swarm rig, chaos, types), kept out of this file
include $(sort $(wildcard mk/*.mk))
