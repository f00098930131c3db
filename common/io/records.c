/* records.c: encoding and validated decoding of the record layouts in
 * records.h. */
#include "io/records.h"
#include "io/select.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* A growable little-endian byte buffer for encoding. */
typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
    int oom;   /* a reservation failed: the encoding is abandoned */
} bytes;

static void b_reserve(bytes *b, size_t more)
{
    if (b->oom || b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return;
    }
    b->p = p;
    b->cap = cap;
}
static void b_put(bytes *b, const void *p, size_t n)
{
    if (n == 0) return; /* a 0-token story's arrays are NULL: memcpy(NULL) is undefined */
    b_reserve(b, n);
    if (b->oom) return;
    memcpy(b->p + b->len, p, n);
    b->len += n;
}
/* The finished encoding, or 0 (and nothing) when memory ran out. */
static size_t b_done(bytes *b, uint8_t **out)
{
    if (b->oom) {
        free(b->p);
        *out = NULL;
        return 0;
    }
    *out = b->p;
    return b->len;
}
static void b_u8(bytes *b, uint8_t v) { b_put(b, &v, 1); }
static void b_u32(bytes *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    b_put(b, x, 4);
}
/* Floats and doubles: the host is little-endian (checked at build time). */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host required");
static void b_str8(bytes *b, const char *s)
{
    size_t n = strlen(s);
    b_u8(b, (uint8_t)n);
    b_put(b, s, n);
}

/* A bounds-checked cursor for decoding. */
typedef struct cursor {
    const uint8_t *p;
    size_t len, pos;
    int bad;
} cursor;

