# controls.mk: what every probe result is compared with (docs/controls.md),
# part of `make all`:
#
#   make control      the control model: the same DAG (forward, per-layer probe
#                     jobs, eval) on a model of the same architecture with random
#                     weights (model-init, seed CONTROL_SEED), on the main run's
#                     tagged shards -> $(OUT)/control/results_*.json
#                     and the control task (Hewitt & Liang 2019): the same probes on
#                     the same vectors, every token id given a random tag drawn from
#                     the training tag distribution (control-task) ->
#                     $(OUT)/control-task/results_*.json
#   make baselines    majority-class and token-id-lookup F1 per tag -> $(OUT)/baselines.tsv
#   make stability    the study again for every split seed of STABILITY_SEEDS (the
#                     model reused: tokenize, tag, forward, probes; shards and probe
#                     jobs in the same DAG) -> $(OUT)/seeds/seed-N/, and
#                     $(OUT)/stability.tsv: per tag, how often the main split's best
#                     head is best; $(OUT)/bootstrap.tsv: 95% intervals of each
#                     tag's best heads over test stories
#   make controls     all of it, joined per tag: $(OUT)/controls.tsv, and the figures
#                     (F1 minus the control's beside the raw grids, selectivity)
#
# Variables: CONTROL=yes|no (no: leave the control model out, e.g. for a model
#   model-init cannot make), CONTROL_SEED=1, CONTROL_STD=0.02 (Hugging Face
#   GPT-Neo's initializer_range), CONTROL_TASK_SEED=1, STABILITY_SEEDS=1 2 3 4 5,
#   BOOTSTRAP_B=1000, BOOTSTRAP_SEED=1, BOOTSTRAP_TOP=2.
CONTROL ?= yes
CONTROL_SEED ?= 1
CONTROL_STD ?= 0.02
CONTROL_TASK_SEED ?= 1
STABILITY_SEEDS ?= 1 2 3 4 5
BOOTSTRAP_B ?= 1000
BOOTSTRAP_SEED ?= 1
BOOTSTRAP_TOP ?= 2

CONTROL_OUT = $(OUT)/control
CONTROL_MODEL = $(CONTROL_OUT)/model
CT_OUT = $(OUT)/control-task
OTHER_SEEDS = $(filter-out $(SPLIT_SEED),$(STABILITY_SEEDS))
# A sub-make runs the study's DAG for another model or split: make -j shares
# its job slots with it; the tagged shards and tools it needs are made here
# first, so no two makes ever build the same file.  It runs every time
# (submake-always) and decides itself what is out of date in its DAG (a
# changed tool, tagger, pool, ...); when nothing is, its reports keep their
# times and nothing after them is redone.
SUBMAKE = $(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) PLAN=no
SUB_TOOLS = $(addprefix $(T)/,tokenize postag-join forward-dump probe-fit probe-eval stream-view)
MAIN_TAGGED_SHARDS = $(foreach s,$(SPLITS),$(foreach i,$(SHARD_IDS),$(OUT)/shards/$(s)-$(i).tagged))

# --- the control model -------------------------------------------------------------
$(CONTROL_MODEL)/config.json $(CONTROL_MODEL)/model.safetensors &: $(MODEL_DIR)/config.json $(T)/model-init pipelines/control-model.sh | $(MODEL_FILES)
	@mkdir -p $(CONTROL_OUT)
	BIN=$(T) pipelines/control-model.sh $(MODEL_DIR)/config.json $(CONTROL_SEED) $(CONTROL_STD) $(CONTROL_MODEL)
# the test activations need only q and k here (no figures are drawn from them)
$(CONTROL_OUT)/results_keys.json: $(CONTROL_MODEL)/config.json \
    $(CONTROL_MODEL)/model.safetensors $(MAIN_TAGGED_SHARDS) $(SUB_TOOLS) submake-always
	+$(SUBMAKE) results MODEL=$(CONTROL_MODEL) OUT=$(CONTROL_OUT) TAGGED_DIR=$(OUT) VECTORS_test=q,k
