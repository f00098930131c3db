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
#define MAX_DIM 4096

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

/* A probe record's numbers before any use: at least 2 classes, a dimension
 * in 1..MAX_DIM, finite weights.  @return 0, or -1 with e naming the probe */
static int probe_check(const probe_rec *p, int i, const char *stream, herr *e)
{
    if (p->n_classes < 2) return herr_set(e, "%s: probe %d has %u classes", stream, i, p->n_classes);
    if (p->dim < 1 || p->dim > MAX_DIM)
        return herr_set(e, "%s: probe %d (layer %u head %u %s) has dimension %u (want 1..%d)", stream, i, p->layer,
                        p->head, p->vec, p->dim, MAX_DIM);
    const size_t D = (size_t)p->dim + 1;
    for (size_t j = 0; j < (size_t)p->n_classes * D; j++)
        if (!isfinite(p->weights[j])) {
            char where[32];
            if (j % D == p->dim) snprintf(where, sizeof where, "intercept");
            else snprintf(where, sizeof where, "dimension %zu", j % D);
            return herr_set(e, "%s: probe %d (layer %u head %u %s): non-finite weight (%s) of class '%s', %s", stream,
                            i, p->layer, p->head, p->vec, isnan(p->weights[j]) ? "NaN" : "Inf", p->classes[j / D],
                            where);
        }
    return 0;
}

