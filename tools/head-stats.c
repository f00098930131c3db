/* head-stats: does a head do more on some tokens than on others?  Mean
 * activity on selected tokens against the rest, and mean attention from
 * selected queries to selected keys against attention to any key: the
 * measurements behind the study's case-study claims (docs/heads.md).
 *
 *   head-stats --model m --heads L2H0 --activity quote --attention 'quote/tag=``' test.tagged
 *
 * Reads: a tagged (or activations) stream and a model directory: the model
 * is run on the stories, so activity and attention are the model's own.
 * Writes: a TSV table, one row per (head, statistic).
 * Links: model/gptneo (forward, activity, the attention-row hook),
 * model/storyset, base/pool.
 */
#include "base/pool.h"
#include "cli/cli.h"
#include "cli/toolio.h"
#include "cli/toolmodel.h"
#include "io/outfile.h"
#include "model/gptneo.h"
#include "model/storyset.h"

#include <cblas.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STATS 32
#define MAX_TAGS 16

static void usage(void)
{
    printf(
        "usage: head-stats --model DIR --heads LIST [--activity SEL]... [--attention QSEL/KSEL]... [INPUT]\n"
        "For chosen heads, run the model on a tagged stream and compare (docs/heads.md):\n"
        "  --activity SEL        mean activity ||W_O[h] z_h|| on tokens matching SEL against\n"
        "                        the other tokens\n"
        "  --attention QSEL/KSEL from every query matching QSEL: the mean attention per visible\n"
        "                        key matching KSEL, against the mean attention per visible key\n"
        "                        (1 / visible keys); queries that see no KSEL key are skipped\n"
        "SEL: tag=T1,T2 (the token's tag), next=T1,T2 (the next token's tag), quote (inside\n"
        "a quotation: after a `` token, up to the next '' token, excluded), any.\n"
        "Output: layer head statistic group rest ratio n_group n_rest (ratio = group / rest).\n\n"
        "  --model DIR  --heads LIST (L2H0,L6H4 or all)  --threads N (2)  -o FILE\n"
        "  --help, --version\n\n"
        "example:\n"
        "  head-stats --model m --heads L6H4 --activity next=VBD --attention 'next=VBD/tag=VBD' test.tagged\n");
    exit(0);
}

/* A token selector. */
typedef enum { SEL_ANY, SEL_TAG, SEL_NEXT, SEL_QUOTE } sel_kind;
typedef struct sel {
    sel_kind kind;
    int n;
    char tags[MAX_TAGS][TAG_MAX + 1];
} sel;

static void parse_sel(const char *s, sel *out, const char *opt)
{
    memset(out, 0, sizeof *out);
    if (!strcmp(s, "any")) { out->kind = SEL_ANY; return; }
    if (!strcmp(s, "quote")) { out->kind = SEL_QUOTE; return; }
    if (!strncmp(s, "tag=", 4)) out->kind = SEL_TAG;
    else if (!strncmp(s, "next=", 5)) out->kind = SEL_NEXT;
    else die("%s: '%s' is not a selector (tag=T,.. next=T,.. quote any)", opt, s);
    const char *p = strchr(s, '=') + 1;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        /* an empty name ("tag=", "tag=NN,") would pick the untagged tokens */
        if (!len) die("%s: '%s': an empty tag name", opt, s);
        if (out->n == MAX_TAGS || len > TAG_MAX) die("%s: bad tag list in '%s'", opt, s);
        if (len == 6 && !strncmp(p, "(none)", 6)) len = 0; /* the empty tag, named as every tool names it */
        memcpy(out->tags[out->n], p, len);
        out->tags[out->n++][len] = 0;
        if (!c) break;
        p = c + 1;
    }
}

static int in_tags(const sel *s, const char *tag)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->tags[i], tag)) return 1;
    return 0;
}

/* Does token t of story st (with its quote flags) match? */
static int matches(const sel *s, const story_rec *st, const unsigned char *inquote, uint32_t t)
{
    switch (s->kind) {
    case SEL_ANY: return 1;
    case SEL_TAG: return in_tags(s, st->tokens[t].tag);
    case SEL_NEXT: return t + 1 < st->n_tokens && in_tags(s, st->tokens[t + 1].tag);
    case SEL_QUOTE: return inquote[t];
    }
    return 0;
}

/* inside[t]: an earlier token is tagged `` and no token in between up to t is tagged ''. */
static void quote_flags(const story_rec *s, unsigned char *inside)
{
    int open = 0;
    for (uint32_t t = 0; t < s->n_tokens; t++) {
        if (!strcmp(s->tokens[t].tag, "''")) open = 0;
        inside[t] = (unsigned char)open;
        if (!strcmp(s->tokens[t].tag, "``")) open = 1;
    }
}

