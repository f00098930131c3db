/* test_gptneo.c: the GPT-Neo forward against the NumPy reference.
 *
 *   test_gptneo                       unit checks (config parsing, masks, top-k,
 *                                     refusals) on in-memory models
 *   test_gptneo --golden G --model DIR
 *                                     run the C forward on G's token ids and
 *                                     compare q, k, v, z, activity, attention
 *                                     and logits with the golden (from
 *                                     tests/oracles/gen_forward_golden.sh)
 *   test_gptneo --golden G --dump ACTS
 *                                     compare a forward-dump output (one story,
 *                                     the golden's ids) with the golden
 *   test_gptneo --golden G --attn-tsv TSV | --activity-tsv TSV
 *                                     compare attn-slice's rows (story 0, the
 *                                     golden's head, every query and key) or
 *                                     activity's table (every head) with the
 *                                     golden's attention / activity
 *   test_gptneo --golden G --write-tokens OUT
 *                                     write a tokens stream holding G's ids
 *                                     (a tagged one, tags NN VBD "" cycling,
 *                                     when OUT ends in ".tagged")
 *   test_gptneo --reference JSON --model DIR [--tokenizer DIR]
 *                                     the real-model check: top-10 logits,
 *                                     first 8, mean, std, attention of L0H0
 *                                     and L7H3, greedy continuation (ids, and
 *                                     text with a tokenizer), all within 1e-3,
 *                                     against a JSON in the layout of
 *                                     mirror/reference/tinystories-1m-*.json
 *
 * Tolerance: |c - r| <= 1e-4 * |r| + 1e-5 * max|r| element-wise (1e-4
 * relative, with a floor of 1e-5 of the array's scale for entries that
 * are nearly zero).  The worst relative error per array is printed.
 */
#include "text/bpe.h"
#include "cli/cli.h"
#include "cli/toolio.h"
#include "model/gptneo.h"
#include "model/config.h"
#include "model/init.h"
#include "io/records.h"
#include "io/stream.h"
#include "testio.h"
#include "testlib.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define REL 1e-4
#define FLOOR 1e-5

typedef struct golden {
    uint32_t T, L, H, dk, V, al, ah, n_rows, has_qkvz;
    uint32_t *ids, *rows;
    uint32_t nq, *ql;     /* layers whose q, k, v, z are stored (has_qkvz 2), or ql NULL: all */
    float *q, *k, *v, *z; /* [nq][T][H][dk] */
    float *act;           /* [L][T][H] */
    float *attn;          /* [T][T] */
    float *logits;        /* [n_rows][V] */
    void *buf;
} golden;

static void golden_load(const char *path, golden *g)
{
    size_t len;
    char *raw = cli_read_file(path, &len);
    unsigned long long n = ZSTD_getFrameContentSize(raw, len);
    if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN) die("%s: not a zstd frame", path);
    uint8_t *b = xmalloc(n);
    size_t got = ZSTD_decompress(b, n, raw, len);
    if (ZSTD_isError(got) || got != n) die("%s: zstd error", path);
    free(raw);
    /* GNEOGLD1 (GPT-Neo, gen_forward_golden.py) and GPT2GLD1 (GPT-2,
     * gen_gpt2_golden.py) share one layout */
    if (n < 44 || (memcmp(b, "GNEOGLD1", 8) && memcmp(b, "GPT2GLD1", 8))) die("%s: not a golden file", path);
    uint32_t *u = (uint32_t *)(b + 8);
    g->T = u[0], g->L = u[1], g->H = u[2], g->dk = u[3], g->V = u[4], g->al = u[5], g->ah = u[6];
    g->n_rows = u[7], g->has_qkvz = u[8];
    g->ids = u + 9;
    g->rows = g->ids + g->T;
    float *f = (float *)(g->rows + g->n_rows);
    g->nq = g->has_qkvz ? g->L : 0;
    g->ql = NULL;
    if (g->has_qkvz == 2) { /* GPT2GLD1 "qkvz@L,L": a layer list first */
        uint32_t *p = g->rows + g->n_rows;
        g->nq = p[0];
        g->ql = p + 1;
        for (uint32_t i = 0; i < g->nq; i++)
            if (g->ql[i] >= g->L) die("%s: stored layer %u out of range", path, g->ql[i]);
        f = (float *)(g->ql + g->nq);
    }
    size_t nv = (size_t)g->nq * g->T * g->H * g->dk;
    if (g->has_qkvz) {
        g->q = f, g->k = f + nv, g->v = f + 2 * nv, g->z = f + 3 * nv;
        f += 4 * nv;
    }
    g->act = f;
    f += (size_t)g->L * g->T * g->H;
    g->attn = f;
    f += (size_t)g->T * g->T;
    g->logits = f;
    f += (size_t)g->n_rows * g->V;
    if ((uint8_t *)f != b + n) die("%s: size mismatch", path);
    g->buf = b;
}

