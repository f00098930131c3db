# case-studies.mk: the study's figures (docs/DESIGN.md §1.4), drawn with gnuplot
# from the study pipeline's outputs (pipelines/study.mk) or from any inputs
# given as variables.  Figures go to $(FIG_DIR) as PNG + PDF; every figure
# names the model it came from (red when it is not TinyStories-1M).
#
#   make figures                  the F1 grids (key, query) + the four case studies
#   make case-quote               quotation head L2H0: F1 of `` and '' (key probes),
#                                 activity over a quotation, attention strip
#   make case-pastverb            past-tense predictor L6H4: F1 of VBD (key), activity,
#                                 attention from the token before a VBD
#   make case-defnoun             definite-noun predictor L5H5: F1 of PRP$ (query),
#                                 activity, attention from a PRP$, average attention
#                                 from PRP$ and to NN over the test split (appendix)
#   make case-but                 "but" head L6H13: F1 of CC (key), activity, strip
#   make figures-test             all of it on a random test model (bin/model-init,
#                                 TinyStories-1M's shape): a smoke run whose
#                                 patterns mean nothing, labelled as such
#
# Inputs (defaults: the study pipeline's files under $(OUT)):
#   ACTS_TEST=FILE      test activations with q, k and z (or a)
#   TAGGED_TEST=FILE    the tagged stream of the same stories (to pick stories)
#   REPORT_KEYS=FILE REPORT_QUERIES=FILE   probe-eval JSON reports
#   PROBES=FILE         the probes stream (names the model of the reports)
#   FIG_MODEL_DIR=DIR   the model (W_O for activity; default $(MODEL_DIR))
#   FIG_DIR=DIR         output directory (default $(OUT)/figures)
# Per case: QUOTE_HEAD QUOTE_TAGS QUOTE_STORY, PASTVERB_HEAD PASTVERB_TAG
#   PASTVERB_STORY, DEFNOUN_HEAD DEFNOUN_TAG DEFNOUN_STORY, BUT_HEAD BUT_TAG
#   BUT_STORY.  *_STORY=auto picks the first story with a suitable anchor token;
#   a number picks that story index.  In make, a tag with $ is written $$:
#   make case-defnoun DEFNOUN_TAG='PRP$$' DEFNOUN_STORY=1234
FIG_DIR ?= $(OUT)/figures
ACTS_TEST ?= $(OUT)/test.acts
TAGGED_TEST ?= $(OUT)/test.tagged
REPORT_KEYS ?= $(OUT)/results_keys.json
REPORT_QUERIES ?= $(OUT)/results_queries.json
PROBES ?= $(OUT)/probes.probes
FIG_MODEL_DIR ?= $(MODEL_DIR)

# The study's heads on TinyStories-1M; on any other model the head with the
# best F1 for the case's tag in that model's own report (HEAD=best), since the
# study's head numbers describe TinyStories-1M only.  Set *_HEAD to override.
study_or_best = $(if $(filter yes,$(MODEL_IS_REAL)),$(1),best)
QUOTE_HEAD ?= $(call study_or_best,L2H0)
QUOTE_TAGS ?= `` ''
QUOTE_STORY ?= auto
PASTVERB_HEAD ?= $(call study_or_best,L6H4)
PASTVERB_TAG ?= VBD
PASTVERB_STORY ?= auto
DEFNOUN_HEAD ?= $(call study_or_best,L5H5)
DEFNOUN_TAG ?= PRP$$
DEFNOUN_STORY ?= auto
BUT_HEAD ?= $(call study_or_best,L6H13)
BUT_TAG ?= CC
BUT_STORY ?= auto

