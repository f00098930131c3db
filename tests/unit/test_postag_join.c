/* test_postag_join.c: input fixtures for tests/sh/test_postag.sh, built with
 * the records API directly so postag-join's tests do not depend on the
 * command line of `tokenize`.
 *
 *   test_postag_join                      self-check (run by make check): the
 *                                         fixture's story texts are the ones
 *                                         the NLTK golden was made from, and
 *                                         its BPE spans tile each text
 *   test_postag_join --tokens [N]         tokens stream of the first N (all)
 *                                         mirror stories, joined as the study
 *                                         did (each newline -> a space)
 *   test_postag_join --no-text            a tokens stream whose story has
 *                                         tokens but no text
 *   test_postag_join --no-tokens          a stream whose story has no tokens
 *   test_postag_join --bad-utf8           a story whose text is not UTF-8
 *
 * Env: TOP, DATA. Streams go to stdout. */
#include "text/bpe.h"
#include "base/sha256.h"
#include "cli/cli.h"
#include "cli/toolio.h"
#include "io/records.h"
#include "io/stream.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static const char *data_dir(void)
{
    const char *d = getenv("DATA");
    return d ? d : "data/cache";
}

/* The study's load_tinystories_data(): each line's newline becomes a space;
 * a line "<|endoftext|>" ends a story; text after the last one is dropped.
 * @return number of stories; *texts / *lens malloc'd */
static size_t load_stories(const char *path, char ***texts, size_t **lens)
{
    size_t len;
    char *all = cli_read_file(path, &len);
    size_t n = 0, cap = 64, pos = 0, tl = 0;
    *texts = xmalloc(cap * sizeof **texts);
    *lens = xmalloc(cap * sizeof **lens);
    char *t = xmalloc(len + 1);
    while (pos < len) {
        const char *nl = memchr(all + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (all + pos)) : len - pos;
        if (nl && ll == 13 && memcmp(all + pos, "<|endoftext|>", 13) == 0) {
            if (n == cap) {
                cap *= 2;
                *texts = xrealloc(*texts, cap * sizeof **texts);
                *lens = xrealloc(*lens, cap * sizeof **lens);
            }
            (*texts)[n] = xmalloc(tl + 1);
            memcpy((*texts)[n], t, tl);
            (*texts)[n][tl] = '\0';
            (*lens)[n++] = tl;
            tl = 0;
        } else {
            memcpy(t + tl, all + pos, ll);
            tl += ll;
            if (nl) t[tl++] = ' ';
        }
        pos += ll + (nl ? 1 : 0);
    }
    free(t);
    free(all);
    return n;
}

static bpe *load_bpe(void)
{
    char v[4096], m[4096];
    herr err;
    snprintf(v, sizeof v, "%s/tokenizer/vocab.json", data_dir());
    snprintf(m, sizeof m, "%s/tokenizer/merges.txt", data_dir());
    bpe *b = bpe_load(v, m, &err);
    if (!b) die("%s", err.msg);
    return b;
}

static void put_story(stream_writer *w, uint32_t idx, const char *text, size_t len, const bpe_tokens *t)
{
    story_rec s;
    story_init(&s);
    s.story = idx;
    s.flags = STORY_HAS_TOKENS;
    s.text = (char *)text;
    s.text_len = (uint32_t)len;
    s.n_tokens = (uint32_t)t->n;
    s.tokens = xcalloc(t->n + 1, sizeof *s.tokens);
    for (size_t i = 0; i < t->n; i++) {
        s.tokens[i].id = t->v[i].id;
        s.tokens[i].start = t->v[i].start;
        s.tokens[i].end = t->v[i].end;
    }
    cli_write_story(w, &s);
    free(s.tokens);
}

static int make_tokens(long limit)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/stories/tinystories-train-first2316.txt", data_dir());
    char **texts;
    size_t *lens;
    size_t n = load_stories(path, &texts, &lens);
    bpe *b = load_bpe();
    stream_header h;
    stream_header_init(&h);
    stream_header_add(&h, "source", "tinystories-train-first2316.txt (test fixture: study joining)");
    stream_writer *w = cli_open_stream(NULL, STREAM_TOKENS, &h);
    for (size_t i = 0; i < n && (limit < 0 || (long)i < limit); i++) {
        bpe_tokens t = {0};
        herr err;
        if (bpe_encode(b, texts[i], lens[i], &t, &err) != 0) die("story %zu: %s", i, err.msg);
        put_story(w, (uint32_t)i, texts[i], lens[i], &t);
        bpe_tokens_free(&t);
    }
    cli_close_stream(w);
    stream_header_free(&h);
    for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(lens);
    bpe_free(b);
    return 0;
}

enum { BAD_NO_TEXT, BAD_NO_TOKENS, BAD_UTF8 };

