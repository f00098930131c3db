/* safetensors.c: read and write the safetensors format.
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 *  "__metadata__": {"k": "v"}}, then the byte buffer; offsets are relative
 * to the start of the buffer, which entries must cover without holes or
 * overlaps (as the format's own reader demands). */
#include "io/tensors.h"
#include "io/tensors_impl.h"
#include "cli/cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_HEADER (100u << 20)   /* the reference reader's own limit */

enum st_kind { K_F32, K_F16, K_BF16, K_F64, K_SKIP };

static const struct { const char *name; int size; enum st_kind kind; } st_dtypes[] = {
    {"F32", 4, K_F32}, {"F16", 2, K_F16}, {"BF16", 2, K_BF16}, {"F64", 8, K_F64},
    {"BOOL", 1, K_SKIP}, {"U8", 1, K_SKIP}, {"I8", 1, K_SKIP},
    {"F8_E4M3", 1, K_SKIP}, {"F8_E5M2", 1, K_SKIP},
    {"I16", 2, K_SKIP}, {"U16", 2, K_SKIP}, {"I32", 4, K_SKIP}, {"U32", 4, K_SKIP},
    {"I64", 8, K_SKIP}, {"U64", 8, K_SKIP},
};

typedef struct {
    const char *name;
    int dt;                   /* index in st_dtypes */
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];
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

static int parse_entry(const char *path, const char *name, json_t *v, st_entry *e,
                       char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    e->name = name;
    if (!json_is_object(v))
        return tio_err(err, errlen, "%s: header entry %s is not an object", path, name);
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val) {
        if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets"))
            return tio_err(err, errlen, "%s: tensor %s: unexpected field \"%s\"", path, name, key);
    }
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
           *offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dt))
        return tio_err(err, errlen, "%s: tensor %s: missing or non-string dtype", path, name);
    e->dt = -1;
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(json_string_value(dt), st_dtypes[i].name) == 0) e->dt = (int)i;
    if (e->dt < 0)
        return tio_err(err, errlen, "%s: tensor %s: unknown dtype \"%.32s\"", path, name,
                       json_string_value(dt));
    if (!json_is_array(shape))
        return tio_err(err, errlen, "%s: tensor %s: missing or non-array shape", path, name);
    size_t nd = json_array_size(shape);
    int skip = st_dtypes[e->dt].kind == K_SKIP;
    if (nd > TENSOR_MAX_DIMS && !skip)
        return tio_err(err, errlen, "%s: tensor %s: %zu dimensions (at most %d supported)",
                       path, name, nd, TENSOR_MAX_DIMS);
    int64_t numel = 1;
    for (size_t i = 0; i < nd; i++) {
        int64_t d = json_nonneg(json_array_get(shape, i));
        if (d < 0)
            return tio_err(err, errlen, "%s: tensor %s: shape entry %zu is not a non-negative integer",
                           path, name, i);
        if (i < TENSOR_MAX_DIMS) e->shape[i] = d;
        if (__builtin_mul_overflow(numel, d, &numel))
            return tio_err(err, errlen, "%s: tensor %s: shape overflows", path, name);
    }
    e->ndim = (int)(nd > TENSOR_MAX_DIMS ? TENSOR_MAX_DIMS : nd);
    e->numel = numel;
    if (!json_is_array(offs) || json_array_size(offs) != 2)
        return tio_err(err, errlen, "%s: tensor %s: data_offsets must be [begin, end]", path, name);
    int64_t b = json_nonneg(json_array_get(offs, 0)), en = json_nonneg(json_array_get(offs, 1));
    if (b < 0 || en < 0 || en < b)
        return tio_err(err, errlen, "%s: tensor %s: bad data_offsets", path, name);
    e->begin = (uint64_t)b;
    e->end = (uint64_t)en;
    int64_t nbytes;
    if (__builtin_mul_overflow(numel, (int64_t)st_dtypes[e->dt].size, &nbytes) ||
        (uint64_t)nbytes != e->end - e->begin)
        return tio_err(err, errlen,
                       "%s: tensor %s: data_offsets span %llu bytes but shape and dtype need %lld",
                       path, name, (unsigned long long)(e->end - e->begin),
                       (long long)numel * st_dtypes[e->dt].size);
    return 0;
}

