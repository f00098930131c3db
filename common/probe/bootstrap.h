/* bootstrap.h: uncertainty of a probe's per-tag F1 over test stories.
 *
 * The nonparametric bootstrap (Efron & Tibshirani 1993, "An Introduction to
 * the Bootstrap", ch. 6 and 13: the percentile interval), resampling whole
 * stories, not tokens: the tokens of a story share their context, so
 * stories are the independent units.  Replicate b draws n stories with
 * replacement from the n test stories; a (probe, tag)'s F1 in it is
 * classification_report's F1 (zero_division=1, clsreport.h) of the summed
 * counts of the drawn stories.  A replicate whose stories hold no token of
 * the tag has no F1 for it (classification_report would not list the tag;
 * zero_division would make it 1): it is left out of that tag's interval.
 * The draws, exactly (for a reference to
 * repeat them): a splitmix64 state s = seed (base/rng.h); for b = 0..B-1,
 * for i = 0..n-1: s += 0x9E3779B97F4A7C15, z = mix64(s), story
 * floor(z * n / 2^64).  Every (probe, tag) is scored on the same draws, so
 * comparisons between heads are paired.
 *
 * The 95% interval is the 2.5th and 97.5th percentiles of the replicate
 * F1s, as numpy.percentile(v, [2.5, 97.5]) computes them (method 'linear',
 * numpy 1.24 lib/function_base.py: h = (B - 1) * (q / 100), the sorted
 * values at floor(h) and floor(h) + 1, _lerp's two-sided form).
 */
#ifndef HEADS_PROBE_BOOTSTRAP_H
#define HEADS_PROBE_BOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/** One story's counts for one (probe, tag). */
typedef struct boot_counts {
    uint32_t tp;       /**< tokens of the tag predicted as the tag */
    uint32_t pred;     /**< tokens predicted as the tag */
    uint32_t support;  /**< tokens of the tag */
} boot_counts;

/** The draws (see the top of this file).
 *  @param seed seed @param B replicates (>= 1) @param n stories (>= 1)
 *  @param e error @return [B][n] story indices (free), or NULL with e set
 *  (bad sizes, out of memory) */
uint32_t *boot_draws(uint64_t seed, int B, size_t n, herr *e) __attribute__((warn_unused_result));

/** F1 of one (probe, tag) in every replicate.
 *  @param c [n] per-story counts @param n stories
 *  @param draws [B][n] from boot_draws @param B replicates
 *  @param f1 out [B]; NaN where the drawn stories hold no token of the tag */
void boot_f1(const boot_counts *c, size_t n, const uint32_t *draws, int B, double *f1);

/** A percentile as numpy.percentile(v, q) (method 'linear').
 *  @param v [B] values, sorted ascending here (in place)
 *  @param B count (>= 1) @param q percent in [0, 100] @return the value */
double boot_percentile(double *v, int B, double q);

#endif
