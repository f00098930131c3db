/* clsreport.c: classification_report(output_dict=True, zero_division=1). */
#include "probe/clsreport.h"

#include <stdlib.h>
#include <string.h>

#include "probe/pyfmt.h"

static int cmp_idx(const void *a, const void *b, void *ctx)
{
    const char (*names)[TAG_MAX + 1] = ctx;
    return strcmp(names[*(const int *)a], names[*(const int *)b]);
}

cls_metrics cls_prf(uint64_t tp, uint64_t pred, uint64_t support)
{
    double p = pred ? (double)tp / (double)pred : 1.0;
    double rc = support ? (double)tp / (double)support : 1.0;
    double den = 1.0 * p + rc;
    if (den == 0.0) den = 1.0;
    return (cls_metrics){p, rc, (2.0 * p) * rc / den, (double)support};
}

double cls_f1(uint64_t tp, uint64_t pred, uint64_t support) { return cls_prf(tp, pred, support).f1; }

int cls_report_compute(cls_report *r, const char (*names)[TAG_MAX + 1], int n_names,
                       const int *y_true, const int *y_pred, size_t n, herr *e)
{
    memset(r, 0, sizeof *r);
    if (n == 0) return herr_set(e, "a report of no samples");
    if (n_names <= 0) return herr_set(e, "a report with no label names");
    const size_t nn = (size_t)n_names;
    size_t *tp = calloc(3 * nn, sizeof *tp), *pred = tp ? tp + nn : NULL, *tru = tp ? tp + 2 * nn : NULL;
    int *idx = malloc(nn * sizeof *idx);
    /* pv, rv, fv, w, prod: [m] each */
    double *pv = malloc(5 * nn * sizeof(double));
    r->labels = malloc(nn * sizeof *r->labels);
    r->rows = malloc(nn * sizeof *r->rows);
    if (!tp || !idx || !pv || !r->labels || !r->rows) {
        free(tp); free(idx); free(pv);
        cls_report_free(r);
        return herr_set(e, "out of memory for a report of %d labels", n_names);
    }
    size_t correct = 0;
    for (size_t i = 0; i < n; i++) {
        if (y_true[i] < 0 || y_true[i] >= n_names || y_pred[i] < 0 || y_pred[i] >= n_names) {
            free(tp); free(idx); free(pv);
            cls_report_free(r);
            return herr_set(e, "sample %zu: label index (true %d, predicted %d) outside 0..%d", i, y_true[i],
                            y_pred[i], n_names - 1);
        }
        tru[y_true[i]]++;
        pred[y_pred[i]]++;
        if (y_true[i] == y_pred[i]) { tp[y_true[i]]++; correct++; }
    }
    int m = 0;
    for (int k = 0; k < n_names; k++)
        if (tru[k] || pred[k]) idx[m++] = k;
    qsort_r(idx, (size_t)m, sizeof *idx, cmp_idx, (void *)names);
    r->n_labels = m;
    double *rv = pv + nn, *fv = rv + nn, *w = fv + nn, *prod = w + nn;
    for (int j = 0; j < m; j++) {
        int k = idx[j];
        memcpy(r->labels[j], names[k], TAG_MAX + 1);
        r->rows[j] = cls_prf(tp[k], pred[k], tru[k]);
        pv[j] = r->rows[j].precision; rv[j] = r->rows[j].recall; fv[j] = r->rows[j].f1; w[j] = (double)tru[k];
    }
    r->n = (double)n;
    r->accuracy = (double)correct / (double)n;
    r->macro.precision = np_pairwise_sum(pv, (size_t)m) / m;
    r->macro.recall = np_pairwise_sum(rv, (size_t)m) / m;
    r->macro.f1 = np_pairwise_sum(fv, (size_t)m) / m;
    r->macro.support = (double)n;
    double wsum = np_pairwise_sum(w, (size_t)m);
    const double *src[3] = {pv, rv, fv};
    double *dst[3] = {&r->weighted.precision, &r->weighted.recall, &r->weighted.f1};
    for (int t = 0; t < 3; t++) {
        for (int j = 0; j < m; j++) prod[j] = src[t][j] * w[j];
        *dst[t] = np_pairwise_sum(prod, (size_t)m) / wsum;
    }
    r->weighted.support = (double)n;
    free(pv); free(idx); free(tp);
    return 0;
}

void cls_report_free(cls_report *r)
{
    free(r->labels);
    free(r->rows);
    memset(r, 0, sizeof *r);
}

static void indent(FILE *f, int level)
{
    for (int i = 0; i < level * 4; i++) fputc(' ', f);
}

static void metrics_json(FILE *f, const cls_metrics *m, int level)
{
    char b[32];
    fputs("{\n", f);
    indent(f, level + 1); fprintf(f, "\"precision\": %s,\n", py_repr_double(m->precision, b));
    indent(f, level + 1); fprintf(f, "\"recall\": %s,\n", py_repr_double(m->recall, b));
    indent(f, level + 1); fprintf(f, "\"f1-score\": %s,\n", py_repr_double(m->f1, b));
    indent(f, level + 1); fprintf(f, "\"support\": %s\n", py_repr_double(m->support, b));
    indent(f, level); fputc('}', f);
}

void cls_report_json(FILE *f, const cls_report *r, int level)
{
    char b[32];
    fputs("{\n", f);
    for (int j = 0; j < r->n_labels; j++) {
        indent(f, level + 1);
        py_json_string(f, r->labels[j]);
        fputs(": ", f);
        metrics_json(f, &r->rows[j], level + 1);
        fputs(",\n", f);
    }
    indent(f, level + 1); fprintf(f, "\"accuracy\": %s,\n", py_repr_double(r->accuracy, b));
    indent(f, level + 1); fputs("\"macro avg\": ", f);
    metrics_json(f, &r->macro, level + 1);
    fputs(",\n", f);
    indent(f, level + 1); fputs("\"weighted avg\": ", f);
    metrics_json(f, &r->weighted, level + 1);
    fputc('\n', f);
    indent(f, level); fputc('}', f);
}

int cls_summary_key(const char *k)
{
    return !strcmp(k, "accuracy") || !strcmp(k, "macro avg") || !strcmp(k, "weighted avg");
}

int cls_reserved_label(const char *name) { return cls_summary_key(name) || !strcmp(name, "(none)"); }
