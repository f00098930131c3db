/* attn-slice: attention rows of chosen heads, recomputed from the dumped q
 * and k vectors exactly as the model attends (docs/DESIGN.md §5,
 * docs/gpt2.md): softmax over keys j <= i of q_i . k_j / s_l.  GPT-Neo
 * (no model-type line in the header): s_l = 1 (NO scaling) and, on local
 * layers, only keys with i - j < window-size (both from the header).  GPT-2
 * (model-type: gpt2): every layer global, s_l = sqrt(d_head) when the
 * header's attention-scale is sqrt-d-head (1 when none), times l + 1 when
 * attention-scale-inverse-layer is yes.
 *
 *   forward-dump --model m --vectors q,k --layers 6 --heads 4 < tagged.hs | \
 *     attn-slice --heads L6H4 --story 12 --query 57 --window 38:58 > attn.tsv
 *
 * Rows mode: one row per (query, key) for the keys of the window.
 * Aggregate modes (the study's appendix): --from-tag TAG averages the
 * attention FROM every token tagged TAG to each key tag; --to-tag TAG the
 * attention TO every token tagged TAG from each query tag; over all the
 * selected stories, with counts.
 *
 * Reads: an activations stream with q and k vectors.  Writes: a TSV table
 * (rows, or the tag averages).  Links: io/records, io/select, cli/toolio.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/outfile.h"
#include "cli/toolio.h"
#include "io/records.h"
#include "io/stream.h"

static void usage(void)
{
    printf(
        "usage: attn-slice [options] [INPUT]\n"
        "Attention of chosen heads recomputed from the q and k vectors of an activations\n"
        "stream (stdin or INPUT), causal, as the model computes it: GPT-Neo softmax_j(q_i . k_j),\n"
        "no scaling, local window on local layers (attention-layers / window-size from the\n"
        "header); GPT-2 (model-type: gpt2) softmax_j(q_i . k_j / sqrt(d_head)), times (l + 1)\n"
        "when the header says attention-scale-inverse-layer: yes.\n\n"
        "  --heads LIST       heads, e.g. L6H4,L5H5, or all (every dumped head)\n"
        "  --layer N --head N one head (instead of --heads)\n"
        "  --story LIST       stories by index, e.g. 12 or 0-99 (default all)\n"
        "Rows mode (default), TSV:\n"
        "  story layer head query key attention visible qtag ktag qlabel klabel qword\n"
        "  one row per query and per key of the window; attention 0 and visible 0\n"
        "  where the model masks the key (future, or outside the local window).\n"
        "  --query LIST       query positions, e.g. 57 or 40-49,52 (default: the window)\n"
        "  --window A:B       key positions A..B-1 (default 0 .. last query)\n"
        "Aggregate modes, TSV: layer head tag mean_attention pairs attention_sum tokens\n"
        "  --from-tag TAG     attention from every TAG token to the keys of each tag\n"
        "  --to-tag TAG       attention to every TAG token from the queries of each tag\n"
        "  mean_attention = attention_sum / pairs over the visible (query, key) pairs;\n"
        "  tokens = how many tokens carry the tag in the selected stories (the\n"
        "  study's bar opacity).  The empty tag is written \"(none)\".\n"
        "  -o, --output FILE  output (default stdout)\n"
        "  --help, --version\n\n"
        "example:\n"
        "  forward-dump --model m --vectors q,k --layers 5 --heads 5 < tagged.hs | \\\n"
        "    attn-slice --heads L5H5 --story 0-99 --from-tag 'PRP$' > from-prp.tsv\n");
    exit(0);
}

/* Per-head state. */
typedef struct hsel {
    int layer, head, qoff, koff;
} hsel;

/* What q . k is divided by in each layer, from the header (see the top of
 * this file); dies on a model type or scale it does not know.
 * @return 1 for a GPT-2 stream, 0 for GPT-Neo */
