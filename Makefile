# Two commands set everything up on a fresh machine:
#   make lab   -> .venv with the kit, JupyterLab, ipywidgets, ipympl, nbgrader; opens course/
#   make test  -> the same set-up plus the test tools, then the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8888
STAMP  := $(VENV)/.installed-lab
TSTAMP := $(VENV)/.installed-test

.PHONY: lab test venv install install-test bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e ".[lab]"
	touch $@

$(TSTAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[lab,test]"
	# PyTorch is an optional, independent autograd that the gradient tests compare against.
	# The CPU wheel lies on disk on these machines; elsewhere the tests that need it are skipped.
	-$(PY) -m pip install --quiet "torch==2.13.0" || echo "torch not installed: its comparison tests will be skipped"
	touch $@

install: $(STAMP)
install-test: $(TSTAMP)

lab: $(STAMP)
	@echo "Starting JupyterLab on course/ at 127.0.0.1:$(PORT); open the http://127.0.0.1:...?token=... URL it prints below."
	$(PY) -m jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) \
	    --ServerApp.root_dir=course $(if $(filter 0,$(shell id -u)),--allow-root,)

test: $(TSTAMP)
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
