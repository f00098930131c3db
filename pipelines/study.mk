# study.mk: the study as a GNU make DAG (`make all`).
#
#   stories --tokenize--> tokens --postag-join--> tagged --forward-dump--> acts
#   (train and test splits, each in $(SHARDS) story shards run in parallel)
#   train acts --probe-fit (one job per layer)--> probes
#   probes + test acts --probe-eval--> results_keys.json, results_queries.json, report.csv
#   results + the study's published results --probe-compare--> summary.md
#   test acts --activity / attn-slice + gnuplot--> figures (pipelines/case-studies.mk)
#
# Variables (all optional):
#   MODEL=auto|tinystories-1m|standin|DIR   which model (see pipelines/model.mk)
#   MIRROR=DIR          offline mirror of the inputs (e.g. ../shared/mirror)
#   STUDY_POOL=1820-2219   the stories the study draws from (tokenize --stories;
#                       `all` for every story): 400 of the mirror's stories the
#                       stand-in never sees (pipelines/standin.mk trains on
#                       0-1819 and holds out 2220-2315); on another STORIES
#                       file, all of it
#   SPLIT_SEED=1 TRAIN_FRACTION=0.5   the seeded split of the pool into train
#                       and test stories (about 200 + 200)
#   N_TRAIN= N_TEST=    at most this many train / test stories (default: all of
#                       each side; fewer than asked is an error)
#   ALIGN=study|overlap  token tag rule (study = the study's, quirks included)
#   SHARDS=4            story shards per split (parallel with make -j)
#   PROBE_LAYERS=1      layers per probe-fit job (PROBE_THREADS=1 threads each)
#   LAUNCH=             prefix for every shard recipe (e.g. srun -N1 -n1 --exclusive;
#                       docs/slurm.md)
#   OUT=out/<model>     where everything goes
.SHELLFLAGS := -o pipefail -c
.SECONDEXPANSION:

DEFAULT_STORIES := $(DATA_CACHE)/stories/tinystories-train-first2316.txt
STORIES ?= $(DEFAULT_STORIES)
TOKENIZER_FILES := $(DATA_CACHE)/tokenizer/vocab.json $(DATA_CACHE)/tokenizer/merges.txt
STUDY_POOL ?= $(if $(filter $(DEFAULT_STORIES),$(STORIES)),1820-2219,all)
N_TRAIN ?=
N_TEST ?=
SPLIT_SEED ?= 1
TRAIN_FRACTION ?= 0.5
ALIGN ?= study
SHARDS ?= 4
LAUNCH ?=
PROBE_THREADS ?= 1
OUT ?= out/$(MODEL_NAME)
# Where the tagged shards live (the model-free half of the DAG): the control
# model's run (pipelines/controls.mk) reads the main run's.
TAGGED_DIR ?= $(OUT)

SHARD_IDS := $(shell seq 0 $$(($(SHARDS) - 1)))
LAYER_IDS = $(shell seq 0 $$(($(MODEL_LAYERS) - 1)))
SPLITS := train test
N_train = $(N_TRAIN)
N_test = $(N_TEST)
# Train activations hold what the probes read; test ones also z and the
# activity, for the case studies' figures.
VECTORS_train := q,k
VECTORS_test := q,k,z,a

# Every stage's outputs depend on the tools that made them, so a rebuilt
# tool reruns its stage.
T = $(BIN)

# shard_rules SPLIT SHARD: tokenize + tag one shard, then the forward pass.
# The tokenize | postag-join pipe runs whole under $(LAUNCH) (one job step),
# not only its first command.
define shard_rules
$(TAGGED_DIR)/shards/$(1)-$(2).tagged: $(STORIES) $(TOKENIZER_FILES) $(TAGGER_JSON) $(T)/tokenize $(T)/postag-join
	@mkdir -p $$(dir $$@)
	$$(LAUNCH) $$(SHELL) $$(.SHELLFLAGS) '$(T)/tokenize --vocab $(DATA_CACHE)/tokenizer/vocab.json --merges $(DATA_CACHE)/tokenizer/merges.txt \
	  $(if $(filter-out all,$(STUDY_POOL)),--stories $(STUDY_POOL)) \
	  --split $(1) --seed $(SPLIT_SEED) --train-fraction $(TRAIN_FRACTION) $(if $(N_$(1)),--take $(N_$(1))) \
	  --shard $(2)/$(SHARDS) $(STORIES) | \
	  $(T)/postag-join --tagger $(TAGGER_DIR) --align $(ALIGN) -o $$@'
