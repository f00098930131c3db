/* safetensors.c: index safetensors files and write them (see safetensors.h
 * and tensors.h). */
#include "io/safetensors.h"
#include "io/tensors.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_HEADER (100u << 20)   /* the reference reader's own limit */
#define ST_MAX_NAME 4096
#define ST_MAX_ENTRY (64u << 10)     /* one entry's JSON: a 1024-dim shape fits */
#define ST_MAX_DIMS 1024

/* The header is parsed one member at a time: a scan finds where each
 * member's key and value lie, and jansson parses just those bytes.  Parsed
 * whole, jansson would need about 40 bytes per JSON value, 20x a header
 * made of "0," (a 50 MB header took 1 GB); this way opening costs the index
 * (about 150 bytes per tensor, whose entry takes at least 45 header bytes)
 * plus one entry's parse. */

typedef struct {
    const char *p;
    size_t n, i;
} scan;

static void skip_ws(scan *s)
{
    while (s->i < s->n && (s->p[s->i] == ' ' || s->p[s->i] == '\t' || s->p[s->i] == '\n' || s->p[s->i] == '\r'))
        s->i++;
}

static int skip_string(scan *s)          /* at '"' */
{
    for (s->i++; s->i < s->n;) {
        char c = s->p[s->i++];
        if (c == '\\') s->i++;
        else if (c == '"') return s->i <= s->n ? 0 : -1;
    }
    return -1;
}

/* Step over one JSON value (its exact form is jansson's to check). */
static int skip_value(scan *s)
{
    if (s->i >= s->n) return -1;
    char c = s->p[s->i];
    if (c == '"') return skip_string(s);
    if (c == '{' || c == '[') {
        size_t depth = 0;
        while (s->i < s->n) {
            c = s->p[s->i];
            if (c == '"') {
                if (skip_string(s)) return -1;
                continue;
            }
            s->i++;
            if (c == '{' || c == '[') depth++;
            else if ((c == '}' || c == ']') && --depth == 0) return 0;
        }
        return -1;
    }
    size_t from = s->i;
    while (s->i < s->n && !strchr(",}] \t\r\n", s->p[s->i])) s->i++;
    return s->i > from ? 0 : -1;
}

/* Parse bytes [from, to) of the header with jansson. */
static json_t *parse_part(const char *hdr, size_t from, size_t to, herr *e)
{
    json_error_t jerr;
    json_t *v = json_loadb(hdr + from, to - from, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (!v) herr_set(e, "bad JSON header at byte %zu: %s", from + (size_t)jerr.position, jerr.text);
    return v;
}

/* Call fn(key, value span) for each member of the object at s (a key that
 * is not valid JSON, or bad structure, is refused here). */
typedef int (*member_fn)(void *ctx, const char *key, const char *hdr, size_t from, size_t to, herr *e);

static int for_each_member(scan *s, member_fn fn, void *ctx, herr *e)
{
    skip_ws(s);
    if (s->i >= s->n || s->p[s->i] != '{') return herr_set(e, "bad JSON header at byte %zu: expected an object", s->i);
    s->i++;
    skip_ws(s);
    if (s->i < s->n && s->p[s->i] == '}') {
        s->i++;
        return 0;
    }
    for (;;) {
        skip_ws(s);
        size_t ks = s->i;
        if (s->i >= s->n || s->p[s->i] != '"' || skip_string(s))
            return herr_set(e, "bad JSON header at byte %zu: expected a member name", ks);
        json_t *k = parse_part(s->p, ks, s->i, e);
        if (!k) return -1;
        skip_ws(s);
        if (s->i >= s->n || s->p[s->i] != ':') {
            json_decref(k);
            return herr_set(e, "bad JSON header at byte %zu: expected ':'", s->i);
        }
        s->i++;
        skip_ws(s);
        size_t vs = s->i;
        if (skip_value(s)) {
            json_decref(k);
            return herr_set(e, "bad JSON header at byte %zu: a value is missing or unterminated", vs);
        }
        int rc = fn(ctx, json_string_value(k), s->p, vs, s->i, e);
        json_decref(k);
        if (rc) return -1;
        skip_ws(s);
        if (s->i < s->n && s->p[s->i] == ',') { s->i++; continue; }
        if (s->i < s->n && s->p[s->i] == '}') { s->i++; return 0; }
        return herr_set(e, "bad JSON header at byte %zu: expected ',' or '}'", s->i);
    }
}

/* Non-negative JSON integer, or -1. */
static int64_t json_nonneg(const json_t *v)
{
    if (!json_is_integer(v)) return -1;
    json_int_t i = json_integer_value(v);
    return i < 0 ? -1 : (int64_t)i;
}

/* A dtype name heads does not know must still look like one. */
static int plausible_dtype(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof ((tf_entry *)0)->dtype) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) return 0;
    return 1;
}

