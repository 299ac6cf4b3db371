# netwire.fabric: build, test and audit multi-host container networks.
# Run as root on Debian 12. `make demo` and `make test` install what they need.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest
LAB_HOSTS ?= 3
LAB_MTU ?= 1500
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help setup demo test unit lifecycle integration molecule sanity lint build audit bench \
        lab-up lab-down lab-status clean

help:
	@echo "make demo        set up, build the lab, run site.yml with the example model, audit it"
	@echo "make test        set up, run every test (unit, lab lifecycle, lab integration, molecule, sanity, lint)"
	@echo "make lab-up [LAB_HOSTS=N] [LAB_MTU=M] / make lab-down / make lab-status"
	@echo "make audit       run the spec audit (playbooks/verify.yml) on the lab with the example model"
	@echo "make graph       draw the example model (and the lab after make demo) under .build/graph"
	@echo "make build       ansible-galaxy collection build"
	@echo "make bench       issue 20's benchmarks P1-P4 against their anchors -> docs/benchmarks/latest.md (about 1 h in full;"
	@echo "                 BENCH_ONLY=P1,P3 BENCH_ROUNDS=1 BENCH_SIZES=\"P1=10 P3=3x5 P4=10,100\" for a short run)"

setup:
	@scripts/setup.sh

lab-up: setup
	@$(PY) -m tests.lab up --hosts $(LAB_HOSTS) --mtu $(LAB_MTU)
	@$(PY) -m tests.lab status

lab-down:
	@if [ -x $(PY) ]; then $(PY) -m tests.lab down; else echo "no virtualenv: nothing to tear down"; fi

lab-status:
	@$(PY) -m tests.lab status

demo: setup
	@scripts/demo.sh

# The order matters: the lifecycle test compares the machine before and after a
# lab of its own, so it runs first, alone; the integration suite then shares one lab.
test: setup
	@scripts/test.sh

unit: setup
	$(PYTEST) -q tests/unit

lifecycle: setup
	$(PYTEST) -q tests/lifecycle

integration: setup
	$(PYTEST) -q tests/integration

audit: setup
	$(VENV)/bin/ansible-playbook -i .lab/inventory.ini -i examples/model playbooks/verify.yml

# Benchmarks (docs/benchmarks.md), never timed in tests: issue 20's P1-P4 side by side with their anchors, the
# tables written to docs/benchmarks/latest.md. NETWIRE_LAB_INSTANCE picks the lab (brought up if none is);
# quick knobs: BENCH_ONLY=P1,P3 BENCH_ROUNDS=3 BENCH_SIZES="P1=10,100 P3=3x5 P4=10,100" BENCH_SECONDS=5 BENCH_OUT=FILE.
bench: setup
	$(PY) scripts/bench.py

# Pictures of the network (docs/graph.md): the model, and the lab's hosts as observed when it is up.
.PHONY: graph
graph: setup
	@scripts/graph.sh

molecule: setup
	@scripts/molecule.sh

sanity: setup
	@scripts/sanity.sh

lint: setup
	@scripts/lint.sh

build: setup
	@mkdir -p .build/dist
	$(VENV)/bin/ansible-galaxy collection build --force --output-path .build/dist .
	@scripts/check-build.sh .build/dist/netwire-fabric-*.tar.gz

clean: lab-down
	rm -rf .build .pytest_cache .hypothesis