$(OUT)/shards/$(1)-$(2).acts: $(TAGGED_DIR)/shards/$(1)-$(2).tagged $(MODEL_FILES) $(T)/forward-dump
	@mkdir -p $$(dir $$@)
	$$(LAUNCH) $(T)/forward-dump --model $(MODEL_DIR) --vectors $(VECTORS_$(1)) --threads 1 -o $$@ $$<
endef
$(foreach s,$(SPLITS),$(foreach i,$(SHARD_IDS),$(eval $(call shard_rules,$(s),$(i)))))

# Shards join with cat (their headers agree; stream readers check that).
# join_streams TARGET, PARTS
define join_streams
	tmp=$$(mktemp $(1).tmp.XXXXXX) && cat $(2) > $$tmp && $(T)/stream-view --count $$tmp > /dev/null && mv $$tmp $(1) || { rm -f $$tmp; exit 1; }
endef
$(OUT)/%.tagged: $$(foreach i,$$(SHARD_IDS),$(TAGGED_DIR)/shards/$$*-$$(i).tagged) $(T)/stream-view
	$(call join_streams,$@,$(filter %.tagged,$^))
$(OUT)/%.acts: $$(foreach i,$$(SHARD_IDS),$(OUT)/shards/$$*-$$(i).acts) $(T)/stream-view
	$(call join_streams,$@,$(filter %.acts,$^))

# One probe-fit job per PROBE_LAYERS consecutive layers (default 1): key and
# query probes of their heads.  PROBE_PARTS: 0 1 2 ... or 0-1 2-3 ...
PROBE_LAYERS ?= 1
PROBE_PARTS = $(shell awk -v n=$(MODEL_LAYERS) -v k=$(PROBE_LAYERS) 'BEGIN { for (i = 0; i < n; i += k) { \
  j = i + k - 1; if (j > n - 1) j = n - 1; printf "%s ", (i == j ? i : i "-" j) } }')
# The data check (pipelines/overlap.sh) runs before any probe is fitted: a
# model trained on the study's stories stops the run here.
$(OUT)/overlap.txt: $(OUT)/train.tagged $(OUT)/test.tagged $(MODEL_FILES) pipelines/overlap.sh $(T)/stream-view
	BIN=$(T) IS_REAL=$(MODEL_IS_REAL) pipelines/overlap.sh $(MODEL_DIR) $(OUT)/train.tagged $(OUT)/test.tagged > $@.tmp && mv $@.tmp $@
$(OUT)/probes/layer-%.probes: $(OUT)/train.acts $(T)/probe-fit | $(OUT)/overlap.txt
	@mkdir -p $(dir $@)
	$(LAUNCH) $(T)/probe-fit --layers $* --vectors k,q --threads $(PROBE_THREADS) -o $@ $<
$(OUT)/probes.probes: $$(foreach l,$$(PROBE_PARTS),$(OUT)/probes/layer-$$(l).probes) $(T)/stream-view
	$(call join_streams,$@,$(filter %.probes,$^))

$(OUT)/results_keys.json $(OUT)/results_queries.json $(OUT)/report.csv &: $(OUT)/probes.probes $(OUT)/test.acts $(T)/probe-eval
	$(LAUNCH) $(T)/probe-eval --probes $< --json k=$(OUT)/results_keys.json --json q=$(OUT)/results_queries.json \
	  --csv $(OUT)/report.csv --threads $(PROBE_THREADS) $(OUT)/test.acts

STUDY_RESULTS := $(DATA_CACHE)/study/results_keys.json $(DATA_CACHE)/study/results_queries.json
# The summary reports the controls (pipelines/controls.mk) beside the results.
$(OUT)/summary.md: $(OUT)/results_keys.json $(OUT)/results_queries.json $(OUT)/train.tagged $(OUT)/test.tagged \
    $(OUT)/overlap.txt $(OUT)/controls.tsv $(STUDY_RESULTS) pipelines/summary.sh pipelines/controls-case.sh pipelines/md.sh $(T)/probe-compare
	BIN=$(T) MODEL_DIR=$(MODEL_DIR) MODEL_NAME=$(MODEL_NAME) IS_REAL=$(MODEL_IS_REAL) CONTROL=$(CONTROL) \
	  CONTROL_SEED=$(CONTROL_SEED) pipelines/summary.sh $(OUT) $(STUDY_RESULTS) > $@.tmp && mv $@.tmp $@

.PHONY: all study results
results: $(OUT)/results_keys.json $(OUT)/results_queries.json $(OUT)/report.csv
	@:
study: results $(OUT)/summary.md
all: model-check study figures heads controls
	@echo "make all: done; the summary is $(OUT)/summary.md, figures in $(OUT)/figures/"