static int attn_divisors(const stream_header *hdr, const act_layout *L, const char *name, double *div)
{
    for (int l = 0; l < L->n_layer; l++) div[l] = 1.0;
    const char *mt = stream_header_get(hdr, "model-type");
    if (!mt || !strcmp(mt, "gpt_neo")) return 0;
    if (strcmp(mt, "gpt2")) die("%s: model-type '%s' in the header is not gpt_neo or gpt2", name, mt);
    const char *sc = stream_header_get(hdr, "attention-scale"), *inv = stream_header_get(hdr, "attention-scale-inverse-layer");
    if (!sc || (strcmp(sc, "sqrt-d-head") && strcmp(sc, "none")))
        die("%s: a GPT-2 stream needs 'attention-scale: sqrt-d-head' or 'none' in its header", name);
    if (!inv || (strcmp(inv, "yes") && strcmp(inv, "no")))
        die("%s: a GPT-2 stream needs 'attention-scale-inverse-layer: yes' or 'no' in its header", name);
    for (int l = 0; l < L->n_layer; l++) {
        if (L->local_layer[l]) die("%s: a GPT-2 stream with a local attention layer (%d)", name, l);
        if (!strcmp(sc, "sqrt-d-head")) div[l] *= sqrt((double)L->d_head);
        if (!strcmp(inv, "yes")) div[l] *= l + 1;
    }
    return 1;
}

/* One attention row: p[0..i] for query i of (layer, head); masked keys 0.
 * Computed in double from the float32 q, k; scores divided by div (GPT-2's
 * scale; GPT-Neo's div is 1 and is not applied). */
static void attn_row(const act_layout *L, const story_rec *s, const hsel *h, long i, double div, double *p)
{
    const int dk = L->d_head, F = L->floats_per_token;
    const float *q = s->floats + (size_t)i * F + h->qoff;
    const int local = L->local_layer[h->layer];
    double mx = -INFINITY;
    for (long j = 0; j <= i; j++) {
        if (local && i - j >= L->window_size) {
            p[j] = -INFINITY;
            continue;
        }
        const float *k = s->floats + (size_t)j * F + h->koff;
        double d = 0;
        for (int c = 0; c < dk; c++) d += (double)q[c] * k[c];
        if (div != 1.0) d /= div;
        p[j] = d;
        if (d > mx) mx = d;
    }
    double sum = 0;
    for (long j = 0; j <= i; j++) {
        p[j] = isinf(p[j]) ? 0.0 : exp(p[j] - mx);
        sum += p[j];
    }
    for (long j = 0; j <= i; j++) p[j] /= sum;
}

static int visible(const act_layout *L, int layer, long i, long j)
{
    return j <= i && (!L->local_layer[layer] || i - j < L->window_size);
}

/* Aggregates per tag. */
typedef struct tagacc {
    char tag[TAG_MAX + 1];
    double sum;
    unsigned long long pairs, tokens;
} tagacc;

typedef struct tagtab {
    tagacc *v;
    size_t n, cap;
} tagtab;

static tagacc *tag_get(tagtab *t, const char *tag)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i].tag, tag)) return &t->v[i];
    if (t->n == t->cap) t->v = xrealloc(t->v, (t->cap = t->cap ? 2 * t->cap : 64) * sizeof *t->v);
    tagacc *a = &t->v[t->n++];
    memset(a, 0, sizeof *a);
    snprintf(a->tag, sizeof a->tag, "%s", tag);
    return a;
}

static int cmp_tag(const void *a, const void *b)
{
    return strcmp(((const tagacc *)a)->tag, ((const tagacc *)b)->tag);
}

typedef struct opts {
    const char *heads_s, *story_s, *window_s, *query_s, *out, *input;
    const char *from_tag, *to_tag, *agg_tag; /* agg_tag: the one given, "" for (none) */
    long layer, head;
} opts;

