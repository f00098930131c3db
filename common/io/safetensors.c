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

/* One entry while the header is checked. */
typedef struct {
    const char *name;
    const tf_dtype *dt;       /* NULL: a dtype heads does not know */
    const char *dtname;
    json_t *shape;
    int64_t numel;
    uint64_t begin, end;
    size_t order;             /* position in the JSON header */
} st_entry;

static int cmp_entry(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
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

static int parse_entry(const char *name, json_t *v, st_entry *x, herr *e)
{
    memset(x, 0, sizeof *x);
    x->name = name;
    if (!json_is_object(v)) return herr_set(e, "header entry %.200s is not an object", name);
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets"))
            return herr_set(e, "tensor %.200s: unexpected field \"%.40s\"", name, key);
    }
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
           *offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dt)) return herr_set(e, "tensor %.200s: missing or non-string dtype", name);
    x->dtname = json_string_value(dt);
    x->dt = tf_dtype_find(x->dtname, json_string_length(dt));
    if (!x->dt && !plausible_dtype(x->dtname))
        return herr_set(e, "tensor %.200s: dtype \"%.32s\" is not a dtype name", name, x->dtname);
    if (!json_is_array(shape)) return herr_set(e, "tensor %.200s: missing or non-array shape", name);
    if (json_array_size(shape) > 1024)
        return herr_set(e, "tensor %.200s: %zu dimensions", name, json_array_size(shape));
    x->shape = shape;
    int64_t numel = 1;
    for (size_t i = 0; i < json_array_size(shape); i++) {
        int64_t d = json_nonneg(json_array_get(shape, i));
        if (d < 0)
            return herr_set(e, "tensor %.200s: shape entry %zu is not a non-negative integer", name, i);
        if (__builtin_mul_overflow(numel, d, &numel))
            return herr_set(e, "tensor %.200s: shape overflows", name);
    }
    x->numel = numel;
    if (!json_is_array(offs) || json_array_size(offs) != 2)
        return herr_set(e, "tensor %.200s: data_offsets must be [begin, end]", name);
    int64_t b = json_nonneg(json_array_get(offs, 0)), en = json_nonneg(json_array_get(offs, 1));
    if (b < 0 || en < 0 || en < b) return herr_set(e, "tensor %.200s: bad data_offsets", name);
    x->begin = (uint64_t)b;
    x->end = (uint64_t)en;
    if (x->dt) {       /* the bytes the shape and dtype need, exactly (as the format's reader checks) */
        int64_t bits;
        if (__builtin_mul_overflow(numel, (int64_t)x->dt->bits, &bits))
            return herr_set(e, "tensor %.200s: shape overflows", name);
        if (bits % 8)
            return herr_set(e, "tensor %.200s: %lld elements of %s need %lld bits, not whole bytes", name,
                            (long long)numel, x->dt->name, (long long)bits);
        if ((uint64_t)(bits / 8) != x->end - x->begin)
            return herr_set(e, "tensor %.200s: data_offsets span %llu bytes but %lld elements of %s need %lld",
                            name, (unsigned long long)(x->end - x->begin), (long long)numel, x->dt->name,
                            (long long)(bits / 8));
    }
    return 0;
}

static int st_read(void *ctx, const tf_entry *x, void *buf, herr *e)
{
    return tf_pread(*(const int *)ctx, buf, (size_t)x->seg_bytes, x->seg_pos, e);
}

static void st_close(void *ctx) { free(ctx); }

static int index_header(const char *hdr, size_t hlen, uint64_t size, tf_index *ix, herr *e)
{
    json_error_t jerr;
    json_t *root = json_loadb(hdr, hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return herr_set(e, "bad JSON header: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
    int rc = -1;
    st_entry *ents = NULL;
    if (!json_is_object(root)) {
        herr_set(e, "header is not a JSON object");
        goto out;
    }
    size_t cap = json_object_size(root), n = 0;
    ents = calloc(cap ? cap : 1, sizeof *ents);
    if (!ents) { herr_set(e, "out of memory"); goto out; }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(val)) { herr_set(e, "__metadata__ is not an object"); goto out; }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    herr_set(e, "__metadata__ value for \"%.100s\" is not a string", mk);
                    goto out;
                }
            }
            continue;
        }
        if (key[0] == '\0' || strlen(key) > ST_MAX_NAME) {
            herr_set(e, "tensor with an empty or overlong name");
            goto out;
        }
        if (parse_entry(key, val, &ents[n], e) != 0) goto out;
        ents[n].order = n;
        n++;
    }
    /* Buffer coverage: sorted by offset, entries must tile [0, buffer size). */
    uint64_t bufsize = size - 8 - hlen, pos = 0;
    qsort(ents, n, sizeof *ents, cmp_entry);
    for (size_t i = 0; i < n; i++) {
        const st_entry *x = &ents[i];
        if (x->end > bufsize) {
            herr_set(e, "tensor %.200s: data_offsets [%llu, %llu] beyond the data (%llu bytes)", x->name,
                     (unsigned long long)x->begin, (unsigned long long)x->end, (unsigned long long)bufsize);
            goto out;
        }
        if (x->begin < pos) { herr_set(e, "tensor %.200s overlaps the previous tensor's data", x->name); goto out; }
        if (x->begin > pos) {
            herr_set(e, "hole in the data before tensor %.200s (offset %llu)", x->name, (unsigned long long)pos);
            goto out;
        }
        pos = x->end;
    }
    if (pos != bufsize) {
        herr_set(e, "%llu bytes of data after the last tensor", (unsigned long long)(bufsize - pos));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const st_entry *x = &ents[i];
        int nd = (int)json_array_size(x->shape);
        tf_entry *t = tf_index_add(ix, x->name, strlen(x->name), nd, 0, e);
        if (!t) goto out;
        snprintf(t->dtype, sizeof t->dtype, "%s", x->dtname);
        t->kind = x->dt ? x->dt->kind : TF_OTHER;
        t->bits = x->dt ? x->dt->bits : 0;
        for (int d = 0; d < nd; d++) t->shape[d] = json_nonneg(json_array_get(x->shape, (size_t)d));
        t->numel = x->numel;
        t->seg = i;
        t->seg_pos = 8 + hlen + x->begin;
        t->seg_bytes = x->end - x->begin;
    }
    rc = tf_index_seal(ix, e);
out:
    free(ents);
    json_decref(root);
    if (rc) tf_index_free(ix);
    return rc;
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