# a word as one single-quoted shell word
fig_shq = '$(subst ','"'"',$(1))'
FIG_SCRIPTS = $(wildcard pipelines/figures/*.gp) pipelines/figures/case-study.sh
FIG_TOOLS = $(addprefix $(BIN)/,activity attn-slice report-grid stream-view)
FIG_INPUTS = $(ACTS_TEST) $(TAGGED_TEST) $(PROBES) $(FIG_TOOLS) $(FIG_SCRIPTS) $(BUILD)/.deps-run

# This file is read before study.mk defines OUT, so targets are patterns and
# prerequisites are expanded in make's second phase (after every makefile).
.SECONDEXPANSION:

# run_case NAME, HEAD, KIND, TAGS, STYLE, STORY, REPORT
define run_case
	@mkdir -p $(FIG_DIR)
	BIN=$(BIN) pipelines/figures/case-study.sh --name $(1) --head $(2) --kind $(3) \
	  --tags $(call fig_shq,$(4)) --style $(5) --story $(6) --acts $(ACTS_TEST) --tagged $(TAGGED_TEST) \
	  --report $(7) --probes $(PROBES) --model-dir $(FIG_MODEL_DIR) --out $(FIG_DIR)
	@touch $@
endef
%/case-quote.done: $$(FIG_INPUTS) $$(REPORT_KEYS)
	$(call run_case,quote,$(QUOTE_HEAD),key,$(QUOTE_TAGS),quote,$(QUOTE_STORY),$(REPORT_KEYS))
%/case-pastverb.done: $$(FIG_INPUTS) $$(REPORT_KEYS)
	$(call run_case,pastverb,$(PASTVERB_HEAD),key,$(PASTVERB_TAG),pre-verb,$(PASTVERB_STORY),$(REPORT_KEYS))
%/case-defnoun.done: $$(FIG_INPUTS) $$(REPORT_QUERIES)
	$(call run_case,defnoun,$(DEFNOUN_HEAD),query,$(DEFNOUN_TAG),noun,$(DEFNOUN_STORY),$(REPORT_QUERIES))
%/case-but.done: $$(FIG_INPUTS) $$(REPORT_KEYS)
	$(call run_case,but,$(BUT_HEAD),key,$(BUT_TAG),but,$(BUT_STORY),$(REPORT_KEYS))
.PHONY: case-quote case-pastverb case-defnoun case-but
case-quote case-pastverb case-defnoun case-but: $$(FIG_DIR)/$$@.done

# The appendix grids: every tag's F1 heatmap, for key and for query probes.
# grid_fig REPORT, NAME, KIND
define grid_fig
	@mkdir -p $(FIG_DIR)
	$(BIN)/report-grid --all --model-from $(PROBES) -o $(FIG_DIR)/$(2).txt $(1)
	gnuplot -e "data='$(FIG_DIR)/$(2).txt'; out='$(FIG_DIR)/$(2)'; kind='$(3)'" pipelines/figures/f1-grid.gp
endef
FIG_GRID_INPUTS = $(PROBES) $(BIN)/report-grid pipelines/figures/f1-grid.gp pipelines/figures/common.gp $(BUILD)/.deps-run
%/f1-grid-keys.png: $$(REPORT_KEYS) $$(FIG_GRID_INPUTS)
	$(call grid_fig,$(REPORT_KEYS),f1-grid-keys,key)
%/f1-grid-queries.png: $$(REPORT_QUERIES) $$(FIG_GRID_INPUTS)
	$(call grid_fig,$(REPORT_QUERIES),f1-grid-queries,query)

.PHONY: figures
figures: $$(FIG_DIR)/f1-grid-keys.png $$(FIG_DIR)/f1-grid-queries.png case-quote case-pastverb case-defnoun case-but
	@echo "figures: $(FIG_DIR)/ ($$(ls $(FIG_DIR)/*.png | wc -l) PNG, $$(ls $(FIG_DIR)/*.pdf | wc -l) PDF)"

# A random test model with TinyStories-1M's shape: `make figures-test` runs
# the study pipeline on it (few stories) and draws every figure kind.
TEST_MODEL_DIR ?= models/random-test-model
TEST_MODEL_SEED ?= 1
$(TEST_MODEL_DIR)/config.json $(TEST_MODEL_DIR)/model.safetensors &: $(BIN)/model-init
	@mkdir -p $(dir $(TEST_MODEL_DIR))
	$(BIN)/model-init --tinystories-1m-config --seed $(TEST_MODEL_SEED) -o $(TEST_MODEL_DIR)

.PHONY: figures-test
figures-test: $(TEST_MODEL_DIR)/config.json $(TEST_MODEL_DIR)/model.safetensors
	$(MAKE) figures MODEL=$(TEST_MODEL_DIR) N_TRAIN=$(or $(FIGTEST_N_TRAIN),80) N_TEST=$(or $(FIGTEST_N_TEST),60) \
	  SHARDS=$(or $(FIGTEST_SHARDS),2)
