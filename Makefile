# momo-jobs: `make start` sets everything up and starts JupyterLab with the MNIST
# example ready; `make test` sets everything up and runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WORKSPACE ?= workspace
PORT ?= 8888
# Yarn is pointed at the registry npm is configured with (no host written here).
export YARN_NPM_REGISTRY_SERVER ?= $(shell npm config get registry 2>/dev/null)
export PATH := $(CURDIR)/$(BIN):$(PATH)
# The frontend is built by scripts/frontend-build.sh, not by pip's build hook.
export SKIP_JUPYTER_BUILDER := 1
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup system-deps python-deps frontend start test test-python test-js test-ui bench clean

setup: python-deps frontend
	$(BIN)/pip install --no-build-isolation --no-deps -e . -q
	$(BIN)/jupyter labextension develop --overwrite . >/dev/null
	$(BIN)/jupyter server extension enable momo_jobs --sys-prefix >/dev/null

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip

python-deps: $(BIN)/python
	$(BIN)/pip install -q hatchling hatch-jupyter-builder hatch-nodejs-version editables 'jupyterlab>=4.2,<5'
	$(BIN)/pip install -q --no-build-isolation -e '.[lab,zh,examples,gpu,magics,ray,test]'

frontend: $(BIN)/python
	bash scripts/frontend-build.sh

start: setup
	$(BIN)/momo-jobs example mnist $(WORKSPACE)/mnist
	$(BIN)/jupyter lab --ServerApp.root_dir=$(WORKSPACE) --ServerApp.port=$(PORT) $(ROOT_FLAG) $(WORKSPACE)/mnist/How_Train_Model.ipynb

# Debian packages the tests need (Slurm and munge, Debian's python3-venv, gettext): see the script.
system-deps:
	bash scripts/system-deps.sh

test: setup system-deps
	$(MAKE) test-python test-js test-ui

test-python:
	$(BIN)/python -m pytest tests -q -p no:cacheprovider

test-js:
	$(BIN)/jlpm test

test-ui:
	bash scripts/ui-tests.sh

bench: setup
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) node_modules lib momo_jobs/labextension ui-tests/node_modules
