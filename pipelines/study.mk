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
#   N_TRAIN=200 N_TEST=200 SPLIT_SEED=1 TRAIN_FRACTION=0.8   the seeded split
#   ALIGN=study|overlap  token tag rule (study = the study's, quirks included)
#   SHARDS=4            story shards per split (parallel with make -j)
#   PROBE_LAYERS=1      layers per probe-fit job (PROBE_THREADS=1 threads each)
#   LAUNCH=             prefix for every shard recipe (e.g. srun -N1 -n1 --exclusive;
#                       docs/slurm.md)
#   OUT=out/<model>     where everything goes
.SHELLFLAGS := -o pipefail -c
.SECONDEXPANSION:

STORIES ?= $(DATA_CACHE)/stories/tinystories-train-first2316.txt
TOKENIZER_FILES := $(DATA_CACHE)/tokenizer/vocab.json $(DATA_CACHE)/tokenizer/merges.txt
N_TRAIN ?= 200
N_TEST ?= 200
SPLIT_SEED ?= 1
TRAIN_FRACTION ?= 0.8
ALIGN ?= study
SHARDS ?= 4
LAUNCH ?=
PROBE_THREADS ?= 1
OUT ?= out/$(MODEL_NAME)

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
$(OUT)/shards/$(1)-$(2).tagged: $(STORIES) $(TOKENIZER_FILES) $(TAGGER_JSON) $(T)/tokenize $(T)/postag-join
	@mkdir -p $$(dir $$@)
	$$(LAUNCH) $$(SHELL) $$(.SHELLFLAGS) '$(T)/tokenize --vocab $(DATA_CACHE)/tokenizer/vocab.json --merges $(DATA_CACHE)/tokenizer/merges.txt \
	  --split $(1) --seed $(SPLIT_SEED) --train-fraction $(TRAIN_FRACTION) --take $(N_$(1)) \
	  --shard $(2)/$(SHARDS) $(STORIES) | \
	  $(T)/postag-join --tagger $(TAGGER_DIR) --align $(ALIGN) -o $$@'
$(OUT)/shards/$(1)-$(2).acts: $(OUT)/shards/$(1)-$(2).tagged $(MODEL_FILES) $(T)/forward-dump
	$$(LAUNCH) $(T)/forward-dump --model $(MODEL_DIR) --vectors $(VECTORS_$(1)) --threads 1 -o $$@ $$<
endef
$(foreach s,$(SPLITS),$(foreach i,$(SHARD_IDS),$(eval $(call shard_rules,$(s),$(i)))))

# Shards join with cat (their headers agree; stream readers check that).
# join_streams TARGET, PARTS
define join_streams
	tmp=$$(mktemp $(1).tmp.XXXXXX) && cat $(2) > $$tmp && $(T)/stream-view --count $$tmp > /dev/null && mv $$tmp $(1) || { rm -f $$tmp; exit 1; }
endef
$(OUT)/%.tagged: $$(foreach i,$$(SHARD_IDS),$(OUT)/shards/$$*-$$(i).tagged) $(T)/stream-view
	$(call join_streams,$@,$(filter %.tagged,$^))
$(OUT)/%.acts: $$(foreach i,$$(SHARD_IDS),$(OUT)/shards/$$*-$$(i).acts) $(T)/stream-view
	$(call join_streams,$@,$(filter %.acts,$^))

# One probe-fit job per PROBE_LAYERS consecutive layers (default 1): key and
# query probes of their heads.  PROBE_PARTS: 0 1 2 ... or 0-1 2-3 ...
PROBE_LAYERS ?= 1
PROBE_PARTS = $(shell awk -v n=$(MODEL_LAYERS) -v k=$(PROBE_LAYERS) 'BEGIN { for (i = 0; i < n; i += k) { \
  j = i + k - 1; if (j > n - 1) j = n - 1; printf "%s ", (i == j ? i : i "-" j) } }')
$(OUT)/probes/layer-%.probes: $(OUT)/train.acts $(T)/probe-fit
	@mkdir -p $(dir $@)
	$(LAUNCH) $(T)/probe-fit --layers $* --vectors k,q --threads $(PROBE_THREADS) -o $@ $<
$(OUT)/probes.probes: $$(foreach l,$$(PROBE_PARTS),$(OUT)/probes/layer-$$(l).probes) $(T)/stream-view
	$(call join_streams,$@,$(filter %.probes,$^))

$(OUT)/results_keys.json $(OUT)/results_queries.json $(OUT)/report.csv &: $(OUT)/probes.probes $(OUT)/test.acts $(T)/probe-eval
	$(LAUNCH) $(T)/probe-eval --probes $< --json k=$(OUT)/results_keys.json --json q=$(OUT)/results_queries.json \
	  --csv $(OUT)/report.csv --threads $(PROBE_THREADS) $(OUT)/test.acts

STUDY_RESULTS := $(DATA_CACHE)/study/results_keys.json $(DATA_CACHE)/study/results_queries.json
$(OUT)/summary.md: $(OUT)/results_keys.json $(OUT)/results_queries.json $(OUT)/train.tagged $(OUT)/test.tagged $(STUDY_RESULTS) pipelines/summary.sh $(T)/probe-compare
	BIN=$(T) MODEL_DIR=$(MODEL_DIR) MODEL_NAME=$(MODEL_NAME) IS_REAL=$(MODEL_IS_REAL) \
	  pipelines/summary.sh $(OUT) $(STUDY_RESULTS) > $@.tmp && mv $@.tmp $@

.PHONY: all study results
results: $(OUT)/results_keys.json $(OUT)/results_queries.json $(OUT)/report.csv
study: results $(OUT)/summary.md
all: model-check study figures heads
	@echo "make all: done; the summary is $(OUT)/summary.md, figures in $(OUT)/figures/"