static int metadata_member(void *ctx, const char *key, const char *hdr, size_t from, size_t to, herr *e)
{
    (void)ctx;
    json_t *v = parse_part(hdr, from, to, e);
    if (!v) return -1;
    int ok = json_is_string(v);
    json_decref(v);
    return ok ? 0 : herr_set(e, "__metadata__ value for \"%.100s\" is not a string", key);
}

typedef struct {
    tf_index *ix;
    int seen_metadata;
} header_ctx;

/* One tensor entry: checked, and added to the index with its offsets
 * relative to the data in seg_pos / seg_bytes and its header position in seg. */
static int tensor_member(void *vctx, const char *name, const char *hdr, size_t from, size_t to, herr *e)
{
    header_ctx *c = vctx;
    if (strcmp(name, "__metadata__") == 0) {
        if (c->seen_metadata++) return herr_set(e, "__metadata__ appears twice");
        scan ms = {hdr, to, from};
        if (for_each_member(&ms, metadata_member, NULL, e)) return -1;
        return 0;
    }
    if (name[0] == '\0' || strlen(name) > ST_MAX_NAME) return herr_set(e, "tensor with an empty or overlong name");
    if (to - from > ST_MAX_ENTRY)
        return herr_set(e, "tensor %.200s: header entry of %zu bytes (at most %u)", name, to - from, ST_MAX_ENTRY);
    json_t *v = parse_part(hdr, from, to, e);
    if (!v) return -1;
    int rc = -1;
    if (!json_is_object(v)) {
        herr_set(e, "header entry %.200s is not an object", name);
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets")) {
            herr_set(e, "tensor %.200s: unexpected field \"%.40s\"", name, key);
            goto out;
        }
    }
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
           *offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dt)) { herr_set(e, "tensor %.200s: missing or non-string dtype", name); goto out; }
    const char *dtname = json_string_value(dt);
    const tf_dtype *known = tf_dtype_find(dtname, json_string_length(dt));
    if (!known && !plausible_dtype(dtname)) {
        herr_set(e, "tensor %.200s: dtype \"%.32s\" is not a dtype name", name, dtname);
        goto out;
    }
    if (!json_is_array(shape)) { herr_set(e, "tensor %.200s: missing or non-array shape", name); goto out; }
    size_t nd = json_array_size(shape);
    if (nd > ST_MAX_DIMS) { herr_set(e, "tensor %.200s: %zu dimensions", name, nd); goto out; }
    int64_t numel = 1;
    for (size_t i = 0; i < nd; i++) {
        int64_t d = json_nonneg(json_array_get(shape, i));
        if (d < 0) {
            herr_set(e, "tensor %.200s: shape entry %zu is not a non-negative integer", name, i);
            goto out;
        }
        if (__builtin_mul_overflow(numel, d, &numel)) { herr_set(e, "tensor %.200s: shape overflows", name); goto out; }
    }
    if (!json_is_array(offs) || json_array_size(offs) != 2) {
        herr_set(e, "tensor %.200s: data_offsets must be [begin, end]", name);
        goto out;
    }
    int64_t b = json_nonneg(json_array_get(offs, 0)), en = json_nonneg(json_array_get(offs, 1));
    if (b < 0 || en < 0 || en < b) { herr_set(e, "tensor %.200s: bad data_offsets", name); goto out; }
    if (known) {       /* the bytes the shape and dtype need, exactly (as the format's reader checks) */
        int64_t bits;
        if (__builtin_mul_overflow(numel, (int64_t)known->bits, &bits)) {
            herr_set(e, "tensor %.200s: shape overflows", name);
            goto out;
        }
        if (bits % 8) {
            herr_set(e, "tensor %.200s: %lld elements of %s need %lld bits, not whole bytes", name,
                     (long long)numel, known->name, (long long)bits);
            goto out;
        }
        if (bits / 8 != en - b) {
            herr_set(e, "tensor %.200s: data_offsets span %lld bytes but %lld elements of %s need %lld", name,
                     (long long)(en - b), (long long)numel, known->name, (long long)(bits / 8));
            goto out;
        }
    }
    tf_entry *x = tf_index_add(c->ix, name, strlen(name), (int)nd, 0, e);
    if (!x) goto out;
    snprintf(x->dtype, sizeof x->dtype, "%s", dtname);
    x->kind = known ? known->kind : TF_OTHER;
    x->bits = known ? known->bits : 0;
    for (size_t d = 0; d < nd; d++) x->shape[d] = json_nonneg(json_array_get(shape, d));
    x->numel = numel;
    x->seg = c->ix->n - 1;
    x->seg_pos = (uint64_t)b;
    x->seg_bytes = (uint64_t)(en - b);
    rc = 0;
