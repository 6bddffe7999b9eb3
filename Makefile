# iocjail — `make test` and `make demo` set up everything they need on a Debian host (as root):
# apt packages (zfs-fuse, busybox-static, ...), zfs-fuse running, a virtualenv with iocjail in it.

PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: all host packages venv test unit demo man install install-program install-data uninstall bench typecheck clean-venv

all: test

host:
	sh scripts/host-setup.sh

packages:
	sh scripts/host-setup.sh --no-start

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

# The tests run against a zfs-fuse of their own, in private namespaces (scripts/test-sandbox.sh):
# whatever else the machine runs (its pools, another clone's tests) neither sees them nor is seen.
test: packages venv
	sh scripts/test-sandbox.sh $(PY) -m pytest $(PYTEST_ARGS)

unit: venv
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

demo: host venv
	IOCJAIL=$(VENV)/bin/iocjail sh scripts/demo.sh

# The man page is generated from the command tree and the property registry (iocjail/manpage.py);
# tests/unit/test_manpage.py fails when the checked-in page is stale.
man: venv
	$(PY) -m iocjail.manpage -o share/man/man8/iocjail.8

# `make install` (root): iocjail in its own virtualenv under $(PREFIX)/lib/iocjail, linked as
# $(PREFIX)/bin/iocjail (where rc.d/iocjail and the systemd unit expect it); no system Python
# package is touched, so it works under Debian's PEP 668 as on FreeBSD. Then the man page and the
# bash and zsh completions (click's, written by the installed program) where each looks by default.
PREFIX      ?= /usr/local
INSTALL_VENV ?= $(PREFIX)/lib/iocjail
PROGRAM     ?= $(INSTALL_VENV)/bin/iocjail
MANDIR      ?= $(PREFIX)/share/man/man8
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions

install: install-program install-data

install-program:
	$(PYTHON) -m venv $(INSTALL_VENV)
	$(INSTALL_VENV)/bin/pip install -q --upgrade pip
	$(INSTALL_VENV)/bin/pip install -q .
	rm -rf build  # setuptools' in-tree leftovers would be reused, stale, by the next install
	install -d $(PREFIX)/bin
	ln -sf $(INSTALL_VENV)/bin/iocjail $(PREFIX)/bin/iocjail

install-data:
	install -d $(MANDIR) $(BASHCOMPDIR) $(ZSHCOMPDIR)
	install -m 644 share/man/man8/iocjail.8 $(MANDIR)/iocjail.8
	_IOCJAIL_COMPLETE=bash_source $(PROGRAM) > $(BASHCOMPDIR)/iocjail.tmp
	_IOCJAIL_COMPLETE=zsh_source $(PROGRAM) > $(ZSHCOMPDIR)/_iocjail.tmp
	mv $(BASHCOMPDIR)/iocjail.tmp $(BASHCOMPDIR)/iocjail
	mv $(ZSHCOMPDIR)/_iocjail.tmp $(ZSHCOMPDIR)/_iocjail

uninstall:
	rm -f $(PREFIX)/bin/iocjail $(MANDIR)/iocjail.8 $(BASHCOMPDIR)/iocjail $(ZSHCOMPDIR)/_iocjail
	rm -rf $(INSTALL_VENV)

bench: host venv
	$(PY) bench/fetch.py
	$(PY) bench/list.py
	$(PY) bench/export.py

# mypy is a developer tool, not a dependency: installed into the venv on demand.
typecheck: venv
	$(VENV)/bin/pip install -q mypy types-requests
	$(VENV)/bin/mypy --strict --ignore-missing-imports iocjail

clean-venv:
	rm -rf $(VENV) *.egg-info
