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
 *
 * Reads: a report in the study's JSON layout and (--model-from) a stream
 * header.  Writes: gnuplot matrices as text.  Links: probe/report,
 * cli/toolio, text/textin.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "probe/report.h"
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

/* One tag's layer x head matrix of metric; NaN where a head was not probed
 * or has no such tag (probe_report_check has made every metric a number). */
static void print_matrix(FILE *f, const probe_report *rep, const char *tag, const char *metric)
{
    for (size_t l = 0; l < rep->n_layer; l++) {
        for (size_t h = 0; h < rep->n_head; h++) {
            const double v = probe_report_metric(rep, l, h, tag, metric);
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
    if (mfrom || mlabel) cli_model_identity(mfrom, mlabel, &model, &model_sha);

    /* the report, checked whole before any output */
    herr he;
    if ((!input || !strcmp(input, "-")) && textin_stdin_check(&he)) die("%s", he.msg);
    static probe_report rep; /* static: still reachable (not a leak) when die() exits mid-way */
    if (probe_report_load(&rep, input, &he)) die("%s", he.msg);
    const char *src = input ? input : "stdin";
    const size_t NL = rep.n_layer, NH = rep.n_head, ntags = rep.n_tags;
    const char *const *tags = rep.tags;
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
        probe_report_free(&rep);
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
        print_matrix(f, &rep, tag, metric);
    } else {
        fprintf(f, "# tags: %zu\n", ntags);
        for (size_t i = 0; i < ntags; i++) {
            if (i) fputs("\n\n", f);
            fprintf(f, "# tag: %s\n", story_tag_field(tags[i]));
            print_matrix(f, &rep, tags[i], metric);
        }
    }
    cli_close_output(tab);
    probe_report_free(&rep);
    free(model);
    free(model_sha);
    return 0;
}
