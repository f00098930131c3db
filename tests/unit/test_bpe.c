/* test_bpe.c: the BPE library against the peer implementation's goldens
 * (tests/golden/bpe/, from tests/oracles/gen_bpe_golden.sh with the npm
 * package gpt-3-encoder 1.1.4), plus the UTF-8 helpers and bad tokenizer
 * files.  Needs $DATA/tokenizer/{vocab.json,merges.txt} (make data). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "text/bpe.h"
#include "testlib.h"

static char vocab_path[4096], merges_path[4096], golden_dir[4096];

/* Read a whole .zst file; NULL on failure. */
static char *read_zst(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *c = malloc((size_t)n);
    if (fread(c, 1, (size_t)n, f) != (size_t)n) { fclose(f); free(c); return NULL; }
    fclose(f);
    unsigned long long size = ZSTD_getFrameContentSize(c, (size_t)n);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) { free(c); return NULL; }
    char *d = malloc(size + 1);
    size_t got = ZSTD_decompress(d, size, c, (size_t)n);
    free(c);
    if (ZSTD_isError(got) || got != size) { free(d); return NULL; }
    d[size] = 0;
    *len = size;
    return d;
}

static uint32_t le32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return u[0] | u[1] << 8 | u[2] << 16 | (uint32_t)u[3] << 24;
}

/* Compare tokens with a line of space-separated ids; check spans tile the
 * text and each token's bytes are the text they cover. */
static int same_ids(const bpe *b, const bpe_tokens *t, const char *ids, const char *text, size_t len)
{
    const char *p = ids;
    size_t at = 0;
    for (size_t i = 0; i < t->n; i++) {
        char *end;
        unsigned long id = strtoul(p, &end, 10);
        if (end == p || id != t->v[i].id) return 0;
        p = end;
        size_t tl;
        const char *tt = bpe_token_text(b, t->v[i].id, &tl);
        if (t->v[i].start != at || t->v[i].end != at + tl || at + tl > len || memcmp(tt, text + at, tl) != 0) return 0;
        at += tl;
    }
    while (*p == ' ') p++;
    return *p == 0 && at == len;
}

static void test_once(bpe *b)
{
    bpe_tokens t = {0};
    herr err;
    CHECK(bpe_encode(b, "Once upon a time", 16, &t, &err) == 0, "encode 'Once upon a time'");
    CHECK(t.n == 4 && t.v[0].id == 7454 && t.v[1].id == 2402 && t.v[2].id == 257 && t.v[3].id == 640,
          "'Once upon a time' -> 7454 2402 257 640");
    CHECK(t.n == 4 && t.v[1].start == 4 && t.v[1].end == 9, "' upon' spans bytes [4, 9)");
    size_t before = t.n;
    CHECK(bpe_encode(b, "", 0, &t, &err) == 0 && t.n == before, "empty text: no tokens");
    CHECK(bpe_encode(b, "ab\xff", 3, &t, &err) != 0 && t.n == before && strstr(err.msg, "UTF-8"),
          "invalid UTF-8 refused with a message, tokens unchanged");
    bpe_tokens_free(&t);
    CHECK(bpe_vocab_size(b) == 50257 && bpe_merge_count(b) == 50000, "50257 tokens, 50000 merges");
    int round = 1;
    for (uint32_t id = 0; id < bpe_vocab_size(b); id++) {
        size_t l;
        const char *s = bpe_token_text(b, id, &l);
        if (!s || bpe_token_id(b, s, l) != (long)id) round = 0;
    }
    size_t l;
    CHECK(round && bpe_token_text(b, 50257, &l) == NULL, "bpe_token_text / bpe_token_id round-trip every id");
}

