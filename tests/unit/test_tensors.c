/* test_tensors.c: the model-file readers against torch's own tensors.
 *
 * Golden files come from tests/oracles/gen_tensor_fixtures.py: small.bin is
 * written by torch.save, small.safetensors by hand, expected.txt lists the
 * float32 bits of every value as torch sees them; bad.txt names corrupt
 * files and a fragment of the message each must be refused with. */
#include "cli/cli.h"
#include "io/tensors.h"
#include "testlib.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GOLD "tests/golden/tensors/"

static char tmpdir[256];

typedef struct {
    char name[128];
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
    size_t n;
    uint32_t *bits;
} expect;

typedef struct {
    expect *e;
    size_t n, skipped;
} listing;

/* Read an expected-*.txt listing written by the oracle. */
static void read_expected(const char *path, listing *L)
{
    memset(L, 0, sizeof *L);
    L->skipped = (size_t)-1;
    size_t len;
    char *text = cli_read_file(path, &len), *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#') continue;
        if (sscanf(line, "skipped %zu", &L->skipped) == 1) continue;
        L->e = realloc(L->e, (L->n + 1) * sizeof *L->e);
        expect *e = &L->e[L->n++];
        memset(e, 0, sizeof *e);
        e->bits = malloc(strlen(line) / 9 * sizeof *e->bits + 4);
        char *s2 = NULL, *tok = strtok_r(line, " ", &s2);
        snprintf(e->name, sizeof e->name, "%s", tok ? tok : "");
        tok = strtok_r(NULL, " ", &s2);
        e->ndim = tok ? atoi(tok) : -1;
        for (int d = 0; d < e->ndim && d < TENSOR_MAX_DIMS; d++) {
            tok = strtok_r(NULL, " ", &s2);
            e->shape[d] = tok ? atoll(tok) : -1;
        }
        tok = strtok_r(NULL, " ", &s2);   /* ":" */
        while ((tok = strtok_r(NULL, " ", &s2))) e->bits[e->n++] = (uint32_t)strtoul(tok, NULL, 16);
    }
    free(text);
}

static void free_expected(listing *L)
{
    for (size_t i = 0; i < L->n; i++) free(L->e[i].bits);
    free(L->e);
}

/* The set equals the listing exactly: order, names, shapes, every bit. */
static int matches_expected(const tensor_set *ts, const listing *L, char *why, size_t wl)
{
    if (ts->n != L->n) return snprintf(why, wl, "%zu tensors, want %zu", ts->n, L->n), 0;
    if (ts->n_skipped != L->skipped) return snprintf(why, wl, "%zu skipped", ts->n_skipped), 0;
    for (size_t i = 0; i < L->n; i++) {
        const tensor *t = &ts->t[i];
        const expect *e = &L->e[i];
        if (strcmp(t->name, e->name)) return snprintf(why, wl, "tensor %zu is %.60s, want %.60s", i, t->name, e->name), 0;
        if (t->ndim != e->ndim) return snprintf(why, wl, "%.60s: ndim %d", t->name, t->ndim), 0;
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] != e->shape[d]) return snprintf(why, wl, "%.60s: shape[%d]", t->name, d), 0;
            numel *= t->shape[d];
        }
        if (t->numel != numel || (size_t)numel != e->n) return snprintf(why, wl, "%.60s: numel %lld", t->name, (long long)t->numel), 0;
        for (size_t k = 0; k < e->n; k++) {
            uint32_t b;
            memcpy(&b, &t->data[k], 4);
            if (b != e->bits[k]) return snprintf(why, wl, "%.60s[%zu] = %08x, want %08x", t->name, k, b, e->bits[k]), 0;
        }
    }
    return 1;
}

static listing ex;

static int same_sets(const tensor_set *a, const tensor_set *b)
{
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++) {
        const tensor *x = &a->t[i], *y = tensors_find(b, a->t[i].name);
        if (!y || x->ndim != y->ndim || x->numel != y->numel) return 0;
        for (int d = 0; d < x->ndim; d++) if (x->shape[d] != y->shape[d]) return 0;
        if (x->numel && memcmp(x->data, y->data, (size_t)x->numel * 4)) return 0;
    }
    return 1;
}

static int one_line(const char *s) { return s[0] && !strchr(s, '\n'); }