typedef struct stat {
    int attention;   /* 0: activity, 1: attention */
    sel a, b;        /* activity: a; attention: queries a, keys b */
    char *name;      /* "activity:SEL" or "attention:QSEL/KSEL", as given */
} stat;

/* Sums of one story: per (head, stat): group sum, rest sum, group n, rest n. */
typedef struct job {
    const gptneo_model *m;
    const storyset *ss;
    const head_id *heads;
    int nh, ns;
    const stat *st;
    double **acc;              /* [story][nh * ns * 4] */
    gptneo_acts *acts;         /* [threads] */
    unsigned char **inquote;   /* [threads][maxT] */
} job;

typedef struct row_ctx {       /* the attention hook's view of one story */
    const job *j;
    const story_rec *s;
    const unsigned char *inquote;
    double *acc;
} row_ctx;

static void on_row(void *ctx, int l, int h, int i, int lo, int n, const float *p, float inv)
{
    row_ctx *rc = ctx;
    const job *j = rc->j;
    for (int k = 0; k < j->nh; k++) {
        if (j->heads[k].layer != l || j->heads[k].head != h) continue;
        for (int si = 0; si < j->ns; si++) {
            const stat *st = &j->st[si];
            if (!st->attention || !matches(&st->a, rc->s, rc->inquote, (uint32_t)i)) continue;
            double mass = 0;
            int nk = 0;
            for (int q = 0; q < n; q++)
                if (matches(&st->b, rc->s, rc->inquote, (uint32_t)(lo + q))) {
                    mass += (double)p[q] * inv;
                    nk++;
                }
            if (!nk) continue;
            double *a = rc->acc + ((size_t)k * j->ns + si) * 4;
            a[0] += mass / nk;     /* per matching key */
            a[1] += 1.0 / n;       /* per visible key */
            a[2] += 1;
            a[3] += 1;
        }
    }
}

static int run_story(void *ctx, size_t si, int w, herr *e)
{
    job *j = ctx;
    const story_rec *s = &j->ss->s[si];
    const int T = (int)s->n_tokens, H = j->m->cfg.n_head;
    double *acc = j->acc[si] = xcalloc((size_t)j->nh * j->ns * 4, sizeof(double));
    unsigned char *inq = j->inquote[w];
    quote_flags(s, inq);
    row_ctx rc = {j, s, inq, acc};
    gptneo_acts *a = &j->acts[w];
    a->attn_row = on_row;
    a->attn_ctx = &rc;
    if (gptneo_forward(j->m, j->ss->ids[si], T, a, e)) return herr_prefix(e, "story %u: ", s->story);
    for (int k = 0; k < j->nh; k++)
        for (int sx = 0; sx < j->ns; sx++) {
            const stat *st = &j->st[sx];
            if (st->attention) continue;
            double *ac = acc + ((size_t)k * j->ns + sx) * 4;
            for (int t = 0; t < T; t++) {
                const double act = a->activity[((size_t)j->heads[k].layer * T + t) * H + j->heads[k].head];
                const int g = matches(&st->a, s, inq, (uint32_t)t);
                ac[g ? 0 : 1] += act;
                ac[g ? 2 : 3] += 1;
            }
        }
    return 0;
}