static void test_hostile(bpe *b, const char *how)
{
    char path[4200];
    size_t nbin, nids;
    snprintf(path, sizeof path, "%s/hostile.bin.zst", golden_dir);
    char *bin = read_zst(path, &nbin);
    snprintf(path, sizeof path, "%s/hostile.ids.zst", golden_dir);
    char *ids = read_zst(path, &nids);
    CHECK(bin && ids, "hostile goldens readable");
    if (!bin || !ids) { free(bin); free(ids); return; }
    size_t off = 0, cases = 0, repaired_cases = 0;
    char *line = ids;
    bpe_tokens t = {0};
    while (off + 8 <= nbin && line && *line) {
        uint32_t nl = le32(bin + off);
        const char *name = bin + off + 4;
        uint32_t tl = le32(bin + off + 4 + nl);
        const char *text = bin + off + 8 + nl;
        off += 8 + nl + tl;
        char *eol = strchr(line, '\n');
        if (eol) *eol = 0;
        char *tab = strchr(line, '\t');
        int name_ok = tab && (size_t)(tab - line) == nl && memcmp(line, name, nl) == 0;
        char *fixed;
        size_t flen;
        long bad = utf8_repair(text, tl, &fixed, &flen, NULL);
        repaired_cases += bad > 0;
        const char *s = bad ? fixed : text;
        herr err;
        t.n = 0;
        int rc = bpe_encode(b, s, bad ? flen : tl, &t, &err);
        CHECK(name_ok && rc == 0 && same_ids(b, &t, tab + 1, s, bad ? flen : tl),
              "hostile %.*s (%s): ids as gpt-3-encoder, token bytes tile the text (%zu tokens)", (int)nl, name, how, t.n);
        free(fixed);
        cases++;
        line = eol ? eol + 1 : NULL;
    }
    CHECK(off == nbin && (!line || !*line), "hostile suite fully read (%zu cases)", cases);
    CHECK(cases >= 50 && repaired_cases >= 8, "hostile suite has %zu cases, %zu with invalid UTF-8", cases, repaired_cases);
    bpe_tokens_free(&t);
    free(bin);
    free(ids);
}

static void check_repair(const char *in, size_t len, const char *want, size_t nbad, const char *what)
{
    char *out;
    size_t olen;
    long bad = utf8_repair(in, len, &out, &olen, NULL);
    int ok = bad == (long)nbad && utf8_count_invalid(in, len) == nbad && (nbad ? out && olen == strlen(want) && memcmp(out, want, olen) == 0 : !out && olen == len);
    CHECK(ok, "utf8_repair: %s", what);
    free(out);
}

