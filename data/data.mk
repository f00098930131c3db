# data.mk: fetch rules for every pinned external input (data/sources.tsv).
#
#   make data                    fetch + verify all inputs but the model
#   make data MIRROR=DIR         the same, copying from a local mirror
#   make data-verify             re-check the sha256 of everything fetched
#
# Files land under data/cache/ with the same relative paths as the mirror.
MIRROR ?=
export MIRROR
DATA_CACHE := data/cache
DATA_ALL := $(shell awk -F'\t' '!/^#/ && NF {print $$1}' data/sources.tsv)
DATA_INPUTS := $(filter-out models/%,$(DATA_ALL))

$(DATA_CACHE)/%: | data/sources.tsv
	@echo "fetch $*"
	@data/fetch.sh $* $@

# The NLTK tagger's JSON model, unpacked from the pinned zip.
TAGGER_DIR := $(DATA_CACHE)/nltk/averaged_perceptron_tagger_eng
TAGGER_JSON := $(TAGGER_DIR)/averaged_perceptron_tagger_eng.weights.json
$(TAGGER_JSON): $(DATA_CACHE)/nltk/averaged_perceptron_tagger_eng.zip
	@rm -rf $(TAGGER_DIR).tmp && mkdir -p $(TAGGER_DIR).tmp
	@unzip -q -o $< -d $(TAGGER_DIR).tmp
	@rm -rf $(TAGGER_DIR) && mv $(TAGGER_DIR).tmp/averaged_perceptron_tagger_eng $(TAGGER_DIR) && rm -rf $(TAGGER_DIR).tmp
	@touch $@

DATA_FOR_TESTS := $(addprefix $(DATA_CACHE)/,$(DATA_INPUTS)) $(TAGGER_JSON)

.PHONY: data data-verify
data: $(DATA_FOR_TESTS)
data-verify:
	@cd $(DATA_CACHE) && awk -F'\t' '!/^#/ && NF {print $$2 "  " $$1}' ../sources.tsv | \
	  while read -r sum path; do [ -f "$$path" ] && echo "$$sum  $$path"; done | sha256sum -c --quiet && echo "data: all fetched inputs verified"
