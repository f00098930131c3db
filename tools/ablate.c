/* ablate: the model with heads removed, and the next-token cross-entropy of
 * every token, clean and ablated (docs/heads.md).
 *
 *   ablate --model m --heads L6H4 test.tagged > l6h4.tsv
 *   ablate --model m --mode mean --sweep test.tagged > sweep.tsv
 *
 * Reads: a tokens/tagged/activations stream and a model directory.
 * Writes: a TSV table: per token, clean and ablated loss (--heads); or, for
 * every head ablated alone, the mean losses per next-token tag (--sweep).
 * Each ablated run starts from the clean residual stream entering the
 * lowest ablated layer: only what the ablation changes is recomputed.
 * Links: model/gptneo (z replacement, gptneo_forward_from, the chunked LM
 * head), model/storyset, base/pool.
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

static void usage(void)
{
    printf(
        "usage: ablate --model DIR (--heads LIST | --sweep) [options] [INPUT]\n"
        "Run the model with heads removed (docs/heads.md): --mode zero sets a head's z to\n"
        "0, --mode mean to its mean over every position of the input; the next-token\n"
        "cross-entropy (nats) of every token, clean and ablated.\n\n"
        "  --model DIR        model directory (required)\n"
        "  --mode zero|mean   (default zero)\n"
        "  --heads LIST       ablate these together (L2H0,L6H4; none = nothing):\n"
        "                     one row per token: story pos token next tag clean ablated delta\n"
        "  --sweep            every head alone: per head and next-token tag, mean losses:\n"
        "                     layer head tag n clean ablated delta\n"
        "  --take N           only the first N stories of the input (all when fewer)\n"
        "  --threads N (2)    stories in parallel (same output)\n"
        "  -o, --output FILE  output (default stdout)\n"
        "  --help, --version\n\n"
        "example:\n"
        "  ablate --model m --sweep test.tagged | awk '$3 == \"VBD\"' | sort -k7,7gr | head\n");
    exit(0);
}

typedef struct opts {
    const char *model, *out, *input, *heads;
    int mean, sweep, threads;
    long take;
} opts;

static void parse_args(int argc, char **argv, opts *o)
{
    enum { O_MODEL = 256, O_MODE, O_HEADS, O_SWEEP, O_TAKE, O_THREADS, O_HELP, O_VERSION };
    static const struct option lo[] = {
        {"model", required_argument, 0, O_MODEL}, {"mode", required_argument, 0, O_MODE},
        {"heads", required_argument, 0, O_HEADS}, {"sweep", no_argument, 0, O_SWEEP},
        {"take", required_argument, 0, O_TAKE},
        {"threads", required_argument, 0, O_THREADS}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, O_HELP}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    *o = (opts){.threads = 2};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", lo, NULL)) != -1) {
        switch (c) {
        case O_MODEL: o->model = optarg; break;
        case O_MODE:
            o->mean = cli_parse_choice("--mode", optarg, (const char *const[]){"zero", "mean", NULL});
            break;
        case O_HEADS: o->heads = optarg; break;
        case O_SWEEP: o->sweep = 1; break;
        case O_TAKE: o->take = cli_parse_long("--take", optarg, 1, 1L << 40); break;
        case O_THREADS: o->threads = (int)cli_parse_long("--threads", optarg, 1, HPOOL_MAX_THREADS); break;
        case 'o': o->out = optarg; break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    o->input = cli_single_input(argc, argv);
    if (!o->model) die("no model (--model DIR)");
    if (!o->heads == !o->sweep) die("give one of --heads LIST and --sweep");
}

/* What every worker shares. */
typedef struct job {
    const gptneo_model *m;
    const storyset *ss;
    unsigned char *mask;       /* [L*H]: the --heads set */
    int first;                 /* lowest layer of the set (L: none) */
    float *z_value;            /* [L][D] replacement values */
    int sweep;
    char (*tags)[TAG_MAX + 1]; /* [n_tags] sorted (sweep) */
    int n_tags;
    double **clean, **abl;     /* --heads: [story][T-1] losses */
    double **sum;              /* --sweep: [story][L*H][K][2] clean, ablated; K = n_tags + 1 */
    long **cnt;                /* --sweep: [story][K] */
    gptneo_acts *ca, *aa;      /* [threads] clean and ablated runs */
    double **loss;             /* [threads][positions] scratch */
    double *zsum;              /* mean mode's first pass: [story][L][D] */
} job;