#define FFFD "\xEF\xBF\xBD"
static void test_utf8(void)
{
    check_repair("plain é 😀", strlen("plain é 😀"), NULL, 0, "valid text untouched");
    check_repair("abc\x80" "def", 7, "abc" FFFD "def", 1, "lone continuation byte");
    check_repair("\xe2\x82 x", 4, FFFD " x", 1, "truncated 3-byte sequence = one U+FFFD");
    check_repair("\xc0\xaf", 2, FFFD FFFD, 2, "overlong: each byte replaced");
    check_repair("\xed\xa0\x80", 3, FFFD FFFD FFFD, 3, "surrogate: three replacements");
    check_repair("\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD, 4, "above U+10FFFF: four replacements");
    check_repair("end\xf0\x9f\x98", 6, "end" FFFD, 1, "truncated at the end");
    check_repair("\xe2\x28\xa1", 3, FFFD "(" FFFD, 2, "bad second byte is reprocessed");
    CHECK(utf8_valid("\xf0\x9f\x98\x80", 4) && !utf8_valid("\xf0\x9f\x98", 3) && utf8_valid("", 0), "utf8_valid");
    const char *s = "a\xc3\xa9\xf0\x9f\x98\x80" "b";  /* a é 😀 b */
    uint32_t map[9];
    utf8_char_offsets(s, 8, map);
    const uint32_t want[9] = {0, 1, 2, 2, 3, 3, 3, 3, 4};
    CHECK(memcmp(map, want, sizeof want) == 0, "utf8_char_offsets: bytes -> code points");
}

/* Encode text once with the bucket merge for every piece and once with the
 * plain loop (encoder.py's algorithm, the reference) for every piece.
 * @return 1 when both succeed with the same tokens */
static int paths_agree(bpe *b, const char *text, size_t n)
{
    bpe_tokens t1 = {0}, t2 = {0};
    herr err;
    bpe_set_long_threshold(b, 0);
    int ok = bpe_encode(b, text, n, &t1, &err) == 0;
    bpe_set_long_threshold(b, SIZE_MAX);
    ok = ok && bpe_encode(b, text, n, &t2, &err) == 0;
    ok = ok && t1.n == t2.n && memcmp(t1.v, t2.v, t1.n * sizeof *t1.v) == 0;
    bpe_tokens_free(&t1);
    bpe_tokens_free(&t2);
    return ok;
}

/* The bucket merge and the plain loop agree on long pieces: random words
 * (many distinct merges), small alphabets and runs (pairs (x, x), where the
 * pass must pair a run from its left end), periodic words, and the other
 * kinds of piece (digits, punctuation, whitespace). */
static void test_merge_paths_agree(bpe *b)
{
    uint64_t x = 88172645463325252ull;
    static char word[20000];
    int same = 1, cases = 0;
    static const char *const alphabets[] = {"abcdefghijklmnopqrstuvwxyz", "aab", "ab", "a", "0123456789", "01",
                                            "!?.", "-", " ", "\n", " \n", "aeiou", "eeeeeeeeeeeee "};
    for (int round = 0; round < 60; round++) {
        size_t n = 65 + (size_t)round * 331 % 19000;
        const char *alphabet = alphabets[round % (int)(sizeof alphabets / sizeof *alphabets)];
        size_t na = strlen(alphabet);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            word[i] = alphabet[x % na];
        }
        same &= paths_agree(b, word, n);
        cases++;
    }
    /* runs of one symbol of every length up to 300: the parity and binary
     * structure of a run decide its tokens */
    static const char runs[] = "a0 \n!x";
    for (const char *c = runs; *c; c++)
        for (size_t n = 1; n <= 300; n++) {
            memset(word, *c, n);
            same &= paths_agree(b, word, n);
            cases++;
        }
    /* periodic words */
    static const char *const periods[] = {"ab", "aab", "abc", "abcd", "the", "ing", "xyzzy", "ll", "ss "};
    for (size_t k = 0; k < sizeof periods / sizeof *periods; k++) {
        size_t pl = strlen(periods[k]), n = 0;
        while (n + pl < 5000) { memcpy(word + n, periods[k], pl); n += pl; }
        same &= paths_agree(b, word, n);
        cases++;
    }
    CHECK(same, "bucket merge == plain merge loop on %d long pieces (random, small alphabets, runs of "
          "length 1-300, periodic)", cases);
}

/* A merges file whose pair ("aa", "a") ranks before ("a", "a") that makes
 * it: encoder.py finishes the pass of ("a", "a") before taking the lower
 * rank, so "aaaa" -> "aa" "aa" and "aaa" -> "aaa"; a merge that took the
 * new lower-ranked pair at once would give "aaa" "a".  The bucket merge must
 * agree with the plain loop on such files too. */
