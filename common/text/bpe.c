/* bpe.c: GPT-2 byte-level BPE (see bpe.h for the contract). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/bpe.h"
#include "text/utf8.h"

#include <errno.h>
#include <jansson.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JavaScript's \s (WhiteSpace + LineTerminator of ECMA-262): tab, LF, VT,
 * FF, CR, U+FEFF and every Zs, Zl, Zp character.  PCRE2's own \s lacks
 * U+FEFF, so the set is spelled out; \S becomes its complement. */
#define WS "\\t\\n\\x{0B}\\f\\r\\p{Z}\\x{FEFF}"
static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+"
    "|[" WS "]+(?![^" WS "])|[" WS "]+";

/* The byte-to-unicode alphabet has 256 code points, all below this. */
#define ALPHABET_LIMIT 324

static void cache_clear(bpe *b);

/* Word cache bounds: keep memory flat whatever the input size. */
#define CACHE_SLOTS (1u << 17)
#define CACHE_MAX_ENTRIES (1u << 16)
#define CACHE_MAX_WORD 128
#define NO_RANK UINT32_MAX
#define DEFAULT_LONG_THRESHOLD 64
#define DEAD UINT32_MAX

typedef struct pair_slot {
    uint64_t key;     /* (a << 32) | b, or UINT64_MAX when empty */
    uint32_t rank;
    uint32_t merged;  /* id of the merged token */
} pair_slot;

typedef struct cache_entry {
    uint64_t hash;
    uint32_t key_off, key_len;  /* into cache_keys */
    uint32_t ids_off, n_ids;    /* into cache_ids */
} cache_entry;

struct bpe {
    /* vocabulary: id -> decoded bytes */
    size_t n_vocab;
    char *pool;           /* all token bytes */
    uint32_t *tok_off, *tok_len;
    int32_t *tok_slots;   /* bytes -> id hash, -1 empty */
    size_t tok_mask;
    uint32_t byte_id[256];
    /* merges */
    size_t n_merges;
    pair_slot *pairs;
    size_t pair_mask;
    /* pre-tokeniser */
    pcre2_code *re;
    pcre2_match_data *md;
    /* word cache */
    int32_t *cache_slots;
    cache_entry *cache;
    uint32_t n_cache;
    char *cache_keys; size_t cache_keys_len, cache_keys_cap;
    uint32_t *cache_ids; size_t cache_ids_len, cache_ids_cap;
    /* scratch symbols (short pieces) */
    uint32_t *sym; size_t sym_cap;
    /* pieces longer than this use the O(n log n) merge */
    size_t long_threshold;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;  /* FNV-1a 64 */
    for (size_t i = 0; i < n; i++) { h ^= (uint8_t)s[i]; h *= 1099511628211ull; }
    return h;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n) p <<= 1;
    return p;
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the
 * other 68 to 256, 257, ... in byte order.  Fills the inverse map. */
static void build_alphabet(int16_t unicode_to_byte[ALPHABET_LIMIT])
{
    for (int i = 0; i < ALPHABET_LIMIT; i++) unicode_to_byte[i] = -1;
    int extra = 0;
    for (int byte = 0; byte < 256; byte++) {
        int printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) ||
                        (byte >= 0xAE && byte <= 0xFF);
        unicode_to_byte[printable ? byte : 256 + extra++] = (int16_t)byte;
    }
}

/* Decode one code point of valid UTF-8 at s[*i]; advances *i. */
static uint32_t utf8_next(const unsigned char *s, size_t *i)
{
    unsigned c = s[(*i)++];
    if (c < 0x80) return c;
    int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
    uint32_t cp = c & (0x3F >> more);
    while (more--) cp = (cp << 6) | (s[(*i)++] & 0x3F);
    return cp;
}

/* Turn a symbol string of the byte-to-unicode alphabet into raw bytes.
 * @return byte count, or -1 if a code point is outside the alphabet or the
 * string is not valid UTF-8. */
static long symbols_to_bytes(const int16_t *u2b, const char *sym, size_t len, char *out)
{
    if (!utf8_valid(sym, len)) return -1;
    size_t i = 0, n = 0;
    while (i < len) {
        uint32_t cp = utf8_next((const unsigned char *)sym, &i);
        if (cp >= ALPHABET_LIMIT || u2b[cp] < 0) return -1;
        out[n++] = (char)u2b[cp];
    }
    return (long)n;
}

