/* stream-import: the inverse of `stream-view` for story streams: TSV token
 * rows -> a tokens or tagged stream.  For hand-made inputs (toy examples,
 * tests, stories tokenized elsewhere).
 *
 *   stream-view tagged.hs | stream-import --kind tagged > same.hs
 *
 * Rows: story pos id start end text [tag], tab-separated, escapes \t \n \r
 * \\ in text fields (as stream-view writes them); lines starting with '#'
 * are comments.  Rows of one story are consecutive with pos 0, 1, 2, ...;
 * the story text is rebuilt by placing each token's text at its byte span
 * [start, end); bytes no token covers become spaces.
 *
 * Reads: TSV rows (text).  Writes: a tokens or tagged stream.
 * Links: io/records, io/stream, text/textin.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/toolio.h"
#include "io/records.h"
#include "io/stream.h"
#include "probe/clsreport.h"
#include "text/textin.h"

static void usage(void)
{
    printf("usage: stream-import [options] [INPUT]\n"
           "Build a tokens or tagged stream from TSV rows (stdin or INPUT), as stream-view\n"
           "prints them:  story pos id start end text [tag]\n"
           "Lines starting with '#' are ignored; text fields use the escapes \\t \\n \\r \\\\.\n"
           "The story text is rebuilt from the token texts at their byte spans (gaps: spaces).\n"
           "Binary input (a NUL byte, a zstd stream, mostly invalid UTF-8) and a closed\n"
           "stdin are refused.\n\n"
           "  --kind tokens|tagged  stream kind (default: tagged if rows have a tag column)\n"
           "  -o, --output FILE     output (default stdout; never a terminal)\n"
           "  --help, --version\n\n"
           "example:\n"
           "  stream-view tagged.hs | stream-import > copy.hs\n"
           "  printf '0\\t0\\t7\\t0\\t2\\tHi\\tUH\\n' | stream-import | stream-view\n");
    exit(0);
}

/* Unescape a TSV text field in place; @return its new length or -1. */
static long unescape(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p != '\\') {
            *o++ = *p;
            continue;
        }
        switch (*++p) {
        case 't': *o++ = '\t'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case '\\': *o++ = '\\'; break;
        default: return -1;
        }
    }
    *o = 0;
    return o - s;
}

typedef struct pending {
    story_rec s;
    char **texts;      /* [n_tokens] token texts */
    size_t cap;
    int open;
} pending;

