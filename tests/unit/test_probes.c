/* test_probes.c: probe-fit and probe-eval against scikit-learn goldens
 * (tests/oracles/gen_probe_golden.py -> tests/golden/probes/).
 *
 *  - report arithmetic: cls_report_compute on fixed label lists gives
 *    classification_report(output_dict=True, zero_division=1)'s doubles
 *    bit for bit; py_repr_double equals Python's repr on known values;
 *  - synthetic cases: features rebuilt bit for bit from the golden's integer
 *    recipe, written as activations streams, run through bin/probe-fit and
 *    bin/probe-eval: classes equal, weights near sklearn's, predictions agree
 *    on >= 99.5% of test tokens per probe, per-tag F1 within 0.01, and every
 *    report number within 1e-9 of sklearn's whenever the predictions agree
 *    exactly (the JSON numbers also equal the report of our own predictions;
 *    the --json file is byte for byte json.dump(indent=4) of sklearn's
 *    reports; the CSV rows carry the JSON's numbers);
 *  - the same for large.json.zst: 24,000 and 20,000 training tokens, so
 *    probe-fit's Hessian starts from every 5th / 4th sample (39 and 30 tags
 *    with Zipf-like frequencies; the second with badly scaled dimensions,
 *    where the subsample alone does not converge in 100 steps);
 *  - a random test model (bin/model-init + bin/forward-dump) as the source
 *    of the features, same checks;
 *  - determinism: probes and reports byte-identical with 1 and 2 threads;
 *  - bad input: NaN / Inf features, empty input, a single class, the wrong
 *    stream kind, a missing head -- one line on stderr, non-zero exit.
 *
 * `test_probes --write-randmodel-input DIR` writes the random-model inputs
 * for the oracle script.  TEST_PROBES_KEEP=1 keeps the scratch directory. */
#include <errno.h>
#include <csv.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "base/err.h"
#include "cli/cli.h"
#include "cli/toolio.h"
#include "probe/clsreport.h"
#include "probe/logreg.h"
#include "probe/pyfmt.h"
#include "io/records.h"
#include "io/stream.h"
#include "probe/probedata.h"
#include "text/tagmap.h"
#include "testio.h"
#include "testlib.h"

static const char *TOP, *BIN;
static char TMP[256];

/* ---------------------------------------------------------------- utils */

static json_t *load_zst_json(const char *path)
{
    size_t len;
    char *z = cli_read_file(path, &len);
    unsigned long long cap = ZSTD_getFrameContentSize(z, len);
    if (cap == ZSTD_CONTENTSIZE_ERROR || cap == ZSTD_CONTENTSIZE_UNKNOWN) cap = 64u << 20;
    char *raw = xmalloc(cap + 1);
    size_t n = ZSTD_decompress(raw, cap, z, len);
    free(z);
    if (ZSTD_isError(n)) { printf("not ok - %s: %s\n", path, ZSTD_getErrorName(n)); exit(1); }
    json_error_t e;
    json_t *j = json_loadb(raw, n, 0, &e);
    free(raw);
    if (!j) { printf("not ok - %s: %s\n", path, e.text); exit(1); }
    return j;
}

static int run(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Run cmd expecting failure: exit != 0, exactly one stderr line starting
 * "tool: " and containing want. */
static void check_fails(const char *what, const char *tool, const char *want, const char *cmd)
{
    char full[4096], errp[512];
    snprintf(errp, sizeof errp, "%s/err.txt", TMP);
    snprintf(full, sizeof full, "%s >/dev/null 2>%s", cmd, errp);
    int rc = run(full);
    size_t len = 0;
    char *e = cli_read_file(errp, &len);
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += e[i] == '\n';
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s: ", tool);
    int ok = rc != 0 && rc < 128 && lines == 1 && !strncmp(e, prefix, strlen(prefix)) && strstr(e, want);
    CHECK(ok, "%s", what);
    if (!ok) printf("    rc %d, stderr: %s", rc, e);
    free(e);
}

static int same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = cli_read_file(a, &la), *y = cli_read_file(b, &lb);
    int same = la == lb && !memcmp(x, y, la);
    free(x); free(y);
    return same;
}

