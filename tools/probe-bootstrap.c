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
        "  --tags LIST        only these tags, comma-separated (an empty name is the\n"
        "                     empty tag); a tag no test token has is refused\n"
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

static int in_list(const char *list, const char *tag)
{
    if (!list) return 1;
    size_t tl = strlen(tag);
    for (const char *p = list;;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == tl && !strncmp(p, tag, l)) return 1;
        if (!e) return 0;
        p = e + 1;
    }
}

static void gather_progress(uint64_t stories) { cli_progress("stories", stories, 0); }

static int cmp_name(const void *a, const void *b, void *ctx)
{
    const tagset *t = ctx;
    return strcmp(t->name[*(const int *)a], t->name[*(const int *)b]);
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    enum { O_PROBES = 256, O_SEED, O_TOP, O_TAGS, O_THREADS, O_HELP, O_VERSION };
    static const struct option opts[] = {
        {"probes", required_argument, 0, O_PROBES}, {"replicates", required_argument, 0, 'B'},
        {"seed", required_argument, 0, O_SEED},     {"top", required_argument, 0, O_TOP},
        {"tags", required_argument, 0, O_TAGS},     {"threads", required_argument, 0, O_THREADS},
        {"output", required_argument, 0, 'o'},      {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION},     {0, 0, 0, 0}};
    const char *probes_path = NULL, *out = NULL, *tags_list = NULL;
    long B = 1000, top = 2;
    long long seed = 1;
    int threads = 2, o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "o:B:h", opts, NULL)) != -1) {
        switch (o) {
        case O_PROBES: probes_path = optarg; break;
        case 'B': B = cli_parse_long("--replicates", optarg, 1, 1000000); break;
        case O_SEED: seed = cli_parse_long("--seed", optarg, 0, 0x7fffffffffffffffL); break;
        case O_TOP: top = cli_parse_long("--top", optarg, 1, 64); break;
        case O_TAGS: tags_list = optarg; break;
        case O_THREADS: threads = (int)cli_parse_long("--threads", optarg, 1, HPOOL_MAX_THREADS); break;
        case 'o': out = optarg; break;
        case 'h': case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    const char *input = cli_single_input(argc, argv);
    if (!probes_path) die("no probes (--probes FILE, written by probe-fit)");
    if (!strcmp(probes_path, "-") && (!input || !strcmp(input, "-")))
        die("--probes and the test activations both read stdin; give one of them as a file");

    /* probes */
    /* static: still reachable (not a leak) when die() exits mid-way */
    static stream_reader *pr, *r;
    pr = cli_open_input(probes_path, 1u << STREAM_PROBES);
    tagmap tm;
    herr he;
    if (tagmap_from_header(&tm, stream_reader_header(pr), &he) != 0) die("%s: %s", stream_reader_name(pr), he.msg);
    stream_header ph;
    stream_header_init(&ph);
    stream_header_copy(&ph, stream_reader_header(pr));
    static probe_rec *probes; /* static: reachable when die() exits */
    const int n_probes = probe_read_all(pr, &probes, &he);
    if (n_probes < 0) die("%s", he.msg);
    int unconverged = 0;
    for (int p = 0; p < n_probes; p++) unconverged += !probes[p].converged;
    if (unconverged)
        warn("%s: %d of %d probes did not converge (converged=0; probe-fit --max-iter)", stream_reader_name(pr),
             unconverged, n_probes);
    stream_reader_close(pr);
    if (!stream_header_get(&ph, "model") || !stream_header_get(&ph, "model-sha256"))
        die("%s names no model (no model / model-sha256 lines): which model's heads would the table rank?", probes_path);
    outfile *of = cli_open_output(out);

    /* the test split */
    r = cli_open_input(input, 1u << STREAM_ACTIVATIONS);
    act_layout AL;
    cli_act_layout(r, &AL, 1);
    if (probe_match_acts(&ph, stream_reader_header(r), stream_reader_name(r), &he)) die("%s", he.msg);
    stream_header th;
    stream_header_init(&th);
    stream_header_copy(&th, stream_reader_header(r));
    int *offset = xmalloc((size_t)n_probes * sizeof *offset);
    probe_input *in = xmalloc((size_t)n_probes * sizeof *in);
    size_t per = 0;
    if (probe_inputs(&AL, probes, n_probes, stream_reader_name(r), in, offset, &per, &he)) die("%s", he.msg);
    int max_dim = 1;
    for (int p = 0; p < n_probes; p++) max_dim = (int)probes[p].dim > max_dim ? (int)probes[p].dim : max_dim;
    tagset nm = {0, 0, NULL};
    probe_data pd = {.on_story = gather_progress, .want_tokens = 1};
    herr e;
    if (probe_gather(r, &AL, &tm, in, n_probes, per, &nm, &pd, &e) != 0) die("%s", e.msg);
    cli_progress_end();
    stream_reader_close(r);
    free(in);
    if (pd.n == 0) die("%s: no test tokens%s", input ? input : "stdin", tm.n_drop ? " left after the probes' drops" : "");

    int **cmap = xmalloc((size_t)n_probes * sizeof *cmap);
    for (int p = 0; p < n_probes; p++) {
        cmap[p] = xmalloc(probes[p].n_classes * sizeof **cmap);
        for (uint32_t k = 0; k < probes[p].n_classes; k++) 
            if ((cmap[p][k] = tagset_index(&nm, probes[p].classes[k], &he)) < 0) die("%s", he.msg);
    }
    const int L = nm.n;
    const uint32_t S = pd.n_stories;
    if (tags_list) { /* every tag asked for is a tag of the test split */
        uint64_t *n_of = xcalloc((size_t)L, sizeof *n_of);
        for (size_t i = 0; i < pd.n; i++) n_of[pd.labels[i]]++;
        for (const char *p = tags_list;;) {
            const char *c = strchr(p, ',');
            const int l = (int)(c ? (size_t)(c - p) : strlen(p));
            int k;
            for (k = 0; k < L; k++)
                if ((int)strlen(nm.name[k]) == l && !strncmp(nm.name[k], p, (size_t)l)) break;
            if (k == L || !n_of[k]) {
                if (l)
                    die("--tags: no test token is tagged '%.*s'%s", l, p,
                        tm.n_merge || tm.n_drop ? " (after the probes' merges and drops)" : "");
                die("--tags: no test token has the empty tag (an empty name in the list is the empty tag)");
            }
            if (!c) break;
            p = c + 1;
        }
        free(n_of);
    }

    /* per probe, story and label: tp, predicted, support */
    shared sh = {.probes = probes, .offset = offset, .cmap = (const int **)cmap, .feats = pd.feats, .n = pd.n,
                 .per = per, .y = pd.labels, .story = pd.story_of, .n_stories = S, .L = L};
    sh.counts = xcalloc((size_t)n_probes * S * L, sizeof *sh.counts);
    if (threads > n_probes) threads = n_probes;
    sh.x = xmalloc((size_t)threads * sizeof *sh.x);
    for (int t = 0; t < threads; t++) sh.x[t] = xmalloc((size_t)max_dim * sizeof **sh.x);
    hpool *pool = hpool_new(threads, &e);
    if (!pool) die("%s", e.msg);
    if (hpool_for(pool, (size_t)n_probes, HPOOL_DYNAMIC, count_one, &sh, &e) != 0) die("%s", e.msg);
    hpool_free(pool);

    /* whole-split totals: F1 per (probe, label) */
    uint64_t *tot = xcalloc((size_t)n_probes * L * 3, sizeof *tot);
    for (int p = 0; p < n_probes; p++)
        for (uint32_t st = 0; st < S; st++)
            for (int k = 0; k < L; k++) {
                const boot_counts *c = &sh.counts[((size_t)p * S + st) * L + k];
                uint64_t *t = tot + ((size_t)p * L + k) * 3;
                t[0] += c->tp; t[1] += c->pred; t[2] += c->support;
            }

    uint32_t *draws = boot_draws((uint64_t)seed, (int)B, S, &e);
    if (!draws) die("%s", e.msg);

    /* kinds in the probes' order of first appearance; labels sorted */
    char kinds[8];
    int n_kinds = 0;
    for (int p = 0; p < n_probes; p++)
        if (!memchr(kinds, probes[p].vec[0], (size_t)n_kinds) && n_kinds < 8) kinds[n_kinds++] = probes[p].vec[0];
    int *lorder = xmalloc((size_t)L * sizeof *lorder);
    for (int k = 0; k < L; k++) lorder[k] = k;
    qsort_r(lorder, (size_t)L, sizeof *lorder, cmp_name, &nm);

    FILE *f = of->f;
    cli_table_model(f, &ph);
    fprintf(f, "# probes: %s  test: %s (%u stories, %zu tokens)\n", probes_path, input ? input : "stdin", S, pd.n);
    const char *keys[] = {"stories-sha256", "split", "split-seed", "train-fraction", "control-task"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        const char *v = stream_header_get(&th, keys[k]);
        if (v) fprintf(f, "# test %s: %s\n", keys[k], v);
    }
    fprintf(f, "# bootstrap: %ld replicates of %u stories drawn with replacement, seed %lld; 95%% percentile "
            "interval (numpy.percentile, linear)\n", B, S, seed);
    fprintf(f, "#vector\ttag\trank\thead\tf1\tlo\thi\tbest_share\tsupport\treplicates\n");
    int *cand = xmalloc((size_t)n_probes * sizeof *cand);
    if (top > n_probes) top = n_probes; /* a list never holds more: --top 64 -B 1000000 needs no 512 MB */
    double *f1 = xmalloc((size_t)top * B * sizeof *f1), *tmp = xmalloc((size_t)B * sizeof *tmp);
    double *share = xmalloc((size_t)top * sizeof *share);
    boot_counts *cs = xmalloc((size_t)S * sizeof *cs);
    for (int kk = 0; kk < n_kinds; kk++) {
        for (int li = 0; li < L; li++) {
            const int k = lorder[li];
            if (!in_list(tags_list, nm.name[k])) continue;
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
                for (uint32_t st = 0; st < S; st++) cs[st] = sh.counts[((size_t)cand[a] * S + st) * L + k];
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
    cli_close_output(of);
    for (int t = 0; t < threads; t++) free(sh.x[t]);
    for (int p = 0; p < n_probes; p++) {
        free(cmap[p]);
        probe_rec_free(&probes[p]);
    }
    probe_rec_free(&probes[n_probes]);
    stream_header_free(&ph);
    stream_header_free(&th);
    free(sh.x); free(sh.counts); free(tot); free(draws); free(lorder); free(cand); free(f1); free(tmp); free(share);
    free(cs); free(cmap); free(probes); free(offset); free(pd.feats); free(pd.labels); free(pd.story_of);
    free(pd.token_id); free(nm.name);
    return 0;
}