static int c_has(cursor *c, size_t n)
{
    if (c->bad || c->len - c->pos < n) { c->bad = 1; return 0; }
    return 1;
}
static uint8_t c_u8(cursor *c) { return c_has(c, 1) ? c->p[c->pos++] : 0; }
static uint32_t c_u32(cursor *c)
{
    if (!c_has(c, 4)) return 0;
    const uint8_t *p = c->p + c->pos;
    c->pos += 4;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void c_copy(cursor *c, void *dst, size_t n)
{
    if (!c_has(c, n)) return;
    memcpy(dst, c->p + c->pos, n);
    c->pos += n;
}
/* Read a u8-length string into dst (TAG_MAX + 1 bytes).  @return 0 / -1 */
static int c_str8(cursor *c, char *dst, size_t cap)
{
    uint8_t n = c_u8(c);
    if (c->bad || n >= cap) { c->bad = 1; return -1; }
    c_copy(c, dst, n);
    dst[c->bad ? 0 : n] = 0;
    return c->bad ? -1 : 0;
}

/* ------------------------------------------------------------------ */

void story_init(story_rec *s) { memset(s, 0, sizeof *s); }

void story_free(story_rec *s)
{
    free(s->text);
    free(s->tokens);
    free(s->floats);
    story_init(s);
}

int story_decode(story_rec *s, const uint8_t *rec, size_t len, herr *e)
{
    story_free(s);
    cursor c = {rec, len, 0, 0};
    s->story = c_u32(&c);
    s->flags = c_u32(&c);
    s->text_len = c_u32(&c);
    if (c.bad) { return herr_set(e, "story record too short"); }
    if (s->flags & ~(uint32_t)(STORY_HAS_TOKENS | STORY_HAS_TAGS | STORY_HAS_FLOATS)) {
        return herr_set(e, "story record has unknown flags");
    }
    if ((s->flags & (STORY_HAS_TAGS | STORY_HAS_FLOATS)) && !(s->flags & STORY_HAS_TOKENS)) {
        return herr_set(e, "story record has tags or vectors without tokens");
    }
    if (!c_has(&c, s->text_len)) { return herr_set(e, "story text runs past the record"); }
    if (!(s->text = malloc((size_t)s->text_len + 1))) return herr_set(e, "out of memory for a story of %u bytes", s->text_len);
    c_copy(&c, s->text, s->text_len);
    s->text[s->text_len] = 0;
    if (s->flags & STORY_HAS_TOKENS) {
        s->n_tokens = c_u32(&c);
        /* Each token needs 12 bytes: reject counts the record cannot hold. */
        if (c.bad || (len - c.pos) / 12 < s->n_tokens) { return herr_set(e, "token count runs past the record"); }
        if (!(s->tokens = calloc(s->n_tokens ? s->n_tokens : 1, sizeof *s->tokens)))
            return herr_set(e, "out of memory for %u tokens", s->n_tokens);
        for (uint32_t i = 0; i < s->n_tokens; i++) {
            story_token *t = &s->tokens[i];
            t->id = c_u32(&c);
            t->start = c_u32(&c);
            t->end = c_u32(&c);
            if (t->start > t->end || t->end > s->text_len) { return herr_set(e, "token span outside the story text"); }
        }
    }
    if (s->flags & STORY_HAS_TAGS) {
        for (uint32_t i = 0; i < s->n_tokens; i++)
            if (c_str8(&c, s->tokens[i].tag, sizeof s->tokens[i].tag) != 0) {
                return herr_set(e, "bad tag in story record");
            }
    }
    if (s->flags & STORY_HAS_FLOATS) {
        s->floats_per_token = c_u32(&c);
        if (c.bad) { return herr_set(e, "story record too short for its vectors"); }
        size_t n = (size_t)s->floats_per_token * s->n_tokens;
        if (s->floats_per_token && n / s->floats_per_token != s->n_tokens) { return herr_set(e, "vector size overflows"); }
        if ((len - c.pos) / 4 < n) { return herr_set(e, "vectors run past the record"); }
        if (!(s->floats = malloc(n ? n * sizeof(float) : 1))) return herr_set(e, "out of memory for %zu floats", n);
        c_copy(&c, s->floats, n * sizeof(float));
    }
    if (c.bad) { return herr_set(e, "story record too short"); }
    if (c.pos != len) { return herr_set(e, "story record has trailing bytes"); }
    return 0;
}

size_t story_encode(const story_rec *s, uint8_t **out)
{
    bytes b = {0};
    size_t want = 16 + s->text_len + (size_t)s->n_tokens * (13 + TAG_MAX) +
                  (size_t)s->n_tokens * s->floats_per_token * 4;
    b_reserve(&b, want);
    b_u32(&b, s->story);
    b_u32(&b, s->flags);
    b_u32(&b, s->text_len);
    b_put(&b, s->text, s->text_len);
    if (s->flags & STORY_HAS_TOKENS) {
        b_u32(&b, s->n_tokens);
        for (uint32_t i = 0; i < s->n_tokens; i++) {
            b_u32(&b, s->tokens[i].id);
            b_u32(&b, s->tokens[i].start);
            b_u32(&b, s->tokens[i].end);
        }
    }
    if (s->flags & STORY_HAS_TAGS)
        for (uint32_t i = 0; i < s->n_tokens; i++) b_str8(&b, s->tokens[i].tag);
    if (s->flags & STORY_HAS_FLOATS) {
        b_u32(&b, s->floats_per_token);
        b_put(&b, s->floats, (size_t)s->n_tokens * s->floats_per_token * sizeof(float));
    }
    return b_done(&b, out);
}

int story_write(stream_writer *w, const story_rec *s, herr *e)
{
    uint8_t *buf;
    size_t n = story_encode(s, &buf);
    if (!n) return herr_set(e, "out of memory encoding story %u", s->story);
    int rc = stream_writer_put(w, buf, n, e);
    free(buf);
    return rc;
}

int story_read(stream_reader *r, story_rec *s, herr *e)
{
    const uint8_t *rec;
    size_t len;
    int got = stream_reader_next(r, &rec, &len, e);
    if (got != SR_RECORD) return got;
    if (story_decode(s, rec, len, e) != 0)
        return herr_prefix(e, "%s: record %llu: ", stream_reader_name(r),
                           (unsigned long long)stream_reader_count(r));
    return SR_RECORD;
}

/* ------------------------------------------------------------------ */
/* Token text for tables                                               */

void story_token_word(const story_rec *s, uint32_t t, char *out, size_t n)
{
    const unsigned char *b = (const unsigned char *)s->text + s->tokens[t].start;
    size_t len = s->tokens[t].end - s->tokens[t].start;
    while (len && isspace(*b)) b++, len--;
    while (len && isspace(b[len - 1])) len--;
    if (len > n - 1) {
        len = n - 1;
        while (len && (b[len] & 0xC0) == 0x80) len--; /* do not split a UTF-8 sequence */
    }
    for (size_t i = 0; i < len; i++) out[i] = (b[i] < 0x20 || b[i] == 0x7f) ? ' ' : (char)b[i];
    out[len] = 0;
}

void story_token_label(const story_rec *s, uint32_t t, char *out, size_t n)
{
    char w[256];
    story_token_word(s, t, w, sizeof w);
    snprintf(out, n, "%s (%s)", w, s->tokens[t].tag);
}

const char *story_tag_field(const char *tag) { return *tag ? tag : "(none)"; }

int story_tag_item_names(const char *item, size_t len, const char *tag)
{
    const size_t tl = strlen(tag);
    return (len == tl && !strncmp(item, tag, len)) || (!tl && len == 6 && !strncmp(item, "(none)", 6));
}

int story_tag_in_list(const char *list, const char *tag)
{
    if (!list) return 1;
    for (const char *p = list;;) {
        const char *e = strchr(p, ',');
        if (story_tag_item_names(p, e ? (size_t)(e - p) : strlen(p), tag)) return 1;
        if (!e) return 0;
        p = e + 1;
    }
}

/* ------------------------------------------------------------------ */

void probe_rec_init(probe_rec *p) { memset(p, 0, sizeof *p); }

void probe_rec_free(probe_rec *p)
{
    free(p->classes);
    free(p->weights);
    probe_rec_init(p);
}

int probe_rec_decode(probe_rec *p, const uint8_t *rec, size_t len, herr *e)
{
    probe_rec_free(p);
    cursor c = {rec, len, 0, 0};
    p->layer = c_u32(&c);
    p->head = c_u32(&c);
    if (c_str8(&c, p->vec, sizeof p->vec) != 0) { return herr_set(e, "bad vector kind in probe record"); }
    p->dim = c_u32(&c);
    p->n_classes = c_u32(&c);
    if (c.bad || p->dim == 0 || p->dim > 4096 || p->n_classes > 4096) {
        return herr_set(e, "bad probe dimensions");
    }
    if (!(p->classes = calloc(p->n_classes ? p->n_classes : 1, sizeof *p->classes)))
        return herr_set(e, "out of memory for a probe record");
    for (uint32_t k = 0; k < p->n_classes; k++)
        if (c_str8(&c, p->classes[k], TAG_MAX + 1) != 0) { return herr_set(e, "bad class name in probe record"); }
    size_t nw = (size_t)p->n_classes * (p->dim + 1);
    if (!c_has(&c, nw * sizeof(double))) { return herr_set(e, "probe weights run past the record"); }
    if (!(p->weights = malloc(nw ? nw * sizeof(double) : 1))) return herr_set(e, "out of memory for a probe record");
    c_copy(&c, p->weights, nw * sizeof(double));
    p->n_train = c_u32(&c);
    p->iterations = c_u32(&c);
    p->converged = c_u8(&c);
    c_copy(&c, &p->loss, sizeof p->loss);
    if (c.bad) { return herr_set(e, "probe record too short"); }
    if (c.pos != len) { return herr_set(e, "probe record has trailing bytes"); }
    return 0;
}

size_t probe_rec_encode(const probe_rec *p, uint8_t **out)
{
    bytes b = {0};
    b_u32(&b, p->layer);
    b_u32(&b, p->head);
    b_str8(&b, p->vec);
    b_u32(&b, p->dim);
    b_u32(&b, p->n_classes);
    for (uint32_t k = 0; k < p->n_classes; k++) b_str8(&b, p->classes[k]);
    b_put(&b, p->weights, (size_t)p->n_classes * (p->dim + 1) * sizeof(double));
    b_u32(&b, p->n_train);
    b_u32(&b, p->iterations);
    b_u8(&b, p->converged);
    b_put(&b, &p->loss, sizeof p->loss);
    return b_done(&b, out);
}

int probe_rec_write(stream_writer *w, const probe_rec *p, herr *e)
{
    uint8_t *buf;
    size_t n = probe_rec_encode(p, &buf);
    if (!n) return herr_set(e, "out of memory encoding a probe");
    int rc = stream_writer_put(w, buf, n, e);
    free(buf);
    return rc;
}

int probe_rec_read(stream_reader *r, probe_rec *p, herr *e)
{
    const uint8_t *rec;
    size_t len;
    int got = stream_reader_next(r, &rec, &len, e);
    if (got != SR_RECORD) return got;
    if (probe_rec_decode(p, rec, len, e) != 0)
        return herr_prefix(e, "%s: record %llu: ", stream_reader_name(r),
                           (unsigned long long)stream_reader_count(r));
    return SR_RECORD;
}

/* ------------------------------------------------------------------ */

/* Parse a space-separated list of small non-negative ints. @return count or -1 */
static int parse_ints(const char *s, int *out, int max, int limit)
{
    int n = 0;
    while (s && *s) {
        while (*s == ' ') s++;
        if (!*s) break;
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 0 || v >= limit || n == max) return -1;
        if (n && v <= out[n - 1]) return -1;  /* ascending, no repeats */
        out[n++] = (int)v;
        s = end;
    }
    return n;
}

