/* perceptron.c: NLTK's averaged perceptron tagger, inference only (see
 * perceptron.h).  The weights live in one open-addressing hash table keyed
 * by the feature string ("i-1 tag+i word DT dog"); each entry points at its
 * run of (tag, weight) pairs. */
#include "text/perceptron.h"
#include "base/sha256.h"
#include "text/utf8.h"

#include <errno.h>
#include <jansson.h>
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <wctype.h>

const char *const PERCEPTRON_FILES[3] = {
    "averaged_perceptron_tagger_eng.classes.json",
    "averaged_perceptron_tagger_eng.tagdict.json",
    "averaged_perceptron_tagger_eng.weights.json",
};

#define MAX_CLASSES 256


typedef struct slot {
    const char *key;   /* into keys arena, NUL-terminated */
    uint32_t key_len;
    uint32_t first;    /* weights: index of the first (tag, weight) pair, or tag for tagdict */
    uint32_t count;    /* number of pairs */
    uint64_t hash;
} slot;

typedef struct table {
    slot *slots;
    size_t mask;       /* capacity - 1 (power of two) */
    size_t n;
} table;

#define N_TEMPLATES 14
typedef struct feature_batch {
    char buf[N_TEMPLATES * 512];
    size_t used;
    const char *key[N_TEMPLATES];
    size_t len[N_TEMPLATES];
    int n;
} feature_batch;

/* Caches of the lookups that depend on one word only (9 of the 14
 * templates) and on the two previous tags only (3 more): TinyStories has a
 * small vocabulary, so most words' features are looked up once per run. */
enum { T_I_WORD, T_IM1_WORD, T_IM1_SUFFIX, T_IM2_WORD, T_IP1_WORD, T_IP1_SUFFIX, T_IP2_WORD, N_NORM_T };

typedef struct norm_entry {      /* a normalised context word */
    uint64_t hash;
    size_t len;
    const slot *feat[N_NORM_T];  /* its features' slots (NULL = not in the model) */
    char key[];
} norm_entry;

typedef struct raw_entry {       /* a word as written */
    uint64_t hash;
    size_t len;
    int tagdict;                 /* tag from the tag dictionary, or -1 */
    const slot *suffix, *pref1;  /* "i suffix", "i pref1" */
    norm_entry *norm;            /* its normalised form */
    char key[];
} raw_entry;

typedef struct entry_ref { uint64_t hash; void *e; } entry_ref;
typedef struct entry_table {     /* open addressing; hashes inline, so a probe */
    entry_ref *e;                /* that does not match never touches its entry */
    size_t mask, n;
} entry_table;

#define CACHE_MAX_ENTRIES ((size_t)1 << 20)

struct perceptron {
    int n_classes;          /* tags of classes.json, then any only in tagdict.json */
    int n_model_classes;    /* those of classes.json: the candidates of predict() */
    char *classes[MAX_CLASSES];
    table weights;          /* feature -> pairs */
    table tagdict;          /* word -> tag number (in .first) */
    uint8_t *pair_class;    /* [n_pairs] */
    double *pair_weight;    /* [n_pairs] */
    char *keys;             /* arena of all keys */
    /* scratch for tagging */
    feature_batch batch;    /* the current word's feature keys */
    entry_table raw_cache, norm_cache;
    norm_entry *pad[4];     /* -START- -START2- -END- -END2- */
    const slot *bias;
    const slot **pair;      /* [(prev, prev2) * 3]: i-1 tag, i-2 tag, i tag+i-2 tag */
    uint8_t *pair_done;
    const raw_entry **ctx_raw;  /* scratch [n] */
    const norm_entry **ctx_norm;/* scratch [n + 4] */
    size_t ctx_entries_cap;
    char sha256[65];        /* identity: sha256 of the three files' bytes */
};

/* 8 bytes at a time: feature keys are ~10-30 bytes and hashing them was a
 * visible share of tagging time with a byte-wise hash. */
static uint64_t hash_bytes(const char *s, size_t n)
{
    const uint64_t K = 0x9E3779B97F4A7C15ull;
    uint64_t h = (uint64_t)n * K;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * K;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * K;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 32);
}