/* splitmix64, as the oracle's SplitMix64 */
typedef struct { uint64_t s; } sm64;
static uint64_t sm_next(sm64 *g)
{
    uint64_t z = (g->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* ------------------------------------------------- activations streams */

/* Write an activations stream of one layer, n_head heads, vectors k q:
 * feats [n][n_head*2][d], tags [n], stories of up to 50 tokens. */
static void write_acts(const char *path, size_t n, const char *const *tags, const float *feats, int n_head,
                       int d)
{
    act_layout L;
    memset(&L, 0, sizeof L);
    L.d_head = d; L.n_layer = 1; L.n_head = n_head;
    L.n_layers = 1; L.layers[0] = 0;
    L.n_heads = n_head;
    for (int h = 0; h < n_head; h++) L.heads[h] = h;
    L.n_vecs = 2; L.vecs[0] = 'k'; L.vecs[1] = 'q';
    L.window_size = 256;
    stream_header h;
    stream_header_init(&h);
    stream_header_add(&h, "source", "test_probes synthetic");
    /* every activations stream names its model (the probe tools refuse one that does not) */
    stream_header_add(&h, "model", "synthetic features (test_probes)");
    stream_header_add(&h, "model-sha256", "%064d", 0);
    act_layout_to_header(&L, &h);
    stream_writer *w = cli_open_stream(path, STREAM_ACTIVATIONS, &h);
    const int per = n_head * 2 * d;
    for (size_t i0 = 0, story = 0; i0 < n; i0 += 50, story++) {
        size_t m = n - i0 < 50 ? n - i0 : 50;
        story_rec s;
        story_init(&s);
        s.story = (uint32_t)story;
        s.flags = STORY_HAS_TOKENS | STORY_HAS_TAGS | STORY_HAS_FLOATS;
        s.text_len = (uint32_t)m;
        s.text = xmalloc(m + 1);
        memset(s.text, 'x', m);
        s.text[m] = 0;
        s.n_tokens = (uint32_t)m;
        s.tokens = xcalloc(m, sizeof *s.tokens);
        for (size_t t = 0; t < m; t++) {
            s.tokens[t].id = (uint32_t)((i0 + t) % 1000);
            s.tokens[t].start = (uint32_t)t;
            s.tokens[t].end = (uint32_t)t + 1;
            snprintf(s.tokens[t].tag, sizeof s.tokens[t].tag, "%s", tags[i0 + t]);
        }
        s.floats_per_token = (uint32_t)per;
        s.floats = xmalloc(m * per * sizeof(float));
        memcpy(s.floats, feats + i0 * per, m * per * sizeof(float));
        cli_write_story(w, &s);
        story_free(&s);
    }
    cli_close_stream(w);
    stream_header_free(&h);
}

/* Read every probe of a file. @return count (probes malloc'd) */
static int read_probes(const char *path, probe_rec **out)
{
    const char *err;
    stream_reader *r = t_open(path, 1u << STREAM_PROBES, &err);
    if (!r) { printf("    %s: %s\n", path, err); *out = NULL; return -1; }
    probe_rec *v = NULL;
    int n = 0;
    const uint8_t *rec;
    size_t len;
    int rc;
    while ((rc = t_next(r, &rec, &len)) == SR_RECORD) {
        v = xrealloc(v, (size_t)(n + 1) * sizeof *v);
        probe_rec_init(&v[n]);
        if (t_probe_decode(&v[n], rec, len, &err) != 0) { printf("    %s\n", err); break; }
        n++;
    }
    if (rc == SR_ERROR) { printf("    %s\n", t_err); n = -1; }
    stream_reader_close(r);
    *out = v;
    return n;
}

/* --------------------------------------------------- report comparisons */

static double num(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return v ? json_number_value(v) : NAN;
}

/* Compare a report dict (ours, parsed) with sklearn's.  exact: all numbers
 * within 1e-9; else per-tag F1 within 0.01.  @return 1 if it holds */
static int reports_match(const json_t *ours, const json_t *want, int exact, double *worst)
{
    *worst = 0;
    if (json_object_size(ours) != json_object_size(want)) return 0;
    const char *key;
    json_t *wv;
    json_object_foreach((json_t *)want, key, wv) {
        const json_t *ov = json_object_get(ours, key);
        if (!ov) return 0;
        if (json_is_number(wv)) {
            double d = fabs(json_number_value(ov) - json_number_value(wv));
            if (d > *worst) *worst = d;
            if (exact ? d > 1e-9 : d > 0.01) return 0;
            continue;
        }
        static const char *fields[] = {"precision", "recall", "f1-score", "support"};
        for (int f = 0; f < 4; f++) {
            if (!exact && f != 2) continue;
            double d = fabs(num(ov, fields[f]) - num(wv, fields[f]));
            if (!(d <= *worst)) *worst = d;
            if (!(exact ? d <= 1e-9 : d <= 0.01)) return 0;
        }
    }
    return 1;
}

/* Our report of (y_true, y_pred) as a JSON object, via cls_report_json. */
static json_t *report_as_json(const cls_report *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cls_report_json(f, r, 0);
    fclose(f);
    json_t *j = json_loads(buf, 0, NULL);
    free(buf);
    return j;
}

static void test_reports(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/golden/probes/reports.json.zst", TOP);
    json_t *g = load_zst_json(path);
    size_t ci;
    json_t *c;
    json_array_foreach(json_object_get(g, "cases"), ci, c) {
        const json_t *yt = json_object_get(c, "y_true"), *yp = json_object_get(c, "y_pred");
        size_t n = json_array_size(yt);
        char (*names)[TAG_MAX + 1] = xcalloc(2 * n + 1, sizeof *names);
        int nn = 0, *it = xmalloc(n * sizeof(int)), *ip = xmalloc(n * sizeof(int));
        for (size_t i = 0; i < 2 * n; i++) {
            const char *s = json_string_value(json_array_get(i < n ? yt : yp, i % n));
            int k;
            for (k = 0; k < nn && strcmp(names[k], s); k++) {}
            if (k == nn) snprintf(names[nn++], TAG_MAX + 1, "%s", s);
            (i < n ? it : ip)[i % n] = k;
        }
        cls_report r;
        int rc = cls_report_compute(&r, (const char (*)[TAG_MAX + 1])names, nn, it, ip, n, NULL);
        json_t *ours = rc == 0 ? report_as_json(&r) : NULL;
        double worst = 0;
        const json_t *want = json_object_get(c, "report");
        CHECK(ours && reports_match(ours, want, 1, &worst), "report '%s' equals sklearn's (max diff %.3g)",
              json_string_value(json_object_get(c, "name")), worst);
        /* bit-exact too: every number is the same double */
        int bits = ours != NULL;
        const char *key;
        json_t *wv;
        if (ours) json_object_foreach((json_t *)want, key, wv) {
            const json_t *ov = json_object_get(ours, key);
            if (json_is_number(wv)) bits &= json_number_value(ov) == json_number_value(wv);
            else {
                const char *fk;
                json_t *fv;
                json_object_foreach(wv, fk, fv) bits &= json_number_value(json_object_get(ov, fk)) == json_number_value(fv);
            }
        }
        CHECK(bits, "report '%s': every number the same double as sklearn's", json_string_value(json_object_get(c, "name")));
        if (rc == 0) cls_report_free(&r);
        json_decref(ours);
        free(names); free(it); free(ip);
    }
    json_decref(g);

    /* py_repr_double against values whose repr is known */
    static const struct { double v; const char *s; } reprs[] = {
        {0.900163666121113, "0.900163666121113"}, {1.0, "1.0"}, {0.0, "0.0"}, {5099.0, "5099.0"},
        {0.1, "0.1"}, {1e-05, "1e-05"}, {0.0001, "0.0001"}, {1.5e16, "1.5e+16"}, {1e16, "1e+16"},
        {9999999999999998.0, "9999999999999998.0"}, {0.3333333333333333, "0.3333333333333333"},
        {-2.5, "-2.5"}, {123456789.125, "123456789.125"}, {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"}, {-0.0, "-0.0"}};
    int ok = 1;
    for (size_t i = 0; i < sizeof reprs / sizeof reprs[0]; i++) {
        char b[32];
        if (strcmp(py_repr_double(reprs[i].v, b), reprs[i].s)) { ok = 0; printf("    %s != %s\n", b, reprs[i].s); }
    }
    CHECK(ok, "py_repr_double matches Python's repr");
}

/* ------------------------------------------------------- synthetic cases */

/* Check probes + reports of one case (synthetic or random model).
 * tags_test: test tags after the case's merge/drop rules (as probe-eval
 * maps them), n_test of them; Xtest [n_test][P][d] in probe order. */
typedef struct case_ctx {
    const char *name;
    int d, P;
    const json_t *gprobes;   /* golden probes */
    const char *probes_path; /* ours */
    const char *json_k, *json_q;
    size_t n_test;
    const char *const *tags_test;
    const float *Xtest;
    double wtol;             /* weights within this of sklearn's (relative); 0: 1e-3 */
} case_ctx;

/* @return 1 if every probe's test predictions equal sklearn's exactly */
static int check_case(const case_ctx *c)
{
    probe_rec *pr;
    int np = read_probes(c->probes_path, &pr), all_exact = 1;
    CHECK(np == c->P, "%s: %d probes written (want %d)", c->name, np, c->P);
    if (np != c->P) return 0;
    json_error_t je;
    json_t *jk = json_load_file(c->json_k, 0, &je), *jq = json_load_file(c->json_q, 0, &je);
    CHECK(jk && jq, "%s: JSON reports parse", c->name);
    for (int p = 0; p < np; p++) {
        const json_t *g = json_array_get(c->gprobes, (size_t)p);
        const json_t *gcls = json_object_get(g, "classes"), *gW = json_object_get(g, "W");
        int K = (int)json_array_size(gcls), same_classes = (int)pr[p].n_classes == K;
        for (int k = 0; same_classes && k < K; k++)
            same_classes = !strcmp(pr[p].classes[k], json_string_value(json_array_get(gcls, (size_t)k)));
        char id[64];
        snprintf(id, sizeof id, "%s L%uH%u%s", c->name, pr[p].layer, pr[p].head, pr[p].vec);
        CHECK(same_classes && (int)pr[p].layer == json_integer_value(json_object_get(g, "layer")) &&
                  (int)pr[p].head == json_integer_value(json_object_get(g, "head")) &&
                  !strcmp(pr[p].vec, json_string_value(json_object_get(g, "vec"))),
              "%s: classes, layer, head, vector as sklearn's", id);
        if (!same_classes) continue;
        double wdiff = 0, wmax = 0;
        for (int j = 0; j < K * (c->d + 1); j++) {
            double want = json_number_value(json_array_get(gW, (size_t)j));
            double dd = fabs(pr[p].weights[j] - want) / (1.0 + fabs(want));
            if (dd > wdiff) wdiff = dd;
            if (fabs(want) > wmax) wmax = fabs(want);
        }
        double wtol = c->wtol > 0 ? c->wtol : 1e-3;
        CHECK(pr[p].converged && wdiff <= wtol, "%s: converged in %u iterations, weights within %.2g of sklearn's "
              "(relative, |W| up to %.3g; sklearn %d iterations)", id, pr[p].iterations, wdiff, wmax,
              (int)json_integer_value(json_object_get(g, "n_iter")));
        /* predictions */
        const json_t *gpred = json_object_get(g, "pred");
        size_t agree = 0;
        int *yp = xmalloc((c->n_test + 1) * sizeof(int));
        for (size_t i = 0; i < c->n_test; i++) {
            double x[64];
            for (int a = 0; a < c->d; a++) x[a] = c->Xtest[(i * c->P + (size_t)p) * c->d + a];
            yp[i] = logreg_predict(pr[p].weights, K, c->d, x);
            agree += yp[i] == json_integer_value(json_array_get(gpred, i));
        }
        double frac = c->n_test ? (double)agree / c->n_test : 1.0;
        CHECK(frac >= 0.995, "%s: predictions agree with sklearn on %.4f of %zu test tokens", id, frac, c->n_test);
        /* the report: probe-eval's JSON cell */
        const json_t *grep = json_object_get(g, "report");
        const json_t *doc = pr[p].vec[0] == 'k' ? jk : jq;
        const json_t *cell = json_array_get(json_array_get(doc, pr[p].layer), pr[p].head);
        double worst;
        int exact = agree == c->n_test;
        all_exact &= exact;
        CHECK(cell && reports_match(cell, grep, exact, &worst), "%s: report %s sklearn's (max diff %.3g)", id,
              exact ? "equals (1e-9)" : "within 0.01 F1 of", worst);
        /* and it is the report of our own predictions */
        char (*names)[TAG_MAX + 1] = xcalloc(c->n_test + (size_t)K + 1, sizeof *names);
        int nn = 0, *it = xmalloc((c->n_test + 1) * sizeof(int)), *ip = xmalloc((c->n_test + 1) * sizeof(int));
        for (size_t i = 0; i < c->n_test + (size_t)K; i++) {
            const char *s = i < c->n_test ? c->tags_test[i] : pr[p].classes[i - c->n_test];
            int k;
            for (k = 0; k < nn && strcmp(names[k], s); k++) {}
            if (k == nn) snprintf(names[nn++], TAG_MAX + 1, "%s", s);
            if (i < c->n_test) it[i] = k;
        }
        for (size_t i = 0; i < c->n_test; i++) {
            const char *s = pr[p].classes[yp[i]];
            int k;
            for (k = 0; k < nn && strcmp(names[k], s); k++) {}
            ip[i] = k;
        }
        cls_report r;
        if (c->n_test && cls_report_compute(&r, (const char (*)[TAG_MAX + 1])names, nn, it, ip, c->n_test, NULL) == 0) {
            json_t *mine = report_as_json(&r);
            CHECK(cell && reports_match(cell, mine, 1, &worst), "%s: probe-eval's report is that of the probe's "
                  "own predictions", id);
            json_decref(mine);
            cls_report_free(&r);
        }
        free(names); free(it); free(ip); free(yp);
    }
    json_decref(jk);
    json_decref(jq);
    for (int p = 0; p < np; p++) probe_rec_free(&pr[p]);
    free(pr);
    return all_exact;
}

/* ---- the CSV report against the JSON reports (libcsv parses it back) ---- */
typedef struct csv_state {
    char field[8][64];
    int nf, rows, bad;
    const json_t *jk, *jq;
} csv_state;

static void csv_cb_field(void *s, size_t len, void *data)
{
    csv_state *st = data;
    if (st->nf < 8) snprintf(st->field[st->nf], sizeof st->field[0], "%.*s", (int)len, (const char *)s);
    st->nf++;
}

static int same_num(const char *text, const json_t *v)
{
    return v && json_is_number(v) && strtod(text, NULL) == json_number_value(v);
}

static void csv_cb_row(int c, void *data)
{
    (void)c;
    csv_state *st = data;
    int nf = st->nf;
    st->nf = 0;
    if (st->rows++ == 0) {
        st->bad |= nf != 8 || strcmp(st->field[0], "vector") || strcmp(st->field[7], "support");
        return;
    }
    if (nf != 8) { st->bad = 1; return; }
    const json_t *doc = !strcmp(st->field[0], "k") ? st->jk : st->jq;
    const json_t *cell = json_array_get(json_array_get(doc, (size_t)atoi(st->field[1])), (size_t)atoi(st->field[2]));
    const char *label = st->field[3];
    if (!strcmp(label, "accuracy")) {
        st->bad |= !(st->field[4][0] == 0 && st->field[5][0] == 0 && same_num(st->field[6], json_object_get(cell, "accuracy")) &&
                     same_num(st->field[7], json_object_get(json_object_get(cell, "macro avg"), "support")));
        return;
    }
    const json_t *m = json_object_get(cell, label);
    static const char *keys[4] = {"precision", "recall", "f1-score", "support"};
    for (int i = 0; i < 4; i++) st->bad |= !same_num(st->field[4 + i], json_object_get(m, keys[i]));
    if (st->bad && !st->rows) printf("    bad row\n");
}

/* Every CSV row equals the JSON report's numbers; one row per label plus 3
 * per probe.  @return 1 if so */
static int csv_matches_json(const char *csv_path, const char *jk_path, const char *jq_path)
{
    json_error_t je;
    csv_state st;
    memset(&st, 0, sizeof st);
    st.jk = json_load_file(jk_path, 0, &je);
    st.jq = json_load_file(jq_path, 0, &je);
    size_t len;
    char *text = cli_read_file(csv_path, &len);
    struct csv_parser cp;
    int ok = st.jk && st.jq && csv_init(&cp, CSV_STRICT | CSV_APPEND_NULL) == 0;
    if (ok) {
        ok = csv_parse(&cp, text, len, csv_cb_field, csv_cb_row, &st) == len && csv_fini(&cp, csv_cb_field, csv_cb_row, &st) == 0;
        csv_free(&cp);
    }
    /* expected rows: header + per cell one per key (labels, accuracy, 2 averages) */
    size_t want = 1;
    const json_t *docs[2] = {st.jk, st.jq};
    for (int d = 0; d < 2; d++) {
        size_t l, h;
        json_t *row, *cell;
        json_array_foreach((json_t *)docs[d], l, row) json_array_foreach(row, h, cell) if (json_is_object(cell)) want += json_object_size(cell);
    }
    ok = ok && !st.bad && (size_t)st.rows == want;
    if (!ok) printf("    csv: %d rows (want %zu), bad %d\n", st.rows, want, st.bad);
    json_decref((json_t *)st.jk);
    json_decref((json_t *)st.jq);
    free(text);
    return ok;
}

static const char *map_tag(const json_t *args, const char *t, int *keep)
{
    /* the oracle's rules: --merge PAT*=TAG (prefix) and --drop-empty */
    static char out[TAG_MAX + 1];
    snprintf(out, sizeof out, "%s", t);
    *keep = 1;
    for (size_t i = 0; i + 1 <= json_array_size(args); i++) {
        const char *a = json_string_value(json_array_get(args, i));
        if (!strcmp(a, "--merge")) {
            const char *rule = json_string_value(json_array_get(args, i + 1));
            const char *eq = strchr(rule, '=');
            size_t pl = (size_t)(eq - rule);
            int star = pl && rule[pl - 1] == '*';
            if (star ? !strncmp(t, rule, pl - 1) : (strlen(t) == pl && !strncmp(t, rule, pl)))
                snprintf(out, sizeof out, "%s", eq + 1);
        }
        if (!strcmp(a, "--drop-empty") && !out[0]) *keep = 0;
    }
    return out;
}

/* Every case of a golden through probe-fit (solver: "" for the default,
 * or e.g. "newton-cg" to run that solver on the same cases). */
static void test_synthetic(const char *golden, const char *solver)
{
    char path[512], cmd[4096];
    snprintf(path, sizeof path, "%s/tests/golden/probes/%s", TOP, golden);
    json_t *g = load_zst_json(path);
    size_t ci;
    json_t *c;
    json_array_foreach(json_object_get(g, "cases"), ci, c) {
        char name[128];
        snprintf(name, sizeof name, "%s%s%s", json_string_value(json_object_get(c, "name")), *solver ? " --solver " : "",
                 solver);
        int d = (int)json_integer_value(json_object_get(c, "d"));
        int n_head = (int)json_integer_value(json_object_get(c, "n_head"));
        int shift = (int)json_integer_value(json_object_get(c, "shift"));
        int P = n_head * 2;
        const json_t *tags = json_object_get(c, "tags"), *tr = json_object_get(c, "train"),
                     *te = json_object_get(c, "test"), *mean = json_object_get(c, "mean_int"),
                     *sdk = json_object_get(c, "sd_k"), *args = json_object_get(c, "args");
        size_t ntr = json_array_size(tr), nte = json_array_size(te), n = ntr + nte;
        /* features, as the oracle's make_features */
        float *X = xmalloc(n * P * d * sizeof(float) + 1);
        const char **tg = xmalloc((n + 1) * sizeof *tg);
        sm64 rg = {(uint64_t)json_integer_value(json_object_get(c, "seed"))};
        for (size_t i = 0; i < n; i++) {
            int t = (int)json_integer_value(json_array_get(i < ntr ? tr : te, i < ntr ? i : i - ntr));
            tg[i] = json_string_value(json_array_get(tags, (size_t)t));
            for (int p = 0; p < P; p++)
                for (int a = 0; a < d; a++) {
                    long noise = -510;
                    for (int u = 0; u < 4; u++) noise += (long)(sm_next(&rg) >> 56);
                    long mi = (long)json_integer_value(json_array_get(json_array_get(json_array_get(mean, (size_t)t), (size_t)p), (size_t)a));
                    long sk = (long)json_integer_value(json_array_get(json_array_get(sdk, (size_t)p), (size_t)a));
                    X[(i * P + p) * d + a] = (float)ldexp((double)(mi + sk * noise), -shift);
                }
        }
        char train[512], test[512], probes[512], probes1[512], jk[512], jq[512], jk1[512], csv[512], csv1[512];
        snprintf(train, sizeof train, "%s/case%zu.train.acts", TMP, ci);
        snprintf(test, sizeof test, "%s/case%zu.test.acts", TMP, ci);
        snprintf(probes, sizeof probes, "%s/case%zu.probes", TMP, ci);
        snprintf(probes1, sizeof probes1, "%s/case%zu.probes1", TMP, ci);
        snprintf(jk, sizeof jk, "%s/case%zu.k.json", TMP, ci);
        snprintf(jq, sizeof jq, "%s/case%zu.q.json", TMP, ci);
        snprintf(jk1, sizeof jk1, "%s/case%zu.k1.json", TMP, ci);
        snprintf(csv, sizeof csv, "%s/case%zu.csv", TMP, ci);
        snprintf(csv1, sizeof csv1, "%s/case%zu.1.csv", TMP, ci);
        write_acts(train, ntr, tg, X, n_head, d);
        int has_test = nte > 0;
        if (has_test) write_acts(test, nte, tg + ntr, X + ntr * P * d, n_head, d);
        char extra[256] = "";
        if (*solver) snprintf(extra, sizeof extra, " --solver %s", solver);
        for (size_t i = 0; i < json_array_size(args); i++) {
            size_t l = strlen(extra);
            snprintf(extra + l, sizeof extra - l, " '%s'", json_string_value(json_array_get(args, i)));
        }
        snprintf(cmd, sizeof cmd, "%s/probe-fit%s --threads 2 %s > %s", BIN, extra, train, probes);
        CHECK(run(cmd) == 0, "%s: probe-fit runs", name);
        snprintf(cmd, sizeof cmd, "%s/probe-fit%s --threads 1 %s > %s", BIN, extra, train, probes1);
        CHECK(run(cmd) == 0 && same_file(probes, probes1), "%s: probes byte-identical with 1 and 2 threads", name);
        if (!has_test) { free(X); free(tg); continue; }
        snprintf(cmd, sizeof cmd, "%s/probe-eval --probes %s --json k=%s --json q=%s --csv %s --threads 2 %s", BIN,
                 probes, jk, jq, csv, test);
        CHECK(run(cmd) == 0, "%s: probe-eval runs", name);
        snprintf(cmd, sizeof cmd, "%s/probe-eval --probes %s --json k=%s --csv %s --threads 1 %s", BIN, probes1, jk1,
                 csv1, test);
        CHECK(run(cmd) == 0 && same_file(jk, jk1) && same_file(csv, csv1),
              "%s: reports byte-identical with 1 and 2 threads", name);
        /* test tags as probe-eval maps them */
        const char **tt = xmalloc((nte + 1) * sizeof *tt);
        float *Xt = xmalloc(nte * P * d * sizeof(float) + 1);
        char (*store)[TAG_MAX + 1] = xmalloc((nte + 1) * sizeof *store);
        size_t m = 0;
        for (size_t i = 0; i < nte; i++) {
            int keep;
            const char *t = map_tag(args, tg[ntr + i], &keep);
            if (!keep) continue;
            snprintf(store[m], TAG_MAX + 1, "%s", t);
            tt[m] = store[m];
            memcpy(Xt + m * P * d, X + (ntr + i) * P * d, P * d * sizeof(float));
            m++;
        }
        case_ctx cc = {name, d, P, json_object_get(c, "probes"), probes, jk, jq, m, tt, Xt, 0};
        int exact = check_case(&cc);
        CHECK(csv_matches_json(csv, jk, jq), "%s: the CSV report has the JSON reports' rows and numbers", name);
        const char *want_k = json_string_value(json_object_get(c, "json_k"));
        if (exact && want_k) {
            size_t len;
            char *got = cli_read_file(jk, &len);
            CHECK(len == strlen(want_k) && !memcmp(got, want_k, len),
                  "%s: --json k=FILE is byte for byte Python's json.dump(indent=4) of sklearn's reports", name);
            free(got);
        }
        free(tt); free(Xt); free(store); free(X); free(tg);
    }
    json_decref(g);
}

/* ------------------------------------------------------ random test model */

#define RM_TAGS 12
static const char *rm_tags[RM_TAGS] = {"", "''", "CC", "DT", "IN", "JJ", "NN", "PRP", "PRP$", "VB", "VBD", "``"};

/* A tagged stream of pseudo-random stories: ids from a 300-word vocabulary
 * subset, each id with a fixed tag (10% of tokens get a random one). */
static void write_tagged(const char *path, int n_stories, uint64_t seed)
{
    stream_header h;
    stream_header_init(&h);
    stream_header_add(&h, "source", "test_probes random-model input seed %llu", (unsigned long long)seed);
    stream_writer *w = cli_open_stream(path, STREAM_TAGGED, &h);
    sm64 g = {seed};
    for (int st = 0; st < n_stories; st++) {
        story_rec s;
        story_init(&s);
        uint32_t m = 20 + (uint32_t)(sm_next(&g) % 41);
        s.story = (uint32_t)st;
        s.flags = STORY_HAS_TOKENS | STORY_HAS_TAGS;
        s.text_len = m;
        s.text = xmalloc(m + 1);
        memset(s.text, 'w', m);
        s.text[m] = 0;
        s.n_tokens = m;
        s.tokens = xcalloc(m, sizeof *s.tokens);
        for (uint32_t t = 0; t < m; t++) {
            uint32_t id = 100 + (uint32_t)(sm_next(&g) % 300) * 37;
            s.tokens[t].id = id;
            s.tokens[t].start = t;
            s.tokens[t].end = t + 1;
            uint32_t tag = (id * 2654435761u >> 7) % RM_TAGS;
            if (sm_next(&g) % 10 == 0) tag = (uint32_t)(sm_next(&g) % RM_TAGS);
            snprintf(s.tokens[t].tag, sizeof s.tokens[t].tag, "%s", rm_tags[tag]);
        }
        cli_write_story(w, &s);
        story_free(&s);
    }
    cli_close_stream(w);
    stream_header_free(&h);
}

#define RM_LAYERS "0,5"
#define RM_HEADS "0,7,13"

/* model-init + forward-dump over train / test tagged streams in dir.
 * @return 0 on success */
static int make_randmodel_inputs(const char *dir)
{
    char p[512], cmd[4096];
    snprintf(p, sizeof p, "%s/train.tagged", dir);
    write_tagged(p, 70, 11);
    snprintf(p, sizeof p, "%s/test.tagged", dir);
    write_tagged(p, 25, 12);
    snprintf(cmd, sizeof cmd, "%s/model-init --tinystories-1m-config --seed 7 -o %s/model >/dev/null", BIN, dir);
    if (run(cmd) != 0) return -1;
    for (int i = 0; i < 2; i++) {
        const char *split = i ? "test" : "train";
        snprintf(cmd, sizeof cmd, "%s/forward-dump --model %s/model --vectors k,q --layers %s --heads %s "
                 "-o %s/%s.acts %s/%s.tagged", BIN, dir, RM_LAYERS, RM_HEADS, dir, split, dir, split);
        if (run(cmd) != 0) return -1;
    }
    /* the oracle's spec: probe order (layer, head, vector k then q); the
     * stream-view CSV columns: story pos id start end text tag floats... */
    snprintf(p, sizeof p, "%s/spec.json", dir);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    int layers[] = {0, 5}, heads[] = {0, 7, 13};
    fprintf(f, "{\"d\": 4, \"n_probes\": 12, \"tag_column\": 6, \"first_float_column\": 7, \"probes\": [");
    int first = 1;
    for (int l = 0; l < 2; l++)
        for (int h = 0; h < 3; h++)
            for (int v = 0; v < 2; v++) {
                fprintf(f, "%s[%d, %d, \"%c\"]", first ? "" : ", ", layers[l], heads[h], v ? 'q' : 'k');
                first = 0;
            }
    fprintf(f, "]}\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* Load an activations stream's tags and floats. @return tokens */
static size_t load_acts(const char *path, char (**tags)[TAG_MAX + 1], float **X, int *per, act_layout *L)
{
    const char *err;
    *tags = NULL;
    *X = NULL;
    stream_reader *r = t_open(path, 1u << STREAM_ACTIVATIONS, &err);
    if (!r) return 0;
    if (t_layout_parse(L, stream_reader_header(r), &err) != 0) { stream_reader_close(r); return 0; }
    story_rec s;
    story_init(&s);
    size_t n = 0;
    *tags = NULL;
    *X = NULL;
    const uint8_t *rec;
    size_t len;
    while (t_next(r, &rec, &len) == SR_RECORD) {
        if (t_story_decode(&s, rec, len, &err) != 0) break;
        *per = (int)s.floats_per_token;
        *tags = xrealloc(*tags, (n + s.n_tokens + 1) * sizeof **tags);
        *X = xrealloc(*X, (n + s.n_tokens + 1) * s.floats_per_token * sizeof(float));
        for (uint32_t t = 0; t < s.n_tokens; t++) memcpy((*tags)[n + t], s.tokens[t].tag, TAG_MAX + 1);
        memcpy(*X + n * s.floats_per_token, s.floats, (size_t)s.n_tokens * s.floats_per_token * sizeof(float));
        n += s.n_tokens;
    }
    story_free(&s);
    stream_reader_close(r);
    return n;
}

/* One model's probes end to end against its golden: make the inputs in
 * TMP/sub, fit with 2 and 1 threads (same bytes), evaluate, and compare the
 * np probes of d dimensions the golden names with check_case.  label starts
 * every check's message; made says how the inputs were made. */
static void check_model_golden(const char *label, const char *case_name, const char *golden, const char *sub,
                               int (*make)(const char *), const char *made, int d, int np)
{
    char gp[512], dir[512], cmd[4096], probes[600], probes1[600], jk[600], jq[600], tp[600];
    snprintf(gp, sizeof gp, "%s/tests/golden/probes/%s", TOP, golden);
    if (access(gp, R_OK) != 0) { printf("skip - %s golden %s not generated\n", label, gp); return; }
    snprintf(dir, sizeof dir, "%s/%s", TMP, sub);
    mkdir(dir, 0777);
    int ok = make(dir) == 0;
    CHECK(ok, "%s: %s make the inputs", label, made);
    if (!ok) return;
    snprintf(probes, sizeof probes, "%s/probes", dir);
    snprintf(probes1, sizeof probes1, "%s/probes1", dir);
    snprintf(jk, sizeof jk, "%s/k.json", dir);
    snprintf(jq, sizeof jq, "%s/q.json", dir);
    snprintf(cmd, sizeof cmd, "%s/probe-fit --threads 2 %s/train.acts > %s", BIN, dir, probes);
    CHECK(run(cmd) == 0, "%s: probe-fit runs", label);
    snprintf(cmd, sizeof cmd, "%s/probe-fit --threads 1 %s/train.acts > %s", BIN, dir, probes1);
    CHECK(run(cmd) == 0 && same_file(probes, probes1), "%s: probes byte-identical with 1 and 2 threads", label);
    snprintf(cmd, sizeof cmd, "%s/probe-eval --probes %s --json k=%s --json q=%s %s/test.acts", BIN, probes, jk, jq,
             dir);
    CHECK(run(cmd) == 0, "%s: probe-eval runs", label);
    json_t *g = load_zst_json(gp);
    char (*tags)[TAG_MAX + 1] = NULL;
    float *X = NULL;
    int per = 0;
    snprintf(tp, sizeof tp, "%s/test.acts", dir);
    act_layout L;
    size_t n = load_acts(tp, &tags, &X, &per, &L);
    const char **tt = xmalloc((n + 1) * sizeof *tt);
    for (size_t i = 0; i < n; i++) tt[i] = tags[i];
    CHECK(n > 0 && per == np * d, "%s: %zu test tokens, %d floats each", label, n, per);
    /* features in probe order (the golden's) from the dump's layout */
    const json_t *gpr = json_object_get(g, "probes");
    float *Xp = xmalloc((n + 1) * (size_t)np * (size_t)d * sizeof(float));
    int offs_ok = n > 0 && per == np * d;
    for (int p = 0; offs_ok && p < np; p++) {
        const json_t *q = json_array_get(gpr, (size_t)p);
        int off = act_offset(&L, (int)json_integer_value(json_object_get(q, "layer")),
                             (int)json_integer_value(json_object_get(q, "head")),
                             json_string_value(json_object_get(q, "vec"))[0]);
        if (off < 0) { offs_ok = 0; break; }
        for (size_t i = 0; i < n; i++)
            memcpy(Xp + (i * (size_t)np + (size_t)p) * (size_t)d, X + i * (size_t)per + off, (size_t)d * sizeof(float));
    }
    CHECK(offs_ok, "%s: every golden probe's head is in the dump", label);
    case_ctx cc = {case_name, d, np, gpr, probes, jk, jq, n, tt, Xp, 0};
    if (offs_ok) check_case(&cc);
    free(tt); free(tags); free(X); free(Xp);
    json_decref(g);
}

static void test_randmodel(void)
{
    check_model_golden("random model", "random-model", "randmodel.json.zst", "rm", make_randmodel_inputs,
                       "model-init + forward-dump", 4, 12);
}

/* ------------------------------------------ library error paths (herr) */

/* probe_gather on a file; @return its result, message in e */
static int gather_file(const char *path, herr *e, size_t *n_out)
{
    const char *err;
    stream_reader *r = t_open(path, 1u << STREAM_ACTIVATIONS, &err);
    if (!r) return herr_set(e, "%s", err);
    act_layout L;
    if (t_layout_parse(&L, stream_reader_header(r), &err) != 0) { stream_reader_close(r); return herr_set(e, "%s", err); }
    tagmap tm;
    tagmap_init(&tm);
    probe_input in[2] = {{0, 0, 'k', act_offset(&L, 0, 0, 'k'), 0, 4}, {0, 0, 'q', act_offset(&L, 0, 0, 'q'), 4, 4}};
    tagset tags = {0, 0, NULL};
    probe_data pd = {0};
    int rc = probe_gather(r, &L, &tm, in, 2, 8, &tags, &pd, e);
    *n_out = pd.n;
    free(pd.feats); free(pd.labels); free(tags.name);
    stream_reader_close(r);
    return rc;
}

static void test_library_errors(void)
{
    /* logreg_fit_ws: every refusal is a message, not an exit */
    logreg_ws *ws = logreg_ws_new();
    logreg_opts o;
    logreg_default_opts(&o);
    logreg_result res;
    double X[12] = {0, 1, 1, 0, 2, 1, 0, 3, 1, 1, 2, 2}, W[3 * 3];
    int y[6] = {0, 1, 2, 0, 1, 2}, y1[6] = {0, 0, 2, 0, 2, 2}, ybad[6] = {0, 1, 5, 0, 1, 2};
    for (int sv = LOGREG_NEWTON; sv <= LOGREG_NEWTON_CG; sv++) {
        const char *sn = logreg_solver_name((logreg_solver)sv);
        o.solver = (logreg_solver)sv;
        herr e = {""};
        int rc = logreg_fit_ws(ws, X, y, 6, 2, 3, &o, W, &res, &e);
        CHECK(rc == 0 && res.solver == (logreg_solver)sv && res.converged, "%s: a 6-sample fit converges (%s)", sn,
              e.msg);
        e.msg[0] = 0;
        CHECK(logreg_fit_ws(ws, X, y, 6, 2, 1, &o, W, &res, &e) == -1 && strstr(e.msg, "at least 2"),
              "%s: one class is refused with a message: %s", sn, e.msg);
        CHECK(logreg_fit_ws(ws, X, ybad, 6, 2, 3, &o, W, &res, &e) == -1 && strstr(e.msg, "sample 2: class 5"),
              "%s: a class index out of range: %s", sn, e.msg);
        CHECK(logreg_fit_ws(ws, X, y1, 6, 2, 3, &o, W, &res, &e) == -1 && strstr(e.msg, "class 1 has no samples"),
              "%s: a class without samples: %s", sn, e.msg);
        CHECK(logreg_fit_ws(ws, X, y, 0, 2, 3, &o, W, &res, &e) == -1 && strstr(e.msg, "no samples"),
              "%s: no samples: %s", sn, e.msg);
        double Xn[12];
        memcpy(Xn, X, sizeof Xn);
        Xn[5] = NAN;
        CHECK(logreg_fit_ws(ws, Xn, y, 6, 2, 3, &o, W, &res, &e) == -1 && strstr(e.msg, "non-finite"),
              "%s: a NaN feature: %s", sn, e.msg);
        logreg_opts bad = o;
        bad.C = 0;
        CHECK(logreg_fit_ws(ws, X, y, 6, 2, 3, &bad, W, &res, &e) == -1 && strstr(e.msg, "C = 0"),
              "%s: C = 0: %s", sn, e.msg);
    }
    logreg_ws_free(ws);
    CHECK(logreg_pick_solver(LOGREG_AUTO, 4, 39) == LOGREG_NEWTON && logreg_pick_solver(LOGREG_AUTO, 1, 39) == LOGREG_NEWTON &&
              logreg_pick_solver(LOGREG_AUTO, 64, 39) == LOGREG_NEWTON_CG &&
              logreg_pick_solver(LOGREG_AUTO, 64, 2) == LOGREG_NEWTON,
          "auto: dense Newton for 4-dim heads (and 64-dim binary), Newton-CG for 64-dim multinomial");

    /* cls_report_compute */
    char names[2][TAG_MAX + 1] = {"NN", "VB"};
    int yt[3] = {0, 1, 1}, yp[3] = {0, 2, 1};
    cls_report r;
    herr e = {""};
    CHECK(cls_report_compute(&r, (const char (*)[TAG_MAX + 1])names, 2, yt, yp, 3, &e) == -1 &&
              strstr(e.msg, "sample 1") && r.labels == NULL,
          "cls_report_compute: a label index out of range: %s", e.msg);
    CHECK(cls_report_compute(&r, (const char (*)[TAG_MAX + 1])names, 2, yt, yp, 0, &e) == -1 && strstr(e.msg, "no samples"),
          "cls_report_compute: no samples: %s", e.msg);

    /* probe_gather: a NaN named by story, token position, head, dimension */
    const char *tg[120];
    float F[120 * 8];
    for (int i = 0; i < 120; i++) {
        tg[i] = i % 3 ? "NN" : "DT";
        for (int a = 0; a < 8; a++) F[i * 8 + a] = (float)((i * 31 + a * 7) % 11) / 4.0f;
    }
    char p[600];
    size_t n;
    snprintf(p, sizeof p, "%s/lib-good.acts", TMP);
    write_acts(p, 120, tg, F, 1, 4);
    e.msg[0] = 0;
    CHECK(gather_file(p, &e, &n) == 0 && n == 120, "probe_gather: 120 tokens of 3 stories (%s)", e.msg);
    F[(50 + 7) * 8 + 4 + 2] = NAN; /* story 1 (50 tokens each), token 7, q, dimension 2 */
    snprintf(p, sizeof p, "%s/lib-nan.acts", TMP);
    write_acts(p, 120, tg, F, 1, 4);
    e.msg[0] = 0;
    CHECK(gather_file(p, &e, &n) == -1 && strstr(e.msg, "story 1, token 7: non-finite value (NaN) in vector q of layer 0 "
                                                   "head 0, dimension 2") && n == 0,
          "probe_gather names story, position, vector and dimension of a NaN: %s", e.msg);
    F[(50 + 7) * 8 + 4 + 2] = -INFINITY;
    write_acts(p, 120, tg, F, 1, 4);
    CHECK(gather_file(p, &e, &n) == -1 && strstr(e.msg, "(-Inf)"), "... and of an -Inf: %s", e.msg);
    /* a cut stream: the reader's message */
    snprintf(p, sizeof p, "%s/lib-good.acts", TMP);
    size_t len;
    char *bytes = cli_read_file(p, &len);
    snprintf(p, sizeof p, "%s/lib-cut.acts", TMP);
    FILE *f = fopen(p, "wb");
    fwrite(bytes, 1, len - 40, f);
    fclose(f);
    free(bytes);
    e.msg[0] = 0;
    CHECK(gather_file(p, &e, &n) == -1 && strstr(e.msg, "truncated"), "probe_gather: a truncated stream: %s", e.msg);
}

/* ------------------------------------- 64-dim heads on real POS tags */

/* Real tags with real activations of 64-dim heads: the mirror's stories
 * through tokenize | postag-join --align study (the study's split), a random
 * GPT-Neo with one layer of one 64-dim head, forward-dump k,q.  probe-fit's
 * default solver for this size is Newton-CG.  @return 0 on success */
#define RM64_TRAIN 50
#define RM64_TEST 30
static int make_randmodel64_inputs(const char *dir)
{
    const char *data = getenv("DATA");
    char databuf[512], cmd[4096];
    if (!data) { snprintf(databuf, sizeof databuf, "%s/data/cache", TOP); data = databuf; }
    for (int i = 0; i < 2; i++) {
        const char *split = i ? "test" : "train";
        snprintf(cmd, sizeof cmd, "%s/tokenize --vocab %s/tokenizer/vocab.json --merges %s/tokenizer/merges.txt "
                 "--split %s --seed 1 --take %d %s/stories/tinystories-train-first2316.txt | "
                 "%s/postag-join --tagger %s/nltk/averaged_perceptron_tagger_eng --align study -o %s/%s.tagged",
                 BIN, data, data, split, i ? RM64_TEST : RM64_TRAIN, data, BIN, data, dir, split);
        if (run(cmd) != 0) return -1;
    }
    snprintf(cmd, sizeof cmd, "%s/model-init --hidden 64 --heads 1 --layers 1 --vocab 50257 --positions 2048 "
             "--window 256 --seed 11 -o %s/model64 >/dev/null", BIN, dir);
    if (run(cmd) != 0) return -1;
    for (int i = 0; i < 2; i++) {
        const char *split = i ? "test" : "train";
        snprintf(cmd, sizeof cmd, "%s/forward-dump --model %s/model64 --vectors k,q -o %s/%s.acts %s/%s.tagged", BIN,
                 dir, dir, split, dir, split);
        if (run(cmd) != 0) return -1;
    }
    char p[600];
    snprintf(p, sizeof p, "%s/spec.json", dir);
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    fprintf(f, "{\"d\": 64, \"n_probes\": 2, \"probes\": [[0, 0, \"k\"], [0, 0, \"q\"]]}\n");
    return fclose(f) == 0 ? 0 : -1;
}

static void test_randmodel64(void)
{
    check_model_golden("64-dim heads", "64-dim real tags", "randmodel64.json.zst", "rm64", make_randmodel64_inputs,
                       "tokenize | postag-join | forward-dump (real tags)", 64, 2);
}

/* ------------------------------------------------------------ bad input */

static void test_bad_input(void)
{
    char p[512], q[512], cmd[4096];
    const char *tg[6] = {"NN", "VB", "NN", "DT", "VB", "NN"};
    float X[6 * 2 * 4];
    for (int i = 0; i < 48; i++) X[i] = (float)((i * 7919) % 13) / 3.0f;
    /* NaN and Inf */
    for (int bad = 0; bad < 2; bad++) {
        float Y[48];
        memcpy(Y, X, sizeof Y);
        Y[21] = bad ? INFINITY : NAN;
        snprintf(p, sizeof p, "%s/bad%d.acts", TMP, bad);
        write_acts(p, 6, tg, Y, 1, 4);
        snprintf(cmd, sizeof cmd, "%s/probe-fit %s -o %s/bad.probes", BIN, p, TMP);
        check_fails(bad ? "probe-fit refuses an Inf feature" : "probe-fit refuses a NaN feature", "probe-fit",
                    "non-finite", cmd);
        snprintf(q, sizeof q, "%s/bad.probes", TMP);
        CHECK(access(q, F_OK) != 0, "nothing half-written after the refusal");
    }
    /* a good probe, then NaN in the test set */
    snprintf(p, sizeof p, "%s/good.acts", TMP);
    write_acts(p, 6, tg, X, 1, 4);
    snprintf(cmd, sizeof cmd, "%s/probe-fit %s -o %s/good.probes", BIN, p, TMP);
    CHECK(run(cmd) == 0, "probe-fit on a 6-token set");
    snprintf(cmd, sizeof cmd, "%s/probe-eval --probes %s/good.probes %s/bad0.acts --json k=%s/out.json", BIN, TMP, TMP,
             TMP);
    check_fails("probe-eval refuses a NaN feature", "probe-eval", "non-finite", cmd);
    /* a probes stream with a non-finite weight: refused, naming the probe */
    {
        probe_rec *gp;
        snprintf(q, sizeof q, "%s/good.probes", TMP);
        int np = read_probes(q, &gp);
        const char *err;
        stream_reader *gr = t_open(q, 1u << STREAM_PROBES, &err);
        if (np >= 2 && gr) {
            stream_header h;
            stream_header_init(&h);
            stream_header_copy(&h, stream_reader_header(gr));
            gp[1].weights[1 * (gp[1].dim + 1) + 2] = NAN; /* probe 1, class 1, dimension 2 */
            snprintf(q, sizeof q, "%s/nan.probes", TMP);
            stream_writer *w = cli_open_stream(q, STREAM_PROBES, &h);
            for (int i = 0; i < np; i++) cli_write_probe(w, &gp[i]);
            cli_close_stream(w);
            stream_header_free(&h);
            char want[128];
            snprintf(want, sizeof want, "probe 1 (layer %u head %u %s): non-finite weight (NaN) of class '%s', dimension 2",
                     gp[1].layer, gp[1].head, gp[1].vec, gp[1].classes[1]);
            snprintf(cmd, sizeof cmd, "%s/probe-eval --probes %s %s/good.acts", BIN, q, TMP);
            check_fails("probe-eval refuses a probe with a NaN weight, naming layer, head, vector, class", "probe-eval",
                        want, cmd);
        } else {
            CHECK(0, "probe-eval NaN-weight fixture: %d probes", np);
        }
        if (gr) stream_reader_close(gr);
        for (int i = 0; i < np; i++) probe_rec_free(&gp[i]);
        free(gp);
    }
    snprintf(q, sizeof q, "%s/out.json", TMP);
    CHECK(access(q, F_OK) != 0, "probe-eval leaves no half-written report");
    /* empty input: a stream with no stories */
    snprintf(p, sizeof p, "%s/empty.acts", TMP);
    write_acts(p, 0, tg, X, 1, 4);
    snprintf(cmd, sizeof cmd, "%s/probe-fit %s", BIN, p);
    check_fails("probe-fit refuses an empty input", "probe-fit", "no training tokens", cmd);
    snprintf(cmd, sizeof cmd, "%s/probe-eval --probes %s/good.probes %s", BIN, TMP, p);
    check_fails("probe-eval refuses an empty test set", "probe-eval", "no test tokens", cmd);
    snprintf(cmd, sizeof cmd, "%s/probe-fit < /dev/null", BIN);
    check_fails("probe-fit refuses empty stdin", "probe-fit", "", cmd);
    /* a single class */
    const char *one[6] = {"NN", "NN", "NN", "NN", "NN", "NN"};
    snprintf(p, sizeof p, "%s/one.acts", TMP);
    write_acts(p, 6, one, X, 1, 4);
    snprintf(cmd, sizeof cmd, "%s/probe-fit %s", BIN, p);
    check_fails("probe-fit refuses a single class", "probe-fit", "only one class", cmd);
    /* everything dropped */
    snprintf(cmd, sizeof cmd, "%s/probe-fit --drop NN --drop VB --drop DT %s/good.acts", BIN, TMP);
    check_fails("probe-fit: all tokens dropped", "probe-fit", "no training tokens", cmd);
    /* the wrong stream kind */
    snprintf(p, sizeof p, "%s/tagged.hs", TMP);
    write_tagged(p, 2, 5);
    snprintf(cmd, sizeof cmd, "%s/probe-fit %s", BIN, p);
    check_fails("probe-fit refuses a tagged stream", "probe-fit", "tagged", cmd);
    snprintf(cmd, sizeof cmd, "%s/probe-eval --probes %s %s/good.acts", BIN, p, TMP);
    check_fails("probe-eval refuses a tagged stream as probes", "probe-eval", "tagged", cmd);
    /* selection not in the stream */
    snprintf(cmd, sizeof cmd, "%s/probe-fit --heads 0 --vectors v %s/good.acts", BIN, TMP);
    check_fails("probe-fit: a vector kind that was not dumped", "probe-fit", "no vector v", cmd);
    snprintf(cmd, sizeof cmd, "%s/probe-fit --merge VB %s/good.acts", BIN, TMP);
    check_fails("probe-fit: a malformed --merge", "probe-fit", "--merge", cmd);
    snprintf(cmd, sizeof cmd, "%s/probe-eval %s/good.acts", BIN, TMP);
    check_fails("probe-eval without --probes", "probe-eval", "--probes", cmd);
    /* a probe whose head is not in the test stream */
    const char *tg2[4] = {"NN", "VB", "NN", "DT"};
    float X2[4 * 4 * 4] = {0};
    for (int i = 0; i < 64; i++) X2[i] = (float)(i % 5);
    snprintf(p, sizeof p, "%s/two.acts", TMP);
    write_acts(p, 4, tg2, X2, 2, 4);
    snprintf(cmd, sizeof cmd, "%s/probe-fit %s -o %s/two.probes", BIN, p, TMP);
    CHECK(run(cmd) == 0, "probe-fit on a 4-token, 2-head set");
    snprintf(cmd, sizeof cmd, "%s/probe-eval --probes %s/two.probes %s/good.acts", BIN, TMP, TMP);
    check_fails("probe-eval: a probe's head missing from the test stream", "probe-eval", "no vector", cmd);
    /* --json without KIND= for probes of two kinds */
    snprintf(cmd, sizeof cmd, "%s/probe-eval --probes %s/good.probes --json %s/x.json %s/good.acts", BIN, TMP, TMP, TMP);
    check_fails("probe-eval: --json FILE with two vector kinds", "probe-eval", "KIND=FILE", cmd);
}

/* ------------------------------------ the objective's two vector widths */

/* The AVX-512 objective (logreg_simd 1) must give the bits of the SSE2 one
 * (0): the same weights, loss, gradient and steps, on fits that take the
 * subsampled and the full Hessian, binary and multinomial, K a multiple
 * of 8 or not, d = 1, 4 (specialised), 7 and 17 (generic; > 16 uses the
 * workspace's feature buffer), one badly scaled feature (double Hessian). */
static void test_simd_widths(void)
{
    if (logreg_simd(1) != 1) {
        printf("skip - the CPU or the OS does not run AVX-512F: only the SSE2 objective is used\n");
        logreg_simd(0);
        return;
    }
    static const struct { size_t n; int d, K; double scale; } cs[] = {
        {20000, 4, 39, 1}, {3000, 4, 39, 1}, {5000, 4, 2, 1}, {6000, 1, 8, 1},
        {5000, 7, 13, 1}, {4000, 17, 5, 1}, {6000, 4, 16, 300},
    };
    logreg_ws *ws = logreg_ws_new();
    for (size_t ci = 0; ci < sizeof cs / sizeof cs[0]; ci++) {
        const size_t n = cs[ci].n;
        const int d = cs[ci].d, K = cs[ci].K;
        double *X = malloc(n * d * sizeof(double)), *Wt = malloc((size_t)K * (d + 1) * sizeof(double));
        double *W[2] = {malloc((size_t)K * (d + 1) * sizeof(double)), malloc((size_t)K * (d + 1) * sizeof(double))};
        int *y = malloc(n * sizeof(int));
        if (!X || !Wt || !W[0] || !W[1] || !y) { CHECK(0, "simd widths: out of memory"); return; }
        unsigned long long st = 0x9e3779b97f4a7c15ull * (ci + 1);
#define RND() (st ^= st << 13, st ^= st >> 7, st ^= st << 17, (double)(st >> 11) / 9007199254740992.0)
        for (size_t j = 0; j < (size_t)K * (d + 1); j++) Wt[j] = 3.0 * (RND() - 0.5);
        for (size_t i = 0; i < n; i++) {
            for (int a = 0; a < d; a++) X[i * d + a] = (double)(float)((RND() - 0.5) * 4.0 * (a == 0 ? cs[ci].scale : 1.0));
            /* the class: argmax of a noisy linear score (every class is
             * forced once at the start) */
            int best = 0;
            double bs = -INFINITY;
            for (int k = 0; k < K; k++) {
                double sc = Wt[(size_t)k * (d + 1) + d] - 0.1 * k + 2.0 * RND();
                for (int a = 0; a < d; a++) sc += Wt[(size_t)k * (d + 1) + a] * X[i * d + a] / (a == 0 ? cs[ci].scale : 1.0);
                if (sc > bs) { bs = sc; best = k; }
            }
            y[i] = i < (size_t)K ? (int)i : best;
        }
#undef RND
        logreg_opts o;
        logreg_default_opts(&o);
        logreg_result res[2];
        int rc[2];
        herr e;
        for (int w = 0; w < 2; w++) {
            logreg_simd(w);
            rc[w] = logreg_fit_ws(ws, X, y, n, d, K, &o, W[w], &res[w], &e);
        }
        CHECK(rc[0] == 0 && rc[1] == 0 && res[0].solver == LOGREG_NEWTON && res[1].solver == LOGREG_NEWTON &&
                  res[0].vector_doubles == 2 && res[1].vector_doubles == 8,
              "simd widths n %zu d %d K %d: both fit (Newton), two and eight doubles wide", n, d, K);
        CHECK(memcmp(W[0], W[1], (size_t)K * (d + 1) * sizeof(double)) == 0 && res[0].iterations == res[1].iterations &&
                  memcmp(&res[0].loss, &res[1].loss, sizeof(double)) == 0 &&
                  memcmp(&res[0].grad_max, &res[1].grad_max, sizeof(double)) == 0 && res[0].converged == res[1].converged,
              "simd widths n %zu d %d K %d: eight-double objective gives the two-double one's bits (%d iterations, "
              "loss %.6f, converged %d)",
              n, d, K, res[0].iterations, res[0].loss, res[0].converged);
        free(X); free(Wt); free(W[0]); free(W[1]); free(y);
    }
    logreg_ws_free(ws);
    logreg_simd(1);
}

int main(int argc, char **argv)
{
    cli_init("test_probes");
    TOP = getenv("TOP");
    BIN = getenv("BIN");
    if (!TOP) TOP = ".";
    static char binbuf[512];
    if (!BIN) { snprintf(binbuf, sizeof binbuf, "%s/bin", TOP); BIN = binbuf; }
    if (argc == 3 && !strcmp(argv[1], "--write-randmodel-input")) {
        if (make_randmodel_inputs(argv[2]) != 0) { fprintf(stderr, "test_probes: making the inputs failed\n"); return 1; }
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "--write-randmodel64-input")) {
        if (make_randmodel64_inputs(argv[2]) != 0) { fprintf(stderr, "test_probes: making the inputs failed\n"); return 1; }
        return 0;
    }
    snprintf(TMP, sizeof TMP, "/tmp/test_probes.XXXXXX");
    if (!mkdtemp(TMP)) { printf("not ok - mkdtemp: %s\n", strerror(errno)); return 1; }
    test_reports();
    test_bad_input();
    test_library_errors();
    test_simd_widths();
    test_synthetic("synthetic.json.zst", "");
    test_synthetic("large.json.zst", "");
    /* the Newton-CG solver (64-dim heads' default) on the same cases */
    test_synthetic("synthetic.json.zst", "newton-cg");
    test_synthetic("large.json.zst", "newton-cg");
    test_randmodel();
    test_randmodel64();
    char cmd[600];
    snprintf(cmd, sizeof cmd, getenv("TEST_PROBES_KEEP") ? "true %s" : "rm -rf %s", TMP);
    if (run(cmd) != 0) printf("    (could not remove %s)\n", TMP);
    TEST_END();
}
