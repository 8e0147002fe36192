# The two commands of the README. Each sets up what it needs on a fresh machine (a virtualenv in .venv).
#   make demo   300 steps of the dcgan experiment on CIFAR-10 (about a minute of training on 2 CPU cores), then
#               a 64-sample grid and the run's HTML report (runs/demo/report.html)
#   make test   the test suite, in two pytest-xdist workers (compiling and starting processes use one core
#               each), one test file per worker, the slowest files first (tests/conftest.py); tests marked
#               real_data need ../shared/tensorflow_datasets
#               (they are skipped, and named, without it); the 15 slowest tests are listed at the end, so a
#               suite growing towards its 15-minute budget says where the time went
# Others:
#   make pegasus        the coursework hand-in from the shipped pretrained model (minutes on 2 CPU cores): the
#                       autoencoder baseline, the Pegasus search, the architecture diagram and the report, all in
#                       runs/pegasus_pretrained/ (report.html last)
#   make pegasus-train  the same from scratch: train PEGASUS_EXPERIMENT (pegasus by default, the first shipped
#                       recipe) for PEGASUS_STEPS (30000 by default: ~2.2 h on 2 CPU cores), then search, diagram,
#                       eval.json and runs/pegasus/report.html; the shipped model's first stage is
#                       PEGASUS_EXPERIMENT=pegasus_lecam PEGASUS_STEPS=66075 (~10 h on one core; its later stages:
#                       README, Pretrained models)
#   make bench          train-step and sampling throughput, start-up time (prints figures)
#   make bench-quality  FID-C against training minutes, cpu_fast vs dcgan_tutorial (about 65 minutes)
#   make api-docs       regenerate docs/API.md from the docstrings (a test fails when it is out of date)
#   make notebooks      run examples/pegasus.ipynb and examples/research.ipynb top to bottom (full mode, 10-15
#                       minutes on 2 CPU cores) and save their outputs; a test fails when they are stale
PYTHON ?= python3
VENV := .venv
# The prepared CIFAR-10: $TFDS_DATA_DIR, else ../shared/tensorflow_datasets when it exists, else tfds' default.
DATA_DIR ?= $(or $(TFDS_DATA_DIR),$(wildcard ../shared/tensorflow_datasets))
DEMO_DIR ?= runs/demo
DEMO_STEPS ?= 300
PEGASUS_DIR ?= runs/pegasus
PRETRAINED_DIR ?= runs/pegasus_pretrained
# What pegasus-train trains, and for how long; more steps give better pictures.
PEGASUS_EXPERIMENT ?= pegasus
PEGASUS_STEPS ?= 30000
DATA_FLAG = $(if $(DATA_DIR),--data-dir $(DATA_DIR))

.PHONY: demo test bench bench-quality setup pegasus pegasus-train api-docs notebooks

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(VENV)/bin/jaxgan train dcgan --workdir $(DEMO_DIR) --steps $(DEMO_STEPS) $(if $(DATA_DIR),--data-dir $(DATA_DIR))
	$(VENV)/bin/jaxgan sample --workdir $(DEMO_DIR) --n 64 --out $(DEMO_DIR)/samples.png
	$(VENV)/bin/jaxgan report --workdir $(DEMO_DIR)

pegasus: setup
	mkdir -p runs
	$(VENV)/bin/python -m jaxgan.experiments.autoencoder_baseline --workdir runs/autoencoder $(DATA_FLAG)
	$(VENV)/bin/jaxgan pegasus --pretrained pegasus --out $(PRETRAINED_DIR) --baseline runs/autoencoder --budget 16384 --refine 100 --sketch 200 $(DATA_FLAG)
	$(VENV)/bin/jaxgan diagram --pretrained pegasus --out $(PRETRAINED_DIR)/architecture.svg
	$(VENV)/bin/jaxgan report --pretrained pegasus --pegasus $(PRETRAINED_DIR) --baseline runs/autoencoder --out $(PRETRAINED_DIR)/report.html

pegasus-train: setup
	mkdir -p runs
	$(VENV)/bin/jaxgan train $(PEGASUS_EXPERIMENT) --workdir $(PEGASUS_DIR) --steps $(PEGASUS_STEPS) $(DATA_FLAG)
	$(VENV)/bin/python -m jaxgan.experiments.autoencoder_baseline --workdir runs/autoencoder $(DATA_FLAG)
	$(VENV)/bin/jaxgan pegasus --workdir $(PEGASUS_DIR) --out $(PEGASUS_DIR)/pegasus --baseline runs/autoencoder --budget 16384 --refine 100 --sketch 200 $(DATA_FLAG)
	$(VENV)/bin/jaxgan diagram --workdir $(PEGASUS_DIR) --out $(PEGASUS_DIR)/pegasus/architecture.svg
	$(VENV)/bin/jaxgan eval --workdir $(PEGASUS_DIR) --out $(PEGASUS_DIR)/eval.json $(DATA_FLAG)
	$(VENV)/bin/jaxgan report --workdir $(PEGASUS_DIR) --baseline runs/autoencoder

test: setup
	$(VENV)/bin/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder --durations=15

bench: setup
	$(VENV)/bin/python benchmarks/train_step.py dcgan dcgan_tutorial --batch 64
	$(VENV)/bin/python benchmarks/sample.py dcgan
	$(VENV)/bin/python benchmarks/startup.py dcgan $(DATA_FLAG)

# FID-C against training time: cpu_fast and dcgan_tutorial, 30 minutes each (about 65 minutes in all).
bench-quality: setup
	$(VENV)/bin/python benchmarks/time_to_quality.py cpu_fast dcgan_tutorial --minutes 30 $(DATA_FLAG) \
		--out benchmarks/time_to_quality

api-docs: setup
	$(VENV)/bin/python docs/make_api.py

notebooks: setup
	$(if $(DATA_DIR),TFDS_DATA_DIR=$(abspath $(DATA_DIR))) $(VENV)/bin/python examples/run_notebooks.py
