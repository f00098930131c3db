/* activity: per-token activity of chosen heads, as a TSV table for gnuplot.
 *
 *   forward-dump --model m --vectors z --layers 2 --heads 0 < tagged.hs | \
 *     activity --model m --heads L2H0 --story 12 --window 40:70 > act.tsv
 *
 * Activity of head h of layer l at token i is ||c_i||_2 with
 * c_i = out_proj.weight[:, h*dk:(h+1)*dk] @ z_h(i) (the head's contribution
 * to the residual stream, without the projection's bias; docs/DESIGN.md §1.2).
 * For GPT-2 (model-type: gpt2 in the header) the same contribution is
 * z_h(i) @ c_proj.weight[h*dk:(h+1)*dk, :]: the rows of its Conv1D [in][out]
 * weight (the model keeps it transposed to [out][in] once loaded, so one
 * computation serves both; docs/gpt2.md).
 * It is computed from the dumped z vectors and the model's W_O (--model,
 * which must be the model the activations came from), or read from dumped
 * "a" floats (forward-dump --vectors a) when no model is given.
 *
 * Reads: an activations stream with z (or a) vectors; optionally the model
 * directory.  Writes: a TSV table, one row per token and head.
 * Links: io/records (act_layout), model/gptneo (W_O), cli/toolio.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/outfile.h"
#include "model/gptneo.h"
#include "cli/toolio.h"
#include "cli/toolmodel.h"
#include "io/records.h"
#include "io/stream.h"

static void usage(void)
{
    printf(
        "usage: activity [options] [INPUT]\n"
        "Per-token activity ||W_O[:, h*dk:(h+1)*dk] z_h||_2 of chosen heads (GPT-2:\n"
        "||z_h c_proj.weight[h*dk:(h+1)*dk, :]||_2), from an activations stream (stdin or\n"
        "INPUT), as TSV:\n"
        "  story pos token tag layer head activity label\n"
        "label is the study's \"word (TAG)\"; tag \"(none)\" = untagged.  The table starts with\n"
        "'#' lines naming the model (from the stream header) and the columns.\n\n"
        "  --heads LIST       heads, e.g. L2H0,L6H4, or all (every dumped head)\n"
        "  --layer N --head N one head (instead of --heads)\n"
        "  --model DIR        compute from z with the model's W_O; DIR must hold the\n"
        "                     model the activations came from (sha256 checked).\n"
        "                     Without --model the dumped 'a' floats are used.\n"
        "  --story LIST       stories by index, e.g. 12 or 0-99 (default all)\n"
        "  --window A:B       token positions A..B-1 of each story (default all)\n"
        "  -o, --output FILE  output (default stdout)\n"
        "  --help, --version\n\n"
        "example:\n"
        "  tokenize --stories 0-199 < stories.txt | postag-join | \\\n"
        "    forward-dump --model m --vectors z --layers 6 --heads 4 | \\\n"
        "    activity --model m --heads L6H4 --story 12 --window 40:70 > act.tsv\n");
    exit(0);
}

int main(int argc, char **argv)
{
    herr he;
    cli_init(argv[0]);
    enum { O_HEADS = 256, O_LAYER, O_HEAD, O_MODEL, O_STORY, O_WINDOW, O_HELP, O_VERSION };
    static const struct option opts[] = {
        {"heads", required_argument, 0, O_HEADS}, {"layer", required_argument, 0, O_LAYER},
        {"head", required_argument, 0, O_HEAD},   {"model", required_argument, 0, O_MODEL},
        {"story", required_argument, 0, O_STORY}, {"window", required_argument, 0, O_WINDOW},
        {"output", required_argument, 0, 'o'},    {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION},   {0, 0, 0, 0}};
    const char *heads_s = NULL, *model_dir = NULL, *story_s = NULL, *window_s = NULL, *out = NULL;
    long layer = -1, head = -1;
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (o) {
        case O_HEADS: heads_s = optarg; break;
        case O_LAYER: layer = cli_parse_long("--layer", optarg, 0, 100000); break;
        case O_HEAD: head = cli_parse_long("--head", optarg, 0, 100000); break;
        case O_MODEL: model_dir = optarg; break;
        case O_STORY: story_s = optarg; break;
        case O_WINDOW: window_s = optarg; break;
        case 'o': out = optarg; break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    const char *input = cli_single_input(argc, argv);

    static head_id heads[SELECT_MAX_HEADS];
    int nh = cli_heads_from_options(heads_s, layer, head, NULL, heads); /* 0: all, expanded below */
    story_sel sel;
    if (story_sel_parse(&sel, story_s, &he)) die("--story: %s", he.msg);
    tok_window win = {0, -1, 0};
    if (window_s && tok_window_parse(&win, window_s, &he)) die("--window: %s", he.msg);

    stream_reader *r = cli_open_input(input, 1u << STREAM_ACTIVATIONS);
    const stream_header *h = stream_reader_header(r);
    act_layout L;
    cli_act_layout(r, &L, 1);
    if (nh == 0) nh = cli_heads_from_options(heads_s, layer, head, &L, heads);

    /* the model, when given, must be the stream's */
    gptneo_model m;
    int have_model = 0;
    if (model_dir) {
        cli_load_model(model_dir, &m);
        have_model = 1;
        const char *sha = stream_header_get(h, "model-sha256"); /* present: cli_act_layout checked */
        if (strcmp(sha, m.weights_sha256))
            die("--model %s is not the model of the activations (weights sha256 %.12s..., stream's "
                "model-sha256 %.12s...)",
                model_dir, m.weights_sha256, sha);
        if (m.cfg.n_layer != L.n_layer || m.cfg.n_head != L.n_head || m.cfg.d_head != L.d_head)
            die("--model %s has %d layers x %d heads of size %d; the activations %d x %d of size %d",
                model_dir, m.cfg.n_layer, m.cfg.n_head, m.cfg.d_head, L.n_layer, L.n_head, L.d_head);
    }

    /* where each head's input lives */
    int off[SELECT_MAX_HEADS];
    for (int i = 0; i < nh; i++) {
        const int l = heads[i].layer, hh = heads[i].head;
        if (l >= L.n_layer) die("L%dH%d: layer %d is out of range (the model has %d layers)", l, hh, l, L.n_layer);
        if (hh >= L.n_head) die("L%dH%d: head %d is out of range (the model has %d heads)", l, hh, hh, L.n_head);
        if (have_model) {
            off[i] = act_offset(&L, l, hh, 'z');
            if (off[i] < 0)
                die("%s: the activations have no z vector for L%dH%d (forward-dump dumps it with --vectors z and "
                    "layer %d in --layers; the header lists what was dumped)", stream_reader_name(r), l, hh, l);
        } else {
            off[i] = act_offset(&L, l, hh, 'a');
            if (off[i] < 0) {
                if (act_offset(&L, l, hh, 'z') >= 0)
                    die("activity from z vectors needs the model's W_O: give --model DIR");
                die("%s: the activations have no z or a vector for L%dH%d (forward-dump --vectors z or a)",
                    stream_reader_name(r), l, hh);
            }
        }
    }

    outfile *tab = cli_open_output(out);
    FILE *f = tab->f;
    /* The table's head, printed with the first row (or at the end): a
     * refusal at the first story chosen (its floats, its --window) leaves
     * the output empty.  Rows then stream as the stories are read. */
    char *thead = NULL;
    size_t head_len = 0;
    FILE *hf = open_memstream(&thead, &head_len);
    if (!hf) die("out of memory");
    cli_table_model(hf, h);
    const char *mt = stream_header_get(h, "model-type");
    if (mt && !strcmp(mt, "gpt2"))
        fprintf(hf, "# activity = ||z_h @ c_proj.weight[h*dk:(h+1)*dk, :]||_2 (GPT-2; %s)\n",
                have_model ? "computed from z and c_proj" : "dumped by forward-dump");
    else
        fprintf(hf, "# activity = ||out_proj.weight[:, h*dk:(h+1)*dk] @ z_h||_2 (%s)\n",
                have_model ? "computed from z and W_O" : "dumped by forward-dump");
    fprintf(hf, "#story\tpos\ttoken\ttag\tlayer\thead\tactivity\tlabel\n");
    if (fclose(hf) != 0) die("out of memory");

    const int D = L.n_head * L.d_head, dk = L.d_head;
    story_rec s;
    story_init(&s);
    while (cli_read_story(r, &s)) {
        if (!story_sel_take(&sel, s.story)) continue;
        if (!(s.flags & STORY_HAS_FLOATS) || s.floats_per_token != (uint32_t)L.floats_per_token)
            die("story %u carries %u floats per token; the header's layout says %d", s.story,
                s.floats_per_token, L.floats_per_token);
        long lo, hi;
        if (tok_window_resolve(&win, &s, &lo, &hi, &he)) die("--window: %s", he.msg);
        if (thead) {
            fputs(thead, f);
            free(thead);
            thead = NULL;
        }
        for (int i = 0; i < nh; i++) {
            const int l = heads[i].layer, hh = heads[i].head;
            for (long t = lo; t < hi; t++) {
                const float *v = s.floats + (size_t)t * L.floats_per_token + off[i];
                double act;
                if (have_model) {
                    const float *wo = gptneo_wo_head(&m, l, hh); /* [D][dk], row stride D */
                    double ss = 0;
                    for (int od = 0; od < D; od++) {
                        double c = 0;
                        for (int j = 0; j < dk; j++) c += (double)wo[(size_t)od * D + j] * v[j];
                        ss += c * c;
                    }
                    act = sqrt(ss);
                } else {
                    act = v[0];
                }
                char word[256], label[300];
                story_token_word(&s, (uint32_t)t, word, sizeof word);
                story_token_label(&s, (uint32_t)t, label, sizeof label);
                fprintf(f, "%u\t%ld\t%s\t%s\t%d\t%d\t%.9g\t%s\n", s.story, t, word,
                        story_tag_field(s.tokens[t].tag), l, hh, act, label);
            }
        }
    }
    uint32_t miss;
    if (story_sel_missing(&sel, &miss)) die("story %u is not in the stream", miss);
    if (thead) fputs(thead, f); /* no row: the head alone */
    free(thead);
    cli_close_output(tab);
    story_free(&s);
    story_sel_free(&sel);
    stream_reader_close(r);
    if (have_model) gptneo_free(&m);
    return 0;
}