# (one target per sub-make: a grouped target would count as changed each time)
$(CONTROL_OUT)/results_queries.json: $(CONTROL_OUT)/results_keys.json ;

# --- the control task ----------------------------------------------------------------
$(CT_OUT)/%.acts: $(OUT)/%.acts $(OUT)/train.tagged $(T)/control-task
	@mkdir -p $(dir $@)
	$(LAUNCH) $(T)/control-task --seed $(CONTROL_TASK_SEED) --dist-from $(OUT)/train.tagged -o $@ $<
$(CT_OUT)/probes/layer-%.probes: $(CT_OUT)/train.acts $(T)/probe-fit
	@mkdir -p $(dir $@)
	$(LAUNCH) $(T)/probe-fit --layers $* --vectors k,q --threads $(PROBE_THREADS) -o $@ $<
$(CT_OUT)/probes.probes: $$(foreach l,$$(PROBE_PARTS),$(CT_OUT)/probes/layer-$$(l).probes) $(T)/stream-view
	$(call join_streams,$@,$(filter %.probes,$^))
$(CT_OUT)/results_keys.json $(CT_OUT)/results_queries.json &: $(CT_OUT)/probes.probes $(CT_OUT)/test.acts $(T)/probe-eval
	$(LAUNCH) $(T)/probe-eval --probes $< --json k=$(CT_OUT)/results_keys.json --json q=$(CT_OUT)/results_queries.json \
	  --threads $(PROBE_THREADS) $(CT_OUT)/test.acts

# --- baselines and the bootstrap -------------------------------------------------------
$(OUT)/baselines.tsv: $(OUT)/train.tagged $(OUT)/test.tagged $(OUT)/probes.probes $(T)/probe-baselines
	$(T)/probe-baselines --train $(OUT)/train.tagged --rules-from $(OUT)/probes.probes -o $@ $(OUT)/test.tagged
$(OUT)/bootstrap.tsv: $(OUT)/probes.probes $(OUT)/test.acts $(T)/probe-bootstrap
	$(LAUNCH) $(T)/probe-bootstrap --probes $< -B $(BOOTSTRAP_B) --seed $(BOOTSTRAP_SEED) --top $(BOOTSTRAP_TOP) \
	  --threads $(PROBE_THREADS) -o $@ $(OUT)/test.acts

# --- other split seeds: the study's DAG once per seed, the model reused -----------------
$(OUT)/seeds/seed-%/results_keys.json: $(MODEL_FILES) $(SUB_TOOLS) submake-always
	+$(SUBMAKE) results MODEL=$(MODEL_RESOLVED) OUT=$(OUT)/seeds/seed-$* SPLIT_SEED=$* TAGGED_DIR=$(OUT)/seeds/seed-$* \
	  VECTORS_test=q,k
$(OUT)/seeds/seed-%/results_queries.json: $(OUT)/seeds/seed-%/results_keys.json ;
# seed N's results: the main run's for SPLIT_SEED, else the sub-make's
seed_results = $(if $(filter $(SPLIT_SEED),$(1)),$(OUT)/results_$(2).json,$(OUT)/seeds/seed-$(1)/results_$(2).json)
STABILITY_RESULTS = $(foreach s,$(STABILITY_SEEDS),$(call seed_results,$(s),keys) $(call seed_results,$(s),queries))
$(OUT)/stability.tsv: $(STABILITY_RESULTS) $(OUT)/probes.probes pipelines/stability.sh $(T)/probe-compare $(T)/stream-view
	BIN=$(T) pipelines/stability.sh $(OUT) $(SPLIT_SEED) $(STABILITY_SEEDS) > $@.tmp && mv $@.tmp $@