static int table_init(table *t, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    t->slots = calloc(cap, sizeof *t->slots);
    t->mask = cap - 1;
    t->n = 0;
    return t->slots ? 0 : -1;
}

static const slot *table_find_h(const table *t, const char *key, size_t len, uint64_t h)
{
    for (size_t i = h & t->mask;; i = (i + 1) & t->mask) {
        const slot *s = &t->slots[i];
        if (!s->key) return NULL;
        if (s->hash == h && s->key_len == len && memcmp(s->key, key, len) == 0) return s;
    }
}

static const slot *table_find(const table *t, const char *key, size_t len)
{
    return table_find_h(t, key, len, hash_bytes(key, len));
}

/* Insert (the caller guarantees keys are unique: they come from a JSON object). */
static slot *table_add(table *t, const char *key, size_t len)
{
    uint64_t h = hash_bytes(key, len);
    size_t i = h & t->mask;
    while (t->slots[i].key) i = (i + 1) & t->mask;
    slot *s = &t->slots[i];
    s->key = key;
    s->key_len = (uint32_t)len;
    s->hash = h;
    t->n++;
    return s;
}

static void cache_flush(perceptron *p);

void perceptron_free(perceptron *p)
{
    if (!p) return;
    for (int i = 0; i < p->n_classes; i++) free(p->classes[i]);
    free(p->weights.slots);
    free(p->tagdict.slots);
    free(p->pair_class);
    free(p->pair_weight);
    free(p->keys);
    cache_flush(p);
    free(p->raw_cache.e);
    free(p->norm_cache.e);
    free(p->pair);
    free(p->pair_done);
    free(p->ctx_raw);
    free(p->ctx_norm);
    free(p);
}

int perceptron_n_classes(const perceptron *p) { return p->n_classes; }
const char *perceptron_class(const perceptron *p, int i) { return p->classes[i]; }

int perceptron_class_index(const perceptron *p, const char *name)
{
    for (int i = 0; i < p->n_classes; i++)
        if (strcmp(p->classes[i], name) == 0) return i;
    return -1;
}

static int add_class(perceptron *p, const char *name)
{
    int c = perceptron_class_index(p, name);
    if (c >= 0) return c;
    if (p->n_classes == MAX_CLASSES || strlen(name) == 0) return -1;
    p->classes[p->n_classes] = strdup(name);
    if (!p->classes[p->n_classes]) return -1;
    return p->n_classes++;
}

/* A bump allocator for jansson while the model loads: the DOM of the 5.7 MB
 * weights file is a million small blocks, and freeing them one by one cost
 * more than parsing.  The arena goes at once when the load is done. */
typedef struct arena_block { struct arena_block *next; size_t used, cap; } arena_block;
static arena_block *arena_head;

/* Blocks are mmap'd in 32 MiB and marked for transparent huge pages: the DOM
 * is ~60 MB, and faulting it in 4 KiB pages was a tenth of the load time. */
#define ARENA_BLOCK ((size_t)32 << 20)

static void *arena_malloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!arena_head || arena_head->used + n > arena_head->cap) {
        size_t total = sizeof(arena_block) + 16 + (n > ARENA_BLOCK ? n : ARENA_BLOCK);
        void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return NULL;
        (void)madvise(m, total, MADV_HUGEPAGE); /* a hint: fine if refused */
        arena_block *b = m;
        b->next = arena_head;
        b->used = 0;
        b->cap = total - sizeof(arena_block) - 16;
        arena_head = b;
    }
    char *base = (char *)(arena_head + 1);
    base += (16 - ((uintptr_t)base & 15)) & 15;
    void *p = base + arena_head->used;
    arena_head->used += n;
    return p;
}

static void arena_free(void *p) { (void)p; }

static void arena_release(void)
{
    while (arena_head) {
        arena_block *n = arena_head->next;
        munmap(arena_head, arena_head->cap + sizeof(arena_block) + 16);
        arena_head = n;
    }
}

