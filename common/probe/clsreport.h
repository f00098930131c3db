/* clsreport.h: scikit-learn's classification_report(y_true, y_pred,
 * output_dict=True, zero_division=1), number for number.
 *
 * Labels are the union of the true and predicted labels, sorted (strcmp,
 * i.e. code point order, as numpy sorts strings).  Per label: precision =
 * tp / predicted (1.0 when nothing was predicted), recall = tp / support
 * (1.0 when the support is 0), f1 = 2 p r / (p + r) evaluated as sklearn
 * does ((2 p) r / (p + r), 0 when p + r = 0).  accuracy = correct / n;
 * macro avg = mean over labels; weighted avg = support-weighted mean; both
 * summed with numpy's pairwise summation so the doubles match bit for bit.
 */
#ifndef HEADS_CLSREPORT_H
#define HEADS_CLSREPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "io/records.h"

/** One row: precision, recall, f1-score, support. */
typedef struct cls_metrics {
    double precision, recall, f1, support;
} cls_metrics;

typedef struct cls_report {
    int n_labels;
    char (*labels)[TAG_MAX + 1]; /**< [n_labels], sorted */
    cls_metrics *rows;           /**< [n_labels] */
    double accuracy;
    double n;                    /**< samples (support of the averages) */
    cls_metrics macro, weighted;
} cls_report;

/** Compute a report.
 *  @param r out (free with cls_report_free)
 *  @param names label names indexed by y values (unique strings)
 *  @param n_names number of names
 *  @param y_true,y_pred n indices into names
 *  @param n samples (>= 1)
 *  @param e error message
 *  @return 0, or -1 with e set (n == 0, no names, an index out of range,
 *          out of memory); r is then empty */
int cls_report_compute(cls_report *r, const char (*names)[TAG_MAX + 1], int n_names,
                       const int *y_true, const int *y_pred, size_t n, herr *e)
    __attribute__((warn_unused_result));

/** One label's precision, recall and F1 from its counts, as
 *  cls_report_compute computes them (zero_division=1).
 *  @param tp,pred,support counts @return the three (support as a double) */
cls_metrics cls_prf(uint64_t tp, uint64_t pred, uint64_t support);

/** @return cls_prf(tp, pred, support).f1 */
double cls_f1(uint64_t tp, uint64_t pred, uint64_t support);

/** Free the arrays of a report. @param r report */
void cls_report_free(cls_report *r);

/** Whether k is one of classification_report's summary keys: "accuracy",
 *  "macro avg" or "weighted avg" (the other keys of a report are labels).
 *  @return 1 or 0 */
int cls_summary_key(const char *k);

/** Whether a tag name is one a report already uses for something else:
 *  classification_report's summary keys ("accuracy", "macro avg",
 *  "weighted avg") and "(none)", the toolkit's name for the empty tag.  A tag
 *  of such a name could not be told apart in a report, so the tools that
 *  make reports refuse it.  @return 1 or 0 */
int cls_reserved_label(const char *name);

/** Write the report as json.dumps(report, indent=4) writes the dict (keys:
 *  labels, "accuracy", "macro avg", "weighted avg"; each label ->
 *  {"precision", "recall", "f1-score", "support"}), starting at the
 *  current position, nested at depth level (the closing brace indented by
 *  4 * level spaces).  Supports are written as floats ("5099.0") as in the
 *  study's published reports.  @param f output @param r report
 *  @param level nesting depth */
void cls_report_json(FILE *f, const cls_report *r, int level);

#endif