out:
    json_decref(v);
    return rc;
}

static int cmp_offset(const void *a, const void *b)
{
    const tf_entry *x = a, *y = b;
    if (x->seg_pos != y->seg_pos) return x->seg_pos < y->seg_pos ? -1 : 1;
    if (x->seg_bytes != y->seg_bytes) return x->seg_bytes < y->seg_bytes ? -1 : 1;
    return x->seg < y->seg ? -1 : x->seg > y->seg;
}

static int st_read(void *ctx, const tf_entry *x, void *buf, herr *e)
{
    return tf_pread(*(const int *)ctx, buf, (size_t)x->seg_bytes, x->seg_pos, e);
}

static void st_close(void *ctx) { free(ctx); }

static int index_header(const char *hdr, size_t hlen, uint64_t size, tf_index *ix, herr *e)
{
    header_ctx c = {ix, 0};
    scan s = {hdr, hlen, 0};
    if (for_each_member(&s, tensor_member, &c, e)) goto fail;
    skip_ws(&s);
    if (s.i != hlen) {
        herr_set(e, "bad JSON header at byte %zu: text after the object", s.i);
        goto fail;
    }
    /* Sorted by offset (the index's order), names unique, and the entries
     * must tile [0, buffer size). */
    uint64_t bufsize = size - 8 - hlen, pos = 0;
    qsort(ix->e, ix->n, sizeof *ix->e, cmp_offset);
    if (tf_index_seal(ix, e)) goto fail;
    for (size_t i = 0; i < ix->n; i++) {
        tf_entry *x = &ix->e[i];
        uint64_t begin = x->seg_pos, end = x->seg_pos + x->seg_bytes;
        if (end > bufsize) {
            herr_set(e, "tensor %.200s: data_offsets [%llu, %llu] beyond the data (%llu bytes)", x->name,
                     (unsigned long long)begin, (unsigned long long)end, (unsigned long long)bufsize);
            goto fail;
        }
        if (begin < pos) { herr_set(e, "tensor %.200s overlaps the previous tensor's data", x->name); goto fail; }
        if (begin > pos) {
            herr_set(e, "hole in the data before tensor %.200s (offset %llu)", x->name, (unsigned long long)pos);
            goto fail;
        }
        pos = end;
        x->seg = i;
        x->seg_pos = 8 + hlen + begin;
    }
    if (pos != bufsize) {
        herr_set(e, "%llu bytes of data after the last tensor", (unsigned long long)(bufsize - pos));
        goto fail;
    }
    return 0;
fail:
    tf_index_free(ix);
    return -1;
}

