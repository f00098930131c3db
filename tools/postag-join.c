/* postag-join: tokens -> tagged tokens.  Each story's text is split into
 * words and tagged exactly as NLTK does for the study (TreebankWordTokenizer
 * on the whole story, span_tokenize, the averaged perceptron tagger), then
 * every BPE token takes a tag by one of two alignment rules:
 *
 *   overlap (default)  the tag of the word the token's characters overlap
 *                      most (ties: the later word); a token on no word
 *                      (a lone space, ...) gets the explicit no-tag "".
 *   study              the study's PosTagger.tag_input: the token's span in
 *                      characters INCLUDING its leading space, as Hugging
 *                      Face's offset mapping gives it; the tag of the
 *                      character at (start+stop)//2 for an even length,
 *                      min((start+stop)//2 + 1, len(text)-1) for an odd one;
 *                      a character outside any word has the empty tag.
 *
 * Reads: a tokens stream and the NLTK tagger's weights.  Writes: a tagged
 * stream.  Links: text/treebank, text/perceptron, text/tagmap, io/records.
 */
#include <fnmatch.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/sha256.h"
#include "cli/toolio.h"
#include "io/outfile.h"
#include "text/perceptron.h"
#include "io/records.h"
#include "io/stream.h"
#include "text/tagmap.h"
#include "text/textin.h"
#include "text/treebank.h"

static const char USAGE[] =
    "usage: postag-join [options] [TOKENS]\n"
    "Tag the words of every story as NLTK does (TreebankWordTokenizer on the whole\n"
    "story + the averaged perceptron tagger) and give every BPE token a POS tag.\n"
    "Reads a tokens stream (from tokenize; a tagged stream is re-tagged), writes a\n"
    "tagged stream.\n"
    "\n"
    "  --align RULE    overlap (default): the tag of the word the token overlaps\n"
    "                  most (the later word on ties), \"\" when it overlaps none;\n"
    "                  study: the study's middle-character rule, quirks included\n"
    "                  (see docs/postag-join.md)\n"
    "  --merge P=TAG   rename every tag matching the glob P to TAG, e.g. 'VB*=VB'\n"
    "                  (the study's merge); repeat or separate with commas; the\n"
    "                  first rule that matches a tag wins ('VBD=VBD,VB*=VB' keeps\n"
    "                  VBD), as in probe-fit; P must match a tag of the model and\n"
    "                  TAG must be one (or empty: no tag)\n"
    "  --keep TAGS     keep only these tags (comma-separated, after --merge); others\n"
    "                  become \"\"\n"
    "  --tagger DIR    the tagger's JSON model: DIR/averaged_perceptron_tagger_eng.\n"
    "                  {weights,tagdict,classes}.json (default $HEADS_TAGGER or\n"
    "                  data/cache/nltk/averaged_perceptron_tagger_eng)\n"
    "  --words         print the words instead of a stream, as TSV: per story a line\n"
    "                  '#story N chars C sha256 H' (H = 16 hex digits of the text's\n"
    "                  sha256), then per word: story index char-start char-end\n"
    "                  byte-start byte-end word tag (character = code point)\n"
    "  -o FILE         output file (default stdout)\n"
    "  -h, --help      this help;  --version  the version\n"
    "\n"
    "example:\n"
    "  tokenize stories.txt | postag-join --merge 'VB*=VB' | stream-view --head 1\n";

#define DEFAULT_TAGGER "data/cache/nltk/averaged_perceptron_tagger_eng"

typedef struct tag_rules {
    int n_classes;
    const char **out;   /* [n_classes] output name of each model tag ("" = dropped) */
} tag_rules;

/* --merge: the shared grammar (text/tagmap.h, first matching rule wins);
 * here every rule must also make sense for this tagger. */
static void apply_merge(tag_rules *tr, const perceptron *p, const tagmap *m)
{
    for (int i = 0; i < m->n_merge; i++) {
        if (m->to[i][0] && perceptron_class_index(p, m->to[i]) < 0)
            die("--merge: tag '%s' does not exist in the tagger's tag set", m->to[i]);
        int hits = 0;
        for (int c = 0; c < tr->n_classes; c++) hits += fnmatch(m->pat[i], perceptron_class(p, c), 0) == 0;
        if (!hits) die("--merge: pattern '%s' matches no tag of the tagger", m->pat[i]);
    }
    for (int c = 0; c < tr->n_classes; c++) tr->out[c] = tagmap_merge(m, perceptron_class(p, c));
}

/* --keep: names not listed become "". */
static void apply_keep(tag_rules *tr, const char *list)
{
    char *copy = xstrdup(list), *save = NULL;
    uint8_t *keep = xcalloc((size_t)tr->n_classes, 1);
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        int hits = 0;
        for (int c = 0; c < tr->n_classes; c++)
            if (strcmp(tr->out[c], item) == 0) { keep[c] = 1; hits++; }
        if (!hits) die("--keep: tag '%s' does not exist (after --merge)", item);
    }
    for (int c = 0; c < tr->n_classes; c++)
        if (!keep[c]) tr->out[c] = "";
    free(keep);
    free(copy);
}

