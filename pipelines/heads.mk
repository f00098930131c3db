# heads.mk: what the heads do (docs/heads.md), on the study's test split,
# part of `make all`:
#
#   make heads          $(OUT)/heads.md + heads.tsv (the report card) and the
#                       head-analysis figures in $(FIG_DIR)
#
#   $(HEADS_DIR)/scores.tsv        head-scores: induction, duplicate, previous
#                                  (random tokens drawn from the test stories' ids)
#   $(HEADS_DIR)/logit-grid.tsv    logit-lens --grid --final-ln scale
#   $(HEADS_DIR)/ablate-sweep.tsv  ablate --sweep (zero) on the first ABLATE_TAKE
#                                  test stories (each head alone: the costly step)
#   $(HEADS_DIR)/select.tsv        the heads the card looks at (pipelines/heads-select.sh)
#   $(HEADS_DIR)/stats.tsv         head-stats of those heads (the claims' measurements)
#   $(HEADS_DIR)/top-tokens.tsv    logit-lens --top 10 --mean of those heads
#
# Variables: ABLATE_TAKE=20, HEADS_THREADS=2, HEAD_SCORES_SEQ=50, HEAD_SCORES_BATCH=10.
HEADS_DIR = $(OUT)/heads
ABLATE_TAKE ?= 20
HEADS_THREADS ?= 2
HEAD_SCORES_SEQ ?= 50
HEAD_SCORES_BATCH ?= 10
HEADS_TAGGED = $(OUT)/test.tagged
HEADS_MODEL = $(MODEL_FILES) $(MODEL_DIR)/config.json

$(OUT)/heads/scores.tsv: $$(HEADS_TAGGED) $$(HEADS_MODEL) $(BIN)/head-scores
	@mkdir -p $(dir $@)
	$(LAUNCH) $(BIN)/head-scores --model $(MODEL_DIR) --seq-len $(HEAD_SCORES_SEQ) --batch $(HEAD_SCORES_BATCH) \
	  --tokens-from $(HEADS_TAGGED) --text $(HEADS_TAGGED) --threads $(HEADS_THREADS) -o $@
$(OUT)/heads/logit-grid.tsv: $$(HEADS_TAGGED) $$(HEADS_MODEL) $(BIN)/logit-lens
	@mkdir -p $(dir $@)
	$(LAUNCH) $(BIN)/logit-lens --model $(MODEL_DIR) --grid --final-ln scale --threads $(HEADS_THREADS) -o $@ $(HEADS_TAGGED)
$(OUT)/heads/ablate-sweep.tsv: $$(HEADS_TAGGED) $$(HEADS_MODEL) $(BIN)/ablate
	@mkdir -p $(dir $@)
	$(LAUNCH) $(BIN)/ablate --model $(MODEL_DIR) --sweep --take $(ABLATE_TAKE) --threads $(HEADS_THREADS) -o $@ $(HEADS_TAGGED)
$(OUT)/heads/select.tsv: $(OUT)/results_keys.json $(OUT)/results_queries.json pipelines/heads-select.sh $(BIN)/probe-compare $(BIN)/report-grid
	@mkdir -p $(dir $@)
	BIN=$(BIN) pipelines/heads-select.sh $(OUT)/results_keys.json $(OUT)/results_queries.json $(MODEL_IS_REAL) > $@.tmp && mv $@.tmp $@
# the distinct heads of select.tsv, as a --heads list
heads_of = $$(awk -F'\t' 'NR > 1 && $$4 ~ /^L/ {print $$4}' $(1) | sort -u | paste -sd, -)
$(OUT)/heads/stats.tsv: $(OUT)/heads/select.tsv $$(HEADS_TAGGED) $$(HEADS_MODEL) $(BIN)/head-stats
	$(LAUNCH) $(BIN)/head-stats --model $(MODEL_DIR) --heads $(call heads_of,$<) --threads $(HEADS_THREADS) \
	  --activity any --activity quote --attention 'quote/tag=``' --activity next=VBD --attention next=VBD/tag=VBD \
	  --activity 'tag=PRP$$,DT' --attention 'tag=PRP$$,DT/tag=NN,NNS,NNP,NNPS' -o $@ $(HEADS_TAGGED)
$(OUT)/heads/top-tokens.tsv: $(OUT)/heads/select.tsv $$(HEADS_TAGGED) $$(HEADS_MODEL) $(BIN)/logit-lens $(TOKENIZER_FILES)
	$(LAUNCH) $(BIN)/logit-lens --model $(MODEL_DIR) --top 10 --mean --final-ln scale --heads $(call heads_of,$<) \
	  --tokenizer $(DATA_CACHE)/tokenizer -o $@ $(HEADS_TAGGED)

HEADS_TABLES = $(addprefix $(OUT)/heads/,scores.tsv logit-grid.tsv ablate-sweep.tsv select.tsv stats.tsv top-tokens.tsv)
# The card ends with the controls of the case-study tags (pipelines/controls.mk).
$(OUT)/heads.md $(OUT)/heads.tsv &: $$(HEADS_TABLES) $(OUT)/controls.tsv pipelines/heads-report.sh pipelines/controls-case.sh pipelines/md.sh
	CONTROL=$(CONTROL) CONTROL_SEED=$(CONTROL_SEED) pipelines/heads-report.sh $(OUT)/heads $(OUT)/heads.tsv \
	  $(OUT)/controls.tsv > $(OUT)/heads.md.tmp && mv $(OUT)/heads.md.tmp $(OUT)/heads.md

# Figures: a layer x head grid per score, and per case-study tag the
# attribution grid and the loss-change grid (pipelines/figures/heads-figures.sh).
HEADS_FIG_TAGS ?= '``' VBD 'PRP$$' CC
HEADS_FIG_INPUTS = pipelines/figures/heads-figures.sh pipelines/figures/head-grid.gp pipelines/figures/common.gp $(BUILD)/.deps-run
$(OUT)/figures/heads.done: $(OUT)/heads/scores.tsv $(OUT)/heads/logit-grid.tsv $(OUT)/heads/ablate-sweep.tsv $$(HEADS_FIG_INPUTS)
	pipelines/figures/heads-figures.sh $(OUT)/heads $(FIG_DIR) $(HEADS_FIG_TAGS)
	@touch $@

.PHONY: heads
heads: $(OUT)/heads.md $(OUT)/figures/heads.done
