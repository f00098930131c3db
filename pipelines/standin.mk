# standin.mk: the locally trained stand-in for TinyStories-1M (docs/train.md).
#
#   make models/standin/model.safetensors     train it (once; 21-29 min on 2 cores, by machine)
#   make standin-clean                        forget it (the next `make all
#                                             MODEL=standin` trains it again)
#
# TinyStories-1M's exact architecture and tokenizer, trained by bin/train on
# 1,916 of the mirror's stories (STANDIN_SELECT: the first 1,820, trained on,
# and the last 96, 2220-2315, which train holds out -- the last 5% of its
# input -- for the held-out loss, nearly the held-out set of the stand-in
# before, 2200-2315, so the two losses compare) with a fixed seed, step
# count and thread count, so the weights are a deterministic function of
# these settings (same machine arithmetic: OpenBLAS kernels can differ
# between CPUs).  The study draws its stories from the 400 in between
# (1820-2219, STUDY_POOL in study.mk), so the stand-in never saw them; $(STANDIN_DIR)/stories.tokens is exactly what
# train read, and pipelines/overlap.sh checks it against the study's stories
# before any probe is fitted.  config.json names it
# "heads-standin-tinystories-1m-arch": never TinyStories-1M.  The stand-in is
# trained once: rebuilding bin/train or bin/tokenize does not retrain it
# (order-only); changing TRAIN_* needs `make standin-clean`.  A stand-in from
# before stories.tokens (trained on 2,200 stories, the study's among them) is
# retrained by the next run.
STANDIN_DIR ?= models/standin
STANDIN_STORIES ?= $(DATA_CACHE)/stories/tinystories-train-first2316.txt
STANDIN_SELECT ?= 0-1819,2220-2315
TRAIN_HELDOUT ?= 0.05
STANDIN_TOKENIZER := $(DATA_CACHE)/tokenizer/vocab.json $(DATA_CACHE)/tokenizer/merges.txt
TRAIN_STEPS ?= 12000
TRAIN_BATCH ?= 4
TRAIN_LR ?= 0.01
TRAIN_WARMUP ?= 30
TRAIN_EMBED_STD ?= 0.1
TRAIN_DROPOUT ?= 0.1
TRAIN_EMA ?= 0.999
TRAIN_SEED ?= 1
TRAIN_THREADS ?= 2
TRAIN_FLAGS ?=
# OpenBLAS 0.3.21 runs its Haswell kernels on AMD Zen 4; its AVX-512 kernels
# are ~30% faster for the LM head.  Used when the CPU has AVX-512.
TRAIN_ENV ?= $(if $(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo y),OPENBLAS_CORETYPE=SkylakeX)

# the stories train reads, kept: the record of what the stand-in saw
$(STANDIN_DIR)/stories.tokens: $(STANDIN_STORIES) $(STANDIN_TOKENIZER) | $(BIN)/tokenize
	@mkdir -p $(STANDIN_DIR)
	$(BIN)/tokenize --vocab $(word 1,$(STANDIN_TOKENIZER)) --merges $(word 2,$(STANDIN_TOKENIZER)) \
	  --stories $(STANDIN_SELECT) -o $@ $(STANDIN_STORIES)
$(STANDIN_DIR)/model.safetensors $(STANDIN_DIR)/config.json &: $(STANDIN_DIR)/stories.tokens | $(BIN)/train
	@echo "train: the stand-in model ($(TRAIN_STEPS) steps on stories $(STANDIN_SELECT); log in $(STANDIN_DIR)/train.tsv)"
	$(TRAIN_ENV) $(BIN)/train --tokenizer $(dir $(word 1,$(STANDIN_TOKENIZER))) \
	  --steps $(TRAIN_STEPS) --batch $(TRAIN_BATCH) --lr $(TRAIN_LR) --warmup $(TRAIN_WARMUP) \
	  --embed-std $(TRAIN_EMBED_STD) --dropout $(TRAIN_DROPOUT) --ema $(TRAIN_EMA) --seed $(TRAIN_SEED) --heldout $(TRAIN_HELDOUT) \
	  --threads $(TRAIN_THREADS) --log $(STANDIN_DIR)/train.tsv \
	  --checkpoint $(STANDIN_DIR)/train.ckpt --prompt 'Once upon a time' $(TRAIN_FLAGS) \
	  -o $(STANDIN_DIR) $(STANDIN_DIR)/stories.tokens

.PHONY: standin standin-clean
standin: $(STANDIN_DIR)/model.safetensors
standin-clean:
	rm -rf $(STANDIN_DIR)
