/* test_postag_words.c: the Treebank tokenizer and the perceptron tagger
 * against NLTK.
 *
 * 1. NLTK's own docstring examples (treebank.py) for tokenize/span_tokenize.
 * 2. Every story of the mirror (read as the study's load_tinystories_data
 *    reads it), words + spans + tags compared line for line with
 *    tests/golden/postag/words.tsv.zst, made by
 *    tests/oracles/gen_postag_golden.py with Debian's python3-nltk.
 *
 * Env: TOP (repository), DATA (fetched inputs). */
#include "text/perceptron.h"
#include "base/sha256.h"
#include "cli/cli.h"
#include "testlib.h"
#include "text/treebank.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 20, n = 0;
    char *b = malloc(cap);
    size_t r;
    while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap) b = realloc(b, cap *= 2);
    }
    fclose(f);
    b[n] = '\0';
    *len = n;
    return b;
}

static char *unzstd(const char *path, size_t *len)
{
    size_t clen;
    char *c = read_all(path, &clen);
    if (!c) return NULL;
    ZSTD_DStream *ds = ZSTD_createDStream();
    size_t cap = 1 << 22, n = 0;
    char *out = malloc(cap);
    ZSTD_inBuffer in = {c, clen, 0};
    while (in.pos < in.size) {
        if (cap - n < (1 << 20)) out = realloc(out, cap *= 2);
        ZSTD_outBuffer o = {out + n, cap - n - 1, 0};
        size_t rc = ZSTD_decompressStream(ds, &o, &in);
        if (ZSTD_isError(rc)) { free(out); out = NULL; break; }
        n += o.pos;
    }
    ZSTD_freeDStream(ds);
    free(c);
    if (out) out[n] = '\0';
    *len = n;
    return out;
}

static void test_docstrings(treebank *tb)
{
    tb_words w;
    tb_words_init(&w);
    herr err = {""};
    /* treebank.py, TreebankWordTokenizer.span_tokenize docstring */
    const char *s = "Good muffins cost $3.88\nin New (York).  Please (buy) me\ntwo of them.\n(Thanks).";
    static const uint32_t want[][2] = {{0, 4}, {5, 12}, {13, 17}, {18, 19}, {19, 23}, {24, 26},
        {27, 30}, {31, 32}, {32, 36}, {36, 37}, {37, 38}, {40, 46}, {47, 48}, {48, 51}, {51, 52},
        {53, 55}, {56, 59}, {60, 62}, {63, 68}, {69, 70}, {70, 76}, {76, 77}, {77, 78}};
    int rc = treebank_tokenize(tb, s, strlen(s), &w, &err);
    int same = rc == 0 && w.n == sizeof want / sizeof want[0];
    for (size_t i = 0; same && i < w.n; i++)
        same = w.start[i] == want[i][0] && w.end[i] == want[i][1];
    CHECK(same, "span_tokenize docstring example: 23 spans as NLTK documents");
    CHECK(rc == 0 && w.n > 18 && strcmp(w.word[18], "them.") == 0 && strcmp(w.word[22], ".") == 0,
          "only the text's final period is split off ('them.' stays, final '.' splits)");

    /* tokenize docstring: contractions and commas */
    s = "hi, my name can't hello,";
    const char *want2[] = {"hi", ",", "my", "name", "ca", "n't", "hello", ","};
    rc = treebank_tokenize(tb, s, strlen(s), &w, &err);
    same = rc == 0 && w.n == 8;
    for (size_t i = 0; same && i < 8; i++) same = strcmp(w.word[i], want2[i]) == 0;
    CHECK(same, "tokenize docstring: \"hi, my name can't hello,\"");

    /* quotes: converted for tagging, mapped back to the text for spans */
    s = "\"Hi,\" she said. ''Yes'' he said \"no\".";
    rc = treebank_tokenize(tb, s, strlen(s), &w, &err);
    CHECK(rc == 0 && strcmp(w.word[0], "``") == 0 && w.start[0] == 0 && w.end[0] == 1 &&
              strcmp(w.word[3], "''") == 0 && w.start[3] == 4 && w.end[3] == 5,
          "quotes become `` and '' with spans on the text's \" characters");
    rc = treebank_tokenize(tb, "a\xff", 2, &w, &err);
    CHECK(rc == -1 && strstr(err.msg, "UTF-8"), "invalid UTF-8 is refused");
    tb_words_free(&w);
}

static void test_normalize(void)
{
    char b[64];
    struct { const char *in, *out; } cases[] = {
        {"well-known", "!HYPHEN"}, {"-ish", "-ish"}, {"1999", "!YEAR"}, {"123", "!DIGITS"},
        {"3rd", "!DIGITS"}, {"Dog", "dog"}, {"\xc3\x89T\xc3\x89", "\xc3\xa9t\xc3\xa9"},
        {"\xc2\xb2\xc2\xb3\xc2\xb9" "4", "!YEAR"}, {"\xce\x9f\xce\xa3", "\xce\xbf\xcf\x82"},
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int l = perceptron_normalize(cases[i].in, b, sizeof b);
        if (l < 0 || strcmp(b, cases[i].out) != 0) {
            ok = 0;
            printf("    normalize(%s) = %s, want %s\n", cases[i].in, l < 0 ? "(error)" : b, cases[i].out);
        }
    }
    CHECK(ok, "normalize: !HYPHEN, !YEAR (Unicode digits), !DIGITS, str.lower incl. final sigma");
}

