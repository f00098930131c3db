/* probe-compare: compare two probe reports in the study's JSON layout
 * ([layer][head] -> classification_report dict, as probe-eval --json and the
 * study's results_keys.json / results_queries.json), tag by tag: the best
 * head on each side, F1 differences over the grid and the Spearman rank
 * correlation of the two F1 grids.
 *
 * Reads: two reports in the study's JSON layout.  Writes: a text table, TSV
 * (--tsv) or layer x head matrices (--grid).  Links: probe/report (the
 * checked reader shared with report-grid), probe/clsreport (its summary
 * keys), probe/pyfmt, io/records (--tags), cli/toolio.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/toolio.h"
#include "io/outfile.h"
#include "io/records.h"
#include "io/stream.h"
#include "probe/clsreport.h"
#include "probe/pyfmt.h"
#include "probe/report.h"
#include "text/textin.h"

static void usage(void)
{
    printf(
        "usage: probe-compare [options] A.json B.json\n"
        "Compare two probe reports in the study's layout ([layer][head] -> {tag:\n"
        "{precision, recall, f1-score, support}, accuracy, macro avg, weighted avg}),\n"
        "e.g. probe-eval --json output against the study's results_keys.json, or two\n"
        "runs.  One row per tag present on both sides (then accuracy, macro avg and\n"
        "weighted avg F1), over the heads present on both sides:\n"
        "  support A / B, the best head by F1 on each side (LxHy and its F1), whether\n"
        "  they are the same head, B's best head's rank in A's grid (1 = best), mean\n"
        "  and max |F1(A) - F1(B)| (and where the max is), and Spearman's rank\n"
        "  correlation of the two F1 grids (average ranks for ties; '-' when a grid\n"
        "  is constant).\n"
        "\n"
        "  --tags LIST        only these tags, comma-separated (e.g. VBD,CC,PRP$; the\n"
        "                     empty tag is (none))\n"
        "  --min-support N    only tags with support >= N on both sides (default 1)\n"
        "  --tsv              tab-separated with a header line, full precision\n"
        "  --grid             instead: per tag (then accuracy, macro avg, weighted avg)\n"
        "                     the layer x head matrix of F1(A) - F1(B) (accuracy: A's\n"
        "                     minus B's), NaN where a side lacks the head or the tag,\n"
        "                     in report-grid --all's layout (for gnuplot; e.g. F1 minus\n"
        "                     a control model's F1, or selectivity: accuracy minus the\n"
        "                     control task's); needs --model-from or --model-label;\n"
        "                     --tags picks the average rows too (--tags accuracy)\n"
        "  --model-from FILE  (--grid) a stream whose header names A's model\n"
        "  --model-label TEXT (--grid) A's model in words\n"
        "  -o, --output FILE  output (default stdout)\n"
        "  --help, --version\n"
        "\n"
        "example:\n"
        "  probe-eval --probes probes.hs --json k=keys.json < test.acts\n"
        "  probe-compare keys.json data/cache/study/results_keys.json\n"
        "  probe-compare --grid --model-from probes.hs keys.json control/keys.json > minus-control.txt\n");
    exit(0);
}

/* F1 of key at a head ("accuracy" is a bare number); NAN when absent. */
static double cell_f1(const probe_report *r, int l, int h, const char *key)
{
    return probe_report_metric(r, (size_t)l, (size_t)h, key, "f1-score");
}

static double cell_support(const probe_report *r, int l, int h, const char *key)
{
    return probe_report_metric(r, (size_t)l, (size_t)h, key, "support");
}

/* Average ranks (1-based) of v[0..n-1]. */
static void ranks(const double *v, int n, double *r)
{
    int *idx = xmalloc((size_t)n * sizeof *idx);
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = 1; i < n; i++) /* insertion sort, stable; n <= a few hundred */
        for (int j = i; j > 0 && v[idx[j - 1]] > v[idx[j]]; j--) { int t = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = t; }
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && v[idx[j + 1]] == v[idx[i]]) j++;
        double avg = (i + j) / 2.0 + 1.0;
        for (int k = i; k <= j; k++) r[idx[k]] = avg;
        i = j + 1;
    }
    free(idx);
}

/* Spearman's rho: Pearson correlation of the average ranks; NAN if a side
 * is constant or n < 2. */
