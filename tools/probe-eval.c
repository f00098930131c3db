/* probe-eval: probes + activations (test split) -> classification reports.
 *
 * Each probe predicts the tag of every test token from its head's vector
 * (argmax of w_k . x + b_k, ties to the first class); the report per probe
 * is scikit-learn's classification_report(y_true, y_pred, output_dict=True,
 * zero_division=1) (see clsreport.h).  Test tags are merged / dropped by the
 * rules probe-fit recorded in the probes header (tagmap.h).
 *
 * Outputs: CSV in long form (one row per probe and label, then accuracy,
 * macro avg, weighted avg) and, per vector kind, JSON in the study's layout
 * ([layer][head] -> report, like results_keys.json).  Every output is
 * claimed (its temporary file created) before the test set is read, so a
 * bad path is refused before the work; the reports are computed on the
 * worker pool, one probe per item, the same bytes for any --threads.
 *
 * Reads: a probes stream and an activations stream.  Writes: CSV and JSON
 * reports.  Links: probe/logreg, probe/probedata, probe/clsreport,
 * text/tagmap, base/pool.
 */
#include <csv.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "cli/cli.h"
#include "cli/toolio.h"
#include "cli/toolprobe.h"
#include "io/outfile.h"
#include "probe/clsreport.h"
#include "probe/logreg.h"
#include "probe/pyfmt.h"
#include "io/records.h"
#include "io/stream.h"
#include "probe/probedata.h"
#include "text/tagmap.h"

static void usage(void)
{
    printf(
        "usage: probe-eval --probes FILE [options] [INPUT]\n"
        "Evaluate probes (from probe-fit) on an activations stream with POS tags\n"
        "(stdin or INPUT, the test split): per probe and tag precision, recall, F1 and\n"
        "support, plus accuracy, macro and weighted averages, exactly as scikit-learn's\n"
        "classification_report(output_dict=True, zero_division=1).  Test tags are\n"
        "merged / dropped as probe-fit did for training (rules from the probes header).\n"
        "\n"
        "  --probes FILE      probes stream (required)\n"
        "  --csv FILE         CSV report, long form: vector,layer,head,label,precision,\n"
        "                     recall,f1-score,support (labels, then accuracy -- in the\n"
        "                     f1-score column --, macro avg, weighted avg)\n"
        "  -o, --output FILE  same as --csv\n"
        "  --json [KIND=]FILE JSON report of the probes of one vector kind in the study's\n"
        "                     layout: [layer][head] -> {tag: {precision, recall,\n"
        "                     f1-score, support}, accuracy, macro avg, weighted avg}, as\n"
        "                     json.dump(indent=4) writes it; heads not probed are null\n"
        "                     (repeatable: k=keys.json q=queries.json; KIND= may be\n"
        "                     left out when the probes are of one kind)\n"
        "  --meta FILE        provenance of the reports as text: the probes header, the\n"
        "                     test activations header and this run's pg line (the JSON\n"
        "                     layout has no place for it)\n"
        "  --threads N        probes evaluated in parallel (default 2); the output does\n"
        "                     not depend on it\n"
        "  --help, --version\n"
        "Without --csv, -o or --json the CSV goes to stdout.  Probes fitted on one model\n"
        "are refused on activations of another (model-sha256 in the two headers), and\n"
        "probes of a control task (control-task) on other tags than that task's.\n"
        "\n"
        "example:\n"
        "  probe-fit < train.acts > probes.hs\n"
        "  probe-eval --probes probes.hs --json k=results_keys.json \\\n"
        "             --json q=results_queries.json --csv report.csv < test.acts\n");
    exit(0);
}

/* At most this many outputs (--json specs plus CSV and meta). */
#define MAX_OUT 16
/* Largest probe dimension accepted (GPT-2 small's heads: 64). */

/* Label names (a tagset): the test tags plus every probe class. */

typedef struct eval_shared {
    const probe_rec *probes;
    const int *offset;     /* [n_probes] offset in a token's features */
    const int **cmap;      /* [n_probes][K] class -> name index */
    const float *feats;    /* [n][per] */
    size_t n, per;
    const int *y_true;
    const tagset *nm;
    cls_report *reports;   /* [n_probes] */
    int **pred;            /* [threads][n] */
    double **x;            /* [threads][max dim] */
} eval_shared;

/* Pool item p: probe p's predictions and report, with worker w's buffers. */
static int eval_one(void *ctx, size_t item, int w, herr *e)
{
    eval_shared *s = ctx;
    const size_t p = item;
    const probe_rec *pr = &s->probes[p];
    int *pred = s->pred[w];
    double *x = s->x[w];
    for (size_t i = 0; i < s->n; i++) {
        const float *f = s->feats + i * s->per + s->offset[p];
        for (uint32_t a = 0; a < pr->dim; a++) x[a] = f[a];
        pred[i] = s->cmap[p][logreg_predict(pr->weights, (int)pr->n_classes, (int)pr->dim, x)];
    }
    if (cls_report_compute(&s->reports[p], (const char (*)[TAG_MAX + 1])s->nm->name, s->nm->n, s->y_true, pred, s->n,
                           e) != 0)
        return herr_prefix(e, "layer %u head %u %s: ", pr->layer, pr->head, pr->vec);
    return 0;
}