/* The study's load_tinystories_data: each line's newline becomes a space. */
static size_t next_story(const char *all, size_t len, size_t *pos, char **text)
{
    size_t cap = 4096, n = 0;
    char *t = malloc(cap);
    while (*pos < len) {
        const char *nl = memchr(all + *pos, '\n', len - *pos);
        size_t line_len = nl ? (size_t)(nl - (all + *pos)) : len - *pos;
        const char *line = all + *pos;
        *pos += line_len + (nl ? 1 : 0);
        if (nl && line_len == 13 && memcmp(line, "<|endoftext|>", 13) == 0) {
            t[n] = '\0';
            *text = t;
            return n;
        }
        if (n + line_len + 2 > cap) { while (n + line_len + 2 > cap) cap *= 2; t = realloc(t, cap); }
        memcpy(t + n, line, line_len);
        n += line_len;
        if (nl) t[n++] = ' ';
    }
    free(t); /* text after the last separator is dropped, as the study does */
    *text = NULL;
    return 0;
}

static void test_stories(treebank *tb, perceptron *pt, const char *stories_path, const char *golden_path)
{
    size_t slen, glen;
    char *all = read_all(stories_path, &slen);
    char *golden = unzstd(golden_path, &glen);
    if (!all || !golden) {
        printf("skip - mirror stories or golden missing (%s, %s)\n", stories_path, golden_path);
        free(all);
        free(golden);
        return;
    }
    tb_words w;
    tb_words_init(&w);
    size_t pos = 0, gpos = 0, n_stories = 0, n_lines = 0, n_bad_stories = 0, n_errors = 0;
    char *text;
    size_t tlen;
    char line[4096];
    int shown = 0;
    while (pos < slen && (text = NULL, tlen = next_story(all, slen, &pos, &text), text)) {
        herr err = {""};
        int bad = 0;
        /* the expected block of this story: up to the next "#story" line */
        const char *gstart = golden + gpos;
        const char *gend = strstr(gstart + 1, "\n#story ");
        gend = gend ? gend + 1 : golden + glen;
        gpos = (size_t)(gend - golden);

        char hex[65];
        sha256_hex_buf(text, tlen, hex);
        hex[16] = '\0';
        uint32_t *map = malloc((tlen + 1) * sizeof *map);
        utf8_char_map(text, tlen, map);
        size_t got_cap = 1 << 16, got_n = 0;
        char *got = malloc(got_cap);
        got_n += (size_t)snprintf(got, got_cap, "#story %zu chars %u sha256 %s\n", n_stories, map[tlen], hex);
        if (treebank_tokenize(tb, text, tlen, &w, &err) != 0) {
            n_errors++;
            bad = 1;
        } else {
            int *tags = malloc((w.n + 1) * sizeof *tags);
            if (perceptron_tag(pt, (const char *const *)w.word, w.n, tags, &err) != 0) bad = 1;
            uint32_t prev_end = 0;
            for (size_t i = 0; !bad && i < w.n; i++) {
                uint32_t s = map[w.start[i]], e = map[w.end[i]];
                int l = snprintf(line, sizeof line, "%u\t%u\t%s\t%s\n", s - prev_end, e - s, w.word[i],
                                 perceptron_class(pt, tags[i]));
                if (got_n + (size_t)l + 1 > got_cap) got = realloc(got, got_cap *= 2);
                memcpy(got + got_n, line, (size_t)l + 1);
                got_n += (size_t)l;
                prev_end = e;
                n_lines++;
            }
            free(tags);
        }
        if (bad || got_n != (size_t)(gend - gstart) || memcmp(got, gstart, got_n) != 0) {
            n_bad_stories++;
            if (shown++ < 3) {
                /* show the first differing line */
                size_t k = 0;
                while (k < got_n && gstart + k < gend && got[k] == gstart[k]) k++;
                while (k > 0 && got[k - 1] != '\n') k--;
                printf("    story %zu differs%s%s; got: %.80s | want: %.80s\n", n_stories,
                       err.msg[0] ? ": " : "", err.msg, got + k, gstart + k);
            }
        }
        free(got);
        free(map);
        free(text);
        n_stories++;
    }
    CHECK(n_stories > 0 && n_bad_stories == 0 && gpos == glen,
          "words, spans and tags identical to NLTK on all %zu mirror stories (%zu words, %zu stories differ)",
          n_stories, n_lines, n_bad_stories);
    tb_words_free(&w);
    free(all);
    free(golden);
}

/* Hostile texts (tests/oracles/gen_postag_hostile.py): "#case N HEX", then
 * "ERROR" or "start end word tag" lines (character spans). */