static void test_good(void)
{
    char err[512] = "", why[256] = "";
    tensor_set bin, st;
    int rb = tensors_load(GOLD "small.bin", &bin, err, sizeof err);
    CHECK(rb == 0, "small.bin loads (%s)", rb ? err : "ok");
    int rs = tensors_load(GOLD "small.safetensors", &st, err, sizeof err);
    CHECK(rs == 0, "small.safetensors loads (%s)", rs ? err : "ok");
    CHECK(rb == 0 && matches_expected(&bin, &ex, why, sizeof why), "small.bin equals torch's tensors bit for bit %s", why);
    why[0] = 0;
    CHECK(rs == 0 && matches_expected(&st, &ex, why, sizeof why), "small.safetensors equals torch's tensors bit for bit %s", why);
    CHECK(rb == 0 && rs == 0 && same_sets(&bin, &st) && same_sets(&st, &bin),
          ".bin and .safetensors of the same weights give identical tensors");

    const tensor *w = tensors_find(&bin, "transformer.wte.weight"), *l = tensors_find(&bin, "lm_head.weight");
    CHECK(w && l && w->data != l->data && w->numel == 15 && !memcmp(w->data, l->data, 60),
          "tied weights sharing one storage both load, as separate copies");
    const tensor *mb = tensors_find(&bin, "transformer.h.0.attn.attention.masked_bias");
    CHECK(mb && mb->ndim == 0 && mb->numel == 1 && mb->data[0] == -1e9f, "0-dim masked_bias loads (ndim 0, numel 1)");
    CHECK(!tensors_find(&bin, "transformer.h.0.attn.attention.bias") && !tensors_find(&bin, "position_ids"),
          "bool and int64 buffers are skipped");
    const tensor *e = tensors_find(&st, "empty");
    CHECK(e && e->numel == 0 && e->ndim == 2 && e->shape[1] == 3, "an empty 0x3 tensor loads");

    char want[65];
    cli_sha256_file(GOLD "small.bin", want);
    CHECK(rb == 0 && strcmp(bin.sha256, want) == 0, "sha256 of small.bin recorded");
    cli_sha256_file(GOLD "small.safetensors", want);
    CHECK(rs == 0 && strcmp(st.sha256, want) == 0, "sha256 of small.safetensors recorded");

    /* Save -> load round trip, bit-exact, atomic (no temporary left). */
    char path[300];
    snprintf(path, sizeof path, "%s/rt.safetensors", tmpdir);
    int sv = tensors_save_safetensors(path, &bin, err, sizeof err);
    CHECK(sv == 0, "save succeeds (%s)", sv ? err : "ok");
    tensor_set rt;
    int rl = tensors_load(path, &rt, err, sizeof err);
    CHECK(rl == 0 && same_sets(&bin, &rt) && rt.n == bin.n, "save -> load round trip is bit-exact");
    int order = rl == 0 && rt.n == bin.n;
    for (size_t i = 0; order && i < rt.n; i++) order = !strcmp(rt.t[i].name, bin.t[i].name);
    CHECK(order, "saved file keeps the set's order");
    CHECK(rl == 0 && rt.n_skipped == 0 && strlen(rt.sha256) == 64, "saved file has only F32 and a sha256");
    size_t len;
    char *raw = cli_read_file(path, &len);
    uint64_t hl = 0;
    memcpy(&hl, raw, 8);
    CHECK(hl % 8 == 0 && hl + 8 <= len && strstr(raw + 8, "\"__metadata__\":{\"format\":\"pt\"}"),
          "header is 8-aligned with __metadata__ {\"format\": \"pt\"}");
    size_t glen;
    char *gold = cli_read_file(GOLD "saved_small.safetensors", &glen);
    CHECK(glen == len && memcmp(gold, raw, len) == 0,
          "saved bytes equal the oracle's saved_small.safetensors (%zu vs %zu bytes)", len, glen);
    free(gold);
    free(raw);
    DIR *d = opendir(tmpdir);
    int others = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.' && strcmp(de->d_name, "rt.safetensors")) others++;
    if (d) closedir(d);
    CHECK(others == 0, "no temporary file left beside the saved file");

    /* Saving over an existing file replaces it; a bad directory fails cleanly. */
    tensor_set one;
    tensors_init(&one);
    int64_t sh[1] = {2};
    float v[2] = {1.5f, -2};
    CHECK(tensors_add(&one, "x", 1, sh, v) != NULL, "tensors_add");
    CHECK(tensors_save_safetensors(path, &one, err, sizeof err) == 0, "save over an existing file");
    tensors_free(&rt);
    CHECK(tensors_load(path, &rt, err, sizeof err) == 0 && rt.n == 1 && rt.t[0].data[1] == -2.0f,
          "the replaced file holds the new set");
    tensors_free(&rt);
    err[0] = 0;
    CHECK(tensors_save_safetensors("/nonexistent-dir/x.safetensors", &one, err, sizeof err) == -1 &&
          one_line(err), "save into a missing directory fails: %s", err);
    CHECK(tensors_add(&one, "x", 1, sh, v) != NULL, "tensors_add allows a repeated name in memory");
    err[0] = 0;
    CHECK(tensors_save_safetensors(path, &one, err, sizeof err) == -1 && strstr(err, "repeated"),
          "save refuses repeated names: %s", err);
    int64_t sh5[5] = {1, 1, 1, 1, 1};
    CHECK(tensors_add(&one, "y", 5, sh5, NULL) == NULL, "tensors_add refuses 5 dimensions");
    one.t[0].numel = 3;
    err[0] = 0;
    CHECK(tensors_save_safetensors(path, &one, err, sizeof err) == -1 && strstr(err, "disagree"),
          "save refuses a numel that disagrees with the shape: %s", err);
    one.t[0].numel = 2;
    CHECK(tensors_find(&one, "y") == NULL && tensors_find(&one, "x") == &one.t[0], "tensors_find");
    tensors_free(&one);
    CHECK(one.n == 0 && one.t == NULL, "tensors_free empties the set");

    tensors_free(&bin);
    tensors_free(&st);
    unlink(path);
}