static int load_buf(const char *path, const unsigned char *buf, size_t len, tensor_set *ts,
                    char *err, size_t errlen)
{
    if (len < 8)
        return tio_err(err, errlen, "%s: too short for a safetensors file (%zu bytes)", path, len);
    uint64_t hlen = tio_le64(buf);
    if (hlen > ST_MAX_HEADER || hlen > len - 8)
        return tio_err(err, errlen, "%s: header length %llu exceeds the file (%zu bytes)",
                       path, (unsigned long long)hlen, len);
    if (hlen < 2 || buf[8] != '{')
        return tio_err(err, errlen, "%s: header is not a JSON object", path);
    json_error_t jerr;
    json_t *root = json_loadb((const char *)buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return tio_err(err, errlen, "%s: bad JSON header: %s (line %d, column %d)", path,
                       jerr.text, jerr.line, jerr.column);
    int rc = -1;
    st_entry *ents = NULL;
    if (!json_is_object(root)) {
        tio_err(err, errlen, "%s: header is not a JSON object", path);
        goto out;
    }
    size_t cap = json_object_size(root), n = 0;
    ents = calloc(cap ? cap : 1, sizeof *ents);
    if (!ents) { tio_err(err, errlen, "%s: out of memory", path); goto out; }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if (!json_is_object(val)) {
                tio_err(err, errlen, "%s: __metadata__ is not an object", path);
                goto out;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    tio_err(err, errlen, "%s: __metadata__ value for \"%s\" is not a string", path, mk);
                    goto out;
                }
            }
            continue;
        }
        if (key[0] == '\0' || strlen(key) > 4096) {
            tio_err(err, errlen, "%s: tensor with an empty or overlong name", path);
            goto out;
        }
        if (parse_entry(path, key, val, &ents[n], err, errlen) != 0) goto out;
        ents[n].order = n;
        n++;
    }
    /* Buffer coverage: sorted by offset, entries must tile [0, buffer size). */
    uint64_t bufsize = len - 8 - hlen;
    qsort(ents, n, sizeof *ents, cmp_entry);
    uint64_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        if (ents[i].end > bufsize) {
            tio_err(err, errlen, "%s: tensor %s: data_offsets [%llu, %llu] beyond the data (%llu bytes)",
                    path, ents[i].name, (unsigned long long)ents[i].begin,
                    (unsigned long long)ents[i].end, (unsigned long long)bufsize);
            goto out;
        }
        if (ents[i].begin < pos) {
            tio_err(err, errlen, "%s: tensor %s overlaps the previous tensor's data", path, ents[i].name);
            goto out;
        }
        if (ents[i].begin > pos) {
            tio_err(err, errlen, "%s: hole in the data before tensor %s (offset %llu)", path,
                    ents[i].name, (unsigned long long)pos);
            goto out;
        }
        pos = ents[i].end;
    }
    if (pos != bufsize) {
        tio_err(err, errlen, "%s: %llu bytes of data after the last tensor", path,
                (unsigned long long)(bufsize - pos));
        goto out;
    }
    const unsigned char *data = buf + 8 + hlen;
    for (size_t i = 0; i < n; i++) {
        const st_entry *e = &ents[i];
        enum st_kind kind = st_dtypes[e->dt].kind;
        if (kind == K_SKIP) { ts->n_skipped++; continue; }
        size_t cnt = (size_t)e->numel;
        if (cnt > SIZE_MAX / sizeof(float)) {
            tio_err(err, errlen, "%s: tensor %s too large", path, e->name);
            goto out;
        }
        float *f = malloc(cnt ? cnt * sizeof(float) : 1);
        if (!f) { tio_err(err, errlen, "%s: out of memory", path); goto out; }
        const unsigned char *p = data + e->begin;
        switch (kind) {
        case K_F32: if (cnt) memcpy(f, p, cnt * 4); break;
        case K_F16: for (size_t k = 0; k < cnt; k++) f[k] = tio_f16_to_f32(tio_le16(p + 2 * k)); break;
        case K_BF16: for (size_t k = 0; k < cnt; k++) f[k] = tio_bf16_to_f32(tio_le16(p + 2 * k)); break;
        case K_F64:
            for (size_t k = 0; k < cnt; k++) {
                double d;
                memcpy(&d, p + 8 * k, 8);
                f[k] = (float)d;
            }
            break;
        case K_SKIP: break;
        }
        if (!tio_add_owned(ts, e->name, e->ndim, e->shape, f, err, errlen)) {
            char tmp[512];
            snprintf(tmp, sizeof tmp, "%s: %s", path, err);
            tio_err(err, errlen, "%s", tmp);
            goto out;
        }
    }
    char dup[300];
    if (tio_check_unique(ts, dup, sizeof dup)) {
        tio_err(err, errlen, "%s: %s", path, dup);
        goto out;
    }
    rc = 0;