static double spearman(const double *a, const double *b, int n)
{
    if (n < 2) return NAN;
    double *ra = xmalloc((size_t)n * sizeof *ra), *rb = xmalloc((size_t)n * sizeof *rb);
    ranks(a, n, ra);
    ranks(b, n, rb);
    double ma = 0, mb = 0;
    for (int i = 0; i < n; i++) { ma += ra[i]; mb += rb[i]; }
    ma /= n; mb /= n;
    double sab = 0, saa = 0, sbb = 0;
    for (int i = 0; i < n; i++) {
        sab += (ra[i] - ma) * (rb[i] - mb);
        saa += (ra[i] - ma) * (ra[i] - ma);
        sbb += (rb[i] - mb) * (rb[i] - mb);
    }
    free(ra); free(rb);
    if (saa == 0 || sbb == 0) return NAN;
    return sab / sqrt(saa * sbb);
}

typedef struct row {
    char tag[64];
    double sup_a, sup_b;
    int best_a, best_b;      /* cell index, -1 if none */
    double f1_best_a, f1_best_b;
    int rank_b_in_a;
    double mean_abs, max_abs;
    int at_max;
    double rho;
    int n;
} row;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    enum { O_TAGS = 256, O_MINSUP, O_TSV, O_GRID, O_MFROM, O_MLABEL, O_HELP, O_VERSION };
    static const struct option opts[] = {
        {"tags", required_argument, 0, O_TAGS}, {"min-support", required_argument, 0, O_MINSUP},
        {"tsv", no_argument, 0, O_TSV}, {"output", required_argument, 0, 'o'},
        {"grid", no_argument, 0, O_GRID}, {"model-from", required_argument, 0, O_MFROM},
        {"model-label", required_argument, 0, O_MLABEL},
        {"help", no_argument, 0, O_HELP}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    const char *tags = NULL, *out = NULL, *mfrom = NULL, *mlabel = NULL;
    long min_sup = 1;
    int tsv = 0, grid_mode = 0;
    opterr = 0;
    int o;
    while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (o) {
        case O_TAGS:
            tags = optarg;
            if (!*tags || strstr(tags, ",,") || *tags == ',' || tags[strlen(tags) - 1] == ',')
                die("--tags: '%s' has an empty item (the empty tag is written (none))", tags);
            break;
        case O_MINSUP: min_sup = cli_parse_long("--min-support", optarg, 0, 1L << 40); break;
        case O_TSV: tsv = 1; break;
        case O_GRID: grid_mode = 1; break;
        case O_MFROM: mfrom = optarg; break;
        case O_MLABEL: mlabel = optarg; break;
        case 'o': out = optarg; break;
        case 'h': case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    if (argc - optind != 2) die("want two reports: A.json B.json (see --help)");
    if (grid_mode && tsv) die("give one of --grid, --tsv");
    if (grid_mode && !mfrom == !mlabel) die("--grid: name A's model with one of --model-from FILE, --model-label TEXT");
    if (!grid_mode && (mfrom || mlabel)) die("--model-from / --model-label go with --grid");
    /* the model identity (for --grid's figure) */
    char *model = NULL, *model_sha = NULL;
    if (mfrom || mlabel) cli_model_identity(mfrom, mlabel, &model, &model_sha);
    /* both reports checked whole (shape, types) before any output */
    static probe_report A, B; /* static: reachable when die() exits */
    const char *pa = argv[optind], *pb = argv[optind + 1];
    herr he;
    const int sa = !strcmp(pa, "-"), sb = !strcmp(pb, "-");
    if (sa && sb) die("both reports read stdin; give one of them as a file");
    if ((sa || sb) && textin_stdin_check(&he)) die("%s", he.msg);
    if (probe_report_load(&A, pa, &he) || probe_report_load(&B, pb, &he)) die("%s", he.msg);
    const int NL = (int)(A.n_layer < B.n_layer ? A.n_layer : B.n_layer);
    const int NH = (int)(A.n_head < B.n_head ? A.n_head : B.n_head);
    /* common cells */
    int *ca = xmalloc((size_t)(NL * NH + 1) * sizeof *ca), n_common = 0;
    for (int l = 0; l < NL; l++)
        for (int h = 0; h < NH; h++)
            if (probe_report_head(&A, (size_t)l, (size_t)h) && probe_report_head(&B, (size_t)l, (size_t)h))
                ca[n_common++] = l * NH + h;
    if (!n_common) die("%s and %s have no probed head in common", pa, pb);

    /* the tags: keys of the first common cell of either side, sorted, plus
     * keys of any other common cell */
    char **keys = NULL;
    size_t n_keys = 0;
    for (int i = 0; i < n_common; i++) {
        int l = ca[i] / NH, h = ca[i] % NH;
        const json_t *cells[2] = {probe_report_head(&A, (size_t)l, (size_t)h), probe_report_head(&B, (size_t)l, (size_t)h)};
        for (int s = 0; s < 2; s++) {
            const char *k;
            json_t *v;
            json_object_foreach((json_t *)cells[s], k, v) {
                if (cls_summary_key(k)) continue;
                size_t j;
                for (j = 0; j < n_keys && strcmp(keys[j], k); j++) {}
                if (j == n_keys) {
                    keys = xrealloc(keys, (n_keys + 1) * sizeof *keys);
                    keys[n_keys++] = xstrdup(k);
                }
            }
        }
    }
    qsort(keys, n_keys, sizeof *keys, cmp_str);
    /* every tag asked for is one the reports have (a typo selects nothing) */
    for (const char *p = tags; p;) {
        const char *c = strchr(p, ',');
        const size_t len = c ? (size_t)(c - p) : strlen(p);
        char item[64];
        snprintf(item, sizeof item, "%.*s", (int)len, p);
        size_t j = 0;
        while (j < n_keys && !story_tag_item_names(p, len, keys[j])) j++;
        if (j == n_keys && !cls_summary_key(item)) die("--tags: no head probed in both %s and %s has the tag '%s'", pa, pb, item);
        p = c ? c + 1 : NULL;
    }
    static const char *avg_keys[3] = {"accuracy", "macro avg", "weighted avg"};
    row *rows = xcalloc(n_keys + 3, sizeof *rows);
    int n_rows = 0;
    double *fa = xmalloc((size_t)n_common * sizeof *fa), *fb = xmalloc((size_t)n_common * sizeof *fb);
    int *at = xmalloc((size_t)n_common * sizeof *at);
    for (size_t t = 0; t < n_keys + 3; t++) {
        const char *key = t < n_keys ? keys[t] : avg_keys[t - n_keys];
        int avg = t >= n_keys;
        if (!avg && !story_tag_in_list(tags, key)) continue;
        row *r = &rows[n_rows];
        memset(r, 0, sizeof *r);
        snprintf(r->tag, sizeof r->tag, "%s", key);
        r->sup_a = r->sup_b = NAN;
        int n = 0;
        for (int i = 0; i < n_common; i++) {
            int l = ca[i] / NH, h = ca[i] % NH;
            double a = cell_f1(&A, l, h, key), b = cell_f1(&B, l, h, key);
            if (isnan(r->sup_a)) r->sup_a = cell_support(&A, l, h, avg ? "macro avg" : key);
            if (isnan(r->sup_b)) r->sup_b = cell_support(&B, l, h, avg ? "macro avg" : key);
            if (isnan(a) || isnan(b)) continue;
            fa[n] = a; fb[n] = b; at[n] = ca[i];
            n++;
        }
        if (!n) continue;
        if (!avg && min_sup > 0 && !(r->sup_a >= (double)min_sup && r->sup_b >= (double)min_sup)) continue;
        r->n = n;
        int ia = 0, ib = 0;
        for (int i = 1; i < n; i++) {
            if (fa[i] > fa[ia]) ia = i;
            if (fb[i] > fb[ib]) ib = i;
        }
        r->best_a = at[ia]; r->best_b = at[ib];
        r->f1_best_a = fa[ia]; r->f1_best_b = fb[ib];
        r->rank_b_in_a = 1;
        for (int i = 0; i < n; i++) r->rank_b_in_a += fa[i] > fa[ib];
        double sum = 0;
        r->max_abs = -1;
        for (int i = 0; i < n; i++) {
            double d = fabs(fa[i] - fb[i]);
            sum += d;
            if (d > r->max_abs) { r->max_abs = d; r->at_max = at[i]; }
        }
        r->mean_abs = sum / n;
        r->rho = spearman(fa, fb, n);
        n_rows++;
    }

    outfile *of = cli_open_output(out);
    FILE *f = of->f;
    if (grid_mode) {
        fprintf(f, "# model: %s\n", model);
        if (model_sha) fprintf(f, "# model-sha256: %s\n", model_sha);
        fprintf(f, "# report: %s minus %s  metric: f1-score difference (accuracy: difference of accuracies)  "
                   "rows: layers 0..%d  columns: heads 0..%d\n", pa, pb, NL - 1, NH - 1);
        /* --tags picks the average rows too here (accuracy: selectivity) */
        int n_shown = 0;
        for (int i = 0; i < n_rows; i++) n_shown += story_tag_in_list(tags, rows[i].tag);
        fprintf(f, "# tags: %d\n", n_shown);
        for (int i = 0, shown = 0; i < n_rows; i++) {
            if (!story_tag_in_list(tags, rows[i].tag)) continue;
            if (shown++) fputs("\n\n", f);
            fprintf(f, "# tag: %s\n", rows[i].tag[0] ? rows[i].tag : "(none)");
            for (int l = 0; l < NL; l++) {
                for (int h = 0; h < NH; h++) {
                    double d = cell_f1(&A, l, h, rows[i].tag) - cell_f1(&B, l, h, rows[i].tag);
                    if (isnan(d)) fprintf(f, "%sNaN", h ? " " : "");
                    else fprintf(f, "%s%.17g", h ? " " : "", d);
                }
                fputc('\n', f);
            }
        }
    } else if (tsv) {
        fprintf(f, "tag\tsupport_a\tsupport_b\tbest_a\tf1_best_a\tbest_b\tf1_best_b\tsame_best\trank_of_best_b_in_a\t"
                   "mean_abs_df1\tmax_abs_df1\tat_max\tspearman\theads\n");
        for (int i = 0; i < n_rows; i++) {
            row *r = &rows[i];
            char b[6][32];
            fprintf(f, "%s\t%s\t%s\tL%dH%d\t%s\tL%dH%d\t%s\t%s\t%d\t%s\t%s\tL%dH%d\t", r->tag,
                    py_repr_double(r->sup_a, b[0]), py_repr_double(r->sup_b, b[1]), r->best_a / NH, r->best_a % NH,
                    py_repr_double(r->f1_best_a, b[2]), r->best_b / NH, r->best_b % NH,
                    py_repr_double(r->f1_best_b, b[3]), r->best_a == r->best_b ? "yes" : "no", r->rank_b_in_a,
                    py_repr_double(r->mean_abs, b[4]), py_repr_double(r->max_abs, b[5]), r->at_max / NH,
                    r->at_max % NH);
            if (isnan(r->rho)) fprintf(f, "-\t%d\n", r->n);
            else fprintf(f, "%s\t%d\n", py_repr_double(r->rho, b[0]), r->n);
        }
    } else {
        fprintf(f, "A: %s (%zux%zu)\nB: %s (%zux%zu)\n%d heads in common\n\n", pa, A.n_layer, A.n_head, pb,
                B.n_layer, B.n_head, n_common);
        fprintf(f, "%-13s %8s %8s  %-13s %-13s %-4s %6s  %8s  %-15s %7s\n", "tag", "sup A", "sup B", "best A (F1)",
                "best B (F1)", "same", "rankA", "mean|dF1|", "max|dF1| (at)", "rho");
        for (int i = 0; i < n_rows; i++) {
            row *r = &rows[i];
            char ba[32], bb[32], mx[32], rho[16], tg[80];
            snprintf(tg, sizeof tg, "%s", r->tag[0] ? r->tag : "(none)");
            snprintf(ba, sizeof ba, "L%dH%d %.3f", r->best_a / NH, r->best_a % NH, r->f1_best_a);
            snprintf(bb, sizeof bb, "L%dH%d %.3f", r->best_b / NH, r->best_b % NH, r->f1_best_b);
            snprintf(mx, sizeof mx, "%.4f L%dH%d", r->max_abs, r->at_max / NH, r->at_max % NH);
            if (isnan(r->rho)) snprintf(rho, sizeof rho, "-");
            else snprintf(rho, sizeof rho, "%.3f", r->rho);
            fprintf(f, "%-13s %8.0f %8.0f  %-13s %-13s %-4s %6d  %9.4f  %-15s %7s\n", tg, r->sup_a, r->sup_b, ba, bb,
                    r->best_a == r->best_b ? "yes" : "no", r->rank_b_in_a, r->mean_abs, mx, rho);
        }
    }
    cli_close_output(of);
    for (size_t i = 0; i < n_keys; i++) free(keys[i]);
    free(keys); free(rows); free(fa); free(fb); free(at); free(ca);
    free(model); free(model_sha);
    probe_report_free(&A);
    probe_report_free(&B);
    return 0;
}
