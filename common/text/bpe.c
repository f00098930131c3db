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
    /* long pieces (merge_long): scratch nodes, rank buckets (all empty
     * between calls) and the chunks they are made of */
    struct lnode *lw; size_t lw_cap;
    uint32_t *head;               /* [n_merges] first chunk of each bucket */
    uint64_t *bits, *summary;     /* non-empty buckets; non-zero bits words */
    struct lchunk *qpool; uint32_t pool_n, pool_cap, pool_free;
    /* pieces longer than this use merge_long */
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
    const int bad = ferror(f), err = errno;
    fclose(f);
    if (bad) { free(buf); herr_set(e, "%s: read error: %s", path, strerror(err)); return NULL; }
    buf[n] = 0;
    *len = n;
    return buf;
}

static int load_vocab(bpe *b, const int16_t *u2b, const char *path, herr *e)
{
    json_error_t je;
    size_t tlen;
    char *text = read_whole(path, &tlen, e); /* names a directory or a read error as such */
    if (!text) return herr_prefix(e, "cannot read: ");
    json_t *root = json_loadb(text, tlen, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!root) {
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
        if (b->n_merges >= 0x7ffffffe) {  /* ranks must fit 31 bits (merge_long) */
            herr_set(e, "%s:%zu: too many merges", path, lineno);
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
    free(b->lw); free(b->head); free(b->bits); free(b->summary); free(b->qpool);
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
 * O(n) per merge step: the plain loop of encoder.py, fastest for short
 * words.  @return the number of ids, or -1 when out of memory. */
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

/* ---- long pieces: the same rule in O(n + merges) ----------------------
 *
 * encoder.py repeats: take the bigram of lowest rank, merge all its
 * occurrences in one left-to-right pass.  Here every symbol is a node of a
 * linked list (node = the byte position where the symbol starts; the next
 * node is that position plus the symbol's length, so only the previous one
 * is stored), and the pairs wait in one bucket per rank (a heap of merge
 * candidates over a linked list, with the heap replaced by rank buckets
 * since ranks are small integers; a two-level bitmap finds the lowest
 * non-empty bucket).  A bucket holds node positions; an entry is stale when
 * that node's pair has changed since, and is skipped when met (the pair is
 * looked up again), so nothing is ever unlinked: one random memory access
 * per merge instead of a dozen.  A pass empties the lowest bucket:
 *   - occurrences of a pair (x, y) with x != y cannot overlap, so any order
 *     gives encoder.py's result;
 *   - for (x, x) the pass must pair a run of x from its left end ("aaa" ->
 *     "aa" "a"), so a node of such a pair first walks left to the start of
 *     its run and merges the run greedily from there.
 * A merge makes two new pairs (left neighbour + new symbol, new symbol +
 * right neighbour), queued in their buckets.  Neither can have the current
 * rank (the merged symbol would have to equal one of its parts), so the
 * pass never sees them; one with a lower rank (a merges file whose pairs are
 * made by later merges; not GPT-2's) waits in its bucket for the pass to
 * end, which is when encoder.py would take it too.
 * Memory: 8 bytes per byte for the nodes, and 4 per queued pair (in
 * 64-byte chunks, reused once their bucket is done): about 3.5 bytes per
 * byte at the peak on random letters, 9 on a run of one letter. */

#define NONE UINT32_MAX
#define CHUNK_ENTRIES 14

typedef struct lnode { uint32_t id, prv; } lnode;
typedef struct lchunk {          /* 64 bytes: a piece of one bucket */
    uint32_t next, n;
    uint32_t e[CHUNK_ENTRIES];   /* node positions */
} lchunk;

typedef struct long_state {
    bpe *b;
    uint32_t n;                  /* bytes in the piece */
    lnode *node;                 /* [n] */
    uint32_t low;                /* lowest rank queued during this pass */
    int oom;
} long_state;

static uint32_t node_next(const long_state *s, uint32_t i)
{
    uint32_t nx = i + s->b->tok_len[s->node[i].id];
    return nx < s->n ? nx : NONE;
}

static void bits_set(bpe *b, uint32_t r)
{
    b->bits[r >> 6] |= 1ull << (r & 63);
    b->summary[r >> 12] |= 1ull << ((r >> 6) & 63);
}

static void bits_clear(bpe *b, uint32_t r)
{
    if (!(b->bits[r >> 6] &= ~(1ull << (r & 63)))) b->summary[r >> 12] &= ~(1ull << ((r >> 6) & 63));
}

/* @return the lowest rank >= r with a non-empty bucket, or NO_RANK */
static uint32_t bits_next(const bpe *b, uint32_t r)
{
    size_t nwords = (b->n_merges + 63) / 64, nsum = (nwords + 63) / 64;
    size_t w = r >> 6;
    if (w >= nwords) return NO_RANK;
    uint64_t x = b->bits[w] & (~0ull << (r & 63));
    if (x) return (uint32_t)(w * 64 + (size_t)__builtin_ctzll(x));
    size_t sw = (w + 1) >> 6;
    if (sw >= nsum) return NO_RANK;
    uint64_t y = (w + 1) & 63 ? b->summary[sw] & (~0ull << ((w + 1) & 63)) : b->summary[sw];
    for (;;) {
        if (y) {
            size_t ww = sw * 64 + (size_t)__builtin_ctzll(y);
            return (uint32_t)(ww * 64 + (size_t)__builtin_ctzll(b->bits[ww]));
        }
        if (++sw >= nsum) return NO_RANK;
        y = b->summary[sw];
    }
}

/* A free chunk (its index), or NONE when out of memory. */
static uint32_t chunk_new(bpe *b)
{
    if (b->pool_free != NONE) {
        uint32_t c = b->pool_free;
        b->pool_free = b->qpool[c].next;
        return c;
    }
    if (b->pool_n == b->pool_cap) {
        size_t cap = b->pool_cap ? 2 * (size_t)b->pool_cap : 4096;
        if (cap >= NONE) return NONE;
        lchunk *p = realloc(b->qpool, cap * sizeof *p);
        if (!p) return NONE;
        b->qpool = p;
        b->pool_cap = (uint32_t)cap;
    }
    return b->pool_n++;
}

/* Queue node i (whose pair has rank r). */
static void bucket_push(long_state *s, uint32_t r, uint32_t i)
{
    bpe *b = s->b;
    uint32_t h = b->head[r];
    if (h == NONE || b->qpool[h].n == CHUNK_ENTRIES) {
        uint32_t c = chunk_new(b);
        if (c == NONE) { s->oom = 1; return; }
        b->qpool[c].next = h;
        b->qpool[c].n = 0;
        if (h == NONE) bits_set(b, r);
        b->head[r] = h = c;
    }
    b->qpool[h].e[b->qpool[h].n++] = i;
    if (r < s->low) s->low = r;
}

/* Queue node i's pair with its right neighbour, if that pair has a rank. */
static void queue_pair(long_state *s, uint32_t i)
{
    if (i == NONE) return;
    uint32_t nx = node_next(s, i);
    if (nx == NONE) return;
    const pair_slot *p = pair_find(s->b, s->node[i].id, s->node[nx].id);
    if (p) bucket_push(s, p->rank, i);
}

/* Merge node i with its right neighbour j into the symbol merged. */
static void node_merge(long_state *s, uint32_t i, uint32_t j, uint32_t merged)
{
    s->node[i].id = merged;
    s->node[j].id = DEAD;
    uint32_t nx = node_next(s, i);
    if (nx != NONE) s->node[nx].prv = i;
    queue_pair(s, s->node[i].prv);
    queue_pair(s, i);
}

/* Empty every bucket (after running out of memory mid-piece). */
static void buckets_reset(bpe *b)
{
    memset(b->head, 0xff, b->n_merges * sizeof *b->head);
    memset(b->bits, 0, (b->n_merges + 63) / 64 * sizeof *b->bits);
    memset(b->summary, 0, ((b->n_merges + 63) / 64 + 63) / 64 * sizeof *b->summary);
    b->pool_n = 0;
    b->pool_free = NONE;
}

/* Merge a long pre-token.  @return the number of ids, left at the start of
 * b->lw (valid until the next call), or -1 when out of memory. */
static long merge_long(bpe *b, const unsigned char *w, size_t len)
{
    if (len >= NONE) return -1;
    if (len > b->lw_cap) {
        free(b->lw);
        b->lw = malloc(len * sizeof *b->lw);
        b->lw_cap = b->lw ? len : 0;
        if (!b->lw) return -1;
    }
    if (!b->head) {
        size_t nwords = (b->n_merges + 63) / 64;
        b->head = malloc(b->n_merges * sizeof *b->head);
        b->bits = calloc(nwords, sizeof *b->bits);
        b->summary = calloc((nwords + 63) / 64, sizeof *b->summary);
        if (!b->head || !b->bits || !b->summary) {
            free(b->head); free(b->bits); free(b->summary);
            b->head = NULL; b->bits = b->summary = NULL;
            return -1;
        }
        memset(b->head, 0xff, b->n_merges * sizeof *b->head);
        b->pool_free = NONE;
    }
    long_state s = {.b = b, .n = (uint32_t)len, .node = b->lw, .low = NO_RANK};
    for (uint32_t i = 0; i < s.n; i++) s.node[i] = (lnode){b->byte_id[w[i]], i ? i - 1 : NONE};
    for (uint32_t i = 0; i + 1 < s.n; i++) queue_pair(&s, i);
    for (uint32_t r = bits_next(b, 0); r != NO_RANK && !s.oom; r = bits_next(b, s.low)) {
        s.low = r + 1;
        uint32_t c;
        while ((c = b->head[r]) != NONE && !s.oom) {
            lchunk ch = b->qpool[c];  /* a copy: pushes may move the pool */
            b->head[r] = ch.next;
            if (ch.next == NONE) bits_clear(b, r);
            b->qpool[c].next = b->pool_free;
            b->pool_free = c;
            /* the nodes are scattered over the piece: fetch them all first */
            for (uint32_t k = 0; k < ch.n; k++) __builtin_prefetch(&s.node[ch.e[k]]);
            for (uint32_t k = 0; k < ch.n; k++) {
                uint32_t i = ch.e[k], j;
                uint32_t x = s.node[i].id;
                if (x == DEAD || (j = node_next(&s, i)) == NONE) continue;
                const pair_slot *p = pair_find(b, x, s.node[j].id);
                if (!p || p->rank != r) continue;  /* stale: the pair changed */
                if (s.node[j].id != x) {
                    node_merge(&s, i, j, p->merged);
                    continue;
                }
                /* (x, x): from the run's left end, pair greedily */
                while (s.node[i].prv != NONE && s.node[s.node[i].prv].id == x) i = s.node[i].prv;
                while (i != NONE && s.node[i].id == x && (j = node_next(&s, i)) != NONE && s.node[j].id == x) {
                    node_merge(&s, i, j, p->merged);
                    i = node_next(&s, i);
                }
            }
        }
    }
    if (s.oom) {
        buckets_reset(b);
        return -1;
    }
    /* The ids, in order, compacted into the start of the node array: the
     * n-th id goes to 32-bit word n, inside node n / 2, and n <= i + 1, so
     * for i >= 2 that node lies before node i (done with), and for i < 2 it
     * is node 0, whose id word is rewritten with its own value first. */
    size_t n = 0;
    uint32_t *ids = (uint32_t *)s.node;
    for (uint32_t i = 0; i != NONE; i = node_next(&s, i)) ids[n++] = s.node[i].id;
    return (long)n;
}

/* Long pieces leave scratch nodes and queue chunks behind; keep them for
 * the next piece only while they are small. */
#define LONG_KEEP_BYTES ((size_t)1 << 16)

static void long_release(bpe *b)
{
    if (b->lw_cap > LONG_KEEP_BYTES) {
        free(b->lw);
        b->lw = NULL;
        b->lw_cap = 0;
    }
    if (b->pool_cap > LONG_KEEP_BYTES / sizeof(lchunk)) {  /* all chunks are free here */
        free(b->qpool);
        b->qpool = NULL;
        b->pool_cap = b->pool_n = 0;
        b->pool_free = NONE;
    }
}

/* Run the merges on one pre-token.  @return the ids (valid until the next
 * call) and their count in *n, or NULL when out of memory. */
static const uint32_t *merge_word(bpe *b, const unsigned char *w, size_t len, size_t *n)
{
    long k = len > b->long_threshold ? merge_long(b, w, len) : merge_short(b, w, len);
    if (k < 0) return NULL;
    *n = (size_t)k;
    return len > b->long_threshold ? (const uint32_t *)b->lw : b->sym;
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
    if (len > CACHE_MAX_WORD) return merge_word(b, (const unsigned char *)w, len, n);
    uint64_t h = hash_bytes(w, len);
    size_t slot = h & (CACHE_SLOTS - 1);
    for (; b->cache_slots[slot] >= 0; slot = (slot + 1) & (CACHE_SLOTS - 1)) {
        const cache_entry *e = &b->cache[b->cache_slots[slot]];
        if (e->hash == h && e->key_len == len && memcmp(b->cache_keys + e->key_off, w, len) == 0) {
            *n = e->n_ids;
            return b->cache_ids + e->ids_off;
        }
    }
    const uint32_t *ids = merge_word(b, (const unsigned char *)w, len, n);
    if (!ids) return NULL;
    size_t k = *n;
    if (b->n_cache == CACHE_MAX_ENTRIES) { cache_clear(b); return word_ids(b, w, len, n); }
    if (b->cache_keys_len + len > b->cache_keys_cap) {
        size_t cap = b->cache_keys_cap ? b->cache_keys_cap * 2 : 1 << 20;
        while (cap < b->cache_keys_len + len) cap *= 2;
        char *p = realloc(b->cache_keys, cap);
        if (!p) return ids;  /* no room to remember: still correct */
        b->cache_keys = p;
        b->cache_keys_cap = cap;
    }
    if (b->cache_ids_len + k > b->cache_ids_cap) {
        size_t cap = b->cache_ids_cap ? b->cache_ids_cap * 2 : 1 << 18;
        while (cap < b->cache_ids_len + k) cap *= 2;
        uint32_t *p = realloc(b->cache_ids, cap * sizeof *p);
        if (!p) return ids;
        b->cache_ids = p;
        b->cache_ids_cap = cap;
    }
    cache_entry *e = &b->cache[b->n_cache];
    *e = (cache_entry){h, (uint32_t)b->cache_keys_len, (uint32_t)len, (uint32_t)b->cache_ids_len, (uint32_t)k};
    memcpy(b->cache_keys + b->cache_keys_len, w, len);
    memcpy(b->cache_ids + b->cache_ids_len, ids, k * sizeof *ids);
    b->cache_keys_len += len;
    b->cache_ids_len += k;
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
        if (!ids || tokens_reserve(out, n)) {
            long_release(b);
            out->n = n0;
            return herr_set(e, "out of memory (a piece of %zu bytes)", end - pos);
        }
        uint32_t at = (uint32_t)pos;
        for (size_t i = 0; i < n; i++) {
            uint32_t l = b->tok_len[ids[i]];
            out->v[out->n++] = (bpe_token){ids[i], at, at + l};
            at += l;
        }
        if (end - pos > CACHE_MAX_WORD) long_release(b);
        pos = end;
    }
    return 0;
}
