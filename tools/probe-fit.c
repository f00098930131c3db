/* probe-fit: activations (train split) -> probes: one L2 logistic
 * regression per (layer, head, vector kind) predicting each token's POS tag
 * from that head's vector, at the optimum of scikit-learn's
 * LogisticRegression(solver='newton-cg', C=1, max_iter=100) (see logreg.h:
 * dense Newton for 4-dim heads, Newton-CG for 64-dim ones).
 *
 * Claims its output first (a terminal, a bad -o directory: refused before
 * any work), reads every story, keeps each selected head's d floats per
 * kept token in float32 ([token][probe][d]), then fits the probes on the
 * worker pool (one probe per worker at a time, each fit single-threaded,
 * so the output is the same bytes for any --threads) and writes them in
 * (layer, head, vector) order.
 *
 * Reads: an activations stream (train split).  Writes: a probes stream.
 * Links: probe/logreg, probe/probedata, text/tagmap, base/pool.
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
#include "probe/logreg.h"
#include "probe/probedata.h"
#include "text/tagmap.h"

static void usage(void)
{
    printf(
        "usage: probe-fit [options] [INPUT]\n"
        "Fit one multinomial logistic-regression probe per (layer, head, vector\n"
        "kind) on an activations stream with POS tags (stdin or INPUT): the tag of\n"
        "each token from that head's vector, L2 with C and an intercept, the optimum\n"
        "of scikit-learn's LogisticRegression(solver='newton-cg', max_iter=100).\n"
        "Writes a probes stream.\n"
        "\n"
        "  -o, --output FILE  output (default stdout; never a terminal)\n"
        "  --layers LIST      layers to probe, e.g. 0-3,7 (default: all dumped)\n"
        "  --heads LIST       heads to probe (default: all dumped)\n"
        "  --vectors LIST     vector kinds, in output order (default: k,q, those of\n"
        "                     them that were dumped)\n"
        "  --merge PAT=TAG    map tags matching the shell pattern PAT to TAG, e.g.\n"
        "                     'VB*=VB' (repeatable; first match wins)\n"
        "  --drop TAG         leave out tokens whose (merged) tag is TAG (repeatable)\n"
        "  --drop-empty       leave out tokens with the empty tag (the study kept them)\n"
        "  -C X               inverse regularisation strength (default 1.0)\n"
        "  --max-iter N       Newton iterations at most (default 100)\n"
        "  --tol X            stop when max |gradient| <= X (default 1e-4)\n"
        "  --solver S         auto (default), newton or newton-cg: the method that\n"
        "                     reaches the optimum (auto: dense Newton up to 512\n"
        "                     parameters, i.e. 4-dim heads; Newton-CG above, e.g.\n"
        "                     64-dim heads); the optimum is the same\n"
        "  --threads N        probes fitted in parallel (default 2); the output does\n"
        "                     not depend on it\n"
        "  --help, --version\n"
        "\n"
        "Probes that do not converge are reported on stderr and flagged in the record.\n"
        "Fewer than two classes is refused, as scikit-learn refuses it.\n"
        "\n"
        "example:\n"
        "  forward-dump --model m --vectors q,k < train.tagged > train.acts\n"
        "  probe-fit --vectors k,q --threads 2 < train.acts > probes.hs\n"
        "  probe-eval --probes probes.hs --json k=keys.json --json q=queries.json < test.acts\n");
    exit(0);
}

typedef struct fit_shared {
    const float *feats;   /* [n][n_probes][dim] */
    const int *y;         /* [n] */
    size_t n;
    int n_probes, dim, K;
    const act_item *jobs;
    logreg_opts opts;
    double *weights;      /* [n_probes][K][dim+1] */
    logreg_result *res;   /* [n_probes] */
    double **X;           /* [threads] one probe's features in double, [n][dim] */
    logreg_ws **ws;       /* [threads] */
    pthread_mutex_t lock; /* progress */
    int done;
} fit_shared;

