/* probe-baselines: train + test tagged streams -> what a probe scores with
 * no vector at all, per tag: the majority class and the token-id lookup
 * (probe/controls.h), as classification_report(zero_division=1) computes
 * them (probe/clsreport.h).
 *
 *   probe-baselines --train train.tagged -o baselines.tsv test.tagged
 *
 * How much of a head's F1 the token alone explains: a head whose F1 for a
 * tag is no better than the token-id lookup's has shown nothing the
 * token's identity does not already give.
 *
 * Reads: the train and test tagged streams.  Writes: TSV (and JSON) per
 * tag.  Links: probe/controls, probe/clsreport, text/tagmap.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/toolio.h"
#include "io/outfile.h"
#include "io/records.h"
#include "io/stream.h"
#include "probe/clsreport.h"
#include "probe/controls.h"
#include "probe/pyfmt.h"
#include "text/tagmap.h"

static void usage(void)
{
    printf(
        "usage: probe-baselines --train STREAM [options] [TEST]\n"
        "Per POS tag, the F1 of two baselines that read no vector, on the test split\n"
        "(TEST, stdin by default), trained on --train (tagged or activations streams):\n"
        "  majority  every token gets the most frequent training tag\n"
        "  token-id  every token gets the tag its token id carries most often in the\n"
        "            training split (ties: the tag that sorts first); an id the\n"
        "            training split lacks gets the majority tag\n"
        "Scores are classification_report(zero_division=1)'s, like probe-eval's.\n"
        "\n"
        "  --train FILE       the training split (required)\n"
        "  --rules-from FILE  a probes stream: use its tag rules (probe-merge, probe-drop),\n"
        "                     so the baselines see the tags its probes saw (default: every\n"
        "                     tag as it is, the empty tag included, as the study did)\n"
        "  -o, --output FILE  TSV (default stdout): comment lines naming the data, then\n"
        "                     tag, test support, train support, majority F1, token-id\n"
        "                     precision, recall and F1, one row per tag of either split\n"
        "                     (sorted; the empty tag is an empty field; a tag only in\n"
        "                     training that neither baseline predicts is left out,\n"
        "                     as classification_report leaves it out), then a row\n"
        "                     'accuracy' (accuracies in the F1 columns)\n"
        "  --json FILE        both reports as classification_report(output_dict=True)\n"
        "                     dicts: {\"majority\": {...}, \"token-id\": {...}}, as\n"
        "                     json.dump(indent=4) writes them\n"
        "  --help, --version\n"
        "A tag absent from the test split has support 0: its F1 says nothing (the\n"
        "summary shows '-').  The baselines use no model; the TSV says so.\n"
        "\n"
        "example:\n"
        "  probe-baselines --train out/standin/train.tagged out/standin/test.tagged\n");
    exit(0);
}

#define STORY_KINDS ((1u << STREAM_TAGGED) | (1u << STREAM_ACTIVATIONS))

typedef struct split {
    size_t n, cap;
    uint32_t *ids;
    int *y;          /* index into the tagset */
    uint32_t stories;
    char *header;    /* identity lines for the TSV */
} split;

/* A split's stream, opened and checked before any split is read (kept in a
 * static so that it is still reachable, not a leak, when die() exits). */
static stream_reader *open_split(const char *path)
{
    static stream_reader *opened[2];
    static int n_opened;
    stream_reader *r = opened[n_opened++ % 2] = cli_open_input(path, STORY_KINDS);
    if (stream_header_get(stream_reader_header(r), "control-task"))
        die("%s holds control-task tags, not real ones (control-task's output)", stream_reader_name(r));
    return r;
}