static void test_hostile(treebank *tb, perceptron *pt, const char *golden_path)
{
    size_t glen;
    char *g = unzstd(golden_path, &glen);
    if (!g) { printf("skip - hostile golden missing (%s)\n", golden_path); return; }
    tb_words w;
    tb_words_init(&w);
    size_t n_cases = 0, n_bad = 0, n_nltk_errors = 0;
    char *save = NULL;
    char *line = strtok_r(g, "\n", &save);
    while (line) {
        if (strncmp(line, "#case ", 6) != 0) { line = strtok_r(NULL, "\n", &save); continue; }
        const char *hex = strchr(line + 6, ' ');
        hex = hex ? hex + 1 : "";
        size_t tlen = strlen(hex) / 2;
        char *text = malloc(tlen + 1);
        for (size_t i = 0; i < tlen; i++) {
            unsigned v;
            sscanf(hex + 2 * i, "%2x", &v);
            text[i] = (char)v;
        }
        text[tlen] = '\0';
        size_t case_no = n_cases++;
        /* expected lines of this case */
        size_t want_cap = 64, n_want = 0;
        char **want = malloc(want_cap * sizeof *want);
        while ((line = strtok_r(NULL, "\n", &save)) && strncmp(line, "#case ", 6) != 0) {
            if (n_want == want_cap) want = realloc(want, (want_cap *= 2) * sizeof *want);
            want[n_want++] = line;
        }
        herr err = {""};
        int rc = treebank_tokenize(tb, text, tlen, &w, &err);
        int ok;
        if (n_want == 1 && strcmp(want[0], "ERROR") == 0) {
            n_nltk_errors++;
            ok = rc != 0;
        } else {
            ok = rc == 0 && w.n == n_want;
            int *tags = malloc((w.n + 1) * sizeof *tags);
            uint32_t *map = malloc((tlen + 1) * sizeof *map);
            utf8_char_map(text, tlen, map);
            if (ok && perceptron_tag(pt, (const char *const *)w.word, w.n, tags, &err) != 0) ok = 0;
            for (size_t i = 0; ok && i < w.n; i++) {
                char got[1024];
                snprintf(got, sizeof got, "%u\t%u\t%s\t%s", map[w.start[i]], map[w.end[i]], w.word[i],
                         perceptron_class(pt, tags[i]));
                if (strcmp(got, want[i]) != 0) {
                    ok = 0;
                    if (n_bad < 3) printf("    case %zu word %zu: got '%s' want '%s'\n", case_no, i, got, want[i]);
                }
            }
            free(tags);
            free(map);
        }
        if (!ok) {
            if (n_bad < 3) printf("    case %zu differs (rc %d, %zu words, want %zu)\n", case_no, rc, w.n, n_want);
            n_bad++;
        }
        free(want);
        free(text);
    }
    CHECK(n_cases > 3000 && n_bad == 0,
          "hostile texts (quotes, contractions, Unicode spaces/digits/case, emoji): %zu cases = NLTK, %zu differ (%zu where NLTK fails)",
          n_cases, n_bad, n_nltk_errors);
    tb_words_free(&w);
    free(g);
}

int main(void)
{
    herr err = {""};
    treebank *tb = treebank_new(&err);
    CHECK(tb != NULL, "Treebank regexes compile");
    if (!tb) TEST_END();
    test_docstrings(tb);
    test_normalize();

    const char *top = getenv("TOP"), *data = getenv("DATA");
    char dir[4096], stories[4096], golden[4096];
    snprintf(dir, sizeof dir, "%s/nltk/averaged_perceptron_tagger_eng", data ? data : "data/cache");
    snprintf(stories, sizeof stories, "%s/stories/tinystories-train-first2316.txt", data ? data : "data/cache");
    snprintf(golden, sizeof golden, "%s/tests/golden/postag/words.tsv.zst", top ? top : ".");
    perceptron *pt = perceptron_load(dir, &err);
    if (!pt) {
        printf("skip - tagger model not fetched (%s)\n", err.msg);
    } else {
        const char *sent[] = {"The", "dog", "runs", "."};
        int tags[4];
        CHECK(perceptron_tag(pt, sent, 4, tags, &err) == 0 && strcmp(perceptron_class(pt, tags[0]), "DT") == 0 &&
                  strcmp(perceptron_class(pt, tags[1]), "NN") == 0 && strcmp(perceptron_class(pt, tags[2]), "VBZ") == 0,
              "The/DT dog/NN runs/VBZ");
        test_stories(tb, pt, stories, golden);
        char hostile[4200];
        snprintf(hostile, sizeof hostile, "%s/tests/golden/postag/hostile.tsv.zst", top ? top : ".");
        test_hostile(tb, pt, hostile);
    }
    char bad[4200];
    snprintf(bad, sizeof bad, "%s/nonexistent-tagger-dir", data ? data : "data/cache");
    CHECK(perceptron_load(bad, &err) == NULL && strstr(err.msg, "nonexistent-tagger-dir"), "a missing tagger dir is reported");
    perceptron_free(pt);
    treebank_free(tb);
    TEST_END();
}