/* Pool item p: fit probe p with worker w's buffers. */
static int fit_one(void *ctx, size_t item, int w, herr *e)
{
    fit_shared *s = ctx;
    const int p = (int)item;
    double *X = s->X[w];
    const size_t stride = (size_t)s->n_probes * s->dim;
    for (size_t i = 0; i < s->n; i++)
        for (int a = 0; a < s->dim; a++) X[i * s->dim + a] = s->feats[i * stride + (size_t)p * s->dim + a];
    if (logreg_fit_ws(s->ws[w], X, s->y, s->n, s->dim, s->K, &s->opts, s->weights + (size_t)p * s->K * (s->dim + 1),
                      &s->res[p], e) != 0)
        return herr_prefix(e, "layer %d head %d %c: ", s->jobs[p].layer, s->jobs[p].head, s->jobs[p].vec);
    pthread_mutex_lock(&s->lock);
    s->done++;
    cli_progress("probes", (uint64_t)s->done, (uint64_t)s->n_probes);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void gather_progress(uint64_t stories) { cli_progress("stories", stories, 0); }

static int cmp_name(const void *a, const void *b, void *ctx)
{
    const tagset *t = ctx;
    return strcmp(t->name[*(const int *)a], t->name[*(const int *)b]);
}

/* argv without --threads (it does not change the output, so it is not
 * provenance, and the header stays identical for any thread count). */
static void add_provenance(stream_header *h, int argc, char **argv)
{
    char **v = xmalloc((size_t)(argc + 1) * sizeof *v);
    int m = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && !strcmp(argv[i], "--threads") && i + 1 < argc) { i++; continue; }
        if (i > 0 && !strncmp(argv[i], "--threads=", 10)) continue;
        v[m++] = argv[i];
    }
    v[m] = NULL;
    stream_header_add_provenance(h, m, v);
    free(v);
}

typedef struct opts {
    const char *out, *input, *layers, *heads, *vectors;
    int threads;
    tagmap tm;
    logreg_opts lo;
} opts;