/* Read one model file, add its bytes to the identity hash, parse it. */
static json_t *load_json(const char *dir, int which, json_type want, sha256_hex_ctx *id, herr *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, PERCEPTRON_FILES[which]);
    FILE *f = fopen(path, "rb");
    if (!f) {
        herr_set(e, "%s: cannot open tagger file: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0, r;
    char *buf = malloc(cap);
    while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) { free(buf); buf = NULL; }
            buf = nb;
        }
    }
    const int read_error = ferror(f), err = errno;
    fclose(f);
    if (!buf || read_error) {
        free(buf);
        herr_set(e, "%s: cannot read tagger file: %s", path, read_error ? strerror(err) : "out of memory");
        return NULL;
    }
    sha256_hex_add(id, buf, len);
    json_error_t je;
    json_t *j = json_loadb(buf, len, 0, &je);
    free(buf);
    if (!j) {
        herr_set(e, "%s: corrupt tagger file: %s (line %d)", path, je.text, je.line);
        return NULL;
    }
    if (json_typeof(j) != want) {
        herr_set(e, "%s: corrupt tagger file: expected a JSON %s", path, want == JSON_ARRAY ? "array" : "object");
        json_decref(j);
        return NULL;
    }
    return j;
}

static perceptron *fail(perceptron *p, json_t *a, json_t *b, json_t *c, const char *dir,
                        const char *what, herr *e)
{
    herr_set(e, "%s: corrupt tagger: %s", dir, what);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    perceptron_free(p);
    return NULL;
}

static perceptron *load(const char *dir, herr *e);

perceptron *perceptron_load(const char *dir, herr *e)
{
    json_malloc_t old_malloc;
    json_free_t old_free;
    json_get_alloc_funcs(&old_malloc, &old_free);
    json_set_alloc_funcs(arena_malloc, arena_free);
    perceptron *p = load(dir, e);
    json_set_alloc_funcs(old_malloc, old_free);
    arena_release();
    return p;
}

/* Index of a tag while loading: a tiny hash on the tag's bytes. */
static int class_lookup(const perceptron *p, const int16_t *idx, const char *tag)
{
    size_t l = strlen(tag);
    for (size_t h = hash_bytes(tag, l) & 511;; h = (h + 1) & 511) {
        if (idx[h] < 0) return -1;
        if (strcmp(p->classes[idx[h]], tag) == 0) return idx[h];
    }
}