static void gather_progress(uint64_t stories) { cli_progress("stories", stories, 0); }

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

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    enum { O_PROBES = 256, O_CSV, O_JSON, O_META, O_THREADS, O_HELP, O_VERSION };
    static const struct option opts[] = {
        {"probes", required_argument, 0, O_PROBES}, {"csv", required_argument, 0, O_CSV},
        {"output", required_argument, 0, 'o'}, {"json", required_argument, 0, O_JSON},
        {"meta", required_argument, 0, O_META},
        {"threads", required_argument, 0, O_THREADS}, {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    const char *probes_path = NULL, *csv_path = NULL, *meta_path = NULL;
    const char *json_spec[MAX_OUT];
    int n_json = 0, threads = 2;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (o) {
        case O_PROBES: probes_path = optarg; break;
        case 'o': case O_CSV:
            if (csv_path) die("the CSV output is given twice (--csv / -o)");
            csv_path = optarg;
            break;
        case O_JSON:
            if (n_json == MAX_OUT - 2) die("too many --json outputs");
            json_spec[n_json++] = optarg;
            break;
        case O_META: meta_path = optarg; break;
        case O_THREADS: threads = (int)cli_parse_long("--threads", optarg, 1, HPOOL_MAX_THREADS); break;
        case 'h': case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    const char *input = cli_single_input(argc, argv);
    if (!probes_path) die("no probes (--probes FILE, written by probe-fit)");

    /* probes */
    stream_reader *pr = reader_open_or_die(probes_path, 1u << STREAM_PROBES);
    tagmap tm;
    const char *err;
    if (tagmap_from_header(&tm, reader_header(pr), &err) != 0) die("%s: %s", reader_name(pr), err);
    stream_header probes_h;
    header_init(&probes_h);
    header_copy(&probes_h, reader_header(pr));
    probe_rec *probes = NULL;
    int n_probes = 0;
    herr bad = {""};
    for (;;) {
        probes = xrealloc(probes, (size_t)(n_probes + 1) * sizeof *probes);
        probe_init(&probes[n_probes]);
        if (!probe_read_or_die(pr, &probes[n_probes])) break;
        if (probe_check(&probes[n_probes], n_probes, reader_name(pr), &bad) != 0) break;
        n_probes++;
    }
    if (bad.msg[0]) {
        /* free first, then die: nothing live is lost to the leak checker */
        reader_close(pr);
        for (int p = 0; p <= n_probes; p++) probe_free(&probes[p]);
        free(probes);
        die("%s", bad.msg);
    }
    reader_close(pr);
    if (!n_probes) die("%s: no probes in the stream", probes_path);

    /* JSON outputs: kind -> file */
    char json_kind[MAX_OUT];
    const char *json_path[MAX_OUT];
    for (int j = 0; j < n_json; j++) {
        const char *s = json_spec[j];
        if (s[0] && s[1] == '=' && strchr("qkvza", s[0])) { json_kind[j] = s[0]; json_path[j] = s + 2; }
        else {
            char k = probes[0].vec[0];
            for (int p = 1; p < n_probes; p++)
                if (probes[p].vec[0] != k)
                    die("--json %s: the probes are of several vector kinds; give KIND=FILE (e.g. k=keys.json)", s);
            json_kind[j] = k;
            json_path[j] = s;
        }
        int any = 0;
        for (int p = 0; p < n_probes; p++) any |= probes[p].vec[0] == json_kind[j];
        if (!any) die("--json %c=...: no probes of vector kind %c in %s", json_kind[j], json_kind[j], probes_path);
        if (!*json_path[j]) die("--json: empty file name");
    }

    /* the JSON grids: [layer][head] -> probe index (-1: not probed),
     * checked before the work too */
    struct { uint32_t max_layer, max_head; int *cell; } json_grid[MAX_OUT];
    for (int j = 0; j < n_json; j++) {
        uint32_t max_layer = 0, max_head = 0;
        for (int p = 0; p < n_probes; p++)
            if (probes[p].vec[0] == json_kind[j]) {
                if (probes[p].layer > max_layer) max_layer = probes[p].layer;
                if (probes[p].head > max_head) max_head = probes[p].head;
            }
        if (max_layer >= 4096 || max_head >= 4096) die("layer / head numbers too large for a JSON grid");
        size_t cells = (size_t)(max_layer + 1) * (max_head + 1);
        int *cell = xmalloc(cells * sizeof *cell);
        for (size_t c = 0; c < cells; c++) cell[c] = -1;
        for (int p = 0; p < n_probes; p++)
            if (probes[p].vec[0] == json_kind[j]) {
                size_t c = (size_t)probes[p].layer * (max_head + 1) + probes[p].head;
                if (cell[c] >= 0)
                    die("two probes for layer %u head %u %c", probes[p].layer, probes[p].head, json_kind[j]);
                cell[c] = p;
            }
        json_grid[j].max_layer = max_layer;
        json_grid[j].max_head = max_head;
        json_grid[j].cell = cell;
    }

    /* every output now, before the work: a bad path is refused at once */
    outfile *csv_of = csv_path || n_json == 0 ? cli_open_output(csv_path) : NULL;
    outfile *json_of[MAX_OUT];
    for (int j = 0; j < n_json; j++) json_of[j] = cli_open_output(json_path[j]);
    outfile *meta_of = meta_path ? cli_open_output(meta_path) : NULL;

    /* activations */
    stream_reader *r = reader_open_or_die(input, 1u << STREAM_ACTIVATIONS);
    act_layout L;
    if (act_layout_parse(&L, reader_header(r), &err) != 0) die("%s: %s", reader_name(r), err);
    {
        const char *pm = header_get(&probes_h, "model-sha256"), *am = header_get(reader_header(r), "model-sha256");
        if (pm && am && strcmp(pm, am))
            die("the probes were fitted on model %.12s..., %s comes from model %.12s... (model-sha256)", pm,
                reader_name(r), am);
        /* probes of the control task (control-task's output) score only on
         * the same control task's tags, and real-tag probes only on real tags */
        const char *pc = header_get(&probes_h, "control-task"), *ac = header_get(reader_header(r), "control-task");
        const char *pd = header_get(&probes_h, "control-task-dist"), *ad = header_get(reader_header(r), "control-task-dist");
        if ((pc || ac) && (!pc || !ac || strcmp(pc, ac) || !pd || !ad || strcmp(pd, ad)))
            die("the probes were fitted on %s, %s has %s (control-task header lines)",
                pc ? "control-task tags" : "real tags", reader_name(r),
                ac ? (pc ? "another control task's tags" : "control-task tags") : "real tags");
    }
    stream_header acts_h;
    header_init(&acts_h);
    header_copy(&acts_h, reader_header(r));
    int *offset = xmalloc((size_t)n_probes * sizeof *offset);
    /* keep only the floats the probes read: [token][probe][dim] */
    size_t per = 0;
    int *src_off = xmalloc((size_t)n_probes * sizeof *src_off);
    for (int p = 0; p < n_probes; p++) {
        src_off[p] = act_offset(&L, (int)probes[p].layer, (int)probes[p].head, probes[p].vec[0]);
        if (src_off[p] < 0)
            die("%s has no vector %s of layer %u head %u, which probe %d needs", reader_name(r), probes[p].vec,
                probes[p].layer, probes[p].head, p);
        int w = probes[p].vec[0] == 'a' ? 1 : L.d_head;
        if ((int)probes[p].dim != w)
            die("probe of layer %u head %u %s has dimension %u; %s has %d floats per vector", probes[p].layer,
                probes[p].head, probes[p].vec, probes[p].dim, reader_name(r), w);
        offset[p] = (int)per;
        per += probes[p].dim;
    }
    tagset nm = {0, 0, NULL};
    probe_input *in = xmalloc((size_t)n_probes * sizeof *in);
    for (int p = 0; p < n_probes; p++)
        in[p] = (probe_input){(int)probes[p].layer, (int)probes[p].head, probes[p].vec[0], src_off[p], offset[p],
                              (int)probes[p].dim};
    probe_data pd = {.on_story = gather_progress};
    herr e;
    if (probe_gather(r, &L, &tm, in, n_probes, per, &nm, &pd, &e) != 0) die("%s", e.msg);
    cli_progress_end();
    free(in);
    size_t n = pd.n;
    int *y_true = pd.labels;
    float *feats = pd.feats;
    reader_close(r);
    if (n == 0) die("%s: no test tokens%s", input ? input : "stdin", tm.n_drop ? " left after the probes' drops" : "");

    /* class -> name index maps (adds classes never seen in the test set) */
    int **cmap = xmalloc((size_t)n_probes * sizeof *cmap);
    for (int p = 0; p < n_probes; p++) {
        cmap[p] = xmalloc(probes[p].n_classes * sizeof **cmap);
        for (uint32_t k = 0; k < probes[p].n_classes; k++) cmap[p][k] = tagset_index(&nm, probes[p].classes[k]);
    }

    if (threads > n_probes) threads = n_probes;
    int max_dim = 1;
    for (int p = 0; p < n_probes; p++) max_dim = (int)probes[p].dim > max_dim ? (int)probes[p].dim : max_dim;
    eval_shared sh = {.probes = probes, .offset = offset, .cmap = (const int **)cmap, .feats = feats, .n = n,
                      .per = per, .y_true = y_true, .nm = &nm};
    sh.reports = xcalloc((size_t)n_probes, sizeof *sh.reports);
    sh.pred = xcalloc((size_t)threads, sizeof *sh.pred);
    sh.x = xcalloc((size_t)threads, sizeof *sh.x);
    for (int t = 0; t < threads; t++) {
        sh.pred[t] = xmalloc(n * sizeof **sh.pred);
        sh.x[t] = xmalloc((size_t)max_dim * sizeof **sh.x);
    }
    hpool *pool = hpool_new(threads, &e);
    if (!pool) die("%s", e.msg);
    if (hpool_for(pool, (size_t)n_probes, HPOOL_DYNAMIC, eval_one, &sh, &e) != 0) die("%s", e.msg);
    hpool_free(pool);
    for (int t = 0; t < threads; t++) {
        free(sh.pred[t]);
        free(sh.x[t]);
    }
    free(sh.pred);
    free(sh.x);

    /* CSV */
    if (csv_of) {
        outfile *of = csv_of;
        FILE *f = of->f;
        fprintf(f, "vector,layer,head,label,precision,recall,f1-score,support\n");
        for (int p = 0; p < n_probes; p++) {
            const cls_report *rep = &sh.reports[p];
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
    for (int j = 0; j < n_json; j++) {
        const uint32_t max_layer = json_grid[j].max_layer, max_head = json_grid[j].max_head;
        int *cell = json_grid[j].cell;
        outfile *of = json_of[j];
        FILE *f = of->f;
        fputs("[\n", f);
        for (uint32_t l = 0; l <= max_layer; l++) {
            fputs(l ? ",\n    [\n" : "    [\n", f);
            for (uint32_t h = 0; h <= max_head; h++) {
                fputs(h ? ",\n        " : "        ", f);
                int p = cell[(size_t)l * (max_head + 1) + h];
                if (p < 0) fputs("null", f);
                else cls_report_json(f, &sh.reports[p], 2);
            }
            fputs("\n    ]", f);
        }
        fputs("\n]", f);
        cli_close_output(of);
        free(cell);
    }

    if (meta_of) {
        outfile *of = meta_of;
        fprintf(of->f, "[probes: %s]\n", probes_path);
        header_print(&probes_h, of->f);
        fprintf(of->f, "[test activations: %s]\n", input ? input : "stdin");
        header_print(&acts_h, of->f);
        fprintf(of->f, "[report]\n");
        stream_header me;
        header_init(&me);
        header_add(&me, "test-tokens", "%zu", n);
        header_add(&me, "probes", "%d", n_probes);
        header_add_provenance(&me, argc, argv);
        header_print(&me, of->f);
        header_free(&me);
        cli_close_output(of);
    }
    header_free(&probes_h);
    header_free(&acts_h);
    for (int p = 0; p < n_probes; p++) {
        cls_report_free(&sh.reports[p]);
        free(cmap[p]);
        probe_free(&probes[p]);
    }
    probe_free(&probes[n_probes]);
    free(probes); free(cmap); free(sh.reports); free(offset); free(src_off);
    free(y_true); free(feats); free(nm.name);
    return 0;
}