static void parse_args(int argc, char **argv, opts *o)
{
    enum { O_HEADS = 256, O_LAYER, O_HEAD, O_STORY, O_WINDOW, O_QUERY, O_FROM, O_TO, O_HELP,
           O_VERSION };
    static const struct option opts_[] = {
        {"heads", required_argument, 0, O_HEADS},   {"layer", required_argument, 0, O_LAYER},
        {"head", required_argument, 0, O_HEAD},     {"story", required_argument, 0, O_STORY},
        {"window", required_argument, 0, O_WINDOW}, {"query", required_argument, 0, O_QUERY},
        {"from-tag", required_argument, 0, O_FROM}, {"to-tag", required_argument, 0, O_TO},
        {"output", required_argument, 0, 'o'},      {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION},     {0, 0, 0, 0}};
    *o = (opts){.layer = -1, .head = -1};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", opts_, NULL)) != -1) {
        switch (c) {
        case O_HEADS: o->heads_s = optarg; break;
        case O_LAYER: o->layer = cli_parse_long("--layer", optarg, 0, 100000); break;
        case O_HEAD: o->head = cli_parse_long("--head", optarg, 0, 100000); break;
        case O_STORY: o->story_s = optarg; break;
        case O_WINDOW: o->window_s = optarg; break;
        case O_QUERY: o->query_s = optarg; break;
        case O_FROM: o->from_tag = optarg; break;
        case O_TO: o->to_tag = optarg; break;
        case 'o': o->out = optarg; break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    o->input = cli_single_input(argc, argv);
    if (o->from_tag && o->to_tag) die("give --from-tag or --to-tag, not both");
    o->agg_tag = o->from_tag ? o->from_tag : o->to_tag;
    if (o->agg_tag && (o->query_s || o->window_s)) die("--query / --window select rows; the aggregates use every token");
    if (o->agg_tag && strlen(o->agg_tag) > TAG_MAX) die("'%s' is not a POS tag", o->agg_tag);
    if (o->agg_tag && !strcmp(o->agg_tag, "(none)")) o->agg_tag = "";
}

/* The chosen heads checked against the layout, with their q and k offsets. */
static hsel *select_heads(const act_layout *L, const head_id *hid, int nh, const char *name)
{
    hsel *hs = xcalloc((size_t)nh, sizeof *hs);
    for (int i = 0; i < nh; i++) {
        const int l = hid[i].layer, h = hid[i].head;
        if (l >= L->n_layer) die("L%dH%d: layer %d is out of range (the model has %d layers)", l, h, l, L->n_layer);
        if (h >= L->n_head) die("L%dH%d: head %d is out of range (the model has %d heads)", l, h, h, L->n_head);
        hs[i] = (hsel){.layer = l, .head = h, .qoff = act_offset(L, l, h, 'q'), .koff = act_offset(L, l, h, 'k')};
        if (hs[i].qoff < 0 || hs[i].koff < 0)
            die("%s: the activations have no %s vector for L%dH%d (forward-dump dumps it with --vectors q,k and "
                "layer %d in --layers; the header lists what was dumped)", name, hs[i].qoff < 0 ? "q" : "k", l, h, l);
    }
    return hs;
}

/* The table's '#' lines: model, the attention rule, the columns. */
static void print_table_head(FILE *f, const stream_header *hdr, const act_layout *L, int gpt2, const opts *o)
{
    cli_table_model(f, hdr);
    if (gpt2) {
        const int sq = strcmp(stream_header_get(hdr, "attention-scale"), "none") != 0;
        const int il = !strcmp(stream_header_get(hdr, "attention-scale-inverse-layer"), "yes");
        fprintf(f, "# attention: softmax(q.k / s) causal, every layer global (GPT-2); s = ");
        if (sq) fprintf(f, "sqrt(d_head) = %.9g%s", sqrt((double)L->d_head), il ? " * " : "");
        fprintf(f, "%s\n", il ? "(layer + 1)" : sq ? "" : "1");
    } else {
        fprintf(f, "# attention: softmax(q.k) unscaled, causal; local layers (");
        int any_local = 0;
        for (int l = 0; l < L->n_layer; l++)
            if (L->local_layer[l]) fprintf(f, "%s%d", any_local++ ? "," : "", l);
        fprintf(f, "%s) window-size %d\n", any_local ? "" : "none", L->window_size);
    }
    if (o->agg_tag) {
        fprintf(f, "# %s tag %s\n", o->from_tag ? "from" : "to", story_tag_field(o->agg_tag));
        fprintf(f, "#layer\thead\ttag\tmean_attention\tpairs\tattention_sum\ttokens\n");
    } else {
        fprintf(f, "#story\tlayer\thead\tquery\tkey\tattention\tvisible\tqtag\tktag\tqlabel\tklabel\tqword\n");
    }
}

/* The aggregates' running sums: per head and tag, and tokens per tag. */
typedef struct aggsums {
    tagtab *acc;      /* [nh] */
    tagtab tokcount;
    unsigned long long n_agg_tokens;
} aggsums;

/* --from-tag / --to-tag: one story's attention added to the sums. */
static void aggregate_story(const opts *o, const act_layout *L, const story_rec *s, const hsel *hs, int nh,
                            const double *div, double *p, aggsums *g)
{
    const long T = (long)s->n_tokens;
    const char *tag = o->agg_tag;
    if (!(s->flags & STORY_HAS_TAGS)) die("story %u has no POS tags (run postag-join before forward-dump)", s->story);
    for (long t = 0; t < T; t++) {
        tag_get(&g->tokcount, s->tokens[t].tag)->tokens++;
        if (!strcmp(s->tokens[t].tag, tag)) g->n_agg_tokens++;
    }
    for (int hi = 0; hi < nh; hi++)
        for (long i = 0; i < T; i++) {
            if (o->from_tag && strcmp(s->tokens[i].tag, tag)) continue;
            if (o->to_tag) { /* only queries that see some key with the tag */
                int sees = 0;
                for (long j = 0; j <= i && !sees; j++)
                    sees = visible(L, hs[hi].layer, i, j) && !strcmp(s->tokens[j].tag, tag);
                if (!sees) continue;
            }
            attn_row(L, s, &hs[hi], i, div[hs[hi].layer], p);
            for (long j = 0; j <= i; j++) {
                if (!visible(L, hs[hi].layer, i, j)) continue;
                tagacc *a = NULL;
                if (o->from_tag) a = tag_get(&g->acc[hi], s->tokens[j].tag);
                else if (!strcmp(s->tokens[j].tag, tag)) a = tag_get(&g->acc[hi], s->tokens[i].tag);
                if (a) {
                    a->sum += p[j];
                    a->pairs++;
                }
            }
        }
}

/* The aggregate rows, per head and tag (sorted). */
static void print_aggregates(FILE *f, const opts *o, const hsel *hs, int nh, aggsums *g)
{
    fprintf(f, "# tokens tagged %s: %llu\n", story_tag_field(o->agg_tag), g->n_agg_tokens);
    qsort(g->tokcount.v, g->tokcount.n, sizeof *g->tokcount.v, cmp_tag);
    for (int h = 0; h < nh; h++)
        for (size_t t = 0; t < g->tokcount.n; t++) {
            const tagacc *c = &g->tokcount.v[t];
            tagacc *a = tag_get(&g->acc[h], c->tag);
            fprintf(f, "%d\t%d\t%s\t%.9g\t%llu\t%.9g\t%llu\n", hs[h].layer, hs[h].head, story_tag_field(c->tag),
                    a->pairs ? a->sum / (double)a->pairs : 0.0, a->pairs, a->sum, c->tokens);
        }
}

/* Rows mode: the attention rows of the queries (--query, or the window's)
 * over the keys of the window, per head. */
static void print_rows_story(FILE *f, const opts *o, const act_layout *L, const story_rec *s, const hsel *hs,
                             int nh, const double *div, story_sel *qsel, const tok_window *win, double *p,
                             char **head)
{
    const long T = (long)s->n_tokens;
    herr he;
    long qmax = -1, lo = 0, hi;
    for (size_t k = 0; o->query_s && k < qsel->n; k++) {
        if (qsel->r[k][1] >= (uint32_t)T) die("--query %u is outside story %u (%ld tokens)", qsel->r[k][1], s->story, T);
        if ((long)qsel->r[k][1] > qmax) qmax = qsel->r[k][1];
    }
    if (win->given) {
        if (tok_window_resolve(win, s, &lo, &hi, &he)) die("--window: %s", he.msg);
    } else {
        hi = o->query_s ? qmax + 1 : T;
    }
    if (*head) { /* the first story passed its checks: the table's head */
        fputs(*head, f);
        free(*head);
        *head = NULL;
    }
    for (int h = 0; h < nh; h++)
        for (long i = 0; i < T; i++) {
            if (o->query_s ? !story_sel_take(qsel, (uint32_t)i) : (i < lo || i >= hi)) continue;
            attn_row(L, s, &hs[h], i, div[hs[h].layer], p);
            char ql[300], qw[256];
            story_token_label(s, (uint32_t)i, ql, sizeof ql);
            story_token_word(s, (uint32_t)i, qw, sizeof qw);
            for (long j = lo; j < hi; j++) {
                char kl[300];
                story_token_label(s, (uint32_t)j, kl, sizeof kl);
                const int vis = visible(L, hs[h].layer, i, j);
                fprintf(f, "%u\t%d\t%d\t%ld\t%ld\t%.9g\t%d\t%s\t%s\t%s\t%s\t%s\n", s->story, hs[h].layer,
                        hs[h].head, i, j, vis ? p[j] : 0.0, vis, story_tag_field(s->tokens[i].tag),
                        story_tag_field(s->tokens[j].tag), ql, kl, qw);
            }
        }
}

int main(int argc, char **argv)
{
    herr he;
    cli_init(argv[0]);
    opts o;
    parse_args(argc, argv, &o);
    static head_id hid[SELECT_MAX_HEADS];
    int nh = cli_heads_from_options(o.heads_s, o.layer, o.head, NULL, hid); /* 0: all, expanded below */
    story_sel sel, qsel;
    if (story_sel_parse(&sel, o.story_s, &he)) die("--story: %s", he.msg);
    if (story_sel_parse(&qsel, o.query_s, &he)) { /* the list parser speaks of stories */
        if (strstr(he.msg, "story list")) die("--query: '%s' is not a list of positions (want e.g. 57 or 40-49,52)", o.query_s);
        die("--query: %s", he.msg);
    }
    tok_window win = {0, -1, 0};
    if (o.window_s && tok_window_parse(&win, o.window_s, &he)) die("--window: %s", he.msg);

    stream_reader *r = cli_open_input(o.input, 1u << STREAM_ACTIVATIONS);
    const stream_header *hdr = stream_reader_header(r);
    act_layout L;
    cli_act_layout(r, &L, 1);
    if (nh == 0) nh = cli_heads_from_options(o.heads_s, o.layer, o.head, &L, hid);
    double div[ACT_MAX_LAYERS];
    const int gpt2 = attn_divisors(hdr, &L, stream_reader_name(r), div);
    hsel *hs = select_heads(&L, hid, nh, stream_reader_name(r));

    outfile *tab = cli_open_output(o.out);
    /* the table's head is made (and its model checked) now and printed with
     * the first rows: a refusal at the first story (its floats, --query,
     * --window) leaves the output empty; the aggregates print it after
     * every story is read (a tag not in the stream: nothing printed) */
    char *head = NULL;
    size_t head_len = 0;
    FILE *hf = open_memstream(&head, &head_len);
    if (!hf) die("out of memory");
    print_table_head(hf, hdr, &L, gpt2, &o);
    if (fclose(hf) != 0) die("out of memory");
    aggsums g = {.acc = xcalloc((size_t)nh, sizeof *g.acc)};
    double *p = NULL;
    size_t pcap = 0;
    story_rec s;
    story_init(&s);
    while (cli_read_story(r, &s)) {
        if (!story_sel_take(&sel, s.story)) continue;
        if (!(s.flags & STORY_HAS_FLOATS) || s.floats_per_token != (uint32_t)L.floats_per_token)
            die("story %u carries %u floats per token; the header's layout says %d", s.story,
                s.floats_per_token, L.floats_per_token);
        if ((size_t)s.n_tokens > pcap) p = xrealloc(p, (pcap = s.n_tokens) * sizeof *p);
        if (o.agg_tag) aggregate_story(&o, &L, &s, hs, nh, div, p, &g);
        else print_rows_story(tab->f, &o, &L, &s, hs, nh, div, &qsel, &win, p, &head);
    }
    uint32_t miss;
    if (story_sel_missing(&sel, &miss)) die("story %u is not in the stream", miss);
    if (o.agg_tag && !g.n_agg_tokens) die("no token is tagged %s in the selected stories", story_tag_field(o.agg_tag));
    if (head) fputs(head, tab->f); /* the aggregates, or rows mode with no row */
    if (o.agg_tag) print_aggregates(tab->f, &o, hs, nh, &g);
    cli_close_output(tab);
    free(head);
    for (int h = 0; h < nh; h++) free(g.acc[h].v);
    free(g.acc);
    free(g.tokcount.v);
    free(p);
    free(hs);
    story_free(&s);
    story_sel_free(&sel);
    story_sel_free(&qsel);
    stream_reader_close(r);
    return 0;
}