/* Index of layer l among the golden's stored q/k/v/z layers, or -1. */
static int qidx(const golden *g, uint32_t l)
{
    if (!g->ql) return g->has_qkvz ? (int)l : -1;
    for (uint32_t i = 0; i < g->nq; i++)
        if (g->ql[i] == l) return (int)i;
    return -1;
}

/* Compare n values; print and return worst normalised error. */
typedef struct { double worst_rel; size_t bad; double maxref; } cmp_t;
static void cmp_add(cmp_t *c, double got, double want, double scale)
{
    double d = fabs(got - want), tol = REL * fabs(want) + FLOOR * scale;
    if (!(d <= tol)) c->bad++;
    double rel = d / (fabs(want) + FLOOR / REL * scale);
    if (rel > c->worst_rel || rel != rel) c->worst_rel = rel;
}
static double maxabs(const float *x, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

static const char *case_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Compare one kind's vectors: got(l, t, h) -> pointer to dk floats. */
static void check_golden_model(const char *gpath, const char *mdir)
{
    golden g;
    golden_load(gpath, &g);
    gptneo_model m;
    herr e;
    int rc = gptneo_load(mdir, &m, &e);
    CHECK(rc == 0, "%s: load %s (%s)", case_name(gpath), mdir, rc ? e.msg : "ok");
    if (rc) return;
    CHECK((uint32_t)m.cfg.n_layer == g.L && (uint32_t)m.cfg.n_head == g.H &&
          (uint32_t)m.cfg.d_head == g.dk && (uint32_t)m.cfg.vocab_size == g.V,
          "%s: model shape matches the golden", case_name(gpath));
    gptneo_acts a;
    gptneo_acts_init(&a);
    a.want_activity = 1;
    a.attn_layer = (int)g.al;
    a.attn_head = (int)g.ah;
    rc = gptneo_forward(&m, g.ids, (int)g.T, &a, &e);
    CHECK(rc == 0, "%s: forward", case_name(gpath));
    if (rc) return;
    const char kinds[] = "qkvz";
    const float *gv[4] = {g.q, g.k, g.v, g.z};
    size_t nv = (size_t)g.nq * g.T * g.H * g.dk;
    for (int ki = 0; g.has_qkvz && ki < 4; ki++) {
        cmp_t c = {0, 0, maxabs(gv[ki], nv)};
        for (uint32_t l = 0; l < g.L; l++)
            for (uint32_t t = 0; t < g.T && qidx(&g, l) >= 0; t++)
                for (uint32_t h = 0; h < g.H; h++) {
                    const float *x = gptneo_vec(&a, (int)g.dk, (int)l, (int)t, (int)h, kinds[ki]);
                    const float *w = gv[ki] + (((size_t)qidx(&g, l) * g.T + t) * g.H + h) * g.dk;
                    for (uint32_t d = 0; d < g.dk; d++) cmp_add(&c, x[d], w[d], c.maxref);
                }
        CHECK(c.bad == 0, "%s: %c within 1e-4 relative of the reference (worst %.2e, %zu bad)",
              case_name(gpath), kinds[ki], c.worst_rel, c.bad);
    }
    size_t na = (size_t)g.L * g.T * g.H;
    cmp_t c = {0, 0, maxabs(g.act, na)};
    for (size_t i = 0; i < na; i++) cmp_add(&c, a.activity[i], g.act[i], c.maxref);
    CHECK(c.bad == 0, "%s: activity within 1e-4 relative (worst %.2e, %zu bad)", case_name(gpath),
          c.worst_rel, c.bad);
    c = (cmp_t){0, 0, 1.0};
    for (size_t i = 0; i < (size_t)g.T * g.T; i++) cmp_add(&c, a.attn[i], g.attn[i], 1.0);
    CHECK(c.bad == 0, "%s: attention L%uH%u within 1e-4 (worst %.2e, %zu bad)", case_name(gpath),
          g.al, g.ah, c.worst_rel, c.bad);
    float *lg = xmalloc((size_t)g.V * sizeof(float));
    c = (cmp_t){0, 0, maxabs(g.logits, (size_t)g.n_rows * g.V)};
    int top_ok = 1;
    for (uint32_t r = 0; r < g.n_rows; r++) {
        gptneo_logits(&m, &a, (int)g.rows[r], 1, lg);
        const float *w = g.logits + (size_t)r * g.V;
        for (uint32_t i = 0; i < g.V; i++) cmp_add(&c, lg[i], w[i], c.maxref);
        int i1, i2;
        gptneo_topk(lg, (int)g.V, 1, &i1);
        gptneo_topk(w, (int)g.V, 1, &i2);
        top_ok &= i1 == i2;
    }
    CHECK(c.bad == 0, "%s: logits of %u positions within 1e-4 relative (worst %.2e, %zu bad)",
          case_name(gpath), g.n_rows, c.worst_rel, c.bad);
    CHECK(top_ok, "%s: argmax logits agree", case_name(gpath));
    free(lg);
    gptneo_acts_free(&a);
    gptneo_free(&m);
    free(g.buf);
}

/* Compare a forward-dump stream (one story with the golden's ids). */
static void check_golden_dump(const char *gpath, const char *dump)
{
    golden g;
    golden_load(gpath, &g);
    stream_reader *r = cli_open_input(dump, 1u << STREAM_ACTIVATIONS);
    act_layout L;
    const char *e;
    int rc = t_layout_parse(&L, stream_reader_header(r), &e);
    CHECK(rc == 0, "%s: dump layout parses", case_name(gpath));
    if (rc) return;
    story_rec s;
    story_init(&s);
    int got = cli_read_story(r, &s);
    CHECK(got && s.n_tokens == g.T && (s.flags & STORY_HAS_FLOATS) &&
          (int)s.floats_per_token == L.floats_per_token,
          "%s: dump holds one story of %u tokens with floats", case_name(gpath), g.T);
    if (!got || s.n_tokens != g.T) return;
    int ids_ok = 1;
    for (uint32_t t = 0; t < g.T; t++) ids_ok &= s.tokens[t].id == g.ids[t];
    CHECK(ids_ok, "%s: dump carries the token ids", case_name(gpath));
    size_t nv = (size_t)g.nq * g.T * g.H * g.dk;
    for (int vi = 0; vi < L.n_vecs; vi++) {
        char v = L.vecs[vi];
        const float *ref = v == 'q' ? g.q : v == 'k' ? g.k : v == 'v' ? g.v : v == 'z' ? g.z : g.act;
        if (!ref) continue;
        int w = v == 'a' ? 1 : (int)g.dk;
        cmp_t c = {0, 0, v == 'a' ? maxabs(g.act, (size_t)g.L * g.T * g.H) : maxabs(ref, nv)};
        size_t n = 0;
        for (int li = 0; li < L.n_layers; li++)
            for (int hi = 0; hi < L.n_heads; hi++) {
                int l = L.layers[li], h = L.heads[hi], off = act_offset(&L, l, h, v);
                int gl = v == 'a' ? l : qidx(&g, (uint32_t)l); /* row of the golden's arrays */
                for (uint32_t t = 0; t < g.T && gl >= 0; t++)
                    for (int d = 0; d < w; d++, n++)
                        cmp_add(&c, s.floats[(size_t)t * L.floats_per_token + off + d],
                                ref[(((size_t)gl * g.T + t) * g.H + h) * w + d], c.maxref);
            }
        CHECK(c.bad == 0 && n > 0, "%s: dumped %c (%zu floats) within 1e-4 relative (worst %.2e)",
              case_name(gpath), v, n, c.worst_rel);
    }
    got = cli_read_story(r, &s);
    CHECK(!got, "%s: dump ends after one story", case_name(gpath));
    story_free(&s);
    stream_reader_close(r);
    free(g.buf);
}

/* Compare an attn-slice table (rows mode: one story, the golden's head,
 * every query and key) or an activity table (every head of every layer)
 * with the golden's attention / activity, same tolerance. */
static void check_golden_table(const char *gpath, const char *tsv, int attn)
{
    golden g;
    golden_load(gpath, &g);
    FILE *f = fopen(tsv, "r");
    if (!f) die("%s: cannot open", tsv);
    const size_t na = (size_t)g.L * g.T * g.H;
    const size_t want_rows = attn ? (size_t)g.T * g.T : na;
    cmp_t c = {0, 0, attn ? 1.0 : maxabs(g.act, na)};
    char *line = NULL;
    size_t cap = 0, rows = 0, bad_keys = 0;
    while (getline(&line, &cap, f) > 0) {
        if (line[0] == '#') continue;
        char *fld[8] = {0};
        int nf = 0;
        for (char *p = line, *save = NULL, *t; nf < 8 && (t = strtok_r(p, "\t\n", &save)); p = NULL) fld[nf++] = t;
        if (nf < 7) die("%s: a row with %d fields", tsv, nf);
        double got;
        if (attn) { /* story layer head query key attention visible ... */
            unsigned l = (unsigned)atoi(fld[1]), h = (unsigned)atoi(fld[2]);
            long i = atol(fld[3]), j = atol(fld[4]);
            got = atof(fld[5]);
            if (l != g.al || h != g.ah || i < 0 || j < 0 || i >= (long)g.T || j >= (long)g.T) { bad_keys++; continue; }
            if ((atoi(fld[6]) != 0) != (j <= i)) bad_keys++;
            cmp_add(&c, got, g.attn[(size_t)i * g.T + j], 1.0);
        } else { /* story pos token tag layer head activity label */
            long t = atol(fld[1]);
            unsigned l = (unsigned)atoi(fld[4]), h = (unsigned)atoi(fld[5]);
            got = atof(fld[6]);
            if (t < 0 || t >= (long)g.T || l >= g.L || h >= g.H) { bad_keys++; continue; }
            cmp_add(&c, got, g.act[((size_t)l * g.T + (size_t)t) * g.H + h], c.maxref);
        }
        rows++;
    }
    free(line);
    fclose(f);
    CHECK(rows == want_rows && bad_keys == 0, "%s: %s table has the %zu rows expected (%zu; %zu bad keys or masks)",
          case_name(gpath), attn ? "attn-slice" : "activity", want_rows, rows, bad_keys);
    CHECK(c.bad == 0 && rows > 0, "%s: %s within 1e-4 relative of the reference (worst %.2e, %zu bad)", case_name(gpath),
          attn ? "attn-slice's recomputed attention" : "activity's table", c.worst_rel, c.bad);
    free(g.buf);
}

static void write_tokens(const char *gpath, const char *out)
{
    golden g;
    golden_load(gpath, &g);
    story_rec s;
    story_init(&s);
    size_t ol = strlen(out);
    int tagged = ol > 7 && !strcmp(out + ol - 7, ".tagged");
    s.flags = STORY_HAS_TOKENS | (tagged ? STORY_HAS_TAGS : 0);
    s.text_len = g.T;
    s.text = xmalloc(g.T + 1);
    memset(s.text, 'x', g.T);
    s.text[g.T] = 0;
    s.n_tokens = g.T;
    s.tokens = xcalloc(g.T, sizeof *s.tokens);
    for (uint32_t t = 0; t < g.T; t++) {
        s.tokens[t].id = g.ids[t];
        s.tokens[t].start = t;
        s.tokens[t].end = t + 1;
        if (tagged) snprintf(s.tokens[t].tag, sizeof s.tokens[t].tag, "%s", t % 3 == 0 ? "NN" : t % 3 == 1 ? "VBD" : "");
    }
    stream_header h;
    stream_header_init(&h);
    stream_header_add(&h, "source", "golden token ids");
    stream_writer *w = cli_open_stream(out, tagged ? STREAM_TAGGED : STREAM_TOKENS, &h);
    cli_write_story(w, &s);
    cli_close_stream(w);
    stream_header_free(&h);
    story_free(&s);
    free(g.buf);
}

/* |got - want| <= 1e-3 * max(1, |want|) */
static int near3(double got, double want) { return fabs(got - want) <= 1e-3 * fmax(1.0, fabs(want)); }

static void check_reference(const char *jpath, const char *mdir, const char *tokdir)
{
    json_error_t je;
    json_t *ref = json_load_file(jpath, 0, &je);
    if (!ref) die("%s: %s", jpath, je.text);
    gptneo_model m;
    herr e;
    int rc = gptneo_load(mdir, &m, &e);
    CHECK(rc == 0, "reference: load %s (%s)", mdir, rc ? e.msg : "ok");
    if (rc) return;
    char id[512];
    printf("# model: %s\n", gptneo_identity(&m, id, sizeof id));
    json_t *jids = json_object_get(ref, "input_ids");
    int T = (int)json_array_size(jids);
    if (T <= 0) die("%s: no input_ids", jpath);
    uint32_t ids[64];
    for (int t = 0; t < T && t < 64; t++) ids[t] = (uint32_t)json_integer_value(json_array_get(jids, (size_t)t));
    const int V = m.cfg.vocab_size;
    gptneo_acts a;
    gptneo_acts_init(&a);
    a.attn_layer = 0;
    a.attn_head = 0;
    rc = gptneo_forward(&m, ids, T, &a, &e);
    CHECK(rc == 0, "reference: forward on %d prompt ids", T);
    if (rc) return;
    float *lg = xmalloc((size_t)V * sizeof(float));
    gptneo_logits(&m, &a, T - 1, 1, lg);
    /* attention L0H0 */
    const char *names[2] = {"attn_l0_h0", "attn_l7_h3"};
    for (int which = 0; which < 2; which++) {
        if (which == 1) {
            a.attn_layer = 7;
            a.attn_head = 3;
            rc = gptneo_forward(&m, ids, T, &a, &e);
            if (rc) die("%s", e.msg);
        }
        json_t *A = json_object_get(ref, names[which]);
        int ok = json_array_size(A) == (size_t)T;
        double worst = 0;
        for (int i = 0; ok && i < T; i++)
            for (int j = 0; j < T; j++) {
                double want = json_number_value(json_array_get(json_array_get(A, (size_t)i), (size_t)j));
                double d = fabs(a.attn[(size_t)i * T + j] - want);
                worst = d > worst ? d : worst;
                ok &= d <= 1e-3;
            }
        CHECK(ok, "reference: %s within 1e-3 (worst %.2e)", names[which], worst);
    }
    /* top-10 */
    int top[10];
    gptneo_topk(lg, V, 10, top);
    json_t *t10 = json_object_get(ref, "top10");
    int ok = json_array_size(t10) == 10;
    double worst = 0;
    for (int k = 0; ok && k < 10; k++) {
        json_t *e = json_array_get(t10, (size_t)k);
        int rid = (int)json_integer_value(json_object_get(e, "id"));
        double want = json_number_value(json_object_get(e, "logit"));
        ok &= rid == top[k] && near3(lg[rid], want);
        worst = fmax(worst, fabs(lg[rid] - want));
    }
    CHECK(ok, "reference: top-10 ids in order, logits within 1e-3 (worst %.2e)", worst);
    json_t *f8 = json_object_get(ref, "logits_first8");
    ok = json_array_size(f8) == 8;
    for (int i = 0; ok && i < 8; i++) ok &= near3(lg[i], json_number_value(json_array_get(f8, (size_t)i)));
    CHECK(ok, "reference: first 8 logits within 1e-3");
    double sum = 0, ss = 0;
    for (int i = 0; i < V; i++) sum += lg[i];
    double mean = sum / V;
    for (int i = 0; i < V; i++) ss += (lg[i] - mean) * (lg[i] - mean);
    double sd = sqrt(ss / (V - 1));
    double wm = json_number_value(json_object_get(ref, "logits_mean"));
    double ws = json_number_value(json_object_get(ref, "logits_std"));
    CHECK(near3(mean, wm) && near3(sd, ws), "reference: logits mean %.6f (want %.6f), std %.6f (want %.6f)",
          mean, wm, sd, ws);
    /* greedy continuation */
    json_t *gids = json_object_get(ref, "greedy_ids");
    int G = (int)json_array_size(gids);
    uint32_t *seq = xcalloc((size_t)(G > T ? G : T) + 1, sizeof *seq);
    memcpy(seq, ids, (size_t)T * sizeof *seq);
    int cur = T;
    a.attn_layer = -1;
    while (cur < G) {
        if (gptneo_forward(&m, seq, cur, &a, &e)) die("%s", e.msg);
        gptneo_logits(&m, &a, cur - 1, 1, lg);
        int best;
        gptneo_topk(lg, V, 1, &best);
        seq[cur++] = (uint32_t)best;
    }
    ok = G > T;
    for (int i = 0; ok && i < G; i++) ok &= seq[i] == (uint32_t)json_integer_value(json_array_get(gids, (size_t)i));
    CHECK(ok, "reference: greedy continuation of %d tokens has the same ids", G - T);
    if (tokdir) {
        char vp[2048], mp[2048];
        snprintf(vp, sizeof vp, "%s/vocab.json", tokdir);
        snprintf(mp, sizeof mp, "%s/merges.txt", tokdir);
        herr he;
        bpe *b = bpe_load(vp, mp, &he);
        if (!b) die("%s", he.msg);
        char *text = xmalloc(65536);
        size_t n = 0;
        for (int i = 0; i < G; i++) {
            size_t len;
            const char *t = bpe_token_text(b, seq[i], &len);
            if (t && n + len < 65536) {
                memcpy(text + n, t, len);
                n += len;
            }
        }
        text[n] = 0;
        const char *want = json_string_value(json_object_get(ref, "greedy_text"));
        CHECK(want && !strcmp(text, want), "reference: greedy text \"%s\"", text);
        free(text);
        bpe_free(b);
    }
    free(seq);
    free(lg);
    gptneo_acts_free(&a);
    gptneo_free(&m);
    json_decref(ref);
}

/* ------------------------------------------------------------------ */

static int parse_fails(const char *json, const char *needle)
{
    model_config c;
    herr e;
    int rc = model_config_parse(json, &c, &e);
    if (rc == 0) return 0;
    if (needle && !strstr(e.msg, needle)) {
        printf("    message: %s\n", e.msg);
        return 0;
    }
    return 1;
}

#define BASE "\"hidden_size\": 8, \"num_heads\": 2, \"num_layers\": 2, \"vocab_size\": 20, " \
             "\"max_position_embeddings\": 16, \"window_size\": 3"

static void unit_checks(void)
{
    model_config c;
    herr e;
    /* the real TinyStories-1M config.json (attention_types + attention_layers) */
    const char *ts1m =
        "{\"_name_or_path\": \"EleutherAI/gpt-neo-125M\", \"activation_function\": \"gelu_new\","
        "\"attention_layers\": [\"global\",\"local\",\"global\",\"local\",\"global\",\"local\",\"global\",\"local\"],"
        "\"attention_types\": [[[\"global\",\"local\"],4]], \"hidden_size\": 64, \"intermediate_size\": null,"
        "\"layer_norm_epsilon\": 1e-05, \"max_position_embeddings\": 2048, \"model_type\": \"gpt_neo\","
        "\"num_heads\": 16, \"num_layers\": 8, \"vocab_size\": 50257, \"window_size\": 256}";
    int rc = model_config_parse(ts1m, &c, &e);
    CHECK(rc == 0, "TinyStories-1M config parses");
    model_config ref;
    model_config_tinystories_1m(&ref);
    CHECK(c.n_embd == 64 && c.n_head == 16 && c.d_head == 4 && c.n_layer == 8 && c.n_inner == 256 &&
          c.vocab_size == 50257 && c.n_positions == 2048 && c.window_size == 256 && c.ln_eps == 1e-5,
          "TinyStories-1M sizes (intermediate null -> 256)");
    CHECK(!memcmp(c.local, ref.local, sizeof c.local) && c.local[1] && !c.local[0] && c.local[7],
          "attention_types [[[global,local],4]] expands to alternating layers");
    CHECK(!strcmp(c.name, "EleutherAI/gpt-neo-125M"), "name from _name_or_path");
    rc = model_config_parse("{" BASE ", \"attention_layers\": [\"local\", \"global\"], \"intermediate_size\": 10}",
                            &c, &e);
    CHECK(rc == 0 && c.local[0] == 1 && c.local[1] == 0 && c.n_inner == 10,
          "attention_layers alone and intermediate_size given");
    CHECK(parse_fails("{" BASE ", \"attention_types\": [[[\"global\",\"local\"],1]], \"activation_function\": \"relu\"}",
                      "activation_function"), "relu refused");
    CHECK(parse_fails("{" BASE ", \"attention_types\": [[[\"global\",\"sparse\"],1]]}", "attention type"),
          "unknown attention type refused");
    CHECK(parse_fails("{" BASE ", \"attention_types\": [[[\"global\",\"local\"],2]]}", "num_layers"),
          "attention layers count != num_layers refused");
    CHECK(parse_fails("{" BASE ", \"attention_types\": [[[\"global\",\"local\"],1]], \"attention_layers\": [\"local\",\"local\"]}",
                      "disagrees"), "attention_layers contradicting attention_types refused");
    CHECK(parse_fails("{\"hidden_size\": 10, \"num_heads\": 3, \"num_layers\": 1, \"vocab_size\": 5,"
                      "\"max_position_embeddings\": 4, \"attention_layers\": [\"global\"]}", "divisible"),
          "hidden not divisible by heads refused");
    CHECK(parse_fails("{" BASE ", \"attention_layers\": [\"global\",\"local\"], \"model_type\": \"llama\"}",
                      "unsupported model_type \"llama\""), "unknown model_type refused");
    CHECK(parse_fails("{\"num_heads\": 2}", "missing"), "missing hidden_size refused");
    CHECK(parse_fails("{" BASE ", \"attention_layers\": [\"global\",\"local\"], \"num_heads\": 2.5}",
                      "not an integer"), "non-integer num_heads refused");
    CHECK(parse_fails("{\"hidden_size\": 8,", "invalid JSON"), "truncated JSON refused");

    /* masks */
    model_config_tinystories_1m(&c);
    CHECK(model_can_attend(&c, 1, 300, 45) && !model_can_attend(&c, 1, 300, 44) &&
          model_can_attend(&c, 0, 300, 0) && !model_can_attend(&c, 0, 3, 4),
          "local layers attend to i-j < 256 only; global layers to all j <= i");

    /* top-k */
    float x[6] = {1, 5, 3, 5, -2, 4};
    int idx[6];
    int k = gptneo_topk(x, 6, 4, idx);
    CHECK(k == 4 && idx[0] == 1 && idx[1] == 3 && idx[2] == 5 && idx[3] == 2, "top-k order, ties by index");

    /* an in-memory model: shape checks and forward refusals */
    rc = model_config_parse("{" BASE ", \"attention_layers\": [\"global\",\"local\"]}", &c, &e);
    CHECK(rc == 0, "small config parses");
    tensor_set ts;
    tensors_init(&ts);
    if (model_init_random_test(&c, 3, 0.1f, &ts, &e)) die("%s", e.msg);
    gptneo_model m;
    rc = gptneo_from_tensors(&m, &c, &ts, &e);
    CHECK(rc == 0 && m.lm_head_tied, "random model binds (lm_head tied to wte)");
    uint32_t ids[17] = {0};
    ids[2] = 19;
    gptneo_acts a;
    gptneo_acts_init(&a);
    CHECK(gptneo_forward(&m, ids, 16, &a, &e) == 0, "16 tokens = the whole position table");
    CHECK(gptneo_forward(&m, ids, 17, &a, &e) != 0 && strstr(e.msg, "positions"),
          "17 tokens refused: %s", e.msg);
    ids[2] = 20;
    CHECK(gptneo_forward(&m, ids, 5, &a, &e) != 0 && strstr(e.msg, "vocabulary"),
          "id 20 with vocab 20 refused: %s", e.msg);
    CHECK(gptneo_forward(&m, ids, 0, &a, &e) != 0, "empty story refused");
    gptneo_acts_free(&a);
    gptneo_free(&m);

    /* a missing tensor, a wrong shape */
    tensors_init(&ts);
    if (model_init_random_test(&c, 3, 0.1f, &ts, &e)) die("%s", e.msg);
    free(ts.t[5].name);
    ts.t[5].name = xstrdup("transformer.h.0.renamed");
    rc = gptneo_from_tensors(&m, &c, &ts, &e);
    CHECK(rc != 0 && strstr(e.msg, "missing tensor"), "missing tensor refused: %s", e.msg);
    tensors_init(&ts);
    if (model_init_random_test(&c, 3, 0.1f, &ts, &e)) die("%s", e.msg);
    ts.t[0].shape[0] = 19; /* wte [19][8] where the config says 20 */
    ts.t[0].numel = 19 * 8;
    rc = gptneo_from_tensors(&m, &c, &ts, &e);
    CHECK(rc != 0 && strstr(e.msg, "shape"), "wrong wte shape refused: %s", e.msg);
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    if (argc == 1) {
        unit_checks();
        TEST_END();
    }
    if (argc == 5 && !strcmp(argv[1], "--golden") && !strcmp(argv[3], "--model"))
        check_golden_model(argv[2], argv[4]);
    else if (argc == 5 && !strcmp(argv[1], "--golden") && !strcmp(argv[3], "--dump"))
        check_golden_dump(argv[2], argv[4]);
    else if ((argc == 5 || argc == 7) && !strcmp(argv[1], "--reference") && !strcmp(argv[3], "--model") &&
             (argc == 5 || !strcmp(argv[5], "--tokenizer")))
        check_reference(argv[2], argv[4], argc == 7 ? argv[6] : NULL);
    else if (argc == 5 && !strcmp(argv[1], "--golden") && !strcmp(argv[3], "--write-tokens"))
        write_tokens(argv[2], argv[4]);
    else if (argc == 5 && !strcmp(argv[1], "--golden") &&
             (!strcmp(argv[3], "--attn-tsv") || !strcmp(argv[3], "--activity-tsv")))
        check_golden_table(argv[2], argv[4], !strcmp(argv[3], "--attn-tsv"));
    else
        die("usage: test_gptneo [--golden G (--model DIR | --dump ACTS | --write-tokens OUT | --attn-tsv TSV | --activity-tsv TSV)]");
    TEST_END();
}