long bpe_token_id(const bpe *b, const char *bytes, size_t len)
{
    size_t h = hash_bytes(bytes, len) & b->tok_mask;
    for (;; h = (h + 1) & b->tok_mask) {
        int32_t id = b->tok_slots[h];
        if (id < 0) return -1;
        if (b->tok_len[id] == len && memcmp(b->pool + b->tok_off[id], bytes, len) == 0) return id;
    }
}

static const pair_slot *pair_find(const bpe *b, uint32_t x, uint32_t y)
{
    uint64_t key = ((uint64_t)x << 32) | y;
    size_t h = mix64(key) & b->pair_mask;
    for (;; h = (h + 1) & b->pair_mask) {
        const pair_slot *p = &b->pairs[h];
        if (p->key == key) return p;
        if (p->key == UINT64_MAX) return NULL;
    }
}

static char *read_whole(const char *path, size_t *len, herr *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) { herr_set(e, "%s: %s", path, strerror(errno)); return NULL; }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf) { fclose(f); herr_set(e, "%s: out of memory", path); return NULL; }
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        cap *= 2;
        char *nb = realloc(buf, cap + 1);
        if (!nb) free(buf);
        buf = nb;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); herr_set(e, "%s: read error", path); return NULL; }
    buf[n] = 0;
    *len = n;
    return buf;
}

static int load_vocab(bpe *b, const int16_t *u2b, const char *path, herr *e)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (je.line < 0 || strstr(je.text, "unable to open"))
            herr_set(e, "%s: cannot read: %s", path, je.text);
        else
            herr_set(e, "%s:%d: malformed JSON: %s", path, je.line, je.text);
        return -1;
    }
    if (!json_is_object(root) || json_object_size(root) == 0) {
        herr_set(e, "%s: expected a JSON object of token -> id", path);
        json_decref(root);
        return -1;
    }
    size_t n = json_object_size(root), pool_cap = 0;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) pool_cap += strlen(key);
    b->n_vocab = n;
    b->pool = malloc(pool_cap + 1);
    b->tok_off = malloc(n * sizeof *b->tok_off);
    b->tok_len = malloc(n * sizeof *b->tok_len);
    uint8_t *seen = calloc(n, 1);
    if (!b->pool || !b->tok_off || !b->tok_len || !seen) {
        free(seen); json_decref(root);
        herr_set(e, "%s: out of memory", path);
        return -1;
    }
    size_t used = 0;
    int rc = 0;
    json_object_foreach(root, key, val) {
        if (!json_is_integer(val) || json_integer_value(val) < 0 ||
            (size_t)json_integer_value(val) >= n) {
            herr_set(e, "%s: token \"%.40s\": id must be an integer in [0, %zu)", path, key, n);
            rc = -1; break;
        }
        size_t id = (size_t)json_integer_value(val);
        if (seen[id]) { herr_set(e, "%s: id %zu is used twice", path, id); rc = -1; break; }
        seen[id] = 1;
        long len = symbols_to_bytes(u2b, key, strlen(key), b->pool + used);
        if (len <= 0) {
            herr_set(e, "%s: token \"%.40s\" is empty or not in the byte-level alphabet", path, key);
            rc = -1; break;
        }
        b->tok_off[id] = (uint32_t)used;
        b->tok_len[id] = (uint32_t)len;
        used += (size_t)len;
    }
    free(seen);
    json_decref(root);
    if (rc) return rc;

    b->tok_mask = pow2_at_least(2 * n) - 1;
    b->tok_slots = malloc((b->tok_mask + 1) * sizeof *b->tok_slots);
    if (!b->tok_slots) { herr_set(e, "%s: out of memory", path); return -1; }
    memset(b->tok_slots, 0xff, (b->tok_mask + 1) * sizeof *b->tok_slots);
    for (size_t id = 0; id < n; id++) {
        const char *s = b->pool + b->tok_off[id];
        if (bpe_token_id(b, s, b->tok_len[id]) >= 0) {
            herr_set(e, "%s: two tokens decode to the same bytes (id %zu)", path, id);
            return -1;
        }
        size_t h = hash_bytes(s, b->tok_len[id]) & b->tok_mask;
        while (b->tok_slots[h] >= 0) h = (h + 1) & b->tok_mask;
        b->tok_slots[h] = (int32_t)id;
    }
    for (int byte = 0; byte < 256; byte++) {
        char c = (char)byte;
        long id = bpe_token_id(b, &c, 1);
        if (id < 0) { herr_set(e, "%s: no token for the single byte 0x%02x", path, byte); return -1; }
        b->byte_id[byte] = (uint32_t)id;
    }
    return 0;
}