/* Copy a tag name (at most TAG_MAX bytes, checked at start-up). */
static void set_tag(story_token *tok, const char *name)
{
    size_t l = strlen(name);
    memcpy(tok->tag, name, l + 1);
}

/* Rule "study": tags by the character at the middle of the token's span. */
static void align_study(story_rec *s, const tb_words *w, const int *wtag, const tag_rules *tr,
                        const uint32_t *map)
{
    uint32_t n_chars = map[s->text_len];
    int *ctag = xmalloc(((size_t)n_chars + 1) * sizeof *ctag);
    for (uint32_t i = 0; i < n_chars; i++) ctag[i] = -1;
    for (size_t k = 0; k < w->n; k++)
        for (uint32_t i = map[w->start[k]]; i < map[w->end[k]]; i++) ctag[i] = wtag[k];
    for (uint32_t t = 0; t < s->n_tokens; t++) {
        story_token *tok = &s->tokens[t];
        /* Hugging Face offsets: characters, the leading space included; a
         * token holding part of a multi-byte character spans that character */
        uint32_t start = map[tok->start];
        uint32_t stop = tok->end > tok->start ? map[tok->end - 1] + 1 : start;
        uint32_t idx = (start + stop) / 2;
        if ((stop - start) % 2 == 1) {
            idx += 1;                                   /* "round up" */
            if (n_chars > 0 && idx > n_chars - 1) idx = n_chars - 1;
        }
        int c = idx < n_chars ? ctag[idx] : -1;
        set_tag(tok, c >= 0 ? tr->out[c] : "");
    }
    free(ctag);
}

/* Rule "overlap": the word sharing the most bytes with the token (words hold
 * no whitespace, so the token's leading space never counts).  Ties go to the
 * later word: a token '."' or ',"' (one byte of "said." and one of the
 * closing quote) is the closing quote '', as the study's rule also has it. */
static void align_overlap(story_rec *s, const tb_words *w, const int *wtag, const tag_rules *tr)
{
    size_t first = 0;
    uint32_t prev_start = 0;
    for (uint32_t t = 0; t < s->n_tokens; t++) {
        story_token *tok = &s->tokens[t];
        if (tok->start < prev_start) first = 0; /* out-of-order spans: rescan */
        prev_start = tok->start;
        while (first < w->n && w->end[first] <= tok->start) first++;
        int best = -1;
        uint32_t best_len = 0;
        for (size_t k = first; k < w->n && w->start[k] < tok->end; k++) {
            uint32_t lo = w->start[k] > tok->start ? w->start[k] : tok->start;
            uint32_t hi = w->end[k] < tok->end ? w->end[k] : tok->end;
            if (hi > lo && hi - lo >= best_len) { best_len = hi - lo; best = wtag[k]; }
        }
        set_tag(tok, best >= 0 ? tr->out[best] : "");
    }
}

static void print_words(FILE *out, const story_rec *s, const tb_words *w, const int *wtag,
                        const tag_rules *tr, const uint32_t *map)
{
    char sha[65];
    sha256_hex_buf(s->text, s->text_len, sha);
    sha[16] = '\0';
    fprintf(out, "#story %u chars %u sha256 %s\n", s->story, map[s->text_len], sha);
    for (size_t k = 0; k < w->n; k++)
        fprintf(out, "%u\t%zu\t%u\t%u\t%u\t%u\t%s\t%s\n", s->story, k, map[w->start[k]], map[w->end[k]],
                w->start[k], w->end[k], w->word[k], tr->out[wtag[k]]);
}