static int header_int(const stream_header *h, const char *key, int lo, int hi, int *out)
{
    const char *v = stream_header_get(h, key);
    if (!v) return -1;
    char *end;
    long x = strtol(v, &end, 10);
    if (end == v || *end || x < lo || x > hi) return -1;
    *out = (int)x;
    return 0;
}

int act_layout_parse(act_layout *L, const stream_header *h, herr *e)
{
    memset(L, 0, sizeof *L);
    if (header_int(h, "d-head", 1, 4096, &L->d_head) || header_int(h, "n-layer", 1, ACT_MAX_LAYERS, &L->n_layer) ||
        header_int(h, "n-head", 1, ACT_MAX_HEADS, &L->n_head)) {
        return herr_set(e, "activations header lacks a valid d-head / n-layer / n-head");
    }
    L->n_layers = parse_ints(stream_header_get(h, "layers"), L->layers, ACT_MAX_LAYERS, L->n_layer);
    L->n_heads = parse_ints(stream_header_get(h, "heads"), L->heads, ACT_MAX_HEADS, L->n_head);
    if (L->n_layers <= 0 || L->n_heads <= 0) { return herr_set(e, "activations header lacks valid layers / heads lines"); }
    const char *v = stream_header_get(h, "vectors");
    if (!v) { return herr_set(e, "activations header lacks a vectors line"); }
    L->per_head = 0;
    for (; *v; v++) {
        if (*v == ' ') continue;
        if (!strchr("qkvza", *v) || (v[1] && v[1] != ' ') || L->n_vecs == ACT_MAX_VECS ||
            memchr(L->vecs, *v, (size_t)L->n_vecs)) {
            return herr_set(e, "activations header has a bad vectors line (want letters from q k v z a)");
        }
        L->vecs[L->n_vecs] = *v;
        L->vec_width[L->n_vecs] = *v == 'a' ? 1 : L->d_head;
        L->per_head += L->vec_width[L->n_vecs];
        L->n_vecs++;
    }
    if (!L->n_vecs) { return herr_set(e, "activations header has an empty vectors line"); }
    L->floats_per_token = L->n_layers * L->n_heads * L->per_head;
    const char *a = stream_header_get(h, "attention-layers");
    int nl = 0;
    while (a && *a) {
        while (*a == ' ') a++;
        if (!*a) break;
        if (nl == L->n_layer) { nl = -1; break; }
        if (strncmp(a, "global", 6) == 0) { L->local_layer[nl++] = 0; a += 6; }
        else if (strncmp(a, "local", 5) == 0) { L->local_layer[nl++] = 1; a += 5; }
        else { nl = -1; break; }
    }
    if (nl != L->n_layer) { return herr_set(e, "activations header lacks a valid attention-layers line"); }
    if (header_int(h, "window-size", 1, 1 << 30, &L->window_size)) {
        return herr_set(e, "activations header lacks a valid window-size");
    }
    return 0;
}