static int load_merges(bpe *b, const int16_t *u2b, const char *path, herr *e)
{
    size_t len;
    char *text = read_whole(path, &len, e);
    if (!text) return -1;
    if (memchr(text, 0, len)) { herr_set(e, "%s: contains a NUL byte (not a merges file)", path); free(text); return -1; }
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    b->pair_mask = pow2_at_least(2 * lines + 16) - 1;
    b->pairs = malloc((b->pair_mask + 1) * sizeof *b->pairs);
    char *buf = malloc(len + 1);
    if (!b->pairs || !buf) { free(text); free(buf); herr_set(e, "%s: out of memory", path); return -1; }
    for (size_t i = 0; i <= b->pair_mask; i++) b->pairs[i].key = UINT64_MAX;

    int rc = 0;
    size_t lineno = 0;
    for (char *line = text, *next; line < text + len; line = next) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        next = nl ? nl + 1 : text + len;
        size_t ll = (size_t)((nl ? nl : text + len) - line);
        lineno++;
        if (ll && line[ll - 1] == '\r') ll--;
        if (lineno == 1 && ll >= 8 && memcmp(line, "#version", 8) == 0) continue;
        if (ll == 0) continue;
        char *space = memchr(line, ' ', ll);
        size_t la = space ? (size_t)(space - line) : 0, lb = space ? ll - la - 1 : 0;
        if (!space || la == 0 || lb == 0 || memchr(space + 1, ' ', lb)) {
            herr_set(e, "%s:%zu: expected two symbols separated by one space", path, lineno);
            rc = -1; break;
        }
        long na = symbols_to_bytes(u2b, line, la, buf);
        long nb = na > 0 ? symbols_to_bytes(u2b, space + 1, lb, buf + na) : -1;
        if (na <= 0 || nb <= 0) {
            herr_set(e, "%s:%zu: symbol not in the byte-level alphabet", path, lineno);
            rc = -1; break;
        }
        long a = bpe_token_id(b, buf, (size_t)na), c = bpe_token_id(b, buf + na, (size_t)nb);
        long m = bpe_token_id(b, buf, (size_t)(na + nb));
        if (a < 0 || c < 0 || m < 0) {
            herr_set(e, "%s:%zu: merge \"%.*s %.*s\" uses a symbol missing from the vocabulary",
                    path, lineno, (int)la, line, (int)lb, space + 1);
            rc = -1; break;
        }
        uint64_t key = ((uint64_t)a << 32) | (uint64_t)c;
        size_t h = mix64(key) & b->pair_mask;
        while (b->pairs[h].key != UINT64_MAX && b->pairs[h].key != key) h = (h + 1) & b->pair_mask;
        if (b->pairs[h].key == key) {
            herr_set(e, "%s:%zu: duplicate merge", path, lineno);
            rc = -1; break;
        }
        b->pairs[h] = (pair_slot){key, (uint32_t)b->n_merges, (uint32_t)m};
        b->n_merges++;
    }
    free(buf);
    free(text);
    if (!rc && b->n_merges == 0) { herr_set(e, "%s: no merges", path); rc = -1; }
    return rc;
}