static void read_split(stream_reader *r, const tagmap *tm, tagset *names, split *sp)
{
    const stream_header *h = stream_reader_header(r);
    /* what the TSV says about this split */
    static const char *keys[] = {"stories-sha256", "stories-select", "split", "split-seed", "train-fraction",
                                 "take", "postag-align", "tagger-sha256"};
    size_t cap = 256, len = 0;
    sp->header = xmalloc(cap);
    sp->header[0] = 0;
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
        const char *v = stream_header_get(h, keys[k]);
        if (!v) continue;
        size_t need = len + strlen(keys[k]) + strlen(v) + 4;
        if (need > cap) sp->header = xrealloc(sp->header, cap = 2 * need);
        len += (size_t)sprintf(sp->header + len, "%s%s %s", len ? ", " : "", keys[k], v);
    }
    story_rec s;
    story_init(&s);
    while (cli_read_story(r, &s)) {
        sp->stories++;
        if (s.n_tokens && !(s.flags & STORY_HAS_TAGS))
            die("%s: story %u has no POS tags (run postag-join first)", stream_reader_name(r), s.story);
        for (uint32_t t = 0; t < s.n_tokens; t++) {
            char tag[TAG_MAX + 1];
            if (!tagmap_apply(tm, s.tokens[t].tag, tag)) continue;
            if (sp->n == sp->cap) {
                sp->cap = sp->cap ? 2 * sp->cap : 4096;
                sp->ids = xrealloc(sp->ids, sp->cap * sizeof *sp->ids);
                sp->y = xrealloc(sp->y, sp->cap * sizeof *sp->y);
            }
            sp->ids[sp->n] = s.tokens[t].id;
            if (cls_reserved_label(tag))
                die("%s: story %u, token %u: the tag '%s' is a name reports use for something else (accuracy, macro "
                    "avg, weighted avg, (none))", stream_reader_name(r), s.story, t, tag);
            herr he;
            if ((sp->y[sp->n] = tagset_index(names, tag, &he)) < 0) die("%s", he.msg);
            sp->n++;
        }
    }
    story_free(&s);
    stream_reader_close(r);
}

static int cmp_name(const void *a, const void *b, void *ctx)
{
    const tagset *t = ctx;
    return strcmp(t->name[*(const int *)a], t->name[*(const int *)b]);
}

static const cls_metrics *row_of(const cls_report *r, const char *label)
{
    for (int j = 0; j < r->n_labels; j++)
        if (!strcmp(r->labels[j], label)) return &r->rows[j];
    return NULL;
}

