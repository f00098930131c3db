/* report-grid: a probe-eval JSON report (the study's layout
 * [layer][head][tag] -> {precision, recall, f1-score, support}, like
 * results_keys.json) -> layer x head matrices as text for gnuplot's
 * `matrix with image` (rows = layers, columns = heads).
 *
 *   report-grid --tag VBD --model-from probes.hs keys.json > vbd.txt
 *   report-grid --all --model-from probes.hs keys.json > all-tags.txt
 *
 * The JSON carries no model identity, so one is required: --model-from FILE
 * (any heads stream whose header has model / model-sha256 lines: the probes
 * or activations the report was made from) or --model-label TEXT.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/outfile.h"
#include "cli/toolio.h"
#include "io/records.h"
#include "io/stream.h"
#include "text/textin.h"

static void usage(void)
{
    printf(
        "usage: report-grid (--tag TAG | --all | --list) (--model-from FILE | --model-label TEXT)\n"
        "                   [options] [JSON]\n"
        "Turn a probe-eval JSON report ([layer][head][tag] -> metrics, the study's layout)\n"
        "into layer x head matrices for gnuplot (`plot FILE matrix with image`): one row\n"
        "per layer, one column per head; NaN where a head's report lacks the tag or\n"
        "the head was not probed (null in the report).\n\n"
        "  --tag TAG          one matrix for TAG (\"(none)\" = the empty tag)\n"
        "  --all              one matrix per tag (sorted), each after a '# tag: T' line,\n"
        "                     separated by two blank lines (gnuplot's index)\n"
        "  --list             only the tags, one per line\n"
        "  --metric M         f1-score (default), precision, recall or support\n"
        "  --model-from FILE  a heads stream (probes / activations) naming the model\n"
        "  --model-label TEXT the model, in words (e.g. for the study's own JSON)\n"
        "  -o, --output FILE  output (default stdout)\n"
        "  --help, --version\n\n"
        "example:\n"
        "  probe-eval --probes probes.hs --json k=keys.json < test.acts && \\\n"
        "    report-grid --tag VBD --model-from probes.hs keys.json > vbd.txt && \\\n"
        "    gnuplot -e \"data='vbd.txt'; tag='VBD'; out='vbd'\" pipelines/figures/f1-heatmap.gp\n");
    exit(0);
}

static int is_summary(const char *k)
{
    return !strcmp(k, "accuracy") || !strcmp(k, "macro avg") || !strcmp(k, "weighted avg");
}

static const char *json_kind(const json_t *x)
{
    if (!x) return "missing";
    if (json_is_null(x)) return "null";
    if (json_is_string(x)) return "a string";
    if (json_is_boolean(x)) return "a boolean";
    if (json_is_array(x)) return "an array";
    if (json_is_object(x)) return "an object";
    return "a number";
}

/* One tag's (or average's) metrics as classification_report writes them:
 * precision, recall and f1-score numbers in [0, 1], support a count. */