bpe *bpe_load(const char *vocab_path, const char *merges_path, herr *e)
{
    int16_t u2b[ALPHABET_LIMIT];
    build_alphabet(u2b);
    bpe *b = calloc(1, sizeof *b);
    if (!b) { herr_set(e, "out of memory"); return NULL; }
    if (load_vocab(b, u2b, vocab_path, e) || load_merges(b, u2b, merges_path, e)) {
        bpe_free(b);
        return NULL;
    }
    int code;
    PCRE2_SIZE off;
    b->re = pcre2_compile((PCRE2_SPTR)GPT2_PATTERN, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off, NULL);
    if (!b->re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        herr_set(e, "pre-tokeniser regex: %s", (char *)msg);
        bpe_free(b);
        return NULL;
    }
    /* JIT is a speed-up only; the interpreter gives the same matches. */
    (void)pcre2_jit_compile(b->re, PCRE2_JIT_COMPLETE);
    b->md = pcre2_match_data_create_from_pattern(b->re, NULL);
    b->cache_slots = malloc(CACHE_SLOTS * sizeof *b->cache_slots);
    b->cache = malloc(CACHE_MAX_ENTRIES * sizeof *b->cache);
    if (!b->md || !b->cache_slots || !b->cache) { herr_set(e, "out of memory"); bpe_free(b); return NULL; }
    memset(b->cache_slots, 0xff, CACHE_SLOTS * sizeof *b->cache_slots);
    b->long_threshold = DEFAULT_LONG_THRESHOLD;
    return b;
}

void bpe_free(bpe *b)
{
    if (!b) return;
    free(b->pool); free(b->tok_off); free(b->tok_len); free(b->tok_slots);
    free(b->pairs);
    if (b->md) pcre2_match_data_free(b->md);
    if (b->re) pcre2_code_free(b->re);
    free(b->cache_slots); free(b->cache); free(b->cache_keys); free(b->cache_ids);
    free(b->sym);
    free(b);
}

size_t bpe_vocab_size(const bpe *b) { return b->n_vocab; }

void bpe_set_long_threshold(bpe *b, size_t bytes)
{
    b->long_threshold = bytes;
    cache_clear(b);
}
size_t bpe_merge_count(const bpe *b) { return b->n_merges; }

const char *bpe_token_text(const bpe *b, uint32_t id, size_t *len)
{
    if (id >= b->n_vocab) return NULL;
    *len = b->tok_len[id];
    return b->pool + b->tok_off[id];
}

void bpe_tokens_free(bpe_tokens *t)
{
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

static int tokens_reserve(bpe_tokens *t, size_t more)
{
    if (t->n + more <= t->cap) return 0;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->n + more) cap *= 2;
    bpe_token *v = realloc(t->v, cap * sizeof *v);
    if (!v) return -1;
    t->v = v;
    t->cap = cap;
    return 0;
}

static int sym_reserve(bpe *b, size_t len)
{
    if (len <= b->sym_cap) return 0;
    uint32_t *s = realloc(b->sym, len * sizeof *s);
    if (!s) return -1;
    b->sym = s;
    b->sym_cap = len;
    return 0;
}

/* Run the merges on one short pre-token; leaves the ids in b->sym.
 * O(n) per merge step: the plain loop, fastest for short words.
 * @return the number of ids, or -1 when out of memory. */
static long merge_short(bpe *b, const unsigned char *w, size_t len)
{
    if (sym_reserve(b, len)) return -1;
    uint32_t *sym = b->sym;
    size_t n = len;
    for (size_t i = 0; i < len; i++) sym[i] = b->byte_id[w[i]];
    while (n > 1) {
        /* The pair of lowest rank, then every occurrence of it, left to
         * right: the order of encoder.py and gpt-3-encoder. */
        uint32_t best = NO_RANK, first = 0, second = 0, merged = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            const pair_slot *p = pair_find(b, sym[i], sym[i + 1]);
            if (p && p->rank < best) { best = p->rank; first = sym[i]; second = sym[i + 1]; merged = p->merged; }
        }
        if (best == NO_RANK) break;
        size_t j = 0;
        for (size_t i = 0; i < n;) {
            if (i + 1 < n && sym[i] == first && sym[i + 1] == second) { sym[j++] = merged; i += 2; }
            else sym[j++] = sym[i++];
        }
        n = j;
    }
    return (long)n;
}

/* A possible merge of the adjacent symbols at nodes left and right, valid
 * while they still hold ids lid and rid and are still neighbours. */
typedef struct merge_cand {
    uint32_t rank, left, right, lid, rid, merged;
} merge_cand;

