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
	$(PY) -m pytest -q --durations=30 tests

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
# selected in a settings folder of its own inside the venv. JupyterLab opens on a workspace of its
# own, `rnnviz-ja`: the course's Japanese README in the main area (rendered: Markdown files open in
# the preview there) and the file browser at the repository root, where course/ (course/ja/) and
# assignments/ (the Japanese assignments, NAME_ja/) lie side by side. The workspace is written once
# (JupyterLab then keeps the learner's own layout in it): delete $(JA_WORKSPACES) to start afresh.
JA_SETTINGS := $(VENV)/share/rnnviz/lab-ja/settings
JA_WORKSPACES := $(VENV)/share/rnnviz/lab-ja/workspaces
JA_WORKSPACE := {"data": {"layout-restorer:data": {"main": {"dock": {"type": "tab-area", "currentIndex": 0, "widgets": ["markdownviewer-widget:course/ja/README.md"]}, "current": "markdownviewer-widget:course/ja/README.md"}, "left": {"collapsed": false, "visible": true, "current": "filebrowser", "widgets": ["filebrowser"]}}, "markdownviewer-widget:course/ja/README.md": {"data": {"path": "course/ja/README.md", "factory": "Markdown Preview"}}, "file-browser-filebrowser:cwd": {"path": ""}}, "metadata": {"id": "rnnviz-ja"}}
lab-ja: $(STAMP)
	@mkdir -p $(JA_SETTINGS)/@jupyterlab/translation-extension
	@echo '{"locale": "ja_JP"}' > $(JA_SETTINGS)/@jupyterlab/translation-extension/plugin.jupyterlab-settings
	@mkdir -p $(JA_SETTINGS)/@jupyterlab/docmanager-extension
	@echo '{"defaultViewers": {"markdown": "Markdown Preview"}}' > $(JA_SETTINGS)/@jupyterlab/docmanager-extension/plugin.jupyterlab-settings
	@mkdir -p $(JA_WORKSPACES)
	@ls $(JA_WORKSPACES)/rnnviz-ja-*.jupyterlab-workspace >/dev/null 2>&1 || { \
	    echo '$(JA_WORKSPACE)' > $(JA_WORKSPACES)/rnnviz-ja.json && \
	    JUPYTERLAB_WORKSPACES_DIR=$(JA_WORKSPACES) $(PY) -m jupyter lab workspaces import \
	        $(JA_WORKSPACES)/rnnviz-ja.json >/dev/null 2>&1 && rm -f $(JA_WORKSPACES)/rnnviz-ja.json; }
	@echo "日本語版の JupyterLab を 127.0.0.1:$(PORT) で起動します。下に表示される http://127.0.0.1:...?token=... の URL を開いてください。"
	@echo "左のファイルブラウザでは、コース（course/ja/）と課題（assignments/ の NAME_ja/）が並んでいます。"
	@echo "Starting JupyterLab in Japanese at 127.0.0.1:$(PORT) on course/ja/README.md, course/ and assignments/ side by side; open the URL it prints below."
	JUPYTERLAB_SETTINGS_DIR=$(JA_SETTINGS) JUPYTERLAB_WORKSPACES_DIR=$(JA_WORKSPACES) LANG=C.UTF-8 \
	    $(PY) -m jupyter lab --no-browser --ip=127.0.0.1 \
	    --port=$(PORT) --ServerApp.root_dir=. --LabApp.default_url=/lab/workspaces/rnnviz-ja \
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

# A course hub on this machine (run as root): JupyterHub 6 on 127.0.0.1:$(HUB_PORT) for the class in
# $(ROSTER), each user logging in with the machine's account (first passwords in
# /srv/rnnviz-hub/initial-passwords), the kit for everyone from a venv of Debian's Python in
# /opt/rnnviz-hub, the kit's exchange, the formgrader for instructors. Ctrl-C stops it, or run it
# in the background with `make hub HUB_ARGS=--background` and stop it with `make hub-stop`.
# Idempotent: a second run keeps users, homes and passwords. See deploy/README.md.
ROSTER   ?= deploy/roster.txt
HUB_PORT ?= 8000
.PHONY: hub hub-stop
hub:
	/usr/bin/python3 deploy/hub.py up --roster $(ROSTER) --port $(HUB_PORT) $(HUB_ARGS)
hub-stop:
	/usr/bin/python3 deploy/hub.py stop