int safetensors_index(int fd, uint64_t size, tf_index *ix, tf_source *src, herr *e)
{
    memset(ix, 0, sizeof *ix);
    memset(src, 0, sizeof *src);
    unsigned char lb[8];
    if (size < 8) return herr_set(e, "too short for a safetensors file (%llu bytes)", (unsigned long long)size);
    if (tf_pread(fd, lb, 8, 0, e)) return -1;
    uint64_t hlen = tf_le64(lb);
    if (hlen > ST_MAX_HEADER || hlen > size - 8)
        return herr_set(e, "header length %llu exceeds the file (%llu bytes)%s", (unsigned long long)hlen,
                        (unsigned long long)size, hlen > ST_MAX_HEADER ? " or the format's 100 MB limit" : "");
    char *hdr = malloc(hlen ? (size_t)hlen : 1);
    if (!hdr) return herr_set(e, "out of memory reading a %llu-byte header", (unsigned long long)hlen);
    if (tf_pread(fd, hdr, (size_t)hlen, 8, e)) { free(hdr); return -1; }
    if (hlen < 2 || hdr[0] != '{') {
        free(hdr);
        return herr_set(e, "header is not a JSON object");
    }
    int rc = index_header(hdr, (size_t)hlen, size, ix, e);
    free(hdr);
    if (rc) return -1;
    int *ctx = malloc(sizeof *ctx);
    if (!ctx) {
        tf_index_free(ix);
        return herr_set(e, "out of memory");
    }
    *ctx = fd;
    src->ctx = ctx;
    src->read = st_read;
    src->close = st_close;
    return 0;
}

int tensors_save_safetensors(const char *path, const tensor_set *ts, herr *e)
{
    json_t *root = json_object();
    json_t *meta = json_object();
    if (!root || !meta) {
        json_decref(root);
        json_decref(meta);
        return herr_set(e, "%s: out of memory", path);
    }
    json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(root, "__metadata__", meta);
    uint64_t off = 0;
    for (size_t i = 0; i < ts->n; i++) {
        const tensor *t = &ts->t[i];
        if (!t->name || !t->name[0] || strcmp(t->name, "__metadata__") == 0 ||
            json_object_get(root, t->name)) {
            json_decref(root);
            return herr_set(e, "%s: tensor name \"%.200s\" empty, reserved or repeated", path,
                            t->name ? t->name : "");
        }
        int64_t numel = 1;
        int shape_ok = t->ndim >= 0 && t->ndim <= TENSOR_MAX_DIMS;
        for (int d = 0; shape_ok && d < t->ndim; d++)
            shape_ok = t->shape[d] >= 0 && !__builtin_mul_overflow(numel, t->shape[d], &numel);
        if (!shape_ok || numel != t->numel || (numel > 0 && !t->data)) {
            json_decref(root);
            return herr_set(e, "%s: tensor %.200s: shape, numel and data disagree", path, t->name);
        }
        json_t *x = json_object(), *shape = json_array();
        for (int d = 0; d < t->ndim; d++) json_array_append_new(shape, json_integer(t->shape[d]));
        json_object_set_new(x, "dtype", json_string("F32"));
        json_object_set_new(x, "shape", shape);
        uint64_t end = off + (uint64_t)t->numel * 4;
        json_t *o = json_array();
        json_array_append_new(o, json_integer((json_int_t)off));
        json_array_append_new(o, json_integer((json_int_t)end));
        json_object_set_new(x, "data_offsets", o);
        json_object_set_new(root, t->name, x);
        off = end;
    }
    char *hdr = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(root);
    if (!hdr) return herr_set(e, "%s: cannot encode the header", path);
    size_t hl = strlen(hdr), padded = (hl + 7) / 8 * 8;  /* spaces to 8-byte alignment */

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) { free(hdr); return herr_set(e, "%s: out of memory", path); }
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        herr_set(e, "%s: cannot create a temporary file: %s", path, strerror(errno));
        free(hdr);
        free(tmp);
        return -1;
    }
    (void)fchmod(fd, 0644);   /* mkstemp made it 0600 */
    FILE *f = fdopen(fd, "wb");
    int ok = f != NULL;
    if (ok) {
        unsigned char lb[8];
        for (int k = 0; k < 8; k++) lb[k] = (unsigned char)((uint64_t)padded >> (8 * k));
        ok = fwrite(lb, 1, 8, f) == 8 && fwrite(hdr, 1, hl, f) == hl;
        for (size_t k = hl; ok && k < padded; k++) ok = fputc(' ', f) != EOF;
        for (size_t i = 0; ok && i < ts->n; i++) {
            size_t cnt = (size_t)ts->t[i].numel;
            ok = cnt == 0 || fwrite(ts->t[i].data, sizeof(float), cnt, f) == cnt;
        }
        ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
        int saved = errno;
        if (fclose(f) != 0) ok = 0;
        errno = saved;
    } else {
        close(fd);
    }
    free(hdr);
    if (!ok) {
        herr_set(e, "%s: write error: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        herr_set(e, "%s: cannot rename the temporary file: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}
