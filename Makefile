# One-command entry points. `make lab`: set up and open the course; `make test`: set up and run the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup lab test build grade-demo system-packages

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

lab: setup
	$(BIN)/jupyter lab course/ $(if $(filter 0,$(shell id -u)),--allow-root)

test: setup
	$(BIN)/python -m pytest

build: setup
	$(BIN)/python -m autograder build

# Debian packages the browser, PostgreSQL and sandbox tests use (as root); without them those tests skip.
system-packages:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		postgresql chromium chromium-driver bubblewrap
