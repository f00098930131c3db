/* test_stream.c: the record-stream container and record codecs.
 * Round trips of random records of every kind, truncation at every byte
 * offset, flipped bytes, wrong kinds, concatenated shards, atomic output. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/toolio.h"
#include "io/records.h"
#include "io/stream.h"
#include "testio.h"
#include "testlib.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void random_story(story_rec *s, uint32_t kind, uint32_t index)
{
    story_init(s);
    s->story = index;
    s->text_len = rnd() % 300;
    s->text = xmalloc(s->text_len + 1);
    for (uint32_t i = 0; i < s->text_len; i++) s->text[i] = (char)(rnd() % 255 + 1);
    s->text[s->text_len] = 0;
    s->flags = STORY_HAS_TOKENS | (kind >= STREAM_TAGGED ? STORY_HAS_TAGS : 0) |
               (kind == STREAM_ACTIVATIONS ? STORY_HAS_FLOATS : 0);
    s->n_tokens = rnd() % 40;
    s->tokens = xcalloc(s->n_tokens + 1, sizeof *s->tokens);
    for (uint32_t t = 0; t < s->n_tokens; t++) {
        s->tokens[t].id = rnd() % 50257;
        uint32_t a = s->text_len ? rnd() % (s->text_len + 1) : 0, b = s->text_len ? rnd() % (s->text_len + 1) : 0;
        s->tokens[t].start = a < b ? a : b;
        s->tokens[t].end = a < b ? b : a;
        if (kind >= STREAM_TAGGED) {
            static const char *tags[] = {"", "NN", "VBD", "PRP$", "``", "''", ",", "."};
            strcpy(s->tokens[t].tag, tags[rnd() % 8]);
        }
    }
    if (kind == STREAM_ACTIVATIONS) {
        s->floats_per_token = 8;
        s->floats = xmalloc((size_t)s->n_tokens * 8 * sizeof(float) + 4);
        for (uint32_t i = 0; i < s->n_tokens * 8; i++) s->floats[i] = (float)(int32_t)rnd() / 1e6f;
    }
}

static void random_probe(probe_rec *p)
{
    probe_rec_init(p);
    p->layer = rnd() % 8; p->head = rnd() % 16;
    strcpy(p->vec, rnd() % 2 ? "k" : "q");
    p->dim = 4;
    p->n_classes = 1 + rnd() % 10;
    p->classes = xcalloc(p->n_classes, sizeof *p->classes);
    for (uint32_t k = 0; k < p->n_classes; k++) snprintf(p->classes[k], TAG_MAX + 1, "T%u", k);
    p->weights = xmalloc(p->n_classes * 5 * sizeof(double));
    for (uint32_t i = 0; i < p->n_classes * 5; i++) p->weights[i] = (double)(int32_t)rnd() / 3e5;
    p->n_train = rnd(); p->iterations = rnd() % 100; p->converged = rnd() % 2; p->loss = rnd() / 7.0;
}

static void base_header(stream_header *h, uint32_t kind)
{
    stream_header_init(h);
    stream_header_add(h, "tokenizer-sha256", "%s", "abc");
    if (kind == STREAM_ACTIVATIONS) {
        act_layout L = {.d_head = 4, .n_layer = 2, .n_head = 2, .n_layers = 1, .layers = {1},
                        .n_heads = 1, .heads = {0}, .n_vecs = 2, .vecs = {'q', 'k'},
                        .local_layer = {0, 1}, .window_size = 3};
        act_layout_to_header(&L, h);
    }
    stream_header_add(h, "pg", "test-stream %u", kind);
}

/* Write n random records of a kind to path; the encoded records go to recs. */
static void write_stream(const char *path, uint32_t kind, int n, uint8_t **recs, size_t *lens, const stream_header *h)
{
    stream_writer *w = cli_open_stream(path, kind, h);
    for (int i = 0; i < n; i++) {
        if (kind == STREAM_PROBES) {
            probe_rec p; random_probe(&p);
            lens[i] = probe_rec_encode(&p, &recs[i]);
            probe_rec_free(&p);
        } else {
            story_rec s; random_story(&s, kind, (uint32_t)i);
            lens[i] = story_encode(&s, &recs[i]);
            story_free(&s);
        }
        t_put(w, recs[i], lens[i]);
    }
    cli_close_stream(w);
}