static void flush_story(pending *p, stream_writer *w, int tagged)
{
    story_rec *s = &p->s;
    uint32_t len = 0;
    for (uint32_t t = 0; t < s->n_tokens; t++)
        if (s->tokens[t].end > len) len = s->tokens[t].end;
    s->text = xmalloc((size_t)len + 1);
    memset(s->text, ' ', len);
    s->text[len] = 0;
    s->text_len = len;
    for (uint32_t t = 0; t < s->n_tokens; t++) {
        memcpy(s->text + s->tokens[t].start, p->texts[t], s->tokens[t].end - s->tokens[t].start);
        free(p->texts[t]);
    }
    s->flags = STORY_HAS_TOKENS | (tagged ? STORY_HAS_TAGS : 0);
    cli_write_story(w, s);
    free(s->text);
    s->text = NULL;
    s->n_tokens = 0;
    p->open = 0;
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    enum { O_KIND = 256, O_HELP, O_VERSION };
    static const struct option opts[] = {{"kind", required_argument, 0, O_KIND},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, O_HELP},
                                         {"version", no_argument, 0, O_VERSION},
                                         {0, 0, 0, 0}};
    const char *out = NULL;
    int kind = 0;
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (o) {
        case O_KIND:
            kind = cli_parse_choice("--kind", optarg, (const char *const[]){"tokens", "tagged", NULL}) ? STREAM_TAGGED
                                                                                                       : STREAM_TOKENS;
            break;
        case 'o': out = optarg; break;
        case O_HELP: usage(); break;
        case O_VERSION: cli_print_version(); break;
        default: cli_bad_option(argv);
        }
    }
    const char *input = cli_single_input(argc, argv);
    FILE *in = stdin;
    const char *name = input && strcmp(input, "-") ? input : "stdin";
    herr he;
    if ((!input || !strcmp(input, "-")) && textin_stdin_check(&he)) die("%s", he.msg);
    if (input && strcmp(input, "-") && !(in = fopen(input, "r"))) die("%s: cannot open: %s", input, strerror(errno));

    /* Read everything first (so the kind can follow the first row and a bad
     * row leaves no output at all). */
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    long lineno = 0;
    pending p;
    memset(&p, 0, sizeof p);
    story_init(&p.s);
    stream_writer *w = NULL;
    int tagged = kind == STREAM_TAGGED;
    uint32_t last_story = 0;
    int any = 0;
    /* rows are buffered into one story at a time; the writer opens at the
     * first row (its kind known), and die() removes a partial file. */
    while ((n = getline(&line, &lcap, in)) > 0) {
        lineno++;
        if (textin_check(line, (size_t)n, &he)) die("%s:%ld: %s", name, lineno, he.msg);
        if (line[n - 1] == '\n') line[--n] = 0;
        if (n && line[n - 1] == '\r') line[--n] = 0;
        if (!n || line[0] == '#') continue;
        char *f[8];
        int nf = 0;
        char *save = line;
        for (char *q = line;; q++)
            if (*q == '\t' || !*q) {
                if (nf == 8) die("%s:%ld: more than 7 fields", name, lineno);
                int end = !*q;
                *q = 0;
                f[nf++] = save;
                save = q + 1;
                if (end) break;
            }
        if (nf != 6 && nf != 7)
            die("%s:%ld: want 6 or 7 tab-separated fields (story pos id start end text [tag]), got %d",
                name, lineno, nf);
        if (!w) {
            if (!kind) kind = nf == 7 ? STREAM_TAGGED : STREAM_TOKENS;
            tagged = kind == STREAM_TAGGED;
            stream_header h;
            stream_header_init(&h);
            stream_header_add(&h, "source", "stream-import");
            stream_header_add_provenance(&h, argc, argv);
            w = cli_open_stream(out, (uint32_t)kind, &h);
            stream_header_free(&h);
        }
        if (tagged && nf != 7) die("%s:%ld: a tagged stream needs a tag column", name, lineno);
        long v[5];
        for (int i = 0; i < 5; i++) {
            char *e;
            v[i] = strtol(f[i], &e, 10);
            if (!*f[i] || *e || v[i] < 0)
                die("%s:%ld: field %d ('%s') is not a non-negative integer", name, lineno, i + 1, f[i]);
            if (v[i] > 0x7fffffffL)
                die("%s:%ld: field %d ('%s') is above 2147483647", name, lineno, i + 1, f[i]);
        }
        long tl = unescape(f[5]);
        if (tl < 0) die("%s:%ld: bad escape in the text field", name, lineno);
        if (v[4] - v[3] != tl)
            die("%s:%ld: span %ld..%ld does not match the text's %ld bytes", name, lineno, v[3], v[4], tl);
        if (p.open && (uint32_t)v[0] != last_story) flush_story(&p, w, tagged);
        if (!p.open) {
            if (any && (uint32_t)v[0] == last_story) die("%s:%ld: story %ld appears twice", name, lineno, v[0]);
            p.open = 1;
            p.s.story = (uint32_t)v[0];
            last_story = (uint32_t)v[0];
            any = 1;
        }
        story_rec *s = &p.s;
        if (v[1] != (long)s->n_tokens)
            die("%s:%ld: story %ld: pos %ld, expected %u", name, lineno, v[0], v[1], s->n_tokens);
        if (s->n_tokens > 0 && (uint32_t)v[3] < s->tokens[s->n_tokens - 1].end)
            die("%s:%ld: token span overlaps the previous token", name, lineno);
        if (s->n_tokens == p.cap) {
            p.cap = p.cap ? 2 * p.cap : 64;
            s->tokens = xrealloc(s->tokens, p.cap * sizeof *s->tokens);
            p.texts = xrealloc(p.texts, p.cap * sizeof *p.texts);
        }
        story_token *k = &s->tokens[s->n_tokens];
        memset(k, 0, sizeof *k);
        k->id = (uint32_t)v[2];
        k->start = (uint32_t)v[3];
        k->end = (uint32_t)v[4];
        if (tagged) {
            if (strlen(f[6]) > TAG_MAX) die("%s:%ld: tag '%s' is too long", name, lineno, f[6]);
            if (cls_reserved_label(f[6]))
                die("%s:%ld: a tag named '%s' would read as a probe report's own key (accuracy, macro avg, weighted avg, "
                    "(none) for the empty tag)", name, lineno, f[6]);
            strcpy(k->tag, f[6]);
        }
        p.texts[s->n_tokens] = xmalloc((size_t)tl + 1);
        memcpy(p.texts[s->n_tokens], f[5], (size_t)tl + 1);
        s->n_tokens++;
    }
    if (ferror(in)) die("%s: read error: %s", name, strerror(errno));
    if (!w) die("%s: no token rows", name);
    if (p.open) flush_story(&p, w, tagged);
    cli_close_stream(w);
    free(line);
    free(p.texts);
    story_free(&p.s);
    if (in != stdin) fclose(in);
    return 0;
}