static void csv_field(FILE *f, const char *s) { csv_fwrite(f, s, strlen(s)); }

static void csv_row(FILE *f, const probe_rec *p, const char *label, const cls_metrics *m, int accuracy_row,
                    double acc)
{
    char b[32];
    fprintf(f, "%s,%u,%u,", p->vec, p->layer, p->head);
    csv_field(f, label);
    if (accuracy_row) {
        fprintf(f, ",,,%s,", py_repr_double(acc, b));
        fprintf(f, "%s\n", py_repr_double(m->support, b));
        return;
    }
    fprintf(f, ",%s", py_repr_double(m->precision, b));
    fprintf(f, ",%s", py_repr_double(m->recall, b));
    fprintf(f, ",%s", py_repr_double(m->f1, b));
    fprintf(f, ",%s\n", py_repr_double(m->support, b));
}

typedef struct opts {
    const char *probes, *csv, *meta, *input;
    const char *json_spec[MAX_OUT];
    int n_json, threads;
} opts;

static void parse_args(int argc, char **argv, opts *o)
{
    enum { O_PROBES = 256, O_CSV, O_JSON, O_META, O_THREADS, O_HELP, O_VERSION };
    static const struct option lo[] = {
        {"probes", required_argument, 0, O_PROBES}, {"csv", required_argument, 0, O_CSV},
        {"output", required_argument, 0, 'o'}, {"json", required_argument, 0, O_JSON},
        {"meta", required_argument, 0, O_META},
        {"threads", required_argument, 0, O_THREADS}, {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    *o = (opts){.threads = 2};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", lo, NULL)) != -1) {
        switch (c) {
        case O_PROBES: o->probes = optarg; break;
        case 'o': case O_CSV:
            if (o->csv) die("the CSV output is given twice (--csv / -o)");
            o->csv = optarg;
            break;
        case O_JSON:
            if (o->n_json == MAX_OUT - 2) die("too many --json outputs");
            o->json_spec[o->n_json++] = optarg;
            break;
        case O_META: o->meta = optarg; break;
        case O_THREADS: o->threads = (int)cli_parse_long("--threads", optarg, 1, HPOOL_MAX_THREADS); break;
        case 'h': case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    o->input = cli_single_input(argc, argv);
    if (!o->probes) die("no probes (--probes FILE, written by probe-fit)");
}

/* One --json output: the vector kind it reports and its [layer][head] grid
 * of probe indices (-1: not probed). */
typedef struct json_out {
    char kind;
    const char *path;
    uint32_t max_layer, max_head;
    int *cell;
    outfile *of;
} json_out;

/* --json KIND=FILE (or FILE when the probes are of one kind), checked before the work. */
static void plan_json(const char *spec, const probe_rec *probes, int n, const char *probes_path, json_out *j)
{
    if (spec[0] && spec[1] == '=' && act_is_vector_kind(spec[0])) {
        j->kind = spec[0];
        j->path = spec + 2;
    } else {
        j->kind = probes[0].vec[0];
        for (int p = 1; p < n; p++)
            if (probes[p].vec[0] != j->kind)
                die("--json %s: the probes are of several vector kinds; give KIND=FILE (e.g. k=keys.json)", spec);
        j->path = spec;
    }
    if (!*j->path) die("--json: empty file name");
    int any = 0;
    j->max_layer = j->max_head = 0;
    for (int p = 0; p < n; p++)
        if (probes[p].vec[0] == j->kind) {
            any = 1;
            if (probes[p].layer > j->max_layer) j->max_layer = probes[p].layer;
            if (probes[p].head > j->max_head) j->max_head = probes[p].head;
        }
    if (!any) die("--json %c=...: no probes of vector kind %c in %s", j->kind, j->kind, probes_path);
    if (j->max_layer >= 4096 || j->max_head >= 4096) die("layer / head numbers too large for a JSON grid");
    size_t cells = (size_t)(j->max_layer + 1) * (j->max_head + 1);
    j->cell = xmalloc(cells * sizeof *j->cell);
    for (size_t c = 0; c < cells; c++) j->cell[c] = -1;
    for (int p = 0; p < n; p++)
        if (probes[p].vec[0] == j->kind) {
            size_t c = (size_t)probes[p].layer * (j->max_head + 1) + probes[p].head;
            if (j->cell[c] >= 0) die("two probes for layer %u head %u %c", probes[p].layer, probes[p].head, j->kind);
            j->cell[c] = p;
        }
}

/* Every probe's report, on the pool. */
static void evaluate(eval_shared *sh, int n_probes, int threads)
{
    if (threads > n_probes) threads = n_probes;
    int max_dim = 1;
    for (int p = 0; p < n_probes; p++) max_dim = (int)sh->probes[p].dim > max_dim ? (int)sh->probes[p].dim : max_dim;
    sh->reports = xcalloc((size_t)n_probes, sizeof *sh->reports);
    sh->pred = xcalloc((size_t)threads, sizeof *sh->pred);
    sh->x = xcalloc((size_t)threads, sizeof *sh->x);
    for (int t = 0; t < threads; t++) {
        sh->pred[t] = xmalloc(sh->n * sizeof **sh->pred);
        sh->x[t] = xmalloc((size_t)max_dim * sizeof **sh->x);
    }
    herr e;
    hpool *pool = hpool_new(threads, &e);
    if (!pool) die("%s", e.msg);
    if (hpool_for(pool, (size_t)n_probes, HPOOL_DYNAMIC, eval_one, sh, &e) != 0) die("%s", e.msg);
    hpool_free(pool);
    for (int t = 0; t < threads; t++) {
        free(sh->pred[t]);
        free(sh->x[t]);
    }
    free(sh->pred);
    free(sh->x);
}

static void write_csv(outfile *of, const probe_rec *probes, const cls_report *reports, int n)
{
    FILE *f = of->f;
    fprintf(f, "vector,layer,head,label,precision,recall,f1-score,support\n");
    for (int p = 0; p < n; p++) {
        const cls_report *rep = &reports[p];
        for (int j = 0; j < rep->n_labels; j++) csv_row(f, &probes[p], rep->labels[j], &rep->rows[j], 0, 0);
        cls_metrics accm = {0, 0, 0, rep->n};
        csv_row(f, &probes[p], "accuracy", &accm, 1, rep->accuracy);
        csv_row(f, &probes[p], "macro avg", &rep->macro, 0, 0);
        csv_row(f, &probes[p], "weighted avg", &rep->weighted, 0, 0);
    }
    cli_close_output(of);
}

/* JSON: [layer][head], indexed by the real layer and head numbers; cells
 * of heads that were not probed are null */
static void write_json(json_out *j, const cls_report *reports)
{
    FILE *f = j->of->f;
    fputs("[\n", f);
    for (uint32_t l = 0; l <= j->max_layer; l++) {
        fputs(l ? ",\n    [\n" : "    [\n", f);
        for (uint32_t h = 0; h <= j->max_head; h++) {
            fputs(h ? ",\n        " : "        ", f);
            int p = j->cell[(size_t)l * (j->max_head + 1) + h];
            if (p < 0) fputs("null", f);
            else cls_report_json(f, &reports[p], 2);
        }
        fputs("\n    ]", f);
    }
    fputs("\n]", f);
    cli_close_output(j->of);
    free(j->cell);
}

static void write_meta(outfile *of, const opts *o, const stream_header *probes_h, const stream_header *acts_h,
                       size_t n, int n_probes, int argc, char **argv)
{
    fprintf(of->f, "[probes: %s]\n", o->probes);
    stream_header_print(probes_h, of->f);
    fprintf(of->f, "[test activations: %s]\n", o->input ? o->input : "stdin");
    stream_header_print(acts_h, of->f);
    fprintf(of->f, "[report]\n");
    stream_header me;
    stream_header_init(&me);
    stream_header_add(&me, "test-tokens", "%zu", n);
    stream_header_add(&me, "probes", "%d", n_probes);
    stream_header_add_provenance(&me, argc, argv);
    stream_header_print(&me, of->f);
    stream_header_free(&me);
    cli_close_output(of);
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    opts o;
    parse_args(argc, argv, &o);
    tagmap tm;
    stream_header probes_h;
    int n_probes;
    probe_rec *probes = cli_read_probes(o.probes, &tm, &probes_h, &n_probes);
    json_out json[MAX_OUT];
    for (int j = 0; j < o.n_json; j++) plan_json(o.json_spec[j], probes, n_probes, o.probes, &json[j]);
    /* every output now, before the work: a bad path is refused at once */
    outfile *csv_of = o.csv || o.n_json == 0 ? cli_open_output(o.csv) : NULL;
    for (int j = 0; j < o.n_json; j++) json[j].of = cli_open_output(json[j].path);
    outfile *meta_of = o.meta ? cli_open_output(o.meta) : NULL;

    cli_probe_test T;
    cli_read_test(&T, o.input, probes, n_probes, &tm, &probes_h, 0);
    eval_shared sh = {.probes = probes, .offset = T.offset, .cmap = (const int **)T.cmap, .feats = T.pd.feats,
                      .n = T.pd.n, .per = T.per, .y_true = T.pd.labels, .nm = &T.names};
    evaluate(&sh, n_probes, o.threads);

    if (csv_of) write_csv(csv_of, probes, sh.reports, n_probes);
    for (int j = 0; j < o.n_json; j++) write_json(&json[j], sh.reports);
    if (meta_of) write_meta(meta_of, &o, &probes_h, &T.header, T.pd.n, n_probes, argc, argv);

    stream_header_free(&probes_h);
    stream_header_free(&T.header);
    for (int p = 0; p < n_probes; p++) {
        cls_report_free(&sh.reports[p]);
        free(T.cmap[p]);
        probe_rec_free(&probes[p]);
    }
    probe_rec_free(&probes[n_probes]);
    free(probes); free(T.cmap); free(sh.reports); free(T.offset);
    free(T.pd.labels); free(T.pd.feats); free(T.names.name);
    return 0;
}
