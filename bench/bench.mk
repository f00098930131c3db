# bench.mk: `make bench` runs every bench/bench_*.sh (each prints its own
# table: real path, ratio against the reference measured side by side in
# one run, per-token / per-probe costs).  BENCH=name runs only matching ones.
BENCH ?=
build/bench/stream-bench: bench/stream-bench.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(LIBCOMMON) $(PKG_LIBS) -o $@

.PHONY: bench
bench: $(TOOLS) build/bench/stream-bench $(DATA_FOR_TESTS) $(BUILD)/.deps-bench
	@for b in bench/bench_*.sh; do \
	  case "$$b" in *"$(BENCH)"*) ;; *) continue;; esac; \
	  echo "== $$b"; \
	  TOP=$(TOP) BIN=$(TOP)/$(BIN) DATA=$(TOP)/data/cache bash $$b || echo "$$b failed"; \
	done
build/bench/ablate-floor: bench/ablate-floor.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< $(LIBCOMMON) $(PKG_LIBS) -o $@
bench: build/bench/ablate-floor
