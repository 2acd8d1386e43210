# One-command entry points. `make lab`: set up and open the course; `make test`: set up and run the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: setup lab test build check formgrade grade-demo system-packages

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

# `make check NB=course/ch2_implement/gradient_descent.ipynb`: one line per exercise (no venv to activate)
check: setup
	$(BIN)/python -m autograder check $(NB)

# `make formgrade OUT=out/week1`: nbgrader's formgrader on a graded batch
formgrade: setup
	$(BIN)/python -m autograder formgrade $(OUT)

# Debian packages the browser, PostgreSQL and sandbox tests use (as root); without them those tests skip.
system-packages:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		postgresql chromium chromium-driver bubblewrap