/* Mean mode's first pass: the sum of every layer's z over a story. */
static int sum_z(void *ctx, size_t si, int w, herr *e)
{
    job *j = ctx;
    const story_rec *s = &j->ss->s[si];
    const int T = (int)s->n_tokens, L = j->m->cfg.n_layer, D = j->m->cfg.n_embd;
    gptneo_acts *a = &j->ca[w];
    if (gptneo_forward(j->m, j->ss->ids[si], T, a, e)) return herr_prefix(e, "story %u: ", s->story);
    double *zs = j->zsum + si * (size_t)L * D;
    for (int l = 0; l < L; l++)
        for (int t = 0; t < T; t++)
            for (int i = 0; i < D; i++) zs[(size_t)l * D + i] += a->z[((size_t)l * T + t) * D + i];
    return 0;
}

static int tag_index(const job *j, const char *tag)
{
    int lo = 0, hi = j->n_tags - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2, c = strcmp(j->tags[mid], tag);
        if (!c) return mid;
        if (c < 0) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

/* One story: the clean run, then the ablated run(s). */
static int run_story(void *ctx, size_t si, int w, herr *e)
{
    job *j = ctx;
    const gptneo_model *m = j->m;
    const story_rec *s = &j->ss->s[si];
    const uint32_t *ids = j->ss->ids[si];
    const int T = (int)s->n_tokens, L = m->cfg.n_layer, H = m->cfg.n_head, D = m->cfg.n_embd;
    gptneo_acts *ca = &j->ca[w], *aa = &j->aa[w];
    if (gptneo_forward(m, ids, T, ca, e) || gptneo_token_losses(m, ca, ids, j->loss[w], e))
        return herr_prefix(e, "story %u: ", s->story);
    const double *clean = j->loss[w];
    if (!j->sweep) {
        j->clean[si] = xmalloc((size_t)(T > 1 ? T - 1 : 1) * sizeof(double));
        j->abl[si] = xmalloc((size_t)(T > 1 ? T - 1 : 1) * sizeof(double));
        memcpy(j->clean[si], clean, (size_t)(T - 1) * sizeof(double));
        const int l0 = j->first < L ? j->first : 0;
        aa->z_mask = j->first < L ? j->mask : NULL;
        aa->z_value = j->z_value;
        if (gptneo_forward_from(m, ids, T, l0, ca->resid + (size_t)2 * l0 * T * D, aa, e) ||
            gptneo_token_losses(m, aa, ids, j->abl[si], e))
            return herr_prefix(e, "story %u: ", s->story);
        return 0;
    }
    const int K = j->n_tags + 1;
    double *sum = j->sum[si] = xcalloc((size_t)L * H * K * 2, sizeof(double));
    long *cnt = j->cnt[si] = xcalloc((size_t)K, sizeof(long));
    int *tag = xmalloc((size_t)(T > 1 ? T - 1 : 1) * sizeof *tag);
    for (int t = 0; t + 1 < T; t++) {
        tag[t] = tag_index(j, s->tokens[t + 1].tag);
        cnt[tag[t]]++;
        cnt[K - 1]++;
    }
    double *abl = j->loss[w] + T; /* the scratch holds clean [T-1] then ablated [T-1] */
    unsigned char *mask = xcalloc((size_t)L * H, 1);
    aa->z_mask = mask;
    aa->z_value = j->z_value;
    int rc = 0;
    for (int l = 0; l < L && !rc; l++)
        for (int h = 0; h < H && !rc; h++) {
            mask[l * H + h] = 1;
            if (gptneo_forward_from(m, ids, T, l, ca->resid + (size_t)2 * l * T * D, aa, e) ||
                gptneo_token_losses(m, aa, ids, abl, e))
                rc = herr_prefix(e, "story %u: ", s->story);
            mask[l * H + h] = 0;
            double *row = sum + ((size_t)l * H + h) * K * 2;
            for (int t = 0; !rc && t + 1 < T; t++) {
                row[2 * tag[t]] += clean[t];
                row[2 * tag[t] + 1] += abl[t];
                row[2 * (K - 1)] += clean[t];
                row[2 * (K - 1) + 1] += abl[t];
            }
        }
    aa->z_mask = NULL;
    free(mask);
    free(tag);
    return rc;
}

static int cmp_tag(const void *a, const void *b) { return strcmp(a, b); }

/* The set of --heads: mask and lowest layer; "none" is the empty set. */
static void parse_heads(const char *spec, const gptneo_model *m, unsigned char *mask, int *first)
{
    const int L = m->cfg.n_layer, H = m->cfg.n_head;
    *first = L;
    if (!strcmp(spec, "none")) return;
    head_id hs[SELECT_MAX_HEADS];
    herr he;
    int n = head_list_parse(spec, hs, SELECT_MAX_HEADS, &he);
    if (n < 0) die("--heads: %s", he.msg);
    for (int k = 0; k < n; k++) {
        if (hs[k].layer >= L || hs[k].head >= H)
            die("--heads: L%dH%d is not in the model (%d layers, %d heads)", hs[k].layer, hs[k].head, L, H);
        mask[hs[k].layer * H + hs[k].head] = 1;
        if (hs[k].layer < *first) *first = hs[k].layer;
    }
}

static void write_tokens(const job *j, FILE *f)
{
    fprintf(f, "#story\tpos\ttoken\tnext\ttag\tclean\tablated\tdelta\n");
    for (size_t si = 0; si < j->ss->n; si++) {
        const story_rec *s = &j->ss->s[si];
        for (uint32_t t = 0; t + 1 < s->n_tokens; t++) {
            char word[256], next[256];
            story_token_word(s, t, word, sizeof word);
            story_token_word(s, t + 1, next, sizeof next);
            const double c = j->clean[si][t], a = j->abl[si][t];
            fprintf(f, "%u\t%u\t%s\t%s\t%s\t%.9g\t%.9g\t%.9g\n", s->story, t, word, next,
                    story_tag_field((s->flags & STORY_HAS_TAGS) ? s->tokens[t + 1].tag : ""), c, a, a - c);
        }
    }
}

static void write_sweep(const job *j, FILE *f)
{
    const int LH = j->m->cfg.n_layer * j->m->cfg.n_head, K = j->n_tags + 1, H = j->m->cfg.n_head;
    double *sum = xcalloc((size_t)LH * K * 2, sizeof(double));
    long *cnt = xcalloc((size_t)K, sizeof(long));
    for (size_t si = 0; si < j->ss->n; si++) { /* story order: the same for any thread count */
        for (size_t i = 0; i < (size_t)LH * K * 2; i++) sum[i] += j->sum[si][i];
        for (int k = 0; k < K; k++) cnt[k] += j->cnt[si][k];
    }
    fprintf(f, "#layer\thead\ttag\tn\tclean\tablated\tdelta\n");
    for (int hh = 0; hh < LH; hh++) {
        const double *row = sum + (size_t)hh * K * 2;
        for (int k = -1; k < j->n_tags; k++) { /* (all) first, then the tags */
            const int kk = k < 0 ? K - 1 : k;
            if (!cnt[kk]) continue;
            const double c = row[2 * kk] / (double)cnt[kk], a = row[2 * kk + 1] / (double)cnt[kk];
            fprintf(f, "%d\t%d\t%s\t%ld\t%.9g\t%.9g\t%.9g\n", hh / H, hh % H,
                    k < 0 ? "(all)" : story_tag_field(j->tags[kk]), cnt[kk], c, a, a - c);
        }
    }
    free(sum);
    free(cnt);
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    opts o;
    parse_args(argc, argv, &o);
    gptneo_model m;
    herr e;
    cli_load_model(o.model, &m);
    const int L = m.cfg.n_layer, H = m.cfg.n_head, D = m.cfg.n_embd;
    job j = {.m = &m, .sweep = o.sweep, .mask = xcalloc((size_t)L * H, 1),
             .z_value = xcalloc((size_t)L * D, sizeof(float))};
    if (o.heads) parse_heads(o.heads, &m, j.mask, &j.first);
    storyset ss;
    if (storyset_read(&ss, o.input, &m, 0, &e)) die("%s", e.msg);
    while (o.take && ss.n > (size_t)o.take) { /* the first N stories */
        ss.n--;
        story_free(&ss.s[ss.n]);
        free(ss.ids[ss.n]);
    }
    j.ss = &ss;
    outfile *of = cli_open_output(o.out); /* checked before the work */
    hpool *pool = hpool_new(o.threads, &e);
    if (!pool) die("%s", e.msg);
    const int NT = hpool_threads(pool);
    uint32_t maxT = 0;
    for (size_t s = 0; s < ss.n; s++) maxT = ss.s[s].n_tokens > maxT ? ss.s[s].n_tokens : maxT;
    j.ca = xcalloc((size_t)NT, sizeof *j.ca);
    j.aa = xcalloc((size_t)NT, sizeof *j.aa);
    j.loss = xcalloc((size_t)NT, sizeof *j.loss);
    for (int w = 0; w < NT; w++) {
        gptneo_acts_init(&j.ca[w]);
        gptneo_acts_init(&j.aa[w]);
        j.ca[w].want_resid = 1;
        j.loss[w] = xmalloc(2 * (size_t)maxT * sizeof(double));
    }
    if (o.mean) { /* the first pass: every head's mean z over every position */
        j.zsum = xcalloc(ss.n * (size_t)L * D, sizeof(double));
        if (hpool_for(pool, ss.n, HPOOL_DYNAMIC, sum_z, &j, &e)) die("%s", e.msg);
        double *tot = xcalloc((size_t)L * D, sizeof(double));
        long npos = 0;
        for (size_t s = 0; s < ss.n; s++) {
            npos += ss.s[s].n_tokens;
            for (size_t i = 0; i < (size_t)L * D; i++) tot[i] += j.zsum[s * (size_t)L * D + i];
        }
        for (size_t i = 0; i < (size_t)L * D; i++) j.z_value[i] = (float)(tot[i] / (double)npos);
        free(tot);
        free(j.zsum);
    }
    if (o.sweep) {
        size_t cap = 64;
        j.tags = xmalloc(cap * sizeof *j.tags);
        for (size_t s = 0; s < ss.n; s++)
            for (uint32_t t = 1; t < ss.s[s].n_tokens; t++) {
                int found = 0;
                for (int k = 0; k < j.n_tags && !found; k++) found = !strcmp(j.tags[k], ss.s[s].tokens[t].tag);
                if (found) continue;
                if ((size_t)j.n_tags == cap) j.tags = xrealloc(j.tags, (cap *= 2) * sizeof *j.tags);
                strcpy(j.tags[j.n_tags++], ss.s[s].tokens[t].tag);
            }
        qsort(j.tags, (size_t)j.n_tags, sizeof *j.tags, cmp_tag);
        j.sum = xcalloc(ss.n, sizeof *j.sum);
        j.cnt = xcalloc(ss.n, sizeof *j.cnt);
    } else {
        j.clean = xcalloc(ss.n, sizeof *j.clean);
        j.abl = xcalloc(ss.n, sizeof *j.abl);
    }
    if (hpool_for(pool, ss.n, HPOOL_DYNAMIC, run_story, &j, &e)) die("%s", e.msg);

    cli_table_model_of(of->f, &m);
    fprintf(of->f, "# ablate: %s, mode %s, %zu stories of %s\n", o.sweep ? "sweep (each head alone)" : o.heads,
            o.mean ? "mean" : "zero", ss.n, ss.name);
    if (o.sweep) write_sweep(&j, of->f);
    else write_tokens(&j, of->f);
    cli_close_output(of);

    for (size_t s = 0; s < ss.n; s++) {
        if (j.sum) { free(j.sum[s]); free(j.cnt[s]); }
        if (j.clean) { free(j.clean[s]); free(j.abl[s]); }
    }
    for (int w = 0; w < NT; w++) {
        gptneo_acts_free(&j.ca[w]);
        gptneo_acts_free(&j.aa[w]);
        free(j.loss[w]);
    }
    free(j.sum); free(j.cnt); free(j.clean); free(j.abl); free(j.ca); free(j.aa); free(j.loss);
    free(j.tags); free(j.mask); free(j.z_value);
    hpool_free(pool);
    storyset_free(&ss);
    gptneo_free(&m);
    return 0;
}
