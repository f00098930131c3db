/* report.h: a probe report in the study's JSON layout, read and checked.
 *
 * The layout (probe-eval --json, the study's results_keys.json and
 * results_queries.json): a list of layers, each a list of heads, each
 * head either null (not probed: probe-eval --json for a subset of heads)
 * or scikit-learn's classification_report(output_dict=True) dict:
 *   {TAG: {"precision", "recall", "f1-score", "support"}, ...,
 *    "accuracy": number, "macro avg": {...}, "weighted avg": {...}}
 * (sklearn/metrics/_classification.py, classification_report).
 *
 * Checked before any use, so a tool never computes on half a report:
 * every layer has the same number of heads (a rectangular grid), at least
 * one head is probed, each probed head has both averages ("macro avg",
 * "weighted avg"), no key twice, tags of at most TAG_MAX bytes, each metric
 * a number (precision, recall, f1-score and accuracy in [0, 1], support a
 * whole count).  Errors name the file,
 * the head (LxHy) and the tag.
 */
#ifndef HEADS_PROBE_REPORT_H
#define HEADS_PROBE_REPORT_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

typedef struct probe_report {
    json_t *root;      /* owned */
    size_t n_layer, n_head;
    size_t n_probed;   /* heads that are not null */
    const char **tags; /* [n_tags] sorted (strcmp), the per-tag keys of every
                          probed head (not accuracy / macro avg / weighted
                          avg); the strings belong to root */
    size_t n_tags;
} probe_report;

/** Read a report: from path, or stdin when path is NULL or "-".  A missing
 *  file, a directory, text that is not JSON and every layout or type error
 *  above are returned as one message naming src.
 *  @return 0, or -1 with e set (r is then empty: nothing to free) */
int probe_report_load(probe_report *r, const char *path, herr *e);

/** Take and check an already parsed root (a reference is kept by r; the
 *  caller keeps its own).  src names it in messages.  @return 0 or -1 */
int probe_report_check(probe_report *r, json_t *root, const char *src, herr *e);

/** Head l, h's report object, or NULL when it was not probed. */
json_t *probe_report_head(const probe_report *r, size_t l, size_t h);

/** The metric ("precision", "recall", "f1-score", "support") of key (a tag
 *  or "macro avg" / "weighted avg"; "accuracy" gives the bare number
 *  whatever metric is) at head l, h; NAN when the head is not probed or
 *  has no such key. */
double probe_report_metric(const probe_report *r, size_t l, size_t h, const char *key, const char *metric);

void probe_report_free(probe_report *r);

/** What a JSON value is, in words for messages ("a string", "null",
 *  "missing" for NULL, ...). */
const char *probe_json_kind(const json_t *x);

#endif
