/* head-scores: the standard head detectors for every head of a model:
 * induction, duplicate-token and previous-token scores on repeated random
 * token sequences, and the previous-token score on natural text.
 *
 *   head-scores --model models/standin --tokens-from test.tagged --text test.tagged > scores.tsv
 *
 * Reads: a model directory; optionally a tokens/tagged/activations stream
 * (--tokens-from: the pool random tokens are drawn from; --text: stories for
 * previous_text).  Writes: a TSV table, one row per head (docs/heads.md has
 * every definition: which positions count, the generator of the sequences).
 * Links: model/gptneo (the forward's attention-row hook), model/storyset,
 * base/pool, base/rng.
 */
#include "base/pool.h"
#include "base/rng.h"
#include "cli/cli.h"
#include "cli/toolmodel.h"
#include "io/outfile.h"
#include "model/gptneo.h"
#include "model/storyset.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void usage(void)
{
    printf(
        "usage: head-scores --model DIR [options]\n"
        "Score every head of a model as a known head type (docs/heads.md): on --batch\n"
        "sequences of --seq-len random tokens repeated once, the induction score (mean\n"
        "attention from the second copy to the token after the earlier occurrence), the\n"
        "duplicate-token score (to the earlier occurrence) and the previous-token score;\n"
        "with --text, the previous-token score on natural text.  TSV out.\n\n"
        "  --model DIR          model directory (required)\n"
        "  --seq-len N (50)     random tokens per copy\n"
        "  --batch N (10)       sequences\n"
        "  --seed N (1)         the generator's seed (splitmix64)\n"
        "  --tokens-from FILE   draw from the distinct ids of this tokens/tagged stream\n"
        "                       (default: every id of the vocabulary)\n"
        "  --bos ID             put token ID before each sequence\n"
        "  --text FILE          also score previous-token attention on these stories\n"
        "  --threads N (2)      sequences / stories run in parallel (same output)\n"
        "  -o, --output FILE    output (default stdout)\n"
        "  --help, --version\n\n"
        "example:\n"
        "  head-scores --model models/standin --tokens-from out/standin/test.tagged \\\n"
        "    --text out/standin/test.tagged | sort -t$'\\t' -k3,3gr | head\n");
    exit(0);
}

typedef struct opts {
    const char *model, *out, *pool_from, *text;
    long seq_len, batch, bos, threads;
    uint64_t seed;
} opts;