int main(int argc, char **argv)
{
    herr he;
    cli_init(argv[0]);
    enum { O_MODEL = 256, O_HEADS, O_ACT, O_ATTN, O_THREADS, O_HELP, O_VERSION };
    static const struct option lo[] = {
        {"model", required_argument, 0, O_MODEL}, {"heads", required_argument, 0, O_HEADS},
        {"activity", required_argument, 0, O_ACT}, {"attention", required_argument, 0, O_ATTN},
        {"threads", required_argument, 0, O_THREADS}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, O_HELP}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    const char *model = NULL, *heads_s = NULL, *out = NULL;
    int threads = 2, ns = 0, c;
    stat st[MAX_STATS];
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
        switch (c) {
        case O_MODEL: model = optarg; break;
        case O_HEADS: heads_s = optarg; break;
        case O_ACT: case O_ATTN: {
            if (ns == MAX_STATS) die("at most %d statistics", MAX_STATS);
            stat *s = &st[ns++];
            s->attention = c == O_ATTN;
            s->name = xmalloc(strlen(optarg) + 16);
            sprintf(s->name, "%s:%s", s->attention ? "attention" : "activity", optarg);
            if (!s->attention) { parse_sel(optarg, &s->a, "--activity"); break; }
            char *buf = xstrdup(optarg), *slash = strchr(buf, '/');
            if (!slash) die("--attention takes QSEL/KSEL, e.g. 'quote/tag=``'");
            *slash = 0;
            parse_sel(buf, &s->a, "--attention");
            parse_sel(slash + 1, &s->b, "--attention");
            free(buf);
            break;
        }
        case O_THREADS: threads = (int)cli_parse_long("--threads", optarg, 1, HPOOL_MAX_THREADS); break;
        case 'o': out = optarg; break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    const char *input = cli_single_input(argc, argv);
    if (!model) die("no model (--model DIR)");
    if (!heads_s) die("no heads (--heads LIST)");
    if (!ns) die("nothing to measure (--activity SEL, --attention QSEL/KSEL)");
    gptneo_model m;
    herr e;
    cli_load_model(model, &m);
    head_id heads[SELECT_MAX_HEADS];
    int nh = 0;
    if (!strcmp(heads_s, "all")) {
        for (int l = 0; l < m.cfg.n_layer; l++)
            for (int h = 0; h < m.cfg.n_head; h++) heads[nh++] = (head_id){l, h};
    } else if ((nh = head_list_parse(heads_s, heads, SELECT_MAX_HEADS, &he)) < 0) {
        die("--heads: %s", he.msg);
    }
    for (int k = 0; k < nh; k++)
        if (heads[k].layer >= m.cfg.n_layer || heads[k].head >= m.cfg.n_head)
            die("--heads: L%dH%d is not in the model (%d layers, %d heads)", heads[k].layer, heads[k].head,
                m.cfg.n_layer, m.cfg.n_head);
    storyset ss;
    if (storyset_read(&ss, input, &m, STORYSET_TAGS, &e)) die("%s", e.msg);
    outfile *of = cli_open_output(out); /* checked before the work */
    hpool *pool = hpool_new(threads, &e);
    if (!pool) die("%s", e.msg);
    uint32_t maxT = 0;
    for (size_t s = 0; s < ss.n; s++) maxT = ss.s[s].n_tokens > maxT ? ss.s[s].n_tokens : maxT;
    job j = {.m = &m, .ss = &ss, .heads = heads, .nh = nh, .ns = ns, .st = st,
             .acc = xcalloc(ss.n, sizeof(double *)), .acts = xcalloc((size_t)threads, sizeof(gptneo_acts)),
             .inquote = xcalloc((size_t)threads, sizeof(unsigned char *))};
    for (int w = 0; w < threads; w++) {
        gptneo_acts_init(&j.acts[w]);
        j.acts[w].want_activity = 1;
        j.inquote[w] = xmalloc(maxT);
    }
    if (hpool_for(pool, ss.n, HPOOL_DYNAMIC, run_story, &j, &e)) die("%s", e.msg);
    double *tot = xcalloc((size_t)nh * ns * 4, sizeof(double));
    for (size_t s = 0; s < ss.n; s++) { /* story order: the same for any thread count */
        for (size_t i = 0; i < (size_t)nh * ns * 4; i++) tot[i] += j.acc[s][i];
        free(j.acc[s]);
    }
    cli_table_model_of(of->f, &m);
    fprintf(of->f, "# head-stats: %zu stories of %s\n", ss.n, ss.name);
    fprintf(of->f, "#layer\thead\tstatistic\tgroup\trest\tratio\tn_group\tn_rest\n");
    for (int k = 0; k < nh; k++)
        for (int s = 0; s < ns; s++) {
            const double *a = tot + ((size_t)k * ns + s) * 4;
            fprintf(of->f, "%d\t%d\t%s\t", heads[k].layer, heads[k].head, st[s].name);
            /* a group without tokens has no mean: "-", and then no ratio */
            if (a[2] > 0) fprintf(of->f, "%.9g\t", a[0] / a[2]); else fprintf(of->f, "-\t");
            if (a[3] > 0) fprintf(of->f, "%.9g\t", a[1] / a[3]); else fprintf(of->f, "-\t");
            if (a[2] > 0 && a[3] > 0 && a[1] > 0) fprintf(of->f, "%.9g", (a[0] / a[2]) / (a[1] / a[3]));
            else fprintf(of->f, "-");
            fprintf(of->f, "\t%.0f\t%.0f\n", a[2], a[3]);
        }
    cli_close_output(of);
    for (int w = 0; w < threads; w++) {
        gptneo_acts_free(&j.acts[w]);
        free(j.inquote[w]);
    }
    free(j.acc); free(j.acts); free(j.inquote); free(tot);
    for (int s = 0; s < ns; s++) free(st[s].name);
    hpool_free(pool);
    storyset_free(&ss);
    gptneo_free(&m);
    return 0;
}