/* Other picklings of state dicts: protocol 4, and one with 300 entries
 * (LONG_BINPUT, BININT2 offsets) and an nn.Parameter (_rebuild_parameter). */
static void test_more_pickles(void)
{
    listing many;
    read_expected(GOLD "expected_many.txt", &many);
    CHECK(many.n == 301 && many.skipped == 0, "expected_many.txt lists 301 tensors");
    static const char *files[] = {GOLD "small_p4.bin", GOLD "many.bin", GOLD "many_p4.bin"};
    for (size_t i = 0; i < 3; i++) {
        tensor_set ts;
        char err[512] = "", why[256] = "";
        int rc = tensors_load(files[i], &ts, err, sizeof err);
        CHECK(rc == 0 && matches_expected(&ts, i == 0 ? &ex : &many, why, sizeof why),
              "%s equals torch's tensors bit for bit %s%s", files[i], err, why);
        if (rc == 0) tensors_free(&ts);
    }
    free_expected(&many);

    /* The hand-made pickle the bad_dupname/view/negoffset/notensor files vary. */
    tensor_set ts;
    char err[512] = "";
    int rc = tensors_load(GOLD "handmade.bin", &ts, err, sizeof err);
    CHECK(rc == 0 && ts.n == 1 && ts.t[0].ndim == 0 && ts.t[0].data[0] == 2.5f,
          "handmade.bin (the base of four corrupt files) loads: %s", err);
    if (rc == 0) tensors_free(&ts);
}

static void test_bad_files(void)
{
    FILE *f = fopen(GOLD "bad.txt", "r");
    CHECK(f != NULL, "bad.txt opens");
    if (!f) return;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        char *frag = tab + 1;
        frag[strcspn(frag, "\n")] = 0;
        char path[600], err[512] = "";
        snprintf(path, sizeof path, GOLD "%s", line);
        tensor_set ts;
        int rc = tensors_load(path, &ts, err, sizeof err);
        CHECK(rc == -1 && one_line(err) && strstr(err, frag) && ts.n == 0 && ts.t == NULL,
              "%s refused: %s", line, err);
        n++;
    }
    fclose(f);
    CHECK(n >= 23, "%d corrupt files tried", n);

    char err[512] = "";
    tensor_set ts;
    CHECK(tensors_load("tests/golden/tensors/nope.bin", &ts, err, sizeof err) == -1 && one_line(err),
          "missing file: %s", err);
    CHECK(tensors_load(GOLD "expected.txt", &ts, err, sizeof err) == -1 && strstr(err, "unknown model file"),
          "unknown extension: %s", err);
    CHECK(tensors_load_torch_bin(GOLD "small.safetensors", &ts, err, sizeof err) == -1 && one_line(err),
          "a safetensors file given to the .bin reader: %s", err);
    CHECK(tensors_load_safetensors(GOLD "small.bin", &ts, err, sizeof err) == -1 && one_line(err),
          "a .bin file given to the safetensors reader: %s", err);
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Every truncation must be refused; every single-byte change either refused
 * with a one-line message or loaded (never a crash: ASan watches). */
