/* probe-bootstrap: probes + activations (test split) -> for every tag, its
 * best heads' F1 with a 95% bootstrap interval over test stories
 * (probe/bootstrap.h: stories resampled with replacement, B replicates,
 * seeded; percentile interval as numpy.percentile).
 *
 *   probe-bootstrap --probes probes.hs -B 1000 --seed 1 -o bootstrap.tsv test.acts
 *
 * The heads are ranked per vector kind and tag by their F1 on the whole
 * test split (the same numbers probe-eval reports; ties to the lower layer,
 * then head, as probe-compare picks its best head); the --top best of each
 * are resampled, all on the same draws, so "best_share" (how often a head
 * beats the others of its list) compares them paired.
 *
 * Reads: a probes stream and an activations stream (test split).  Writes:
 * a TSV table.  Links: probe/bootstrap, probe/logreg, probe/probedata,
 * probe/clsreport, base/pool.
 */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "cli/cli.h"
#include "cli/toolio.h"
#include "cli/toolprobe.h"
#include "io/outfile.h"
#include "io/records.h"
#include "io/stream.h"
#include "probe/bootstrap.h"
#include "probe/clsreport.h"
#include "probe/logreg.h"
#include "probe/probedata.h"
#include "probe/pyfmt.h"
#include "text/tagmap.h"

static void usage(void)
{
    printf(
        "usage: probe-bootstrap --probes FILE [options] [INPUT]\n"
        "For every vector kind and POS tag of the test split (INPUT, stdin by default):\n"
        "the --top heads with the best F1 (as probe-eval reports it), each with a 95%%\n"
        "interval from a bootstrap over test stories: B replicates, each n stories\n"
        "drawn with replacement (seeded splitmix64), F1 recomputed from the drawn\n"
        "stories' counts; the interval is the 2.5th and 97.5th percentile (numpy's\n"
        "linear rule).  Every head is scored on the same draws.\n"
        "\n"
        "  --probes FILE      probes stream (required)\n"
        "  -B, --replicates N bootstrap replicates (default 1000)\n"
        "  --seed N           seed of the draws (default 1)\n"
        "  --top N            heads per kind and tag (default 2: the best and the\n"
        "                     runner-up)\n"
        "  --tags LIST        only these tags, comma-separated ((none) or an empty\n"
        "                     name is the empty tag); a tag no test token has is refused\n"
        "  --threads N        probes scored in parallel (default 2; the output does\n"
        "                     not depend on it)\n"
        "  -o, --output FILE  TSV (default stdout): comment lines naming the model,\n"
        "                     the probes, the test data and the bootstrap, then\n"
        "                     vector, tag, rank, head, F1, lo, hi, best_share (the\n"
        "                     share of replicates in which this head's F1 is the\n"
        "                     highest of its list; ties shared), support, replicates\n"
        "                     (those whose stories hold the tag: the others have no\n"
        "                     F1 for it and are left out; '-' for lo, hi, best_share\n"
        "                     when none is left); the empty tag is an empty field\n"
        "  --help, --version\n"
        "\n"
        "example:\n"
        "  probe-bootstrap --probes probes.probes -o bootstrap.tsv test.acts\n");
    exit(0);
}

typedef struct shared {
    const probe_rec *probes;
    const int *offset;       /* [n_probes] in a gathered row */
    const int **cmap;        /* [n_probes][K_p] class -> label index */
    const float *feats;      /* [n][per] */
    size_t n, per;
    const int *y;            /* [n] label index */
    const uint32_t *story;   /* [n] story ordinal */
    uint32_t n_stories;
    int L;                   /* labels */
    boot_counts *counts;     /* [n_probes][n_stories][L] */
    double **x;              /* [threads][max dim] */
} shared;

static int count_one(void *ctx, size_t item, int w, herr *e)
{
    (void)e;
    shared *s = ctx;
    const probe_rec *p = &s->probes[item];
    double *x = s->x[w];
    boot_counts *c = s->counts + item * (size_t)s->n_stories * s->L;
    for (size_t i = 0; i < s->n; i++) {
        const float *f = s->feats + i * s->per + s->offset[item];
        for (uint32_t a = 0; a < p->dim; a++) x[a] = f[a];
        int pred = s->cmap[item][logreg_predict(p->weights, (int)p->n_classes, (int)p->dim, x)];
        boot_counts *row = c + (size_t)s->story[i] * s->L;
        row[s->y[i]].support++;
        row[pred].pred++;
        if (pred == s->y[i]) row[pred].tp++;
    }
    return 0;
}

