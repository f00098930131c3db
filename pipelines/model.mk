# model.mk: which model `make all` runs on.
#
#   MODEL=tinystories-1m  the real model, fetched from its pinned revision and
#                         verified (data/sources.tsv); stops with one line if
#                         it cannot be had
#   MODEL=standin         a model with TinyStories-1M's architecture trained
#                         here on the mirror's stories (pipelines/standin.mk)
#   MODEL=DIR             any local Hugging Face GPT-Neo or GPT-2 directory
#   MODEL=auto (default)  tinystories-1m when its files are fetched already,
#                         or in MIRROR, or when no MIRROR is set (a connected
#                         machine); otherwise (offline) the stand-in, said
#                         loudly.  Outputs always name the model they came from.
MODEL ?= auto
REAL_DIR := $(DATA_CACHE)/models/tinystories-1m
STANDIN_DIR ?= models/standin

ifeq ($(MODEL),auto)
  ifneq ($(wildcard $(REAL_DIR)/pytorch_model.bin),)
    MODEL_RESOLVED := tinystories-1m
  else ifeq ($(MIRROR),)
    MODEL_RESOLVED := tinystories-1m
  else ifneq ($(wildcard $(MIRROR)/models/tinystories-1m/pytorch_model.bin),)
    MODEL_RESOLVED := tinystories-1m
  else
    MODEL_RESOLVED := standin
    MODEL_NOTE := TinyStories-1M's weights are not in MIRROR=$(MIRROR) (offline); using the locally trained stand-in
  endif
else
  MODEL_RESOLVED := $(MODEL)
endif

ifeq ($(MODEL_RESOLVED),tinystories-1m)
  MODEL_DIR := $(REAL_DIR)
  MODEL_NAME := tinystories-1m
  MODEL_FILES := $(REAL_DIR)/config.json $(REAL_DIR)/pytorch_model.bin
  MODEL_IS_REAL := yes
else ifeq ($(MODEL_RESOLVED),standin)
  MODEL_DIR := $(STANDIN_DIR)
  MODEL_NAME := standin
  MODEL_FILES := $(STANDIN_DIR)/config.json $(STANDIN_DIR)/model.safetensors
  MODEL_IS_REAL := no
else
  MODEL_DIR := $(patsubst %/,%,$(MODEL_RESOLVED))
  MODEL_NAME := $(notdir $(MODEL_DIR))
  MODEL_FILES := $(MODEL_DIR)/config.json $(firstword $(wildcard $(MODEL_DIR)/model.safetensors $(MODEL_DIR)/pytorch_model.bin) $(MODEL_DIR)/model.safetensors)
  MODEL_IS_REAL := no
endif

# Say which model before any work starts (training the stand-in takes
# minutes), but only for the goals that run the study.
ifneq ($(MODEL_NOTE),)
ifneq ($(filter all study results figures model-check,$(MAKECMDGOALS)),)
$(info make: $(MODEL_NOTE))
endif
endif

# Layers of the model (for per-layer probe jobs): from its config when it
# exists already (GPT-Neo's num_layers, GPT-2's n_layer or its alias
# num_hidden_layers), else TinyStories-1M's 8.
MODEL_LAYERS := $(or $(shell sed -n 's/.*"\(num_layers\|n_layer\|num_hidden_layers\)": *\([0-9][0-9]*\).*/\2/p' $(MODEL_DIR)/config.json 2>/dev/null | head -n 1),8)

# The real model's files: fetched and verified like every input, with one
# clear line when they cannot be had.
$(REAL_DIR)/%:
	@data/fetch.sh models/tinystories-1m/$* $@ 2>/dev/null || { \
	  echo "make: TinyStories-1M's $* cannot be had here (offline, not in MIRROR, no local copy); run 'make all MODEL=standin' for the locally trained stand-in, or MODEL=DIR for a local Hugging Face GPT-Neo directory" >&2; exit 1; }

.PHONY: model-check
model-check: $(MODEL_FILES)
	@test -f $(MODEL_DIR)/config.json || { echo "make: $(MODEL_DIR) has no config.json (MODEL=$(MODEL))" >&2; exit 1; }
