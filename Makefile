# iocjail — `make test` and `make demo` set up everything they need on a Debian host (as root):
# apt packages (zfs-fuse, busybox-static, ...), zfs-fuse running, a virtualenv with iocjail in it.

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: all host venv test unit demo man bench typecheck clean-venv

all: test

host:
	sh scripts/host-setup.sh

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

test: host venv
	$(PY) -m pytest $(PYTEST_ARGS)

unit: venv
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

demo: host venv
	IOCJAIL=$(VENV)/bin/iocjail sh scripts/demo.sh

# The man page is generated from the command tree and the property registry (iocjail/manpage.py);
# tests/unit/test_manpage.py fails when the checked-in page is stale.
man: venv
	$(PY) -m iocjail.manpage -o share/man/man8/iocjail.8

bench: host venv
	$(PY) bench/fetch.py
	$(PY) bench/list.py

# mypy is a developer tool, not a dependency: installed into the venv on demand.
typecheck: venv
	$(VENV)/bin/pip install -q mypy types-requests
	$(VENV)/bin/mypy --strict --ignore-missing-imports iocjail/model iocjail/platform iocjail/render.py iocjail/cli/main.py iocjail/cli/common.py

clean-venv:
	rm -rf $(VENV) *.egg-info