static perceptron *load(const char *dir, herr *e)
{
    json_t *jc = NULL, *jt = NULL, *jw = NULL;
    int16_t class_idx[512];
    perceptron *p = calloc(1, sizeof *p);
    if (!p) { herr_set(e, "out of memory"); return NULL; }
    sha256_hex_ctx id;
    sha256_hex_init(&id);
    if (!(jc = load_json(dir, 0, JSON_ARRAY, &id, e)) || !(jt = load_json(dir, 1, JSON_OBJECT, &id, e)) ||
        !(jw = load_json(dir, 2, JSON_OBJECT, &id, e))) {
        json_decref(jc);
        json_decref(jt);
        perceptron_free(p);
        return NULL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(jc, i, v) {
        if (!json_is_string(v) || add_class(p, json_string_value(v)) < 0)
            return fail(p, jc, jt, jw, dir, "bad tag in classes.json", e);
    }
    if (p->n_classes == 0) return fail(p, jc, jt, jw, dir, "no tags in classes.json", e);
    p->n_model_classes = p->n_classes;

    /* Size the key arena and the pair arrays. */
    size_t key_bytes = 0, n_pairs = 0;
    const char *k;
    json_object_foreach(jt, k, v) key_bytes += strlen(k) + 1;
    json_object_foreach(jw, k, v) {
        key_bytes += strlen(k) + 1;
        if (!json_is_object(v)) return fail(p, jc, jt, jw, dir, "a feature's weights are not an object", e);
        n_pairs += json_object_size(v);
    }
    p->keys = malloc(key_bytes ? key_bytes : 1);
    p->pair_class = malloc(n_pairs ? n_pairs : 1);
    p->pair_weight = malloc((n_pairs ? n_pairs : 1) * sizeof *p->pair_weight);
    if (!p->keys || !p->pair_class || !p->pair_weight ||
        table_init(&p->tagdict, json_object_size(jt)) || table_init(&p->weights, json_object_size(jw)))
        return fail(p, jc, jt, jw, dir, "out of memory", e);

    char *kp = p->keys;
    json_object_foreach(jt, k, v) {
        if (!json_is_string(v)) return fail(p, jc, jt, jw, dir, "a tagdict entry is not a tag", e);
        int c = add_class(p, json_string_value(v));
        if (c < 0) return fail(p, jc, jt, jw, dir, "bad tag in tagdict.json", e);
        size_t l = strlen(k);
        memcpy(kp, k, l + 1);
        table_add(&p->tagdict, kp, l)->first = (uint32_t)c;
        kp += l + 1;
    }
    for (int h = 0; h < 512; h++) class_idx[h] = -1;
    for (int c = 0; c < p->n_classes; c++) {
        size_t h = hash_bytes(p->classes[c], strlen(p->classes[c])) & 511;
        while (class_idx[h] >= 0) h = (h + 1) & 511;
        class_idx[h] = (int16_t)c;
    }
    size_t at = 0;
    json_object_foreach(jw, k, v) {
        size_t l = strlen(k);
        memcpy(kp, k, l + 1);
        slot *s = table_add(&p->weights, kp, l);
        kp += l + 1;
        s->first = (uint32_t)at;
        const char *tag;
        json_t *w;
        json_object_foreach(v, tag, w) {
            if (!json_is_number(w)) return fail(p, jc, jt, jw, dir, "a weight is not a number", e);
            int c = class_lookup(p, class_idx, tag);
            if (c < 0) return fail(p, jc, jt, jw, dir, "a weight names a tag not in classes.json", e);
            p->pair_class[at] = (uint8_t)c;
            p->pair_weight[at] = json_number_value(w);
            at++;
        }
        s->count = (uint32_t)(at - s->first);
    }
    json_decref(jc);
    json_decref(jt);
    json_decref(jw);
    sha256_hex_done(&id, p->sha256);
    return p;
}

const char *perceptron_sha256(const perceptron *p) { return p->sha256; }

/* ------------------------------------------------------------------ */
/* Python str predicates and str.lower() on UTF-8. */

/* str.isdigit(): Unicode Numeric_Type Decimal or Digit (Python 3.11 tables). */
static const uint32_t DIGIT_RANGES[][2] = {
    {0x30, 0x39}, {0xb2, 0xb3}, {0xb9, 0xb9}, {0x660, 0x669}, {0x6f0, 0x6f9}, {0x7c0, 0x7c9},
    {0x966, 0x96f}, {0x9e6, 0x9ef}, {0xa66, 0xa6f}, {0xae6, 0xaef}, {0xb66, 0xb6f}, {0xbe6, 0xbef},
    {0xc66, 0xc6f}, {0xce6, 0xcef}, {0xd66, 0xd6f}, {0xde6, 0xdef}, {0xe50, 0xe59}, {0xed0, 0xed9},
    {0xf20, 0xf29}, {0x1040, 0x1049}, {0x1090, 0x1099}, {0x1369, 0x1371}, {0x17e0, 0x17e9},
    {0x1810, 0x1819}, {0x1946, 0x194f}, {0x19d0, 0x19da}, {0x1a80, 0x1a89}, {0x1a90, 0x1a99},
    {0x1b50, 0x1b59}, {0x1bb0, 0x1bb9}, {0x1c40, 0x1c49}, {0x1c50, 0x1c59}, {0x2070, 0x2070},
    {0x2074, 0x2079}, {0x2080, 0x2089}, {0x2460, 0x2468}, {0x2474, 0x247c}, {0x2488, 0x2490},
    {0x24ea, 0x24ea}, {0x24f5, 0x24fd}, {0x24ff, 0x24ff}, {0x2776, 0x277e}, {0x2780, 0x2788},
    {0x278a, 0x2792}, {0xa620, 0xa629}, {0xa8d0, 0xa8d9}, {0xa900, 0xa909}, {0xa9d0, 0xa9d9},
    {0xa9f0, 0xa9f9}, {0xaa50, 0xaa59}, {0xabf0, 0xabf9}, {0xff10, 0xff19}, {0x104a0, 0x104a9},
    {0x10a40, 0x10a43}, {0x10d30, 0x10d39}, {0x10e60, 0x10e68}, {0x11052, 0x1105a},
    {0x11066, 0x1106f}, {0x110f0, 0x110f9}, {0x11136, 0x1113f}, {0x111d0, 0x111d9},
    {0x112f0, 0x112f9}, {0x11450, 0x11459}, {0x114d0, 0x114d9}, {0x11650, 0x11659},
    {0x116c0, 0x116c9}, {0x11730, 0x11739}, {0x118e0, 0x118e9}, {0x11950, 0x11959},
    {0x11c50, 0x11c59}, {0x11d50, 0x11d59}, {0x11da0, 0x11da9}, {0x16a60, 0x16a69},
    {0x16ac0, 0x16ac9}, {0x16b50, 0x16b59}, {0x1d7ce, 0x1d7ff}, {0x1e140, 0x1e149},
    {0x1e2f0, 0x1e2f9}, {0x1e950, 0x1e959}, {0x1f100, 0x1f10a}, {0x1fbf0, 0x1fbf9},
};

static int py_isdigit(uint32_t c)
{
    if (c < 0x80) return c >= '0' && c <= '9';
    for (size_t i = 0; i < sizeof DIGIT_RANGES / sizeof DIGIT_RANGES[0]; i++)
        if (c >= DIGIT_RANGES[i][0] && c <= DIGIT_RANGES[i][1]) return 1;
    return 0;
}

static locale_t utf8_locale(void)
{
    static locale_t loc;
    static int tried;
    if (!tried) { tried = 1; loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0); }
    return loc;
}

