/* controls.h: what a probe's score is compared with (docs/controls.md).
 *
 * Baselines that read no vector at all:
 *  - majority: every token gets the most frequent training tag;
 *  - token id: every token gets the tag its token id carries most often in
 *    the training split (a lookup table, the "probe" that sees only the
 *    token's identity); an id the training split never shows gets the
 *    majority tag.
 * Ties go to the class with the lower index; callers number classes in
 * sorted tag order (strcmp, as np.unique), so a tie goes to the tag that
 * sorts first.
 *
 * The control task (Hewitt & Liang 2019, "Designing and Interpreting Probes
 * with Control Tasks", EMNLP, section 2): every word type gets a tag drawn
 * at random, once, from the distribution of the real tags; a probe trained
 * on those tags can only memorise types, so accuracy minus control-task
 * accuracy (selectivity) is what the vector adds beyond a lookup.  Here the
 * type is the BPE token id (the unit a head's vector belongs to), the
 * distribution is the tag counts of the training split, and the draw for
 * type t with seed S is
 *
 *     z = mix64((S ^ CONTROL_TASK_SALT) + (t + 1) * 0x9E3779B97F4A7C15)
 *         (the (t+1)-th output of splitmix64 from state S ^ salt; base/rng.h)
 *     r = floor(z * total / 2^64)            (0 <= r < total, exact integers)
 *     label = the first class k (sorted tag order) with cum[k] > r,
 *             cum[k] = count[0] + ... + count[k]
 *
 * so the label is a function of (seed, counts, type) only.
 */
#ifndef HEADS_PROBE_CONTROLS_H
#define HEADS_PROBE_CONTROLS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/** Mixed into the control task's seed ("ControlT" in ASCII), so its draws
 *  differ from tokenize's split draws for the same seed number. */
#define CONTROL_TASK_SALT 0x436F6E74726F6C54ull

/** The token-id lookup baseline (and the majority class). */
typedef struct tokid_baseline {
    size_t n_ids;      /**< distinct training token ids */
    uint32_t *ids;     /**< [n_ids] sorted */
    int *cls;          /**< [n_ids] most frequent class of each id */
    int majority;      /**< most frequent class over all training tokens */
} tokid_baseline;

/** Fit both baselines.
 *  @param b out (free with tokid_baseline_free)
 *  @param ids,y n training tokens: id and class in [0, K)
 *  @param n tokens (>= 1) @param K classes (>= 1)
 *  @param e error @return 0, or -1 with e set (no tokens, a class out of
 *  range, out of memory) */
int tokid_baseline_fit(tokid_baseline *b, const uint32_t *ids, const int *y, size_t n, int K, herr *e)
    __attribute__((warn_unused_result));

/** @return the class the lookup gives token id (the majority class for an
 *  id the training split never showed) */
int tokid_baseline_predict(const tokid_baseline *b, uint32_t id);

/** Free the tables. @param b baseline */
void tokid_baseline_free(tokid_baseline *b);

/** The control task's class of one type (see the top of this file).
 *  @param seed the control task's seed @param type token id
 *  @param cum [K] cumulative class counts (cum[K-1] = total > 0)
 *  @param K classes @return the class, in [0, K) */
int control_task_label(uint64_t seed, uint32_t type, const uint64_t *cum, int K);

#endif