static int cand_before(const merge_cand *x, const merge_cand *y)
{
    return x->rank < y->rank || (x->rank == y->rank && x->left < y->left);
}

static void heap_push(merge_cand *h, size_t *n, merge_cand c)
{
    size_t i = (*n)++;
    while (i > 0 && cand_before(&c, &h[(i - 1) / 2])) { h[i] = h[(i - 1) / 2]; i = (i - 1) / 2; }
    h[i] = c;
}

static merge_cand heap_pop(merge_cand *h, size_t *n)
{
    merge_cand top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && cand_before(&h[c + 1], &h[c])) c++;
        if (!cand_before(&h[c], &last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n) h[i] = last;
    return top;
}

/* The same merges for long words in O(n log n): symbols in a linked list,
 * candidate pairs in a heap ordered by (rank, position).  To give exactly
 * the plain loop's result, all candidates of the lowest rank (one bigram) are
 * applied as one left-to-right pass and the pairs they create join the heap
 * only after that pass, just as the plain loop rescans after each pass. */
static long merge_long(bpe *b, const unsigned char *w, size_t len)
{
    /* every merge removes a node and adds at most 2 candidates */
    uint32_t *id = malloc(len * sizeof *id), *next = malloc(len * sizeof *next),
             *prev = malloc(len * sizeof *prev), *touched = malloc(len * sizeof *touched);
    merge_cand *heap = malloc(3 * len * sizeof *heap), *batch = malloc(3 * len * sizeof *batch);
    long result = -1;
    if (!id || !next || !prev || !touched || !heap || !batch || sym_reserve(b, len)) goto out;
    size_t nheap = 0;
    for (size_t i = 0; i < len; i++) {
        id[i] = b->byte_id[w[i]];
        next[i] = i + 1 < len ? (uint32_t)(i + 1) : DEAD;
        prev[i] = i ? (uint32_t)(i - 1) : DEAD;
    }
    for (size_t i = 0; i + 1 < len; i++) {
        const pair_slot *p = pair_find(b, id[i], id[i + 1]);
        if (p) heap_push(heap, &nheap, (merge_cand){p->rank, (uint32_t)i, (uint32_t)(i + 1), id[i], id[i + 1], p->merged});
    }
    while (nheap) {
        uint32_t rank = heap[0].rank;
        size_t nbatch = 0, ntouched = 0;
        while (nheap && heap[0].rank == rank) batch[nbatch++] = heap_pop(heap, &nheap);
        for (size_t k = 0; k < nbatch; k++) {  /* in position order */
            const merge_cand *c = &batch[k];
            if (id[c->left] != c->lid || next[c->left] != c->right || id[c->right] != c->rid) continue;
            id[c->left] = c->merged;
            id[c->right] = DEAD;
            next[c->left] = next[c->right];
            if (next[c->right] != DEAD) prev[next[c->right]] = c->left;
            touched[ntouched++] = c->left;
        }
        for (size_t k = 0; k < ntouched; k++) {
            uint32_t t = touched[k];
            const pair_slot *p;
            if (prev[t] != DEAD && (p = pair_find(b, id[prev[t]], id[t])))
                heap_push(heap, &nheap, (merge_cand){p->rank, prev[t], t, id[prev[t]], id[t], p->merged});
            if (next[t] != DEAD && (p = pair_find(b, id[t], id[next[t]])))
                heap_push(heap, &nheap, (merge_cand){p->rank, t, next[t], id[t], id[next[t]], p->merged});
        }
    }
    size_t n = 0;
    for (uint32_t i = 0; i != DEAD; i = next[i]) b->sym[n++] = id[i];
    result = (long)n;
out:
    free(id); free(next); free(prev); free(touched); free(heap); free(batch);
    return result;
}

/* Run the merges on one pre-token; leaves the ids in b->sym.
 * @return the number of ids, or -1 when out of memory. */
static long merge_word(bpe *b, const unsigned char *w, size_t len)
{
    return len > b->long_threshold ? merge_long(b, w, len) : merge_short(b, w, len);
}

static void cache_clear(bpe *b)
{
    memset(b->cache_slots, 0xff, CACHE_SLOTS * sizeof *b->cache_slots);
    b->n_cache = 0;
    b->cache_keys_len = b->cache_ids_len = 0;
}