out:
    free(ents);
    json_decref(root);
    return rc;
}

int tensors_load_safetensors(const char *path, tensor_set *ts, char *err, size_t errlen)
{
    tensors_init(ts);
    unsigned char *buf;
    size_t len;
    if (tio_read_file(path, &buf, &len, err, errlen) != 0) return -1;
    int rc = load_buf(path, buf, len, ts, err, errlen);
    if (rc == 0) cli_sha256_buf(buf, len, ts->sha256);
    else tensors_free(ts);
    free(buf);
    return rc;
}

int tensors_save_safetensors(const char *path, const tensor_set *ts, char *err, size_t errlen)
{
    json_t *root = json_object();
    json_t *meta = json_object();
    if (!root || !meta) {
        json_decref(root);
        json_decref(meta);
        return tio_err(err, errlen, "%s: out of memory", path);
    }
    json_object_set_new(meta, "format", json_string("pt"));
    json_object_set_new(root, "__metadata__", meta);
    uint64_t off = 0;
    for (size_t i = 0; i < ts->n; i++) {
        const tensor *t = &ts->t[i];
        if (!t->name || !t->name[0] || strcmp(t->name, "__metadata__") == 0 ||
            json_object_get(root, t->name)) {
            json_decref(root);
            return tio_err(err, errlen, "%s: tensor name \"%s\" empty, reserved or repeated",
                           path, t->name ? t->name : "");
        }
        int64_t numel = 1;
        int shape_ok = t->ndim >= 0 && t->ndim <= TENSOR_MAX_DIMS;
        for (int d = 0; shape_ok && d < t->ndim; d++)
            shape_ok = t->shape[d] >= 0 && !__builtin_mul_overflow(numel, t->shape[d], &numel);
        if (!shape_ok || numel != t->numel || (numel > 0 && !t->data)) {
            json_decref(root);
            return tio_err(err, errlen, "%s: tensor %s: shape, numel and data disagree", path, t->name);
        }
        json_t *e = json_object(), *shape = json_array();
        for (int d = 0; d < t->ndim; d++) json_array_append_new(shape, json_integer(t->shape[d]));
        json_object_set_new(e, "dtype", json_string("F32"));
        json_object_set_new(e, "shape", shape);
        uint64_t end = off + (uint64_t)t->numel * 4;
        json_t *o = json_array();
        json_array_append_new(o, json_integer((json_int_t)off));
        json_array_append_new(o, json_integer((json_int_t)end));
        json_object_set_new(e, "data_offsets", o);
        json_object_set_new(root, t->name, e);
        off = end;
    }
    char *hdr = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(root);
    if (!hdr) return tio_err(err, errlen, "%s: cannot encode the header", path);
    size_t hl = strlen(hdr), padded = (hl + 7) / 8 * 8;  /* spaces to 8-byte alignment */

    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) { free(hdr); return tio_err(err, errlen, "%s: out of memory", path); }
    snprintf(tmp, plen + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        tio_err(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(errno));
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
        tio_err(err, errlen, "%s: write error: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        tio_err(err, errlen, "%s: cannot rename the temporary file: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}