/* str.lower(): simple case mapping through the C library's Unicode tables,
 * plus Python's one unconditional special case (U+0130 -> "i\u0307") and
 * Final_Sigma (U+03A3 after a letter and not before one -> U+03C2). */
static int py_lower(const char *w, char *out, size_t cap)
{
    size_t o = 0;
    locale_t loc = utf8_locale();
    for (size_t i = 0; w[i];) {
        unsigned char b = (unsigned char)w[i];
        if (b < 0x80) {
            if (o + 1 >= cap) return -1;
            out[o++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
            i++;
            continue;
        }
        uint32_t c, lc;
        int l = utf8_decode(w + i, &c);
        if (c == 0x130) {
            if (o + 4 >= cap) return -1;
            out[o++] = 'i';
            o += (size_t)utf8_encode(0x307, out + o);
            i += (size_t)l;
            continue;
        }
        lc = loc ? (uint32_t)towlower_l((wint_t)c, loc) : c;
        if (c == 0x3A3 && loc && i > 0) {
            uint32_t prev = 0, next = 0;
            size_t pi = i;
            do pi--; while (pi > 0 && ((unsigned char)w[pi] & 0xC0) == 0x80);
            utf8_decode(w + pi, &prev);
            if (w[i + (size_t)l]) utf8_decode(w + i + (size_t)l, &next);
            if (iswalpha_l((wint_t)prev, loc) && !(next && iswalpha_l((wint_t)next, loc))) lc = 0x3C2;
        }
        if (o + 5 >= cap) return -1;
        o += (size_t)utf8_encode(lc, out + o);
        i += (size_t)l;
    }
    if (o >= cap) return -1;
    out[o] = '\0';
    return (int)o;
}

int perceptron_normalize(const char *word, char *out, size_t cap)
{
    const char *r = NULL;
    if (strchr(word, '-') && word[0] != '-') r = "!HYPHEN";
    else {
        size_t n_chars = 0;
        int all_digits = word[0] != '\0';
        for (size_t i = 0; word[i];) {
            uint32_t c;
            i += (size_t)utf8_decode(word + i, &c);
            if (!py_isdigit(c)) all_digits = 0;
            n_chars++;
        }
        uint32_t first = 0;
        if (word[0]) utf8_decode(word, &first);
        if (all_digits && n_chars == 4) r = "!YEAR";
        else if (word[0] && py_isdigit(first)) r = "!DIGITS";
    }
    if (!r) return py_lower(word, out, cap);
    size_t l = strlen(r);
    if (l + 1 > cap) return -1;
    memcpy(out, r, l + 1);
    return (int)l;
}

/* ------------------------------------------------------------------ */

/* The last 3 characters (Python's s[-3:]) of a UTF-8 string. */
static const char *suffix3(const char *s)
{
    const char *e = s + strlen(s), *p = e;
    for (int n = 0; n < 3 && p > s; n++) {
        do p--; while (p > s && ((unsigned char)*p & 0xC0) == 0x80);
    }
    return p;
}


/* Append "name arg1 arg2" (a1 may be cut to a1_len bytes); a key too long
 * for the buffer cannot be in the model and is dropped. */
static void feature_add(feature_batch *b, const char *name, const char *a1, size_t a1_len, const char *a2)
{
    size_t nl = strlen(name), l2 = a2 ? strlen(a2) : 0;
    size_t need = nl + (a1 ? 1 + a1_len : 0) + (a2 ? 1 + l2 : 0);
    if (need + 1 > 512) return;
    char *k = b->buf + b->used;
    size_t o = nl;
    memcpy(k, name, nl);
    if (a1) { k[o++] = ' '; memcpy(k + o, a1, a1_len); o += a1_len; }
    if (a2) { k[o++] = ' '; memcpy(k + o, a2, l2); o += l2; }
    k[o] = '\0';
    b->key[b->n] = k;
    b->len[b->n] = o;
    b->n++;
    b->used += o + 1;
}

/* ---- caches ---- */

static void entry_table_clear(entry_table *t)
{
    if (t->e)
        for (size_t i = 0; i <= t->mask; i++) { free(t->e[i].e); t->e[i].e = NULL; }
    t->n = 0;
}

static void cache_flush(perceptron *p)
{
    entry_table_clear(&p->raw_cache);
    entry_table_clear(&p->norm_cache);
    for (int i = 0; i < 4; i++) p->pad[i] = NULL;
}

/* Find the entry with this key; both entry kinds start hash, len, ... key[]. */
#define ENTRY_FIND(T, type, key_, len_, h_, out)                                   \
    do {                                                                          \
        (out) = NULL;                                                             \
        if ((T)->e)                                                               \
            for (size_t i_ = (h_) & (T)->mask; (T)->e[i_].e; i_ = (i_ + 1) & (T)->mask) { \
                if ((T)->e[i_].hash != (h_)) continue;                            \
                type *c_ = (type *)(T)->e[i_].e;                                  \
                if (c_->len == (len_) && memcmp(c_->key, key_, len_) == 0) {      \
                    (out) = c_;                                                   \
                    break;                                                        \
                }                                                                 \
            }                                                                     \
    } while (0)

static int entry_table_put(entry_table *t, void *e, uint64_t h)
{
    if (2 * (t->n + 1) > (t->e ? t->mask + 1 : 0)) {
        size_t cap = t->e ? 2 * (t->mask + 1) : 1024;
        entry_ref *ne = calloc(cap, sizeof *ne);
        if (!ne) return -1;
        if (t->e)
            for (size_t i = 0; i <= t->mask; i++) {
                if (!t->e[i].e) continue;
                size_t j = t->e[i].hash & (cap - 1);
                while (ne[j].e) j = (j + 1) & (cap - 1);
                ne[j] = t->e[i];
            }
        free(t->e);
        t->e = ne;
        t->mask = cap - 1;
    }
    size_t j = h & t->mask;
    while (t->e[j].e) j = (j + 1) & t->mask;
    t->e[j].hash = h;
    t->e[j].e = e;
    t->n++;
    return 0;
}

static const slot *feature_slot(const perceptron *p, const char *name, const char *a1, size_t a1_len,
                                const char *a2)
{
    feature_batch b;
    b.n = 0;
    b.used = 0;
    feature_add(&b, name, a1, a1_len, a2);
    return b.n ? table_find(&p->weights, b.key[0], b.len[0]) : NULL;
}

static norm_entry *norm_get(perceptron *p, const char *w)
{
    size_t len = strlen(w);
    uint64_t h = hash_bytes(w, len);
    norm_entry *e;
    ENTRY_FIND(&p->norm_cache, norm_entry, w, len, h, e);
    if (e) return e;
    e = malloc(sizeof *e + len + 1);
    if (!e) return NULL;
    e->hash = h;
    e->len = len;
    memcpy(e->key, w, len + 1);
    const char *suf = suffix3(w);
    size_t sl = strlen(suf);
    e->feat[T_I_WORD] = feature_slot(p, "i word", w, len, NULL);
    e->feat[T_IM1_WORD] = feature_slot(p, "i-1 word", w, len, NULL);
    e->feat[T_IM1_SUFFIX] = feature_slot(p, "i-1 suffix", suf, sl, NULL);
    e->feat[T_IM2_WORD] = feature_slot(p, "i-2 word", w, len, NULL);
    e->feat[T_IP1_WORD] = feature_slot(p, "i+1 word", w, len, NULL);
    e->feat[T_IP1_SUFFIX] = feature_slot(p, "i+1 suffix", suf, sl, NULL);
    e->feat[T_IP2_WORD] = feature_slot(p, "i+2 word", w, len, NULL);
    if (entry_table_put(&p->norm_cache, e, h)) { free(e); return NULL; }
    return e;
}

static raw_entry *raw_get(perceptron *p, const char *w)
{
    size_t len = strlen(w);
    uint64_t h = hash_bytes(w, len);
    raw_entry *e;
    ENTRY_FIND(&p->raw_cache, raw_entry, w, len, h, e);
    if (e) return e;
    char *norm = malloc(3 * len + 16);
    if (!norm) return NULL;
    if (perceptron_normalize(w, norm, 3 * len + 16) < 0) { free(norm); return NULL; }
    norm_entry *ne = norm_get(p, norm);
    free(norm);
    if (!ne) return NULL;
    e = malloc(sizeof *e + len + 1);
    if (!e) return NULL;
    e->hash = h;
    e->len = len;
    memcpy(e->key, w, len + 1);
    e->norm = ne;
    const slot *d = table_find(&p->tagdict, w, len);
    e->tagdict = d ? (int)d->first : -1;
    uint32_t cp;
    const char *suf = suffix3(w);
    e->suffix = feature_slot(p, "i suffix", suf, strlen(suf), NULL);
    e->pref1 = feature_slot(p, "i pref1", w, len ? (size_t)utf8_decode(w, &cp) : 0, NULL);
    if (entry_table_put(&p->raw_cache, e, h)) { free(e); return NULL; }
    return e;
}

/* Tag name by index, with the two padding "tags" after the model's. */
static const char *tag_name(const perceptron *p, int t)
{
    return t < p->n_classes ? p->classes[t] : t == p->n_classes ? "-START-" : "-START2-";
}

static int cache_setup(perceptron *p)
{
    if (p->raw_cache.n + p->norm_cache.n > CACHE_MAX_ENTRIES) cache_flush(p);
    static const char *const PAD[4] = {"-START-", "-START2-", "-END-", "-END2-"};
    for (int i = 0; i < 4; i++)
        if (!p->pad[i] && !(p->pad[i] = norm_get(p, PAD[i]))) return -1;
    if (!p->pair) {
        size_t nt = (size_t)p->n_classes + 2;
        p->bias = feature_slot(p, "bias", NULL, 0, NULL);
        p->pair = calloc(nt * nt * 3, sizeof *p->pair);
        p->pair_done = calloc(nt * nt, 1);
        if (!p->pair || !p->pair_done) return -1;
    }
    return 0;
}

int perceptron_tag(perceptron *p, const char *const *words, size_t n, int *tags, herr *e)
{
    if (cache_setup(p)) return herr_set(e, "out of memory");
    if (n + 4 > p->ctx_entries_cap) {
        const raw_entry **r = realloc(p->ctx_raw, (n + 4) * sizeof *r);
        if (r) p->ctx_raw = r;
        const norm_entry **q = realloc(p->ctx_norm, (n + 4) * sizeof *q);
        if (q) p->ctx_norm = q;
        if (!r || !q) return herr_set(e, "out of memory");
        p->ctx_entries_cap = n + 4;
    }
    /* context = START + [normalize(w) for w in words] + END */
    const norm_entry **ctx = p->ctx_norm;
    ctx[0] = p->pad[0];
    ctx[1] = p->pad[1];
    for (size_t i = 0; i < n; i++) {
        const raw_entry *r = raw_get(p, words[i]);
        if (!r) return herr_set(e, "out of memory (word %zu)", i);
        p->ctx_raw[i] = r;
        ctx[i + 2] = r->norm;
    }
    ctx[n + 2] = p->pad[2];
    ctx[n + 3] = p->pad[3];

    size_t nt = (size_t)p->n_classes + 2;
    int prev = p->n_classes, prev2 = p->n_classes + 1; /* -START-, -START2- */
    double scores[MAX_CLASSES];
    feature_batch *b = &p->batch;
    for (size_t i = 0; i < n; i++) {
        const raw_entry *r = p->ctx_raw[i];
        int tag = r->tagdict;
        if (tag < 0) {
            size_t c = i + 2;
            size_t pi = (size_t)prev * nt + (size_t)prev2;
            if (!p->pair_done[pi]) {
                const char *a = tag_name(p, prev), *a2 = tag_name(p, prev2);
                p->pair[3 * pi] = feature_slot(p, "i-1 tag", a, strlen(a), NULL);
                p->pair[3 * pi + 1] = feature_slot(p, "i-2 tag", a2, strlen(a2), NULL);
                p->pair[3 * pi + 2] = feature_slot(p, "i tag+i-2 tag", a, strlen(a), a2);
                p->pair_done[pi] = 1;
            }
            const char *pn = tag_name(p, prev);
            b->n = 0;
            b->used = 0;
            feature_add(b, "i-1 tag+i word", pn, strlen(pn), ctx[c]->key);
            /* NLTK's templates in NLTK's order: the order each tag's score
             * is summed in, so the sums are bit-identical to Python's */
            const slot *f[14] = {
                p->bias, r->suffix, r->pref1, p->pair[3 * pi], p->pair[3 * pi + 1], p->pair[3 * pi + 2],
                ctx[c]->feat[T_I_WORD],
                b->n ? table_find(&p->weights, b->key[0], b->len[0]) : NULL,
                ctx[c - 1]->feat[T_IM1_WORD], ctx[c - 1]->feat[T_IM1_SUFFIX], ctx[c - 2]->feat[T_IM2_WORD],
                ctx[c + 1]->feat[T_IP1_WORD], ctx[c + 1]->feat[T_IP1_SUFFIX], ctx[c + 2]->feat[T_IP2_WORD],
            };
            /* the lookups are cache-miss bound: fetch all weight runs first */
            for (int k = 0; k < 14; k++)
                if (f[k]) {
                    __builtin_prefetch(&p->pair_weight[f[k]->first]);
                    __builtin_prefetch(&p->pair_class[f[k]->first]);
                }
            memset(scores, 0, (size_t)p->n_classes * sizeof scores[0]);
            for (int k = 0; k < 14; k++) {
                const slot *s = f[k];
                if (!s) continue;
                for (uint32_t j = s->first; j < s->first + s->count; j++)
                    scores[p->pair_class[j]] += p->pair_weight[j];
            }
            /* max(classes, key=lambda t: (scores[t], t)) */
            tag = 0;
            for (int k = 1; k < p->n_model_classes; k++)
                if (scores[k] > scores[tag] ||
                    (scores[k] == scores[tag] && strcmp(p->classes[k], p->classes[tag]) > 0))
                    tag = k;
        }
        tags[i] = tag;
        prev2 = prev;
        prev = tag;
    }
    return 0;
}