/* Look a word up in the cache, or merge it and remember the result.
 * @return the ids (valid until the next call) and their count in *n. */
static const uint32_t *word_ids(bpe *b, const char *w, size_t len, size_t *n)
{
    if (len > CACHE_MAX_WORD) {
        long k = merge_word(b, (const unsigned char *)w, len);
        if (k < 0) return NULL;
        *n = (size_t)k;
        return b->sym;
    }
    uint64_t h = hash_bytes(w, len);
    size_t slot = h & (CACHE_SLOTS - 1);
    for (; b->cache_slots[slot] >= 0; slot = (slot + 1) & (CACHE_SLOTS - 1)) {
        const cache_entry *e = &b->cache[b->cache_slots[slot]];
        if (e->hash == h && e->key_len == len && memcmp(b->cache_keys + e->key_off, w, len) == 0) {
            *n = e->n_ids;
            return b->cache_ids + e->ids_off;
        }
    }
    long k = merge_word(b, (const unsigned char *)w, len);
    if (k < 0) return NULL;
    *n = (size_t)k;
    if (b->n_cache == CACHE_MAX_ENTRIES) { cache_clear(b); return word_ids(b, w, len, n); }
    if (b->cache_keys_len + len > b->cache_keys_cap) {
        size_t cap = b->cache_keys_cap ? b->cache_keys_cap * 2 : 1 << 20;
        while (cap < b->cache_keys_len + len) cap *= 2;
        char *p = realloc(b->cache_keys, cap);
        if (!p) return b->sym;  /* no room to remember: still correct */
        b->cache_keys = p;
        b->cache_keys_cap = cap;
    }
    if (b->cache_ids_len + (size_t)k > b->cache_ids_cap) {
        size_t cap = b->cache_ids_cap ? b->cache_ids_cap * 2 : 1 << 18;
        while (cap < b->cache_ids_len + (size_t)k) cap *= 2;
        uint32_t *p = realloc(b->cache_ids, cap * sizeof *p);
        if (!p) return b->sym;
        b->cache_ids = p;
        b->cache_ids_cap = cap;
    }
    cache_entry *e = &b->cache[b->n_cache];
    *e = (cache_entry){h, (uint32_t)b->cache_keys_len, (uint32_t)len,
                       (uint32_t)b->cache_ids_len, (uint32_t)k};
    memcpy(b->cache_keys + b->cache_keys_len, w, len);
    memcpy(b->cache_ids + b->cache_ids_len, b->sym, (size_t)k * sizeof *b->sym);
    b->cache_keys_len += len;
    b->cache_ids_len += (size_t)k;
    b->cache_slots[slot] = (int32_t)b->n_cache++;
    return b->cache_ids + e->ids_off;
}

int bpe_encode(bpe *b, const char *text, size_t len, bpe_tokens *out, herr *e)
{
    if (len >= UINT32_MAX) return herr_set(e, "text longer than 4 GiB");
    if (!utf8_valid(text, len)) return herr_set(e, "text is not valid UTF-8");
    size_t n0 = out->n, pos = 0;
    while (pos < len) {
        int rc = pcre2_match(b->re, (PCRE2_SPTR)text, len, pos, PCRE2_NO_UTF_CHECK, b->md, NULL);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(b->md);
        /* Every code point matches one alternative, so pieces are contiguous. */
        if (rc < 0 || ov[0] != pos || ov[1] <= pos) {
            out->n = n0;
            if (rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_MATCHLIMIT)
                return herr_set(e, "pre-tokeniser: regex resource limit at byte %zu", pos);
            return herr_set(e, "pre-tokeniser: unexpected match failure at byte %zu", pos);
        }
        size_t end = ov[1], n;
        const uint32_t *ids = word_ids(b, text + pos, end - pos, &n);
        if (!ids || tokens_reserve(out, n)) { out->n = n0; return herr_set(e, "out of memory"); }
        uint32_t at = (uint32_t)pos;
        for (size_t i = 0; i < n; i++) {
            uint32_t l = b->tok_len[ids[i]];
            out->v[out->n++] = (bpe_token){ids[i], at, at + l};
            at += l;
        }
        pos = end;
    }
    return 0;
}