static void test_nonmonotone_merges(const char *dir)
{
    /* the 256 byte symbols (GPT-2's bytes_to_unicode) + aa, aaa, bb, ab */
    char v[300], m[300];
    snprintf(v, sizeof v, "%s/nm-vocab.json", dir);
    snprintf(m, sizeof m, "%s/nm-merges.txt", dir);
    FILE *f = fopen(v, "wb");
    int extra = 0;
    fputc('{', f);
    for (int byte = 0; byte < 256; byte++) {
        int printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF);
        int cp = printable ? byte : 256 + extra++;
        char u[4];
        int l = utf8_encode((uint32_t)cp, u);
        fputc('"', f);
        if (cp == '"' || cp == '\\') fputc('\\', f);
        fwrite(u, 1, (size_t)l, f);
        fprintf(f, "\": %d, ", byte);
    }
    fputs("\"aa\": 256, \"aaa\": 257, \"bb\": 258, \"ab\": 259, \"abb\": 260, \"bba\": 261}", f);
    fclose(f);
    f = fopen(m, "wb");
    fputs("#version: 0.2\naa a\nab b\nbb a\na a\nb b\na b\n", f);
    fclose(f);
    herr err;
    bpe *b = bpe_load(v, m, &err);
    CHECK(b != NULL, "load a merges file with out-of-order ranks (%s)", b ? "ok" : err.msg);
    if (!b) return;
    bpe_tokens t = {0};
    bpe_set_long_threshold(b, 0);
    int ok = bpe_encode(b, "aaaa", 4, &t, &err) == 0 && t.n == 2 && t.v[0].id == 256 && t.v[1].id == 256;
    t.n = 0;
    ok = ok && bpe_encode(b, "aaa", 3, &t, &err) == 0 && t.n == 1 && t.v[0].id == 257;
    CHECK(ok, "out-of-order ranks: the pass of (a, a) ends before (aa, a) is taken (aaaa -> aa aa, aaa -> aaa)");
    uint64_t x = 1234567;
    static char word[6000];
    int same = 1;
    for (int round = 0; round < 40; round++) {
        size_t n = 1 + (size_t)round * 149;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            word[i] = "aab"[x % (round % 2 ? 3 : 2)];
        }
        same &= paths_agree(b, word, n);
    }
    CHECK(same, "out-of-order ranks: bucket merge == plain loop on 40 random a/b words");
    bpe_tokens_free(&t);
    bpe_free(b);
    unlink(v);
    unlink(m);
}

/* Mirror stories (the study's joining): token bytes reproduce each story. */
static void test_mirror_roundtrip(bpe *b, const char *stories)
{
    FILE *f = fopen(stories, "rb");
    CHECK(f != NULL, "mirror stories readable (%s)", stories);
    if (!f) return;
    char *line = NULL, *story = malloc(1 << 20);
    size_t cap = 0, n = 0;
    ssize_t len;
    long count = 0, good = 0;
    bpe_tokens t = {0};
    while ((len = getline(&line, &cap, f)) > 0) {
        if (strcmp(line, "<|endoftext|>\n") == 0) {
            herr err;
            t.n = 0;
            int ok = bpe_encode(b, story, n, &t, &err) == 0;
            size_t at = 0;
            for (size_t i = 0; ok && i < t.n; i++) {
                size_t tl;
                const char *tt = bpe_token_text(b, t.v[i].id, &tl);
                ok = t.v[i].start == at && t.v[i].end == at + tl && memcmp(tt, story + at, tl) == 0;
                at += tl;
            }
            good += ok && at == n;
            count++;
            n = 0;
            continue;
        }
        if (line[len - 1] == '\n') line[len - 1] = ' ';
        memcpy(story + n, line, (size_t)len);
        n += (size_t)len;
    }
    CHECK(count == 2316 && good == count, "token bytes reproduce all %ld mirror stories (%ld good)", count, good);
    bpe_tokens_free(&t);
    free(line);
    free(story);
    fclose(f);
}

/* The word cache is cleared when full: results must not change. */
static void test_cache(bpe *b)
{
    size_t cap = 90000 * 6, n = 0;
    char *text = malloc(cap);
    for (int i = 0; i < 90000; i++) {
        int v = i;
        text[n++] = ' ';
        for (int k = 0; k < 4; k++) { text[n++] = (char)('a' + v % 26); v /= 26; }
    }
    bpe_tokens t1 = {0}, t2 = {0};
    herr err;
    int ok = bpe_encode(b, text, n, &t1, &err) == 0 && bpe_encode(b, text, n, &t2, &err) == 0;
    CHECK(ok && t1.n == t2.n && memcmp(t1.v, t2.v, t1.n * sizeof *t1.v) == 0,
          "90000 distinct words (cache cleared on the way): same tokens twice");
    bpe_tokens_free(&t1);
    bpe_tokens_free(&t2);
    free(text);
}

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    fputs(s, f);
    fclose(f);
}

static void expect_load_error(const char *v, const char *m, const char *pattern, const char *what)
{
    herr err = {""};
    bpe *b = bpe_load(v, m, &err);
    CHECK(b == NULL && strstr(err.msg, pattern) != NULL && !strchr(err.msg, '\n'), "bad tokenizer: %s (%s)", what,
          err.msg);
    bpe_free(b);
}