# --- all of it per tag, and the figures ---------------------------------------------------
CONTROL_RESULTS = $(if $(filter yes,$(CONTROL)),$(CONTROL_OUT)/results_keys.json $(CONTROL_OUT)/results_queries.json)
CONTROLS_INPUTS = $(OUT)/results_keys.json $(OUT)/results_queries.json $(CONTROL_RESULTS) \
  $(CT_OUT)/results_keys.json $(CT_OUT)/results_queries.json $(OUT)/baselines.tsv $(OUT)/bootstrap.tsv \
  $(OUT)/stability.tsv $(OUT)/probes.probes
$(OUT)/controls.tsv: $(CONTROLS_INPUTS) pipelines/controls-table.sh $(T)/probe-compare $(T)/report-grid
	BIN=$(T) CONTROL=$(CONTROL) pipelines/controls-table.sh $(OUT) > $@.tmp && mv $@.tmp $@
CONTROLS_FIG_INPUTS = pipelines/figures/controls-figures.sh pipelines/figures/panel-grid.gp \
  pipelines/figures/common.gp $(BUILD)/.deps-run $(T)/report-grid $(T)/probe-compare
$(OUT)/figures/controls.done: $(CONTROLS_INPUTS) $$(CONTROLS_FIG_INPUTS)
	@mkdir -p $(dir $@)
	BIN=$(T) CONTROL=$(CONTROL) pipelines/figures/controls-figures.sh $(OUT) $(FIG_DIR)
	@touch $@

# --- the plan: `make all` says first what it will do and roughly how long ----------
# (pipelines/plan.sh, on stderr, while make reads its makefiles: before any
# job starts; it reads make's -j from make's own command line)
plan_done = $(if $(wildcard $(1)),yes,no)
PLAN_ENV = MODEL_NAME=$(MODEL_NAME) NEED_TRAIN=$(if $(filter standin,$(MODEL_RESOLVED)),$(if $(wildcard $(STANDIN_DIR)/model.safetensors),no,yes),no) \
  TRAIN_STEPS=$(TRAIN_STEPS) STANDIN_SELECT=$(STANDIN_SELECT) STUDY_POOL=$(STUDY_POOL) OUT=$(OUT) \
  DONE_MAIN=$(call plan_done,$(OUT)/results_keys.json) DONE_CONTROL=$(call plan_done,$(CONTROL_OUT)/results_keys.json) \
  DONE_CT=$(call plan_done,$(CT_OUT)/results_keys.json) N_SEEDS=$(words $(STABILITY_SEEDS)) \
  SEEDS_TODO=$(words $(foreach s,$(OTHER_SEEDS),$(if $(wildcard $(OUT)/seeds/seed-$(s)/results_keys.json),,$(s)))) \
  CONTROL=$(CONTROL) LAYERS=$(MODEL_LAYERS) N_TRAIN=$(N_TRAIN) N_TEST=$(N_TEST) \
  HEADS=$(or $(call plan_cfg,num_heads\|n_head),16) EMBD=$(or $(call plan_cfg,hidden_size\|n_embd),64) \
  VOCAB=$(or $(call plan_cfg,vocab_size),50257)
# a number from the model's config.json (GPT-Neo's or GPT-2's key names)
plan_cfg = $(shell sed -n 's/.*"\($(1)\)": *\([0-9][0-9]*\).*/\2/p' $(MODEL_DIR)/config.json 2>/dev/null | head -n 1)
PLAN ?= yes
ifeq ($(PLAN)$(MAKE_RESTARTS),yes)
ifneq ($(filter all,$(MAKECMDGOALS)),)
$(shell $(PLAN_ENV) MAKE_PID=$$PPID pipelines/plan.sh >&2)
endif
endif
.PHONY: plan
plan:
	@$(PLAN_ENV) MAKE_PID=$$PPID pipelines/plan.sh

.PHONY: control baselines stability controls submake-always
submake-always:
control: $(CONTROL_RESULTS) $(CT_OUT)/results_keys.json $(CT_OUT)/results_queries.json
baselines: $(OUT)/baselines.tsv
stability: $(OUT)/stability.tsv $(OUT)/bootstrap.tsv
controls: $(OUT)/controls.tsv $(OUT)/figures/controls.done