static void check_metrics(const char *src, size_t l, size_t h, const char *k, const json_t *v)
{
    static const char *const names[] = {"precision", "recall", "f1-score", "support"};
    if (!json_is_object(v))
        die("%s: L%zuH%zu tag '%s' is not an object of metrics", src, l, h, story_tag_field(k));
    for (int i = 0; i < 4; i++) {
        const json_t *x = json_object_get(v, names[i]);
        if (!json_is_number(x))
            die("%s: L%zuH%zu tag '%s': '%s' is %s, not a number", src, l, h, story_tag_field(k),
                names[i], json_kind(x));
        const double d = json_number_value(x);
        if (i == 3 && !(d >= 0 && d == floor(d) && d < 9e15))
            die("%s: L%zuH%zu tag '%s': support %g is not a count", src, l, h, story_tag_field(k), d);
        if (i < 3 && !(d >= 0 && d <= 1))
            die("%s: L%zuH%zu tag '%s': %s %g is outside [0, 1]", src, l, h, story_tag_field(k), names[i], d);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void print_matrix(FILE *f, json_t *root, size_t NL, size_t NH, const char *tag,
                         const char *metric, const char *src)
{
    for (size_t l = 0; l < NL; l++) {
        json_t *row = json_array_get(root, l);
        for (size_t h = 0; h < NH; h++) {
            json_t *rep = json_array_get(row, h);
            json_t *m = json_object_get(rep, tag);
            double v = NAN;
            if (m) {
                json_t *x = json_object_get(m, metric);
                if (!x || !json_is_number(x))
                    die("%s: L%zuH%zu tag '%s' has no number '%s'", src, l, h, tag, metric);
                v = json_number_value(x);
            }
            if (isnan(v)) fprintf(f, "%sNaN", h ? " " : "");
            else fprintf(f, "%s%.17g", h ? " " : "", v);
        }
        fputc('\n', f);
    }
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    enum { O_TAG = 256, O_ALL, O_LIST, O_METRIC, O_MFROM, O_MLABEL, O_HELP, O_VERSION };
    static const struct option opts[] = {
        {"tag", required_argument, 0, O_TAG},           {"all", no_argument, 0, O_ALL},
        {"list", no_argument, 0, O_LIST},               {"metric", required_argument, 0, O_METRIC},
        {"model-from", required_argument, 0, O_MFROM},  {"model-label", required_argument, 0, O_MLABEL},
        {"output", required_argument, 0, 'o'},          {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION},         {0, 0, 0, 0}};
    const char *tag = NULL, *metric = "f1-score", *mfrom = NULL, *mlabel = NULL, *out = NULL;
    int all = 0, list = 0, o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (o) {
        case O_TAG: tag = optarg; break;
        case O_ALL: all = 1; break;
        case O_LIST: list = 1; break;
        case O_METRIC: metric = optarg; break;
        case O_MFROM: mfrom = optarg; break;
        case O_MLABEL: mlabel = optarg; break;
        case 'o': out = optarg; break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    const char *input = cli_single_input(argc, argv);
    if ((tag != NULL) + all + list != 1) die("give exactly one of --tag TAG, --all, --list");
    if (strcmp(metric, "f1-score") && strcmp(metric, "precision") && strcmp(metric, "recall") &&
        strcmp(metric, "support"))
        die("--metric: '%s' is not f1-score, precision, recall or support", metric);
    if (!list && !mfrom == !mlabel)
        die("name the model: give exactly one of --model-from FILE, --model-label TEXT");
    if (tag && !strcmp(tag, "(none)")) tag = "";

    /* the model identity */
    char *model = NULL, *model_sha = NULL;
    if (mfrom) {
        stream_reader *r = cli_open_input(mfrom, 0);
        const stream_header *h = stream_reader_header(r);
        const char *m = stream_header_get(h, "model"), *s = stream_header_get(h, "model-sha256");
        if (!m || !s) die("%s: its header names no model (no model / model-sha256 lines)", mfrom);
        model = xstrdup(m);
        model_sha = xstrdup(s);
        stream_reader_close(r);
    } else if (mlabel) {
        model = xstrdup(mlabel);
    }

    /* the report */
    const char *src = input ? input : "stdin";
    json_error_t je;
    herr he;
    if ((!input || !strcmp(input, "-")) && textin_stdin_check(&he)) die("%s", he.msg);
    /* static: still reachable (not a leak) when die() exits mid-way */
    static json_t *root;
    if (input && strcmp(input, "-")) { /* read here: a missing file or a directory is named as such */
        size_t len;
        char *text = cli_read_file(input, &len);
        root = json_loadb(text, len, 0, &je);
        free(text);
    } else {
        root = json_loadf(stdin, 0, &je);
    }
    if (!root) die("%s:%d: not JSON: %s", src, je.line, je.text);
    if (!json_is_array(root) || json_array_size(root) == 0)
        die("%s: not a probe report (want a [layer][head] array of classification reports)", src);
    const size_t NL = json_array_size(root);
    size_t NH = 0;
    static const char **tags;
    size_t ntags = 0, tcap = 0, probed = 0;
    for (size_t l = 0; l < NL; l++) { /* the shape first, then what the heads hold */
        json_t *row = json_array_get(root, l);
        if (!json_is_array(row) || json_array_size(row) == 0)
            die("%s: layer %zu is not an array of head reports", src, l);
        if (l == 0) NH = json_array_size(row);
        else if (json_array_size(row) != NH)
            die("%s: layer %zu has %zu heads, layer 0 has %zu", src, l, json_array_size(row), NH);
    }
    for (size_t l = 0; l < NL; l++) {
        json_t *row = json_array_get(root, l);
        for (size_t h = 0; h < NH; h++) {
            json_t *rep = json_array_get(row, h);
            if (json_is_null(rep)) continue; /* a head probe-eval had no probe for */
            if (!json_is_object(rep)) die("%s: L%zuH%zu is not a classification report", src, l, h);
            probed++;
            const char *k;
            json_t *v;
            json_object_foreach(rep, k, v) {
                if (!strcmp(k, "accuracy")) {
                    if (!json_is_number(v)) die("%s: L%zuH%zu: accuracy is %s, not a number", src, l, h, json_kind(v));
                    if (!(json_number_value(v) >= 0 && json_number_value(v) <= 1))
                        die("%s: L%zuH%zu: accuracy %g is outside [0, 1]", src, l, h, json_number_value(v));
                    continue;
                }
                check_metrics(src, l, h, k, v);
                if (is_summary(k)) continue;
                size_t i;
                for (i = 0; i < ntags; i++)
                    if (!strcmp(tags[i], k)) break;
                if (i == ntags) {
                    if (ntags == tcap) tags = xrealloc(tags, (tcap = tcap ? 2 * tcap : 64) * sizeof *tags);
                    tags[ntags++] = k;
                }
            }
        }
    }
    if (!probed) die("%s: every head's report is null (no head was probed)", src);
    qsort(tags, ntags, sizeof *tags, cmp_str);
    if (tag) {
        size_t i;
        for (i = 0; i < ntags; i++)
            if (!strcmp(tags[i], tag)) break;
        if (i == ntags) die("%s: no head's report has the tag '%s'", src, story_tag_field(tag));
    }

    /* everything checked: the output */
    outfile *tab = cli_open_output(out);
    FILE *f = tab->f;
    if (list) {
        for (size_t i = 0; i < ntags; i++) fprintf(f, "%s\n", story_tag_field(tags[i]));
        cli_close_output(tab);
        json_decref(root);
        free(tags);
        free(model);
        free(model_sha);
        return 0;
    }
    fprintf(f, "# model: %s\n", model);
    if (model_sha) fprintf(f, "# model-sha256: %s\n", model_sha);
    fprintf(f, "# report: %s  metric: %s  rows: layers 0..%zu  columns: heads 0..%zu\n", src, metric,
            NL - 1, NH - 1);
    if (tag) {
        fprintf(f, "# tag: %s\n", story_tag_field(tag));
        print_matrix(f, root, NL, NH, tag, metric, src);
    } else {
        fprintf(f, "# tags: %zu\n", ntags);
        for (size_t i = 0; i < ntags; i++) {
            if (i) fputs("\n\n", f);
            fprintf(f, "# tag: %s\n", story_tag_field(tags[i]));
            print_matrix(f, root, NL, NH, tags[i], metric, src);
        }
    }
    cli_close_output(tab);
    json_decref(root);
    free(tags);
    free(model);
    free(model_sha);
    return 0;
}