void act_layout_to_header(const act_layout *L, stream_header *h)
{
    char buf[1024];
    size_t n;
    stream_header_set(h, "d-head", "%d", L->d_head);
    stream_header_set(h, "n-layer", "%d", L->n_layer);
    stream_header_set(h, "n-head", "%d", L->n_head);
    n = 0; buf[0] = 0;
    for (int i = 0; i < L->n_layers; i++) n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%d", i ? " " : "", L->layers[i]);
    stream_header_set(h, "layers", "%s", buf);
    n = 0; buf[0] = 0;
    for (int i = 0; i < L->n_heads; i++) n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%d", i ? " " : "", L->heads[i]);
    stream_header_set(h, "heads", "%s", buf);
    n = 0; buf[0] = 0;
    for (int i = 0; i < L->n_vecs; i++) n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%c", i ? " " : "", L->vecs[i]);
    stream_header_set(h, "vectors", "%s", buf);
    n = 0; buf[0] = 0;
    for (int i = 0; i < L->n_layer; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? " " : "", L->local_layer[i] ? "local" : "global");
    stream_header_set(h, "attention-layers", "%s", buf);
    stream_header_set(h, "window-size", "%d", L->window_size);
}

int act_offset(const act_layout *L, int layer, int head, char v)
{
    int li = -1, hi = -1, off = 0, found = 0;
    for (int i = 0; i < L->n_layers; i++) if (L->layers[i] == layer) li = i;
    for (int i = 0; i < L->n_heads; i++) if (L->heads[i] == head) hi = i;
    if (li < 0 || hi < 0) return -1;
    for (int i = 0; i < L->n_vecs; i++) {
        if (L->vecs[i] == v) { found = 1; break; }
        off += L->vec_width[i];
    }
    if (!found) return -1;
    return (li * L->n_heads + hi) * L->per_head + off;
}