static int make_bad(int what)
{
    int no_text = what == BAD_NO_TEXT;
    stream_header h;
    stream_header_init(&h);
    stream_writer *w = cli_open_stream(NULL, STREAM_TOKENS, &h);
    story_rec s;
    story_init(&s);
    s.flags = no_text ? STORY_HAS_TOKENS : 0;
    s.text = no_text ? "" : what == BAD_UTF8 ? "Once \xff\xfe time." : "Once upon a time.";
    s.text_len = (uint32_t)strlen(s.text);
    story_token tok[2] = {{7454, 0, 0, ""}, {2402, 0, 0, ""}};
    if (no_text) { s.n_tokens = 2; s.tokens = tok; }
    if (what == BAD_UTF8) {
        s.flags = STORY_HAS_TOKENS;
        tok[0].end = 4;
        tok[1].start = 4;
        tok[1].end = s.text_len;
        s.n_tokens = 2;
        s.tokens = tok;
    }
    cli_write_story(w, &s);
    cli_close_stream(w);
    stream_header_free(&h);
    return 0;
}

/* Self-check: fixture texts = the texts of the NLTK golden (sha256 prefix
 * per story), and each story's BPE tokens tile its text byte for byte. */
static int self_check(void)
{
    char path[4096], golden[4096];
    snprintf(path, sizeof path, "%s/stories/tinystories-train-first2316.txt", data_dir());
    const char *top = getenv("TOP");
    snprintf(golden, sizeof golden, "%s/tests/golden/postag/words.tsv.zst", top ? top : ".");
    FILE *f = fopen(path, "rb");
    if (!f) { printf("skip - mirror stories not fetched (%s)\n", path); return 0; }
    fclose(f);
    size_t glen;
    char *gz = cli_read_file(golden, &glen);
    unsigned long long raw = ZSTD_getFrameContentSize(gz, glen);
    size_t cap = raw != ZSTD_CONTENTSIZE_UNKNOWN && raw != ZSTD_CONTENTSIZE_ERROR ? (size_t)raw : (size_t)64 << 20;
    char *g = xmalloc(cap + 1);
    size_t dlen = ZSTD_decompress(g, cap, gz, glen);
    CHECK(!ZSTD_isError(dlen), "words golden decompresses");
    if (ZSTD_isError(dlen)) return 1;
    g[dlen] = '\0';

    char **texts;
    size_t *lens;
    size_t n = load_stories(path, &texts, &lens);
    bpe *b = load_bpe();
    size_t same_text = 0, tiled = 0;
    const char *gp = g;
    for (size_t i = 0; i < n; i++) {
        char hex[65], want[128];
        sha256_hex_buf(texts[i], lens[i], hex);
        hex[16] = '\0';
        snprintf(want, sizeof want, "#story %zu chars ", i);
        gp = strstr(gp, want);
        if (gp) {
            const char *sha = strstr(gp, "sha256 ");
            if (sha && strncmp(sha + 7, hex, 16) == 0) same_text++;
            gp++;
        } else {
            gp = g;
        }
        bpe_tokens t = {0};
        herr err;
        int ok = bpe_encode(b, texts[i], lens[i], &t, &err) == 0;
        uint32_t at = 0;
        for (size_t k = 0; ok && k < t.n; k++) {
            size_t tl;
            const char *tb = bpe_token_text(b, t.v[k].id, &tl);
            ok = t.v[k].start == at && t.v[k].end - t.v[k].start == tl && memcmp(texts[i] + at, tb, tl) == 0;
            at = t.v[k].end;
        }
        if (ok && at == lens[i]) tiled++;
        bpe_tokens_free(&t);
        free(texts[i]);
    }
    CHECK(n == 2316 && same_text == n, "fixture story texts = the NLTK golden's texts (%zu of %zu)", same_text, n);
    CHECK(tiled == n, "fixture BPE tokens tile every story text (%zu of %zu)", tiled, n);
    free(texts);
    free(lens);
    free(g);
    free(gz);
    bpe_free(b);
    return t_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    if (argc >= 2 && strcmp(argv[1], "--tokens") == 0)
        return make_tokens(argc >= 3 ? cli_parse_long("--tokens", argv[2], 0, 1L << 30) : -1);
    if (argc == 2 && strcmp(argv[1], "--no-text") == 0) return make_bad(BAD_NO_TEXT);
    if (argc == 2 && strcmp(argv[1], "--no-tokens") == 0) return make_bad(BAD_NO_TOKENS);
    if (argc == 2 && strcmp(argv[1], "--bad-utf8") == 0) return make_bad(BAD_UTF8);
    if (argc != 1) die("usage: test_postag_join [--tokens [N] | --no-text | --no-tokens | --bad-utf8]");
    return self_check();
}