static void parse_args(int argc, char **argv, opts *o)
{
    enum { O_LAYERS = 256, O_HEADS, O_VECTORS, O_MERGE, O_DROP, O_DROP_EMPTY, O_MAXIT, O_TOL,
           O_THREADS, O_SOLVER, O_HELP, O_VERSION };
    static const struct option lopts[] = {
        {"output", required_argument, 0, 'o'}, {"layers", required_argument, 0, O_LAYERS},
        {"heads", required_argument, 0, O_HEADS}, {"vectors", required_argument, 0, O_VECTORS},
        {"merge", required_argument, 0, O_MERGE}, {"drop", required_argument, 0, O_DROP},
        {"drop-empty", no_argument, 0, O_DROP_EMPTY}, {"max-iter", required_argument, 0, O_MAXIT},
        {"tol", required_argument, 0, O_TOL}, {"threads", required_argument, 0, O_THREADS},
        {"solver", required_argument, 0, O_SOLVER},
        {"help", no_argument, 0, O_HELP}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    *o = (opts){.threads = 2};
    tagmap_init(&o->tm);
    logreg_default_opts(&o->lo);
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "o:C:h", lopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->out = optarg; break;
        case O_LAYERS: o->layers = optarg; break;
        case O_HEADS: o->heads = optarg; break;
        case O_VECTORS: o->vectors = optarg; break;
        case O_MERGE:
            if (tagmap_add_merge(&o->tm, optarg, NULL) != 0)
                die("--merge: bad rule '%s' (want PATTERN=TAG, tags of at most %d bytes)", optarg, TAG_MAX);
            break;
        case O_DROP:
            if (!*optarg) die("--drop: empty tag (use --drop-empty)");
            if (tagmap_add_drop(&o->tm, optarg, NULL) != 0) die("--drop: bad tag '%s'", optarg);
            break;
        case O_DROP_EMPTY:
            if (tagmap_add_drop(&o->tm, "", NULL) != 0) die("--drop-empty: too many drops");
            break;
        case 'C':
            o->lo.C = cli_parse_double("-C", optarg);
            if (!(o->lo.C > 0.0) || !isfinite(o->lo.C)) die("-C must be a positive number");
            break;
        case O_MAXIT: o->lo.max_iter = (int)cli_parse_long("--max-iter", optarg, 0, 1000000); break;
        case O_TOL:
            o->lo.tol = cli_parse_double("--tol", optarg);
            if (!(o->lo.tol >= 0.0) || !isfinite(o->lo.tol)) die("--tol must be a non-negative number");
            break;
        case O_THREADS: o->threads = (int)cli_parse_long("--threads", optarg, 1, HPOOL_MAX_THREADS); break;
        case O_SOLVER:
            o->lo.solver = (logreg_solver)cli_parse_choice("--solver", optarg,
                                                           (const char *const[]){"auto", "newton", "newton-cg", NULL});
            break;
        case 'h': case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    o->input = cli_single_input(argc, argv);
}

/* The probes: (layer, head, vector) of the layout, all of one width. */
static act_item *select_probes(const opts *o, const act_layout *L, const char *name, int *n, int *dim)
{
    act_item *jobs;
    herr e;
    const char *vectors = o->vectors;
    if (!vectors) { /* the study's k,q, as far as the stream has them */
        const int hk = memchr(L->vecs, 'k', (size_t)L->n_vecs) != NULL;
        const int hq = memchr(L->vecs, 'q', (size_t)L->n_vecs) != NULL;
        if (!hk && !hq) die("%s: no k or q vectors were dumped: give --vectors", name);
        vectors = hk && hq ? "k,q" : hk ? "k" : "q";
    }
    if (act_select(L, o->layers, o->heads, vectors, &jobs, n, &e)) die("%s: %s", name, e.msg);
    *dim = jobs[0].width;
    for (int p = 1; p < *n; p++)
        if (jobs[p].width != *dim)
            die("--vectors: 'a' (1 float) cannot be mixed with q/k/v/z (%d floats)", L->d_head);
    return jobs;
}

/* Classes: the distinct training tags sorted (np.unique); labels renumbered.
 * @return order[k] = the tagset index of class k */
static int *sort_classes(const tagset *tags, int *labels, size_t n)
{
    const int K = tags->n;
    int *order = xmalloc((size_t)K * sizeof *order), *rank = xmalloc((size_t)K * sizeof *rank);
    for (int k = 0; k < K; k++) order[k] = k;
    qsort_r(order, (size_t)K, sizeof *order, cmp_name, (void *)tags);
    for (int k = 0; k < K; k++) rank[order[k]] = k;
    for (size_t i = 0; i < n; i++) labels[i] = rank[labels[i]];
    free(rank);
    return order;
}

/* Every probe fitted on the pool (one probe per worker at a time). */
static void fit_all(fit_shared *sh, int threads)
{
    if (threads > sh->n_probes) threads = sh->n_probes;
    sh->weights = xmalloc((size_t)sh->n_probes * sh->K * (sh->dim + 1) * sizeof(double));
    sh->res = xcalloc((size_t)sh->n_probes, sizeof *sh->res);
    sh->X = xcalloc((size_t)threads, sizeof *sh->X);
    sh->ws = xcalloc((size_t)threads, sizeof *sh->ws);
    for (int t = 0; t < threads; t++) {
        sh->X[t] = xmalloc(sh->n * (size_t)sh->dim * sizeof(double));
        if (!(sh->ws[t] = logreg_ws_new())) die("out of memory");
    }
    pthread_mutex_init(&sh->lock, NULL);
    herr e;
    hpool *pool = hpool_new(threads, &e);
    if (!pool) die("%s", e.msg);
    if (hpool_for(pool, (size_t)sh->n_probes, HPOOL_DYNAMIC, fit_one, sh, &e) != 0) die("%s", e.msg);
    hpool_free(pool);
    cli_progress_end();
    for (int t = 0; t < threads; t++) {
        free(sh->X[t]);
        logreg_ws_free(sh->ws[t]);
    }
    free(sh->X);
    free(sh->ws);
}

/* The probes stream: the input's header plus the fit's settings. */
static void write_probes(const opts *o, const fit_shared *sh, const stream_header *ih, const tagset *tags,
                         const int *order, outfile *of, int argc, char **argv)
{
    const int K = sh->K, dim = sh->dim;
    stream_header h;
    stream_header_init(&h);
    stream_header_copy(&h, ih);
    tagmap_to_header(&o->tm, &h);
    stream_header_add(&h, "probe-classes", "%d", K);
    stream_header_add(&h, "probe-n-train", "%zu", sh->n);
    stream_header_add(&h, "probe-c", "%.17g", o->lo.C);
    stream_header_add(&h, "probe-max-iter", "%d", o->lo.max_iter);
    stream_header_add(&h, "probe-tol", "%.17g", o->lo.tol);
    add_provenance(&h, argc, argv);
    stream_writer *w = cli_stream_on(of, STREAM_PROBES, &h);
    char (*classes)[TAG_MAX + 1] = xmalloc((size_t)K * sizeof *classes);
    for (int k = 0; k < K; k++) strcpy(classes[k], tags->name[order[k]]);
    int unconverged = 0;
    for (int p = 0; p < sh->n_probes; p++) {
        const act_item *j = &sh->jobs[p];
        probe_rec pr = {.layer = (uint32_t)j->layer, .head = (uint32_t)j->head, .dim = (uint32_t)dim,
                        .n_classes = (uint32_t)K, .classes = classes,
                        .weights = sh->weights + (size_t)p * K * (dim + 1), .n_train = (uint32_t)sh->n,
                        .iterations = (uint32_t)sh->res[p].iterations,
                        .converged = (uint8_t)sh->res[p].converged, .loss = sh->res[p].loss};
        pr.vec[0] = j->vec;
        cli_write_probe(w, &pr);
        if (!sh->res[p].converged) {
            unconverged++;
            warn("layer %d head %d %c: not converged after %d iterations (max |gradient| %.3g > tol %g)",
                 j->layer, j->head, j->vec, sh->res[p].iterations, sh->res[p].grad_max, o->lo.tol);
        }
    }
    cli_close_stream(w);
    if (unconverged)
        warn("%d of %d probes did not converge (flagged converged=0 in their records)", unconverged, sh->n_probes);
    stream_header_free(&h);
    free(classes);
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    opts o;
    parse_args(argc, argv, &o);
    /* the output before the work: a terminal or an unwritable -o is
     * refused now, not after every probe is fitted */
    outfile *of = cli_claim_stream(o.out);
    stream_reader *r = cli_open_input(o.input, 1u << STREAM_ACTIVATIONS);
    const stream_header *ih = stream_reader_header(r);
    act_layout L;
    herr e;
    cli_act_layout(r, &L, 1);
    int n_probes, dim;
    act_item *jobs = select_probes(&o, &L, stream_reader_name(r), &n_probes, &dim);

    /* the training tokens: each probe's floats and the tag */
    tagset tags = {0, 0, NULL};
    probe_input *in = xmalloc((size_t)n_probes * sizeof *in);
    for (int p = 0; p < n_probes; p++)
        in[p] = (probe_input){jobs[p].layer, jobs[p].head, jobs[p].vec, jobs[p].offset, p * dim, dim};
    probe_data pd = {.on_story = gather_progress};
    if (probe_gather(r, &L, &o.tm, in, n_probes, (size_t)n_probes * dim, &tags, &pd, &e) != 0) die("%s", e.msg);
    cli_progress_end();
    free(in);
    if (pd.n == 0) die("%s: no training tokens%s", stream_reader_name(r), o.tm.n_drop ? " left after --drop" : "");
    if (tags.n < 2)
        die("only one class ('%s') in %zu training tokens; a probe needs at least 2 (scikit-learn refuses too)",
            tags.name[0], pd.n);
    int *order = sort_classes(&tags, pd.labels, pd.n);

    fit_shared sh = {.feats = pd.feats, .y = pd.labels, .n = pd.n, .n_probes = n_probes, .dim = dim,
                     .K = tags.n, .jobs = jobs, .opts = o.lo};
    fit_all(&sh, o.threads);
    write_probes(&o, &sh, ih, &tags, order, of, argc, argv);

    stream_reader_close(r);
    free(sh.weights); free(sh.res); free(order);
    free(pd.labels); free(pd.feats); free(jobs); free(tags.name);
    return 0;
}