static void mangle(const char *name, const char *ext)
{
    size_t len;
    char *orig = cli_read_file(name, &len);
    char path[300], err[512];
    snprintf(path, sizeof path, "%s/m.%s", tmpdir, ext);
    int bad_trunc = 0, bad_msg = 0, refused = 0;
    for (size_t cut = 0; cut < len; cut++) {
        tensor_set ts;
        err[0] = 0;
        if (write_file(path, orig, cut)) { bad_trunc++; continue; }
        if (tensors_load(path, &ts, err, sizeof err) != -1) { bad_trunc++; tensors_free(&ts); }
        else if (!one_line(err)) bad_msg++;
    }
    CHECK(bad_trunc == 0 && bad_msg == 0, "%s: all %zu truncations refused with one line (%d accepted, %d bad messages)",
          name, len, bad_trunc, bad_msg);
    char *copy = malloc(len);
    bad_msg = 0;
    for (size_t at = 0; at < len; at++) {
        memcpy(copy, orig, len);
        copy[at] ^= (char)0x5a;
        tensor_set ts;
        err[0] = 0;
        if (write_file(path, copy, len)) { bad_msg++; continue; }
        if (tensors_load(path, &ts, err, sizeof err) == 0) tensors_free(&ts);
        else if (!one_line(err) || ts.n != 0) bad_msg++;
        else refused++;
    }
    CHECK(bad_msg == 0, "%s: %zu single-byte changes handled (%d refused)", name, len, refused);
    free(copy);
    free(orig);
    unlink(path);
}

/* CRC-32 (zip), to re-seal data.pkl after changing it. */
static uint32_t crc32z(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

/* Change data.pkl byte by byte inside small.bin, fixing the CRC so the
 * pickle interpreter itself sees every variant. */
static void mangle_pickle(void)
{
    size_t len;
    unsigned char *orig = (unsigned char *)cli_read_file(GOLD "small.bin", &len);
    size_t cd = 0, pkl = 0, plen = 0;
    for (size_t i = 0; i + 46 < len; i++)
        if (orig[i] == 'P' && orig[i + 1] == 'K' && orig[i + 2] == 1 && orig[i + 3] == 2) {
            size_t nl = orig[i + 28] | orig[i + 29] << 8;
            if (nl > 9 && i + 46 + nl <= len && !memcmp(orig + i + 46 + nl - 9, "/data.pkl", 9)) {
                cd = i;
                plen = orig[i + 24] | orig[i + 25] << 8 | (size_t)orig[i + 26] << 16;
                break;
            }
        }
    for (size_t i = 0; i + 3 < len; i++)
        if (orig[i] == 0x80 && orig[i + 1] == 2 && orig[i + 2] == 'c') { pkl = i; break; }
    CHECK(cd && pkl && plen > 100, "found data.pkl in small.bin (%zu bytes at %zu)", plen, pkl);
    if (!cd || !pkl) { free(orig); return; }
    unsigned char *copy = malloc(len);
    char path[300], err[512];
    snprintf(path, sizeof path, "%s/p.bin", tmpdir);
    int bad = 0, refused = 0, loaded = 0, tries = 0;
    static const unsigned char deltas[] = {0x01, 0x5a, 0xff};
    for (size_t at = 0; at < plen; at++) {
        for (size_t d = 0; d < sizeof deltas; d++) {
            memcpy(copy, orig, len);
            copy[pkl + at] ^= deltas[d];
            uint32_t c = crc32z(copy + pkl, plen);
            for (int k = 0; k < 4; k++) copy[cd + 16 + k] = (unsigned char)(c >> (8 * k));
            if (write_file(path, copy, len)) { bad++; continue; }
            tensor_set ts;
            err[0] = 0;
            tries++;
            if (tensors_load(path, &ts, err, sizeof err) == 0) { loaded++; tensors_free(&ts); }
            else if (!one_line(err) || ts.n) bad++;
            else refused++;
        }
    }
    CHECK(bad == 0 && refused > tries / 2, "%d changed pickles: %d refused with one line, %d still loadable",
          tries, refused, loaded);
    /* The untouched bytes with the CRC fixed load fine (the check above is not vacuous). */
    memcpy(copy, orig, len);
    copy[cd + 16] ^= 1;
    tensor_set ts;
    CHECK(write_file(path, copy, len) == 0 && tensors_load(path, &ts, err, sizeof err) == -1 &&
          strstr(err, "CRC"), "a wrong CRC is refused: %s", err);
    free(copy);
    free(orig);
    unlink(path);
}

int main(void)
{
    /* Thousands of small files: tmpfs when there is one (ext4 with discard
     * makes each truncation slow). */
    snprintf(tmpdir, sizeof tmpdir, "/dev/shm/test_tensors.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/test_tensors.XXXXXX");
        if (!mkdtemp(tmpdir)) { printf("not ok - mkdtemp\n"); return 1; }
    }
    read_expected(GOLD "expected.txt", &ex);
    CHECK(ex.n == 11 && ex.skipped == 2, "expected.txt lists 11 float tensors and 2 skipped (%zu, %zu)",
          ex.n, ex.skipped);
    test_good();
    test_bad_files();
    mangle(GOLD "small.safetensors", "safetensors");
    mangle(GOLD "small.bin", "bin");
    mangle_pickle();
    test_more_pickles();
    free_expected(&ex);
    rmdir(tmpdir);
    TEST_END();
}
