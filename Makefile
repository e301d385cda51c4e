# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Both create .venv when it is missing and install the project into it.
PY ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2
# The student's working copy of the exercises: made once from release/, never overwritten
# (not in git, so `git pull` and a regenerated release leave the student's answers alone).
WORK := work
# The course folder the formgrader opens (`make lab COURSE=demo_output/course` after `make demo`).
# It must lie inside this folder, which JupyterLab serves. Empty: this repository.
COURSE ?=
LAB_PORT ?= 8888
# nbgrader runs `alembic` from PATH when it creates a gradebook; plots use the widget canvas.
LAB_ENV := env -u MPLBACKEND PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
	$(if $(COURSE),ADAPTIVE_LR_COURSE_ROOT="$(abspath $(COURSE))")

.PHONY: demo test lab student bench bench-notebooks tour clean

$(STAMP): pyproject.toml lib/adaptive_lr/course/labsetup.py lib/adaptive_lr/course/labextension/static/remoteEntry.js
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(PYTHON) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
	$(PYTHON) -m adaptive_lr.course.labsetup
	touch $(STAMP)

demo: $(STAMP)
	$(PYTHON) -m adaptive_lr.cli demo

test: $(STAMP)
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=30 tests

# Copy the released exercises to work/ unless a copy is already there.
student: $(STAMP)
	$(PYTHON) -m adaptive_lr.course.labsetup --student-copy $(WORK)

# JupyterLab on this folder: course/ (notes, theory notebooks), work/ (the student's copy of the
# exercises) and the formgrader (Nbgrader > Formgrader) on $(COURSE).
lab: student
	$(VENV)/bin/jupyter trust course/*.ipynb $(WORK)/adaptive_lr/*.ipynb >/dev/null
	$(LAB_ENV) $(VENV)/bin/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
		--ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/course/notes.md \
		$(if $(filter 0,$(shell id -u)),--allow-root)

bench: $(STAMP)
	$(PYTHON) benchmarks/optimizer_step.py

# Slider-to-figure latency in Chromium (see benchmarks/notebooks.py).
bench-notebooks: $(STAMP)
	$(PYTHON) benchmarks/notebooks.py --browser

clean:
	rm -rf $(VENV) demo_output .pytest_cache .hypothesis

tour: $(STAMP)
	$(PYTHON) -m adaptive_lr.tour