enum { OPT_ALIGN = 256, OPT_MERGE, OPT_KEEP, OPT_TAGGER, OPT_WORDS, OPT_VERSION };

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    static const struct option opts[] = {
        {"align", required_argument, 0, OPT_ALIGN}, {"merge", required_argument, 0, OPT_MERGE},
        {"keep", required_argument, 0, OPT_KEEP},   {"tagger", required_argument, 0, OPT_TAGGER},
        {"words", no_argument, 0, OPT_WORDS},       {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, OPT_VERSION},   {0, 0, 0, 0}};
    const char *align = "overlap", *keep = NULL, *out_path = NULL;
    const char *tagger_dir = getenv("HEADS_TAGGER");
    if (!tagger_dir || !*tagger_dir) tagger_dir = DEFAULT_TAGGER;
    tagmap merge_rules;
    tagmap_init(&merge_rules);
    herr he;
    int words_mode = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case OPT_ALIGN: align = optarg; break;
        case OPT_MERGE:
            if (tagmap_add_merge(&merge_rules, optarg, &he) != 0) die("--merge: %s", he.msg);
            break;
        case OPT_KEEP: keep = optarg; break;
        case OPT_TAGGER: tagger_dir = optarg; break;
        case OPT_WORDS: words_mode = 1; break;
        case 'o': out_path = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        case OPT_VERSION: cli_print_version();
        default: cli_bad_option(argv);
        }
    }
    if (strcmp(align, "overlap") != 0 && strcmp(align, "study") != 0)
        die("--align '%s': expected overlap or study", align);
    if (optind + 1 < argc) die("too many inputs; give one tokens stream (or none for stdin)");
    const char *in_path = optind < argc ? argv[optind] : NULL;
    /* before the tagger's files are opened: one of them could land on fd 0 */
    if ((!in_path || strcmp(in_path, "-") == 0) && textin_stdin_check(&he)) die("%s", he.msg);
    /* the input and the output before the tagger (0.3 s to load) */
    stream_reader *r = cli_open_input(in_path, (1u << STREAM_TOKENS) | (1u << STREAM_TAGGED));
    stream_writer *wr = NULL;
    outfile *words_file = NULL, *claimed = NULL;
    FILE *words_out = NULL;
    if (words_mode) {
        words_file = cli_open_output(out_path);
        words_out = words_file->f;
    } else {
        claimed = cli_claim_stream(out_path);
    }

    perceptron *pt = perceptron_load(tagger_dir, &he);
    if (!pt) die("%s", he.msg);
    treebank *tb = treebank_new(&he);
    if (!tb) die("%s", he.msg);
    tag_rules tr = {perceptron_n_classes(pt), NULL};
    tr.out = xcalloc((size_t)tr.n_classes, sizeof *tr.out);
    for (int k = 0; k < tr.n_classes; k++) tr.out[k] = perceptron_class(pt, k);
    apply_merge(&tr, pt, &merge_rules);
    if (keep) apply_keep(&tr, keep);
    for (int k = 0; k < tr.n_classes; k++)
        if (strlen(tr.out[k]) > TAG_MAX) die("tag '%s' is longer than %d bytes", tr.out[k], TAG_MAX);

    if (!words_mode) {
        stream_header h;
        stream_header_init(&h);
        stream_header_copy(&h, stream_reader_header(r));
        /* no path here: shards tagged from different copies of the same
         * model must stay joinable with cat; the sha256 identifies it */
        stream_header_set(&h, "tagger", "nltk averaged_perceptron_tagger_eng (NLTK 3.9 JSON model)");
        stream_header_set(&h, "tagger-sha256", "%s", perceptron_sha256(pt));
        stream_header_set(&h, "postag-align", "%s", align);
        {
            /* the effective renaming, e.g. "VBD=VB VBG=VB ..." */
            size_t cap = 64, len = 0;
            char *m = xmalloc(cap);
            m[0] = '\0';
            for (int k = 0; k < tr.n_classes; k++) {
                const char *from = perceptron_class(pt, k), *to = tagmap_merge(&merge_rules, from);
                if (strcmp(from, to) == 0) continue;
                size_t need = len + strlen(from) + strlen(to) + 3;
                if (need > cap) { while (need > cap) cap *= 2; m = xrealloc(m, cap); }
                len += (size_t)sprintf(m + len, "%s%s=%s", len ? " " : "", from, to);
            }
            if (len) stream_header_set(&h, "postag-merge", "%s", m);
            free(m);
        }
        if (keep) stream_header_set(&h, "postag-keep", "%s", keep);
        stream_header_add_provenance(&h, argc, argv);
        wr = cli_stream_on(claimed, STREAM_TAGGED, &h);
        stream_header_free(&h);
    }

    story_rec s;
    story_init(&s);
    tb_words w;
    tb_words_init(&w);
    int *wtag = NULL;
    size_t wtag_cap = 0;
    uint64_t n_stories = 0;
    while (cli_read_story(r, &s)) {
        if (!(s.flags & STORY_HAS_TOKENS))
            die("%s: story %u has no tokens; expected a tokens stream from tokenize", stream_reader_name(r), s.story);
        if (s.text_len == 0 && s.n_tokens > 0)
            die("%s: story %u has tokens but no story text; postag-join needs the text in the stream",
                stream_reader_name(r), s.story);
        if (treebank_tokenize(tb, s.text, s.text_len, &w, &he) != 0)
            die("%s: story %u: %s", stream_reader_name(r), s.story, he.msg);
        if (w.n + 1 > wtag_cap) {
            wtag_cap = 2 * (w.n + 1);
            wtag = xrealloc(wtag, wtag_cap * sizeof *wtag);
        }
        if (perceptron_tag(pt, (const char *const *)w.word, w.n, wtag, &he) != 0)
            die("story %u: %s", s.story, he.msg);
        uint32_t *map = xmalloc(((size_t)s.text_len + 1) * sizeof *map);
        utf8_char_map(s.text, s.text_len, map);
        if (words_mode) {
            print_words(words_out, &s, &w, wtag, &tr, map);
        } else {
            if (strcmp(align, "study") == 0) align_study(&s, &w, wtag, &tr, map);
            else align_overlap(&s, &w, wtag, &tr);
            s.flags |= STORY_HAS_TAGS;
            cli_write_story(wr, &s);
        }
        free(map);
        cli_progress("stories", ++n_stories, 0);
    }
    cli_progress_end();
    if (words_mode) {
        cli_close_output(words_file);
    } else {
        cli_close_stream(wr);
    }
    stream_reader_close(r);
    story_free(&s);
    tb_words_free(&w);
    free(wtag);
    free(tr.out);
    treebank_free(tb);
    perceptron_free(pt);
    return 0;
}