int act_is_vector_kind(char c) { return c && strchr(ACT_VECTOR_KINDS, c) != NULL; }

int act_vectors_parse(const char *list, char sep, char *out, int *n, herr *e)
{
    *n = 0;
    for (const char *p = list; *p; p++) {
        if (*p == sep) continue;
        size_t w = strcspn(p, (char[]){sep, 0}); /* this item */
        if (w != 1 || !act_is_vector_kind(*p))
            return herr_set(e, "'%.*s' is not a vector kind (q k v z a; e.g. q,k)", (int)w, p);
        if (!memchr(out, *p, (size_t)*n)) out[(*n)++] = *p; /* a repeat adds nothing */
    }
    if (!*n) return herr_set(e, "empty list of vector kinds");
    return 0;
}

int act_select(const act_layout *L, const char *layers, const char *heads, const char *vectors,
               act_item **out, int *n, herr *e)
{
    *out = NULL;
    *n = 0;
    uint8_t lmask[ACT_MAX_LAYERS] = {0}, hmask[ACT_MAX_HEADS] = {0};
    char vecs[ACT_MAX_VECS];
    int nv;
    if (layers && select_index_list(layers, lmask, L->n_layer, e)) return herr_prefix(e, "layers: ");
    if (heads && select_index_list(heads, hmask, L->n_head, e)) return herr_prefix(e, "heads: ");
    if (act_vectors_parse(vectors, ',', vecs, &nv, e)) return -1;
    for (int i = 0; i < L->n_layers; i++) lmask[L->layers[i]] |= !layers;
    for (int i = 0; i < L->n_heads; i++) hmask[L->heads[i]] |= !heads;
    act_item *items = NULL;
    for (int l = 0; l < L->n_layer; l++) {
        if (!lmask[l]) continue;
        for (int h = 0; h < L->n_head; h++) {
            if (!hmask[h]) continue;
            for (int v = 0; v < nv; v++) {
                int off = act_offset(L, l, h, vecs[v]);
                if (off < 0) {
                    free(items);
                    return herr_set(e, "no vector %c of layer %d head %d was dumped (see the header: "
                                    "layers, heads, vectors)", vecs[v], l, h);
                }
                act_item *grown = realloc(items, (size_t)(*n + 1) * sizeof *items);
                if (!grown) {
                    free(items);
                    return herr_set(e, "out of memory");
                }
                items = grown;
                items[(*n)++] = (act_item){l, h, vecs[v], off, vecs[v] == 'a' ? 1 : L->d_head};
            }
        }
    }
    if (!*n) {
        free(items);
        return herr_set(e, "nothing selected");
    }
    *out = items;
    return 0;
}

int story_check_finite(const story_rec *s, const char *name, herr *e)
{
    const size_t F = s->floats_per_token;
    if (!s->floats || F == 0) return 0;
    for (size_t i = 0; i < (size_t)s->n_tokens * F; i++)
        if (!isfinite(s->floats[i]))
            return herr_set(e, "%s: story %u, position %zu: float %zu of the token's %zu is %s "
                            "(non-finite values are refused)", name, s->story, i / F, i % F, F,
                            isnan(s->floats[i]) ? "NaN" : s->floats[i] > 0 ? "+Inf" : "-Inf");
    return 0;
}