static int cmp_name(const void *a, const void *b, void *ctx)
{
    const tagset *t = ctx;
    return strcmp(t->name[*(const int *)a], t->name[*(const int *)b]);
}

typedef struct opts {
    const char *probes_path, *out, *tags_list, *input;
    long B, top;
    long long seed;
    int threads;
} opts;

static void parse_args(int argc, char **argv, opts *o)
{
    enum { O_PROBES = 256, O_SEED, O_TOP, O_TAGS, O_THREADS, O_HELP, O_VERSION };
    static const struct option lo[] = {
        {"probes", required_argument, 0, O_PROBES}, {"replicates", required_argument, 0, 'B'},
        {"seed", required_argument, 0, O_SEED},     {"top", required_argument, 0, O_TOP},
        {"tags", required_argument, 0, O_TAGS},     {"threads", required_argument, 0, O_THREADS},
        {"output", required_argument, 0, 'o'},      {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION},     {0, 0, 0, 0}};
    *o = (opts){.B = 1000, .top = 2, .seed = 1, .threads = 2};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:B:h", lo, NULL)) != -1) {
        switch (c) {
        case O_PROBES: o->probes_path = optarg; break;
        case 'B': o->B = cli_parse_long("--replicates", optarg, 1, 1000000); break;
        case O_SEED: o->seed = cli_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
        case O_TOP: o->top = cli_parse_long("--top", optarg, 1, 64); break;
        case O_TAGS: o->tags_list = optarg; break;
        case O_THREADS: o->threads = (int)cli_parse_long("--threads", optarg, 1, HPOOL_MAX_THREADS); break;
        case 'o': o->out = optarg; break;
        case 'h': case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    o->input = cli_single_input(argc, argv);
    if (!o->probes_path) die("no probes (--probes FILE, written by probe-fit)");
    if (!strcmp(o->probes_path, "-") && (!o->input || !strcmp(o->input, "-")))
        die("--probes and the test activations both read stdin; give one of them as a file");
}

/* The probes (cli_read_probes) and the test split (cli_read_test), read and matched. */
typedef struct run {
    probe_rec *probes;
    int n_probes;
    tagmap tm;
    stream_header ph;        /* the probes' header */
    cli_probe_test T;        /* the test split: tokens, header, tags, class maps */
} run;

/* Every tag --tags asks for is a tag of the test split. */
static void check_tags(const opts *o, const run *R)
{
    if (!o->tags_list) return;
    const int L = R->T.names.n;
    uint64_t *n_of = xcalloc((size_t)L, sizeof *n_of);
    for (size_t i = 0; i < R->T.pd.n; i++) n_of[R->T.pd.labels[i]]++;
    for (const char *p = o->tags_list;;) {
        const char *c = strchr(p, ',');
        const size_t l = c ? (size_t)(c - p) : strlen(p);
        int k;
        for (k = 0; k < L; k++)
            if (story_tag_item_names(p, l, R->T.names.name[k])) break;
        if (k == L || !n_of[k]) {
            if (!story_tag_item_names(p, l, ""))
                die("--tags: no test token is tagged '%.*s'%s", (int)l, p,
                    R->tm.n_merge || R->tm.n_drop ? " (after the probes' merges and drops)" : "");
            die("--tags: no test token has the empty tag ((none) or an empty name in the list is the empty tag)");
        }
        if (!c) break;
        p = c + 1;
    }
    free(n_of);
}

/* Per probe, story and label: tp, predicted, support, on the pool. */
static boot_counts *count(const opts *o, const run *R)
{
    const int L = R->T.names.n;
    const uint32_t S = R->T.pd.n_stories;
    shared sh = {.probes = R->probes, .offset = R->T.offset, .cmap = (const int **)R->T.cmap, .feats = R->T.pd.feats,
                 .n = R->T.pd.n, .per = R->T.per, .y = R->T.pd.labels, .story = R->T.pd.story_of, .n_stories = S, .L = L};
    sh.counts = xcalloc((size_t)R->n_probes * S * L, sizeof *sh.counts);
    const int threads = o->threads > R->n_probes ? R->n_probes : o->threads;
    sh.x = xmalloc((size_t)threads * sizeof *sh.x);
    int max_dim = 1;
    for (int p = 0; p < R->n_probes; p++) max_dim = (int)R->probes[p].dim > max_dim ? (int)R->probes[p].dim : max_dim;
    for (int t = 0; t < threads; t++) sh.x[t] = xmalloc((size_t)max_dim * sizeof **sh.x);
    herr e;
    hpool *pool = hpool_new(threads, &e);
    if (!pool) die("%s", e.msg);
    if (hpool_for(pool, (size_t)R->n_probes, HPOOL_DYNAMIC, count_one, &sh, &e) != 0) die("%s", e.msg);
    hpool_free(pool);
    for (int t = 0; t < threads; t++) free(sh.x[t]);
    free(sh.x);
    return sh.counts;
}

/* The table: per vector kind and tag, its --top best heads with their
 * intervals over the same bootstrap draws. */
static void print_table(FILE *f, const opts *o, const run *R, const boot_counts *counts)
{
    const probe_rec *probes = R->probes;
    const int n_probes = R->n_probes, L = R->T.names.n;
    const uint32_t S = R->T.pd.n_stories;
    const long B = o->B;
    long top = o->top;
    const tagset nm = R->T.names;
    herr e;
    /* whole-split totals: F1 per (probe, label) */
    uint64_t *tot = xcalloc((size_t)n_probes * L * 3, sizeof *tot);
    for (int p = 0; p < n_probes; p++)
        for (uint32_t st = 0; st < S; st++)
            for (int k = 0; k < L; k++) {
                const boot_counts *c = &counts[((size_t)p * S + st) * L + k];
                uint64_t *t = tot + ((size_t)p * L + k) * 3;
                t[0] += c->tp; t[1] += c->pred; t[2] += c->support;
            }

    uint32_t *draws = boot_draws((uint64_t)o->seed, (int)B, S, &e);
    if (!draws) die("%s", e.msg);

    /* kinds in the probes' order of first appearance; labels sorted */
    char kinds[8];
    int n_kinds = 0;
    for (int p = 0; p < n_probes; p++)
        if (!memchr(kinds, probes[p].vec[0], (size_t)n_kinds) && n_kinds < 8) kinds[n_kinds++] = probes[p].vec[0];
    int *lorder = xmalloc((size_t)L * sizeof *lorder);
    for (int k = 0; k < L; k++) lorder[k] = k;
    qsort_r(lorder, (size_t)L, sizeof *lorder, cmp_name, (void *)&R->T.names);

    cli_table_model(f, &R->ph);
    fprintf(f, "# probes: %s  test: %s (%u stories, %zu tokens)\n", o->probes_path, o->input ? o->input : "stdin", S, R->T.pd.n);
    const char *keys[] = {"stories-sha256", "split", "split-seed", "train-fraction", "control-task"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        const char *v = stream_header_get(&R->T.header, keys[k]);
        if (v) fprintf(f, "# test %s: %s\n", keys[k], v);
    }
    fprintf(f, "# bootstrap: %ld replicates of %u stories drawn with replacement, seed %lld; 95%% percentile "
            "interval (numpy.percentile, linear)\n", B, S, o->seed);
    fprintf(f, "#vector\ttag\trank\thead\tf1\tlo\thi\tbest_share\tsupport\treplicates\n");
    int *cand = xmalloc((size_t)n_probes * sizeof *cand);
    if (top > n_probes) top = n_probes; /* a list never holds more: --top 64 -B 1000000 needs no 512 MB */
    double *f1 = xmalloc((size_t)top * B * sizeof *f1), *tmp = xmalloc((size_t)B * sizeof *tmp);
    double *share = xmalloc((size_t)top * sizeof *share);
    boot_counts *cs = xmalloc((size_t)S * sizeof *cs);
    for (int kk = 0; kk < n_kinds; kk++) {
        for (int li = 0; li < L; li++) {
            const int k = lorder[li];
            if (!story_tag_in_list(o->tags_list, nm.name[k])) continue;
            /* the kind's probes, best first (ties: probe order = layer, head) */
            int nc = 0;
            for (int p = 0; p < n_probes; p++)
                if (probes[p].vec[0] == kinds[kk]) cand[nc++] = p;
            if (!nc) continue;
            const uint64_t support = tot[((size_t)cand[0] * L + k) * 3 + 2];
            if (!support) continue;   /* a tag only predicted: nothing to score */
            int n_top = nc < top ? nc : (int)top;
            for (int a = 0; a < n_top; a++) {  /* selection of the n_top best, stable */
                int bi = a;
                for (int b = a + 1; b < nc; b++) {
                    const uint64_t *tb = tot + ((size_t)cand[b] * L + k) * 3, *ti = tot + ((size_t)cand[bi] * L + k) * 3;
                    double fb = cls_f1(tb[0], tb[1], tb[2]), fi = cls_f1(ti[0], ti[1], ti[2]);
                    if (fb > fi || (fb == fi && cand[b] < cand[bi])) bi = b;
                }
                int t = cand[a]; cand[a] = cand[bi]; cand[bi] = t;
            }
            for (int a = 0; a < n_top; a++) {
                for (uint32_t st = 0; st < S; st++) cs[st] = counts[((size_t)cand[a] * S + st) * L + k];
                boot_f1(cs, S, draws, (int)B, f1 + (size_t)a * B);
                share[a] = 0;
            }
            /* replicates whose stories hold the tag (the same for every head) */
            long nb = 0;
            for (long b = 0; b < B; b++) {
                if (isnan(f1[b])) continue;
                for (int a = 0; a < n_top; a++) f1[(size_t)a * B + nb] = f1[(size_t)a * B + b];
                nb++;
            }
            for (long b = 0; b < nb; b++) {
                double best = -1;
                int n_best = 0;
                for (int a = 0; a < n_top; a++) {
                    double v = f1[(size_t)a * B + b];
                    if (v > best) { best = v; n_best = 1; }
                    else if (v == best) n_best++;
                }
                for (int a = 0; a < n_top; a++)
                    if (f1[(size_t)a * B + b] == best) share[a] += 1.0 / n_best;
            }
            for (int a = 0; a < n_top; a++) {
                const probe_rec *p = &probes[cand[a]];
                const uint64_t *t = tot + ((size_t)cand[a] * L + k) * 3;
                char b1[32], b2[32] = "-", b3[32] = "-", b4[32] = "-";
                if (nb) {
                    memcpy(tmp, f1 + (size_t)a * B, (size_t)nb * sizeof *tmp);
                    py_repr_double(boot_percentile(tmp, (int)nb, 2.5), b2);
                    py_repr_double(boot_percentile(tmp, (int)nb, 97.5), b3);
                    py_repr_double(share[a] / (double)nb, b4);
                }
                fprintf(f, "%s\t%s\t%d\tL%uH%u\t%s\t%s\t%s\t%s\t%llu\t%ld\n", p->vec, nm.name[k], a + 1, p->layer,
                        p->head, py_repr_double(cls_f1(t[0], t[1], t[2]), b1), b2, b3, b4, (unsigned long long)t[2], nb);
            }
        }
    }
    free(tot); free(draws); free(lorder); free(cand); free(f1); free(tmp); free(share); free(cs);
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    opts o;
    parse_args(argc, argv, &o);
    run R;
    R.probes = cli_read_probes(o.probes_path, &R.tm, &R.ph, &R.n_probes);
    outfile *of = cli_open_output(o.out); /* a bad -o is refused before the work */
    cli_read_test(&R.T, o.input, R.probes, R.n_probes, &R.tm, &R.ph, 1);
    check_tags(&o, &R);
    boot_counts *counts = count(&o, &R);
    print_table(of->f, &o, &R, counts);
    cli_close_output(of);
    for (int p = 0; p < R.n_probes; p++) {
        free(R.T.cmap[p]);
        probe_rec_free(&R.probes[p]);
    }
    probe_rec_free(&R.probes[R.n_probes]);
    stream_header_free(&R.ph);
    stream_header_free(&R.T.header);
    free(counts); free(R.T.cmap); free(R.probes); free(R.T.offset); free(R.T.pd.feats); free(R.T.pd.labels);
    free(R.T.pd.story_of); free(R.T.pd.token_id); free(R.T.names.name);
    return 0;
}
