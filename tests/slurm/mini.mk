# mini.mk: a miniature of pipelines/study.mk with the same shape (sharded
# stage recipes prefixed with $(LAUNCH), shards joined with cat, one probe job
# per layer, atomic outputs, .DELETE_ON_ERROR), built from the project's real
# tools on synthetic tagged tokens.  tests/sh/test_slurm.sh uses it to check
# the launcher's contract independently of the full study's inputs, and
# bench/bench_slurm.sh to time the launcher on many tiny steps.
#
#   make -f tests/slurm/mini.mk BIN=bin MODEL_DIR=DIR OUT=DIR [SHARDS=4] [LAYERS=2]
#        [STORIES=40] [LAUNCH='srun -N1 -n1 --exclusive']
.DELETE_ON_ERROR:
.SECONDARY:
.SECONDEXPANSION:
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

BIN ?= bin
MODEL_DIR ?=
OUT ?= out/mini
SHARDS ?= 4
LAYERS ?= 2
STORIES ?= 40
LAUNCH ?=
SHARD_IDS := $(shell seq 0 $$(($(SHARDS) - 1)))
LAYER_IDS := $(shell seq 0 $$(($(LAYERS) - 1)))
T := $(BIN)

# Synthetic tagged stories: deterministic token ids and tags (awk's srand).
$(OUT)/input/%.tsv:
	@mkdir -p $(dir $@)
	@awk -v seed=$$(cksum <<< '$*' | cut -d' ' -f1) -v n=$$(( $(STORIES) / $(SHARDS) )) 'BEGIN { \
	  srand(seed); split("NN VB DT JJ IN PRP", tag, " "); \
	  for (s = 0; s < n; s++) { len = 8 + int(rand() * 24); off = 0; \
	    for (p = 0; p < len; p++) { id = int(rand() * 290) + 1; t = tag[1 + (id % 6)]; \
	      printf "%d\t%d\t%d\t%d\t%d\tw%d\t%s\n", s, p, id, off, off + length("w" id), id, t; \
	      off += length("w" id) + 1 } } }' > $@.tmp && mv $@.tmp $@

define shard_rules
$(OUT)/shards/$(1)-$(2).tagged: $(OUT)/input/$(1)-$(2).tsv $(T)/stream-import
	@mkdir -p $$(dir $$@)
	$$(LAUNCH) $(T)/stream-import -o $$@ $$<
$(OUT)/shards/$(1)-$(2).acts: $(OUT)/shards/$(1)-$(2).tagged $(MODEL_DIR)/config.json $(T)/forward-dump
	$$(LAUNCH) $(T)/forward-dump --model $(MODEL_DIR) --vectors q,k --threads 1 -o $$@ $$<
endef
$(foreach s,train test,$(foreach i,$(SHARD_IDS),$(eval $(call shard_rules,$(s),$(i)))))

define join_streams
	cat $(2) > $(1).tmp && $(T)/stream-view --count $(1).tmp > /dev/null && mv $(1).tmp $(1)
endef
$(OUT)/%.acts: $$(foreach i,$$(SHARD_IDS),$(OUT)/shards/$$*-$$(i).acts) $(T)/stream-view
	$(call join_streams,$@,$(filter %.acts,$^))

$(OUT)/probes/layer-%.probes: $(OUT)/train.acts $(T)/probe-fit
	@mkdir -p $(dir $@)
	$(LAUNCH) $(T)/probe-fit --layers $* --vectors k,q --threads 1 -o $@ $<
$(OUT)/probes.probes: $$(foreach l,$$(LAYER_IDS),$(OUT)/probes/layer-$$(l).probes) $(T)/stream-view
	$(call join_streams,$@,$(filter %.probes,$^))

$(OUT)/results_keys.json $(OUT)/results_queries.json $(OUT)/report.csv &: $(OUT)/probes.probes $(OUT)/test.acts $(T)/probe-eval
	$(LAUNCH) $(T)/probe-eval --probes $< --json k=$(OUT)/results_keys.json --json q=$(OUT)/results_queries.json \
	  --csv $(OUT)/report.csv --threads 1 $(OUT)/test.acts

.PHONY: all
all: $(OUT)/results_keys.json $(OUT)/results_queries.json $(OUT)/report.csv