/* Read all of a memory stream.  @return records read, or -1 on error (msg in *err) */
static long read_all(const uint8_t *data, size_t len, uint32_t mask, const char **err)
{
    stream_reader *r = t_open_mem(data, len, mask, err);
    if (!r) return -1;
    const uint8_t *rec; size_t n; long count = 0; int got;
    while ((got = t_next(r, &rec, &n)) == SR_RECORD) count++;
    if (got == SR_ERROR) {
        static char msg[512];
        snprintf(msg, sizeof msg, "%s", t_err);
        *err = msg;
        count = -1;
    }
    stream_reader_close(r);
    return count;
}

int main(void)
{
    cli_init("test_stream");
    char dir[] = "/tmp/test_stream.XXXXXX";
    if (!mkdtemp(dir)) return 2;
    char path[256];

    /* Tag lists as options write them: (none) or an empty item is the empty tag. */
    CHECK(story_tag_in_list("VBD,CC", "CC") && !story_tag_in_list("VBD,CC", "C") && !story_tag_in_list("VBD,CC", ""),
          "story_tag_in_list: whole names only");
    CHECK(story_tag_in_list("VBD,(none)", "") && story_tag_in_list(",VBD", "") && story_tag_in_list(NULL, "NN") &&
              !story_tag_in_list("(none)", "NN"),
          "story_tag_in_list: (none) and an empty item name the empty tag; no list names every tag");
    CHECK(story_tag_item_names("CC,VBD", 2, "CC") && !story_tag_item_names("CC,VBD", 3, "CC") &&
              story_tag_item_names("(none)", 6, "") && story_tag_item_names("", 0, "") &&
              !story_tag_item_names("(none)", 6, "NN") && !story_tag_item_names("(non", 4, ""),
          "story_tag_item_names: one item, by its length; (none) or empty for the empty tag");

    /* Round trip of every kind, byte-exact, plus decode/encode identity. */
    for (uint32_t kind = 1; kind <= STREAM_KIND_MAX; kind++) {
        snprintf(path, sizeof path, "%s/k%u", dir, kind);
        stream_header h; base_header(&h, kind);
        enum { N = 12 };
        uint8_t *recs[N]; size_t lens[N];
        write_stream(path, kind, N, recs, lens, &h);
        stream_reader *r = cli_open_input(path, 1u << kind);
        int same = stream_reader_kind(r) == kind && stream_reader_header(r)->n == h.n;
        for (size_t i = 0; same && i < h.n; i++) same = strcmp(stream_reader_header(r)->lines[i], h.lines[i]) == 0;
        CHECK(same, "%s: header survives the round trip", stream_kind_name(kind));
        const uint8_t *rec; size_t len; int i = 0, exact = 1, recoded = 1;
        story_rec s; probe_rec p; story_init(&s); probe_rec_init(&p);
        while (cli_read_record(r, &rec, &len)) {
            exact &= i < N && len == lens[i] && memcmp(rec, recs[i], len) == 0;
            const char *err; uint8_t *again; size_t n2;
            if (kind == STREAM_PROBES) { recoded &= t_probe_decode(&p, rec, len, &err) == 0; n2 = probe_rec_encode(&p, &again); }
            else { recoded &= t_story_decode(&s, rec, len, &err) == 0; n2 = story_encode(&s, &again); }
            recoded &= n2 == len && memcmp(again, rec, len) == 0;
            free(again);
            i++;
        }
        CHECK(exact && i == N, "%s: %d random records read back byte-exact", stream_kind_name(kind), N);
        CHECK(recoded, "%s: decode then encode gives the same bytes", stream_kind_name(kind));
        story_free(&s); probe_rec_free(&p);
        stream_reader_close(r);
        /* STREAM_SEED_DIR=dir keeps small streams as fuzzing seeds. */
        if (getenv("STREAM_SEED_DIR")) {
            char cmd[600];
            snprintf(cmd, sizeof cmd, "cp %s %s/%s.stream", path, getenv("STREAM_SEED_DIR"), stream_kind_name(kind));
            if (system(cmd) != 0) return 2;
        }
        for (int j = 0; j < N; j++) free(recs[j]);
        stream_header_free(&h);
    }

    /* Cut at every byte offset, and flipped bytes, on a tagged stream. */
    snprintf(path, sizeof path, "%s/k%u", dir, (unsigned)STREAM_TAGGED);
    size_t full_len;
    uint8_t *full = (uint8_t *)cli_read_file(path, &full_len);
    const char *err = NULL;
    CHECK(read_all(full, full_len, 0, &err) == 12, "the whole stream reads as 12 records");
    CHECK(read_all(full, 0, 0, &err) == -1 && strstr(err, "empty input (0 bytes)"),
          "a stream cut to 0 bytes is reported as empty input: %s", err);
    int all_truncated = 1;
    for (size_t cut = 1; cut < full_len; cut++) {
        long got = read_all(full, cut, 0, &err);
        if (got != -1 || !strstr(err, "truncated")) {
            if (all_truncated) printf("    cut at %zu: got %ld (%s)\n", cut, got, got == -1 ? err : "");
            all_truncated = 0;
        }
    }
    CHECK(all_truncated, "a stream cut at each of its %zu byte offsets after 0 is reported as truncated", full_len - 1);
    int all_corrupt = 1;
    for (size_t at = 0; at < full_len; at++) {
        for (int bit = 0; bit < 8; bit += 3) {
            full[at] ^= (uint8_t)(1u << bit);
            long got = read_all(full, full_len, 0, &err);
            full[at] ^= (uint8_t)(1u << bit);
            if (got != -1) {
                if (all_corrupt) printf("    flip at %zu bit %d read as %ld records\n", at, bit, got);
                all_corrupt = 0;
            }
        }
    }
    CHECK(all_corrupt, "a flipped bit at any of %zu offsets is reported, never read as valid", full_len);

    /* Wrong kind: one line naming what was expected. */
    stream_reader *r = t_open_mem(full, full_len, 1u << STREAM_ACTIVATIONS, &err);
    CHECK(!r && strcmp(err, "memory is a tagged stream; expected activations from forward-dump") == 0,
          "wrong kind refused: %s", r ? "(accepted)" : err);
    r = t_open_mem("hello, world", 12, 0, &err);
    CHECK(!r && strstr(err, "not a heads stream"), "plain text refused: %s", r ? "(accepted)" : err);

    /* Concatenated shards: agree -> one stream; disagree -> refused. */
    {
        stream_header h1, h2, h3;
        base_header(&h1, STREAM_TOKENS);
        base_header(&h2, STREAM_TOKENS);
        stream_header_add(&h2, "pg", "a different command line");
        base_header(&h3, STREAM_TOKENS);
        stream_header_set(&h3, "tokenizer-sha256", "%s", "def");
        uint8_t *recs[10]; size_t lens[10];
        char p1[256], p2[256], p3[256];
        snprintf(p1, sizeof p1, "%s/s1", dir); snprintf(p2, sizeof p2, "%s/s2", dir); snprintf(p3, sizeof p3, "%s/s3", dir);
        write_stream(p1, STREAM_TOKENS, 4, recs, lens, &h1);
        for (int j = 0; j < 4; j++) free(recs[j]);
        write_stream(p2, STREAM_TOKENS, 6, recs, lens, &h2);
        for (int j = 0; j < 6; j++) free(recs[j]);
        write_stream(p3, STREAM_TOKENS, 1, recs, lens, &h3);
        free(recs[0]);
        size_t l1, l2, l3;
        char *b1 = cli_read_file(p1, &l1), *b2 = cli_read_file(p2, &l2), *b3 = cli_read_file(p3, &l3);
        uint8_t *cat = xmalloc(l1 + l2 + l3);
        memcpy(cat, b1, l1); memcpy(cat + l1, b2, l2);
        CHECK(read_all(cat, l1 + l2, 0, &err) == 10, "two agreeing shards read as one stream of 10");
        r = t_open_mem(cat, l1 + l2, 0, &err);
        const uint8_t *rec; size_t len;
        while (t_next(r, &rec, &len) == SR_RECORD) {}
        CHECK(stream_header_get(stream_reader_header(r), "pg") && strcmp(stream_header_get(stream_reader_header(r), "pg"), "a different command line") == 0,
              "the merged header keeps the later shard's provenance");
        stream_reader_close(r);
        memcpy(cat + l1, b3, l3);
        long got = read_all(cat, l1 + l3, 0, &err);
        CHECK(got == -1 && strstr(err, "disagree"), "disagreeing shards refused: %s", got == -1 ? err : "(accepted)");
        memcpy(cat + l1, b2, l2);
        got = read_all(cat, l1 + l2 - 1, 0, &err);
        CHECK(got == -1 && strstr(err, "truncated"), "a truncated second shard is reported");
        free(b1); free(b2); free(b3); free(cat);
        stream_header_free(&h1); stream_header_free(&h2); stream_header_free(&h3);
    }

    /* A tool that dies mid-write leaves neither the output nor a temporary. */
    {
        char out[256];
        snprintf(out, sizeof out, "%s/died.stream", dir);
        pid_t pid = fork();
        if (pid == 0) {
            freopen("/dev/null", "w", stderr);
            stream_header h; base_header(&h, STREAM_TOKENS);
            stream_writer *w = cli_open_stream(out, STREAM_TOKENS, &h);
            t_put(w, "x", 1);
            die("simulated failure");
        }
        int status;
        waitpid(pid, &status, 0);
        struct stat st;
        char cmd[512];
        snprintf(cmd, sizeof cmd, "ls %s | grep -q died", dir);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1 && stat(out, &st) != 0 && system(cmd) != 0,
              "die() mid-write leaves no output and no temporary file");
    }

    /* The frame check's hash does not depend on how the bytes are split. */
    {
        uint8_t data[1000];
        for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)rnd();
        uint64_t whole = stream_frame_hash(data, sizeof data, sizeof data);
        int same = 1;
        for (size_t chunk = 1; chunk <= 40; chunk++) same &= stream_frame_hash(data, sizeof data, chunk) == whole;
        CHECK(same, "the frame hash is the same fed in pieces of 1 to 40 bytes");
        data[500] ^= 4;
        CHECK(stream_frame_hash(data, sizeof data, 7) != whole, "a flipped bit changes the frame hash");
    }

    /* A large stream: many zstd output chunks on the writer's side and
     * input chunks on the reader's, at boundaries that differ (odd-sized
     * records), so the frame check sees every way of splitting words. */
    {
        char big[256];
        snprintf(big, sizeof big, "%s/big", dir);
        stream_header h; base_header(&h, STREAM_TOKENS);
        stream_writer *w = cli_open_stream(big, STREAM_TOKENS, &h);
        uint8_t *rec = xmalloc(70001);
        long n_rec = 0;
        for (size_t total = 0; total < (6u << 20); n_rec++) {
            size_t len = 1 + rnd() % 70000;
            for (size_t i = 0; i < len; i++) rec[i] = (uint8_t)rnd();
            t_put(w, rec, len);
            total += len;
        }
        cli_close_stream(w);
        size_t big_len;
        uint8_t *data = (uint8_t *)cli_read_file(big, &big_len);
        CHECK(read_all(data, big_len, 0, &err) == n_rec, "a %zu-byte stream of %ld random records reads back whole", big_len, n_rec);
        stream_reader *fr = cli_open_input(big, 0);
        const uint8_t *p; size_t plen; long got = 0;
        while (cli_read_record(fr, &p, &plen)) got++;
        stream_reader_close(fr);
        CHECK(got == n_rec, "the same stream read from its file (other chunk boundaries)");
        free(data); free(rec); stream_header_free(&h);
    }

    /* Activations layout: offsets follow [layer][head][vector][d]. */
    {
        stream_header h; base_header(&h, STREAM_ACTIVATIONS);
        act_layout L; const char *e;
        CHECK(t_layout_parse(&L, &h, &e) == 0 && L.floats_per_token == 8 && act_offset(&L, 1, 0, 'k') == 4 &&
              act_offset(&L, 0, 0, 'q') == -1 && L.local_layer[1] == 1 && L.window_size == 3,
              "activations layout parses and gives offsets");
        stream_header_set(&h, "vectors", "%s", "q x");
        CHECK(t_layout_parse(&L, &h, &e) != 0, "a bad vectors line is refused");
        stream_header_free(&h);
    }

    free(full);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    if (system(path) != 0) return 2;
    TEST_END();
}