static void parse_args(int argc, char **argv, opts *o)
{
    enum { O_MODEL = 256, O_SEQ, O_BATCH, O_SEED, O_FROM, O_BOS, O_TEXT, O_THREADS, O_HELP, O_VERSION };
    static const struct option lo[] = {
        {"model", required_argument, 0, O_MODEL}, {"seq-len", required_argument, 0, O_SEQ},
        {"batch", required_argument, 0, O_BATCH}, {"seed", required_argument, 0, O_SEED},
        {"tokens-from", required_argument, 0, O_FROM}, {"bos", required_argument, 0, O_BOS},
        {"text", required_argument, 0, O_TEXT}, {"threads", required_argument, 0, O_THREADS},
        {"output", required_argument, 0, 'o'}, {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    *o = (opts){.seq_len = 50, .batch = 10, .bos = -1, .threads = 2, .seed = 1};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
        switch (c) {
        case O_MODEL: o->model = optarg; break;
        case O_SEQ: o->seq_len = cli_parse_long("--seq-len", optarg, 1, 1 << 20); break;
        case O_BATCH: o->batch = cli_parse_long("--batch", optarg, 1, 1 << 20); break;
        case O_SEED: o->seed = (uint64_t)cli_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
        case O_FROM: o->pool_from = optarg; break;
        case O_BOS: o->bos = cli_parse_long("--bos", optarg, 0, 0x7fffffff); break;
        case O_TEXT: o->text = optarg; break;
        case O_THREADS: o->threads = cli_parse_long("--threads", optarg, 1, HPOOL_MAX_THREADS); break;
        case 'o': o->out = optarg; break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    if (optind < argc) die("unexpected argument '%s' (inputs are --tokens-from and --text)", argv[optind]);
    if (!o->model) die("no model (--model DIR)");
}

/* The pool random tokens are drawn from: ascending distinct ids. */
static uint32_t *token_pool(const opts *o, const gptneo_model *m, size_t *n)
{
    const int V = m->cfg.vocab_size;
    uint32_t *pool = xmalloc((size_t)V * sizeof *pool);
    *n = 0;
    if (!o->pool_from) {
        for (int v = 0; v < V; v++) pool[(*n)++] = (uint32_t)v;
        return pool;
    }
    storyset ss;
    herr e;
    if (storyset_read(&ss, o->pool_from, m, STORYSET_EMPTY_OK, &e)) die("--tokens-from: %s", e.msg);
    unsigned char *seen = xcalloc((size_t)V, 1);
    for (size_t s = 0; s < ss.n; s++)
        for (uint32_t t = 0; t < ss.s[s].n_tokens; t++) seen[ss.ids[s][t]] = 1;
    for (int v = 0; v < V; v++)
        if (seen[v]) pool[(*n)++] = (uint32_t)v;
    free(seen);
    storyset_free(&ss);
    return pool;
}

/* The sequences (docs/heads.md): [bos] r_0..r_{L-1} r_0..r_{L-1}, the r
 * distinct within a copy, drawn from one splitmix64 state. */
static uint32_t *make_sequences(const opts *o, const uint32_t *pool, size_t np, int T)
{
    const int L = (int)o->seq_len, off = o->bos >= 0;
    uint32_t *seq = xmalloc((size_t)o->batch * T * sizeof *seq);
    uint64_t s = o->seed;
    for (long b = 0; b < o->batch; b++) {
        uint32_t *q = seq + (size_t)b * T;
        if (off) q[0] = (uint32_t)o->bos;
        for (int i = 0; i < L; i++) {
            uint32_t tok;
            int again;
            do {
                tok = pool[rng_next(&s) % np];
                again = 0;
                for (int k = 0; k < i; k++) again |= q[off + k] == tok;
            } while (again);
            q[off + i] = q[off + L + i] = tok;
        }
    }
    return seq;
}

/* Sums of one sequence or story: [L*H][3] (induction, duplicate, previous). */
typedef struct item_sums {
    double *sum;     /* [L*H*3] */
    int n_head;      /* H */
    int seq_len;     /* L of the random copies, 0 for natural text */
    int off;         /* 1 with a bos token */
} item_sums;

/* The attention-row hook: add the probabilities at the score's keys
 * (p[j - lo] * inv for keys in [lo, lo + n), 0 for masked keys). */
static void on_row(void *ctx, int l, int h, int i, int lo, int n, const float *p, float inv)
{
    item_sums *it = ctx;
    double *acc = it->sum + 3 * ((size_t)l * it->n_head + h);
    const int L = it->seq_len, off = it->off;
#define PROB(j) ((j) >= lo && (j) < lo + n ? (double)(p[(j) - lo] * inv) : 0.0)
    if (L > 0 && i >= off + L) {
        acc[0] += PROB(i - L + 1);
        acc[1] += PROB(i - L);
    }
    if (i >= 1) acc[2] += PROB(i - 1);
#undef PROB
}

typedef struct job {
    const gptneo_model *m;
    const uint32_t *const *ids;  /* [n] sequences or stories */
    const int *len;              /* [n] */
    item_sums *items;            /* [n] */
    gptneo_acts *acts;           /* [threads] */
} job;

static int run_item(void *ctx, size_t i, int w, herr *e)
{
    job *j = ctx;
    gptneo_acts *a = &j->acts[w];
    a->attn_row = on_row;
    a->attn_ctx = &j->items[i];
    return gptneo_forward(j->m, j->ids[i], j->len[i], a, e);
}

/* Run n sequences / stories and sum each one's scores (in item order, so
 * the result does not depend on the thread count).
 * @param out [L*H*3] receives the totals */
static void run_all(hpool *pool, const gptneo_model *m, size_t n, const uint32_t *const *ids,
                    const int *len, int seq_len, int off, double *out)
{
    const size_t LH = (size_t)m->cfg.n_layer * m->cfg.n_head;
    item_sums *items = xcalloc(n, sizeof *items);
    for (size_t i = 0; i < n; i++) {
        items[i].sum = xcalloc(LH * 3, sizeof(double));
        items[i].n_head = m->cfg.n_head;
        items[i].seq_len = seq_len;
        items[i].off = off;
    }
    job j = {.m = m, .ids = ids, .len = len, .items = items,
             .acts = xcalloc((size_t)hpool_threads(pool), sizeof(gptneo_acts))};
    for (int w = 0; w < hpool_threads(pool); w++) gptneo_acts_init(&j.acts[w]);
    herr e;
    if (hpool_for(pool, n, HPOOL_DYNAMIC, run_item, &j, &e)) die("%s", e.msg);
    memset(out, 0, LH * 3 * sizeof(double));
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < LH * 3; k++) out[k] += items[i].sum[k];
        free(items[i].sum);
    }
    for (int w = 0; w < hpool_threads(pool); w++) gptneo_acts_free(&j.acts[w]);
    free(j.acts);
    free(items);
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    opts o;
    parse_args(argc, argv, &o);
    gptneo_model m;
    herr e;
    cli_load_model(o.model, &m);
    const int L = m.cfg.n_layer, H = m.cfg.n_head, SL = (int)o.seq_len, off = o.bos >= 0;
    const int T = 2 * SL + off;
    if (o.bos >= m.cfg.vocab_size) die("--bos %ld is outside the vocabulary (%d)", o.bos, m.cfg.vocab_size);
    if (T > m.cfg.n_positions)
        die("--seq-len %d: sequences of %d tokens exceed the model's %d positions", SL, T, m.cfg.n_positions);
    size_t np;
    uint32_t *pool_ids = token_pool(&o, &m, &np);
    if (np < (size_t)SL)
        die("--seq-len %d needs at least %d distinct tokens to draw from; the pool has %zu", SL, SL, np);
    storyset text = {0};
    if (o.text && storyset_read(&text, o.text, &m, 0, &e)) die("--text: %s", e.msg);
    outfile *of = cli_open_output(o.out); /* checked before the work */

    hpool *pool = hpool_new((int)o.threads, &e);
    if (!pool) die("%s", e.msg);
    uint32_t *seq = make_sequences(&o, pool_ids, np, T);
    const uint32_t **sp = xmalloc((size_t)o.batch * sizeof *sp);
    int *slen = xmalloc((size_t)o.batch * sizeof *slen);
    for (long b = 0; b < o.batch; b++) {
        sp[b] = seq + (size_t)b * T;
        slen[b] = T;
    }
    double *rnd = xmalloc((size_t)L * H * 3 * sizeof(double)), *txt = NULL;
    run_all(pool, &m, (size_t)o.batch, sp, slen, SL, off, rnd);
    long txt_n = 0;
    if (o.text) {
        int *tl = xmalloc(text.n * sizeof *tl);
        for (size_t s = 0; s < text.n; s++) {
            tl[s] = (int)text.s[s].n_tokens;
            txt_n += tl[s] - 1;
        }
        txt = xmalloc((size_t)L * H * 3 * sizeof(double));
        run_all(pool, &m, text.n, (const uint32_t *const *)text.ids, tl, 0, 0, txt);
        free(tl);
    }

    FILE *f = of->f;
    cli_table_model_of(f, &m);
    fprintf(f, "# head-scores: seq-len %d batch %ld seed %llu tokens %s (%zu ids)", SL, o.batch,
            (unsigned long long)o.seed, o.pool_from ? o.pool_from : "uniform", np);
    if (off) fprintf(f, " bos %ld\n", o.bos);
    else fprintf(f, " bos none\n");
    if (o.text) fprintf(f, "# text: %s (%zu stories, %ld query positions)\n", text.name, text.n, txt_n);
    fprintf(f, "#layer\thead\tinduction\tduplicate\tprevious%s\n", o.text ? "\tprevious_text" : "");
    const double n_second = (double)o.batch * SL, n_prev = (double)o.batch * (T - 1);
    for (int l = 0; l < L; l++)
        for (int h = 0; h < H; h++) {
            const double *r = rnd + 3 * ((size_t)l * H + h);
            fprintf(f, "%d\t%d\t%.9g\t%.9g\t%.9g", l, h, r[0] / n_second, r[1] / n_second, r[2] / n_prev);
            if (o.text) fprintf(f, "\t%.9g", txt[3 * ((size_t)l * H + h) + 2] / (double)txt_n);
            fputc('\n', f);
        }
    cli_close_output(of);
    hpool_free(pool);
    storyset_free(&text);
    free(seq); free(sp); free(slen); free(rnd); free(txt); free(pool_ids);
    gptneo_free(&m);
    return 0;
}