static void put_num(FILE *f, double v)
{
    char b[32];
    fprintf(f, "\t%s", py_repr_double(v, b));
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    enum { O_TRAIN = 256, O_RULES, O_JSON, O_HELP, O_VERSION };
    static const struct option opts[] = {
        {"train", required_argument, 0, O_TRAIN}, {"rules-from", required_argument, 0, O_RULES},
        {"output", required_argument, 0, 'o'},    {"json", required_argument, 0, O_JSON},
        {"help", no_argument, 0, O_HELP},         {"version", no_argument, 0, O_VERSION},
        {0, 0, 0, 0}};
    const char *train_path = NULL, *rules = NULL, *out = NULL, *json = NULL;
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (o) {
        case O_TRAIN: train_path = optarg; break;
        case O_RULES: rules = optarg; break;
        case 'o': out = optarg; break;
        case O_JSON: json = optarg; break;
        case 'h': case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    const char *test_path = cli_single_input(argc, argv);
    if (!train_path) die("no --train (the training split's tagged stream)");
    /* stdin holds one stream: it cannot be two of the inputs */
    {
        const int train_in = !strcmp(train_path, "-"), rules_in = rules && !strcmp(rules, "-"),
                  test_in = !test_path || !strcmp(test_path, "-");
        if (train_in + rules_in + test_in > 1)
            die("%s and %s both read stdin; give one of them as a file",
                train_in ? "--train" : "--rules-from", test_in ? "the test split" : "--rules-from");
    }

    tagmap tm;
    tagmap_init(&tm);
    if (rules) {
        static stream_reader *pr; /* static: reachable when die() exits */
        pr = cli_open_input(rules, 1u << STREAM_PROBES);
        herr he;
        if (tagmap_from_header(&tm, stream_reader_header(pr), &he) != 0) die("%s: %s", stream_reader_name(pr), he.msg);
        stream_reader_close(pr);
    }
    /* both splits opened and the outputs claimed before the work */
    stream_reader *trr = open_split(train_path), *ter = open_split(test_path);
    outfile *tsv = cli_open_output(out);
    outfile *js = json ? cli_open_output(json) : NULL;

    tagset names = {0, 0, NULL};
    split tr = {0}, te = {0};
    read_split(trr, &tm, &names, &tr);
    if (!tr.n) die("%s: no training tokens%s", train_path, tm.n_drop ? " left after the drops" : "");
    read_split(ter, &tm, &names, &te);
    if (!te.n) die("%s: no test tokens%s", test_path ? test_path : "stdin", tm.n_drop ? " left after the drops" : "");

    /* classes in sorted tag order, so ties go to the tag that sorts first */
    const int K = names.n;
    int *order = xmalloc((size_t)K * sizeof *order), *rank = xmalloc((size_t)K * sizeof *rank);
    for (int k = 0; k < K; k++) order[k] = k;
    qsort_r(order, (size_t)K, sizeof *order, cmp_name, &names);
    for (int k = 0; k < K; k++) rank[order[k]] = k;
    char (*sorted)[TAG_MAX + 1] = xmalloc((size_t)K * sizeof *sorted);
    for (int k = 0; k < K; k++) memcpy(sorted[k], names.name[order[k]], TAG_MAX + 1);
    for (size_t i = 0; i < tr.n; i++) tr.y[i] = rank[tr.y[i]];
    for (size_t i = 0; i < te.n; i++) te.y[i] = rank[te.y[i]];
    uint64_t *train_support = xcalloc((size_t)K, sizeof *train_support);
    for (size_t i = 0; i < tr.n; i++) train_support[tr.y[i]]++;

    herr e;
    tokid_baseline b;
    if (tokid_baseline_fit(&b, tr.ids, tr.y, tr.n, K, &e) != 0) die("%s", e.msg);
    int *pred_maj = xmalloc(te.n * sizeof *pred_maj), *pred_tok = xmalloc(te.n * sizeof *pred_tok);
    size_t unseen = 0;
    for (size_t i = 0; i < te.n; i++) {
        pred_maj[i] = b.majority;
        pred_tok[i] = tokid_baseline_predict(&b, te.ids[i]);
    }
    for (size_t i = 0; i < te.n; i++) {
        size_t lo = 0, hi = b.n_ids;
        while (lo < hi) { size_t m = (lo + hi) / 2; if (b.ids[m] < te.ids[i]) lo = m + 1; else hi = m; }
        unseen += !(lo < b.n_ids && b.ids[lo] == te.ids[i]);
    }
    cls_report maj, tok;
    if (cls_report_compute(&maj, (const char (*)[TAG_MAX + 1])sorted, K, te.y, pred_maj, te.n, &e) != 0 ||
        cls_report_compute(&tok, (const char (*)[TAG_MAX + 1])sorted, K, te.y, pred_tok, te.n, &e) != 0)
        die("%s", e.msg);

    FILE *f = tsv->f;
    fprintf(f, "# model: none (the baselines read token ids and tags only)\n");
    fprintf(f, "# train: %s: %u stories, %zu tokens%s%s\n", train_path, tr.stories, tr.n, *tr.header ? "; " : "",
            tr.header);
    fprintf(f, "# test: %s: %u stories, %zu tokens%s%s\n", test_path ? test_path : "stdin", te.stories, te.n,
            *te.header ? "; " : "", te.header);
    fprintf(f, "# majority tag: '%s'; token-id lookup: %zu distinct training ids; %zu test tokens (%.2f%%) have "
            "an id the training split lacks and get the majority tag\n",
            sorted[b.majority], b.n_ids, unseen, 100.0 * (double)unseen / (double)te.n);
    for (int i = 0; i < tm.n_merge; i++) fprintf(f, "# probe-merge: %s=%s\n", tm.pat[i], tm.to[i]);
    for (int i = 0; i < tm.n_drop; i++) fprintf(f, "# probe-drop: %s\n", tm.drop[i]);
    fprintf(f, "#tag\tsupport\ttrain_support\tmajority_f1\ttoken_id_precision\ttoken_id_recall\ttoken_id_f1\n");
    for (int k = 0; k < K; k++) {
        const cls_metrics *m = row_of(&maj, sorted[k]), *t = row_of(&tok, sorted[k]);
        /* a tag only in training that neither baseline predicts is in
         * neither report (classification_report lists true and predicted
         * labels): not reported here either */
        if (!m && !t) continue;
        cls_metrics absent = {0, 0, 0, 0};  /* in one report only: support 0, never predicted by the other */
        if (!m) m = &absent;
        if (!t) t = &absent;
        fprintf(f, "%s\t%.0f\t%llu", sorted[k], t->support, (unsigned long long)train_support[k]);
        put_num(f, m->f1);
        put_num(f, t->precision);
        put_num(f, t->recall);
        put_num(f, t->f1);
        fputc('\n', f);
    }
    fprintf(f, "accuracy\t%zu\t%zu", te.n, tr.n);
    put_num(f, maj.accuracy);
    fputs("\t\t", f);
    put_num(f, tok.accuracy);
    fputc('\n', f);
    cli_close_output(tsv);

    if (js) {
        fputs("{\n    \"majority\": ", js->f);
        cls_report_json(js->f, &maj, 1);
        fputs(",\n    \"token-id\": ", js->f);
        cls_report_json(js->f, &tok, 1);
        fputs("\n}", js->f);
        cli_close_output(js);
    }
    cls_report_free(&maj);
    cls_report_free(&tok);
    tokid_baseline_free(&b);
    free(pred_maj); free(pred_tok); free(order); free(rank); free(sorted); free(train_support);
    free(tr.ids); free(tr.y); free(tr.header); free(te.ids); free(te.y); free(te.header); free(names.name);
    return 0;
}
