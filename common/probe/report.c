/* report.c: the study's probe report layout, read and checked (report.h). */
#include "probe/clsreport.h"
#include "probe/report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/records.h" /* story_tag_field: the empty tag shown as (none) */

const char *probe_json_kind(const json_t *x)
{
    if (!x) return "missing";
    if (json_is_null(x)) return "null";
    if (json_is_string(x)) return "a string";
    if (json_is_boolean(x)) return "a boolean";
    if (json_is_array(x)) return "an array";
    if (json_is_object(x)) return "an object";
    return "a number";
}

/* One tag's (or average's) metrics as classification_report writes them. */
static int check_metrics(const char *src, size_t l, size_t h, const char *k, const json_t *v, herr *e)
{
    static const char *const names[] = {"precision", "recall", "f1-score", "support"};
    if (!json_is_object(v))
        return herr_set(e, "%s: L%zuH%zu tag '%s' is %s, not an object of metrics", src, l, h, story_tag_field(k),
                        probe_json_kind(v));
    for (int i = 0; i < 4; i++) {
        const json_t *x = json_object_get(v, names[i]);
        if (!json_is_number(x))
            return herr_set(e, "%s: L%zuH%zu tag '%s': '%s' is %s, not a number", src, l, h, story_tag_field(k),
                            names[i], probe_json_kind(x));
        const double d = json_number_value(x);
        if (i == 3 && !(d >= 0 && d == floor(d) && d < 9e15))
            return herr_set(e, "%s: L%zuH%zu tag '%s': support %g is not a count", src, l, h, story_tag_field(k), d);
        if (i < 3 && !(d >= 0 && d <= 1))
            return herr_set(e, "%s: L%zuH%zu tag '%s': %s %g is outside [0, 1]", src, l, h, story_tag_field(k),
                            names[i], d);
    }
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

int probe_report_check(probe_report *r, json_t *root, const char *src, herr *e)
{
    memset(r, 0, sizeof *r);
    if (!json_is_array(root) || json_array_size(root) == 0)
        return herr_set(e, "%s: not a probe report (want a [layer][head] array of classification reports)", src);
    const size_t NL = json_array_size(root);
    size_t NH = 0;
    for (size_t l = 0; l < NL; l++) { /* the shape first, then what the heads hold */
        json_t *row = json_array_get(root, l);
        if (!json_is_array(row) || json_array_size(row) == 0)
            return herr_set(e, "%s: layer %zu is not an array of head reports", src, l);
        if (l == 0) NH = json_array_size(row);
        else if (json_array_size(row) != NH)
            return herr_set(e, "%s: layer %zu has %zu heads, layer 0 has %zu", src, l, json_array_size(row), NH);
    }
    const char **tags = NULL;
    size_t ntags = 0, tcap = 0, probed = 0;
    for (size_t l = 0; l < NL; l++) {
        json_t *row = json_array_get(root, l);
        for (size_t h = 0; h < NH; h++) {
            json_t *rep = json_array_get(row, h);
            if (json_is_null(rep)) continue; /* a head probe-eval had no probe for */
            if (!json_is_object(rep)) {
                free(tags);
                return herr_set(e, "%s: L%zuH%zu is %s, not a classification report", src, l, h, probe_json_kind(rep));
            }
            probed++;
            const char *k;
            json_t *v;
            json_object_foreach(rep, k, v) {
                if (!strcmp(k, "accuracy")) {
                    const char *bad = NULL;
                    if (!json_is_number(v)) bad = "not a number";
                    else if (!(json_number_value(v) >= 0 && json_number_value(v) <= 1)) bad = "outside [0, 1]";
                    if (bad) {
                        free(tags);
                        return herr_set(e, "%s: L%zuH%zu: accuracy is %s, %s", src, l, h,
                                        json_is_number(v) ? "a number" : probe_json_kind(v), bad);
                    }
                    continue;
                }
                if (check_metrics(src, l, h, k, v, e)) {
                    free(tags);
                    return -1;
                }
                if (cls_summary_key(k)) continue; /* the averages ("accuracy" was handled above) */
                if (strlen(k) > TAG_MAX) {
                    free(tags);
                    return herr_set(e, "%s: L%zuH%zu: the tag '%.20s...' is longer than %d bytes (no POS tag is)", src, l,
                                    h, k, TAG_MAX);
                }
                size_t i;
                for (i = 0; i < ntags; i++)
                    if (!strcmp(tags[i], k)) break;
                if (i == ntags) {
                    if (ntags == tcap) {
                        const char **nt = realloc(tags, (tcap = tcap ? 2 * tcap : 64) * sizeof *tags);
                        if (!nt) {
                            free(tags);
                            return herr_set(e, "%s: out of memory", src);
                        }
                        tags = nt;
                    }
                    tags[ntags++] = k;
                }
            }
            /* classification_report always writes both averages */
            for (int a = 0; a < 2; a++) {
                const char *avg = a ? "weighted avg" : "macro avg";
                if (!json_object_get(rep, avg)) {
                    free(tags);
                    return herr_set(e, "%s: L%zuH%zu has no '%s' (not a classification report)", src, l, h, avg);
                }
            }
        }
    }
    if (!probed) {
        free(tags);
        return herr_set(e, "%s: every head's report is null (no head was probed)", src);
    }
    if (ntags) qsort(tags, ntags, sizeof *tags, cmp_str);
    json_incref(root);
    *r = (probe_report){.root = root, .n_layer = NL, .n_head = NH, .n_probed = probed, .tags = tags, .n_tags = ntags};
    return 0;
}

int probe_report_load(probe_report *r, const char *path, herr *e)
{
    memset(r, 0, sizeof *r);
    const int from_stdin = !path || !strcmp(path, "-");
    const char *src = from_stdin ? "stdin" : path;
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    if (!f) return herr_set(e, "%s: %s", src, strerror(errno));
    struct stat st = {0};
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!from_stdin) fclose(f);
        return herr_set(e, "%s: is a directory, not a probe report", src);
    }
    if (!from_stdin && S_ISREG(st.st_mode) && st.st_size == 0) {
        fclose(f);
        return herr_set(e, "%s: empty file (0 bytes), not a probe report", src);
    }
    json_error_t je;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    if (!from_stdin) fclose(f);
    if (!root) return herr_set(e, "%s:%d: not JSON: %s", src, je.line, je.text);
    int rc = probe_report_check(r, root, src, e);
    json_decref(root);
    return rc;
}

json_t *probe_report_head(const probe_report *r, size_t l, size_t h)
{
    if (l >= r->n_layer || h >= r->n_head) return NULL;
    json_t *c = json_array_get(json_array_get(r->root, l), h);
    return json_is_object(c) ? c : NULL;
}

double probe_report_metric(const probe_report *r, size_t l, size_t h, const char *key, const char *metric)
{
    const json_t *c = probe_report_head(r, l, h), *v = c ? json_object_get(c, key) : NULL;
    if (!v) return NAN;
    if (json_is_number(v)) return json_number_value(v); /* accuracy */
    const json_t *x = json_object_get(v, metric);
    return json_is_number(x) ? json_number_value(x) : NAN;
}

void probe_report_free(probe_report *r)
{
    if (r->root) json_decref(r->root);
    free(r->tags);
    memset(r, 0, sizeof *r);
}