static void test_bad_files(void)
{
    char dir[] = "/tmp/test_bpe.XXXXXX";
    if (!mkdtemp(dir)) { CHECK(0, "mkdtemp"); return; }
    char v[256], m[256];
    snprintf(v, sizeof v, "%s/v.json", dir);
    snprintf(m, sizeof m, "%s/m.txt", dir);
    expect_load_error("/nonexistent/vocab.json", merges_path, "/nonexistent/vocab.json", "missing vocab");
    expect_load_error(vocab_path, "/nonexistent/merges.txt", "/nonexistent/merges.txt", "missing merges");
    write_file(v, "{\"a\": 0, \"b\": ");
    expect_load_error(v, merges_path, "malformed JSON", "truncated JSON");
    write_file(v, "[1, 2]");
    expect_load_error(v, merges_path, "JSON object", "vocab not an object");
    write_file(v, "{\"a\": 0, \"b\": 7}");
    expect_load_error(v, merges_path, "id must be", "id out of range");
    write_file(v, "{\"a\": 0, \"\xe2\x82\xac\": 1}");
    expect_load_error(v, merges_path, "alphabet", "symbol outside the byte-level alphabet");
    write_file(v, "{\"a\": 0, \"b\": 1}");
    expect_load_error(v, merges_path, "single byte", "vocab without all 256 bytes");
    write_file(m, "#version: 0.2\nĠ t\nthis line has three\n");
    expect_load_error(vocab_path, m, "m.txt:3: expected two symbols", "merges line with three fields");
    write_file(m, "#version: 0.2\nĠ t\nzzqx qqzx\n");
    expect_load_error(vocab_path, m, "missing from the vocabulary", "merge of unknown symbols");
    write_file(m, "#version: 0.2\n");
    expect_load_error(vocab_path, m, "no merges", "empty merges");
    write_file(m, "#version: 0.2\nĠ t\nĠ t\n");
    expect_load_error(vocab_path, m, "duplicate merge", "duplicate merge");
    write_file(m, "#version: 0.2\nĠ t\n\x01\x02 x\n");
    expect_load_error(vocab_path, m, "alphabet", "merge symbol outside the alphabet");
    {
        static const char elf[] = "\x7f" "ELF\x02\x01\x01\x00\x00 garbage";
        FILE *f = fopen(m, "wb");
        fwrite(elf, 1, sizeof elf - 1, f);
        fclose(f);
    }
    expect_load_error(vocab_path, m, "NUL", "binary merges file");
    test_nonmonotone_merges(dir);
    unlink(v);
    unlink(m);
    rmdir(dir);
}

int main(void)
{
    const char *data = getenv("DATA") ? getenv("DATA") : "data/cache";
    const char *top = getenv("TOP") ? getenv("TOP") : ".";
    snprintf(vocab_path, sizeof vocab_path, "%s/tokenizer/vocab.json", data);
    snprintf(merges_path, sizeof merges_path, "%s/tokenizer/merges.txt", data);
    snprintf(golden_dir, sizeof golden_dir, "%s/tests/golden/bpe", top);
    herr err;
    bpe *b = bpe_load(vocab_path, merges_path, &err);
    CHECK(b != NULL, "load GPT-2 tokenizer (%s)", b ? "ok" : err.msg);
    if (!b) TEST_END();
    test_once(b);
    test_utf8();
    test_hostile(b, "default merge");
    bpe_set_long_threshold(b, 0);
    test_hostile(b, "bucket merge for every word");
    bpe_set_long_threshold(b, SIZE_MAX);
    test_hostile(b, "plain merge loop for every word");
    test_merge_paths_agree(b);
    bpe_set_long_threshold(b, 64);
    char stories[4200];
    snprintf(stories, sizeof stories, "%s/stories/tinystories-train-first2316.txt", data);
    test_mirror_roundtrip(b, stories);
    test_cache(b);
    test_bad_files();
    bpe_free(b);
    TEST_END();
}
