# Two commands do all the setup on a fresh machine:
#   make studio   creates .venv on first use and serves the studio on http://127.0.0.1:7860
#   make test     creates .venv on first use, lints (ruff) and runs the test suite
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_DISABLE_TELEMETRY := 1

.PHONY: studio test test-all evaluate

$(VENV)/installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip check
	touch $@

studio: $(VENV)/installed
	GRADIO_SERVER_NAME=127.0.0.1 $(PY) app.py

test: $(VENV)/installed
	$(PY) -m ruff check .
	$(PY) -m pytest -q

evaluate: $(VENV)/installed  # reports/evaluation.md: the drivers beside the ablations
	$(PY) -m lab.evaluate --drivers static,energy,viseme,memory,hybrid,memory-off,conv-reference
