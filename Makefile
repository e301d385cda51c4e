# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Both create .venv when it is missing and install the project into it.
PY ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: demo test lab bench tour clean

$(STAMP): pyproject.toml
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(PYTHON) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(PYTHON) -m adaptive_lr.cli demo

test: $(STAMP)
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) tests

lab: $(STAMP)
	$(VENV)/bin/jupyter lab course/

bench: $(STAMP)
	$(PYTHON) benchmarks/optimizer_step.py

clean:
	rm -rf $(VENV) demo_output .pytest_cache .hypothesis

tour: $(STAMP)
	$(PYTHON) -m adaptive_lr.tour
