# Two commands set everything up on a fresh machine:
#   make lab   -> .venv with the kit, JupyterLab, ipywidgets, ipympl, nbgrader; opens course/README.md
#   make test  -> the same set-up plus the test tools, then the whole test suite
#   make lab LANG=ja (or make lab-ja) -> the Japanese edition, course/ja/, in JupyterLab in Japanese
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8888
STAMP  := $(VENV)/.installed-lab
TSTAMP := $(VENV)/.installed-test

.PHONY: lab lab-ja test venv install install-test bench clean assignments grade site

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

# `make lab LANG=ja` is `make lab-ja`. LANG is also the locale variable make inherits from the
# shell (C.UTF-8, ja_JP.UTF-8, ...): only the exact value `ja` selects the Japanese edition.
# Markdown files (the course's README) open rendered, for this venv's JupyterLab: a default that
# the learner's own settings still override.
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES): $(STAMP)
	@mkdir -p $(dir $@)
	@echo '{"@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Markdown Preview"}}}' > $@

lab: $(STAMP) $(LAB_OVERRIDES) $(if $(filter ja,$(LANG)),lab-ja)
ifneq ($(LANG),ja)
	@echo "Starting JupyterLab at 127.0.0.1:$(PORT) on the course's README (course/ and assignments/ side by side); open the http://127.0.0.1:...?token=... URL it prints below."
	$(PY) -m jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) \
	    --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/course/README.md \
	    $(if $(filter 0,$(shell id -u)),--allow-root,)
endif

test: $(TSTAMP)
	$(PY) -m pytest -q tests

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info

# Grade every submission of one assignment: make grade NAME=rnn_by_hand [WORKERS=2]
# (submissions under submitted/STUDENT/NAME/; writes the gradebook, rnnviz-grades.csv and feedback/).
grade: $(STAMP)
	@test -n "$(NAME)" || { echo "make grade: say which assignment, e.g. make grade NAME=lstm"; exit 2; }
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m rnnviz.grading autograde $(NAME) --course . \
	    $(if $(WORKERS),--workers $(WORKERS),)

# The student notebooks: nbgrader generates assignments/NAME/ from every solutions/NAME/ (the
# repository root is the course, see nbgrader_config.py); never edit assignments/ by hand.
# The venv's bin goes first on PATH: nbgrader runs `alembic` by name to create its gradebook.
assignments: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m nbgrader generate_assignment --force \
	    --CourseDirectory.assignment_id='[a-z]*'

# The Japanese edition: JupyterLab's Japanese language pack (the `lab` extra installs it) is
# selected in a settings folder of its own inside the venv, and the course's Japanese README opens
# (rendered: Markdown files open in the preview there).
JA_SETTINGS := $(VENV)/share/rnnviz/lab-ja/settings
lab-ja: $(STAMP)
	@mkdir -p $(JA_SETTINGS)/@jupyterlab/translation-extension
	@echo '{"locale": "ja_JP"}' > $(JA_SETTINGS)/@jupyterlab/translation-extension/plugin.jupyterlab-settings
	@mkdir -p $(JA_SETTINGS)/@jupyterlab/docmanager-extension
	@echo '{"defaultViewers": {"markdown": "Markdown Preview"}}' > $(JA_SETTINGS)/@jupyterlab/docmanager-extension/plugin.jupyterlab-settings
	@echo "日本語版の JupyterLab を 127.0.0.1:$(PORT) で起動します。下に表示される http://127.0.0.1:...?token=... の URL を開いてください。"
	@echo "Starting JupyterLab in Japanese at 127.0.0.1:$(PORT) on course/ja/README.md; open the URL it prints below."
	JUPYTERLAB_SETTINGS_DIR=$(JA_SETTINGS) LANG=C.UTF-8 $(PY) -m jupyter lab --no-browser --ip=127.0.0.1 \
	    --port=$(PORT) --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/course/ja/README.md \
	    $(if $(filter 0,$(shell id -u)),--allow-root,)

# `jupyter nbconvert --to html` in this venv shows every widget as its static picture (the PNG each
# widget carries; a progress bar's text), not as a live view whose script comes from a CDN (an
# empty box offline): the kit's nbconvert configuration, in the venv's etc/jupyter, where every
# `jupyter nbconvert` of the venv finds it (pip's editable install does not install data files).
NBCONVERT_CONFIG := $(VENV)/etc/jupyter/jupyter_nbconvert_config.json
$(NBCONVERT_CONFIG): jupyter-config/jupyter_nbconvert_config.json $(STAMP)
	@mkdir -p $(dir $@)
	cp $< $@
install install-test lab lab-ja test: $(NBCONVERT_CONFIG)

# A static course: both editions as a website in site/ (offline: math as MathML, the Japanese font
# shipped, a picture for every widget). The lessons run here (cached in build/site-cache/);
# `make site EXECUTED=DIR` takes executed lessons from DIR (laid out like course/) instead.
site: $(STAMP)
	$(PY) course/_build/site.py --out site $(if $(EXECUTED),--executed $(EXECUTED),)
