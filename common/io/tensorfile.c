/* tensorfile.c: open a model file (dispatch by type), hash it, and read
 * tensors from its index as float32 (see tensorfile.h). */
#include "io/tensorfile.h"
#include "base/sha256.h"
#include "io/safetensors.h"
#include "io/tensors.h"
#include "io/torchbin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Floats read from one file: at most READ_BUDGET_FACTOR x its size +
 * READ_BUDGET_BASE (tensors.h says why). */
#define READ_BUDGET_FACTOR 8
#define READ_BUDGET_BASE ((uint64_t)16 << 20)

struct tensor_file {
    int fd;
    uint64_t size;
    tf_index ix;
    tf_source src;
    char sha256[65];
    uint64_t read_bytes, budget;
};

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int hash_file(tensor_file *f, herr *e)
{
    size_t cap = (size_t)1 << 20;
    unsigned char *buf = malloc(cap);
    if (!buf) return herr_set(e, "out of memory");
    sha256_hex_ctx c;
    sha256_hex_init(&c);
    for (uint64_t pos = 0; pos < f->size;) {
        size_t n = f->size - pos < cap ? (size_t)(f->size - pos) : cap;
        if (tf_pread(f->fd, buf, n, pos, e)) {
            free(buf);
            return -1;
        }
        sha256_hex_add(&c, buf, n);
        pos += n;
    }
    free(buf);
    sha256_hex_done(&c, f->sha256);
    return 0;
}

tensor_file *tensorfile_open(const char *path, herr *e)
{
    int st = ends_with(path, ".safetensors");
    if (!st && !ends_with(path, ".bin") && !ends_with(path, ".pt") && !ends_with(path, ".pth")) {
        herr_set(e, "%s: unknown model file type (expected .safetensors or .bin)", path);
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        herr_set(e, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        herr_set(e, "%s: not a regular file", path);
        return NULL;
    }
    tensor_file *f = calloc(1, sizeof *f);
    if (!f) {
        close(fd);
        herr_set(e, "%s: out of memory", path);
        return NULL;
    }
    f->fd = fd;
    f->size = (uint64_t)sb.st_size;
    f->budget = READ_BUDGET_FACTOR * f->size + READ_BUDGET_BASE;
    int rc = st ? safetensors_index(fd, f->size, &f->ix, &f->src, e)
                : torchbin_index(fd, f->size, &f->ix, &f->src, e);
    if (rc == 0 && hash_file(f, e)) {
        rc = -1;
        f->src.close(f->src.ctx);
        f->src.close = NULL;
        tf_index_free(&f->ix);
    }
    if (rc) {
        herr_prefix(e, "%s: ", path);
        close(fd);
        free(f);
        return NULL;
    }
    return f;
}

const char *tensorfile_sha256(const tensor_file *f) { return f->sha256; }

size_t tensorfile_count(const tensor_file *f) { return f->ix.n; }

const tf_entry *tensorfile_entry(const tensor_file *f, size_t i)
{
    return i < f->ix.n ? &f->ix.e[i] : NULL;
}

const tf_entry *tensorfile_find(const tensor_file *f, const char *name)
{
    return tf_index_find(&f->ix, name);
}

/* "[3, 5]": the row-major index of element k. */
static void element_index(const tf_entry *x, int64_t k, char *out, size_t cap)
{
    int64_t idx[TENSOR_MAX_DIMS];
    for (int d = x->ndim - 1; d >= 0; d--) {
        idx[d] = x->shape[d] ? k % x->shape[d] : 0;
        k = x->shape[d] ? k / x->shape[d] : 0;
    }
    size_t p = (size_t)snprintf(out, cap, "[");
    for (int d = 0; d < x->ndim && p < cap; d++)
        p += (size_t)snprintf(out + p, cap - p, "%s%lld", d ? ", " : "", (long long)idx[d]);
    if (p < cap) snprintf(out + p, cap - p, "]");
}

static int is_contiguous(const tf_entry *x)
{
    if (!x->stride) return 1;
    int64_t expect = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        if (x->shape[d] != 1 && x->stride[d] != expect) return 0;
        expect *= x->shape[d];
    }
    return 1;
}

static inline float element(enum tf_kind kind, const unsigned char *p)
{
    switch (kind) {
    case TF_F32: { float v; memcpy(&v, p, 4); return v; }
    case TF_F16: return tf_f16_to_f32(tf_le16(p));
    case TF_BF16: return tf_bf16_to_f32(tf_le16(p));
    case TF_F64: { double v; memcpy(&v, p, 8); return (float)v; }
    default: return 0;
    }
}

float *tensorfile_read(tensor_file *f, const tf_entry *x, herr *e)
{
    if (x->kind == TF_OTHER) {
        herr_set(e, "tensor %.200s has dtype %s, which is not read (only F32, F16, BF16 and F64 are)",
                 x->name, x->dtype);
        return NULL;
    }
    if (x->ndim > TENSOR_MAX_DIMS) {
        herr_set(e, "tensor %.200s has %d dimensions (at most %d are read)", x->name, x->ndim,
                 TENSOR_MAX_DIMS);
        return NULL;
    }
    uint64_t bytes = (uint64_t)x->numel * sizeof(float);   /* numel <= the segment's elements */
    if (bytes > f->budget - f->read_bytes) {
        herr_set(e, "tensor %.200s: reading it would bring the floats read from this file to %llu MB, "
                 "more than %d x its size + 16 MB (tensors overlapping in one storage?)", x->name,
                 (unsigned long long)((f->read_bytes + bytes) >> 20), READ_BUDGET_FACTOR);
        return NULL;
    }
    float *out = malloc(bytes ? (size_t)bytes : 1);
    if (!out) {
        herr_set(e, "tensor %.200s: out of memory (%llu bytes)", x->name, (unsigned long long)bytes);
        return NULL;
    }
    const size_t es = (size_t)x->bits / 8;
    const int contiguous = is_contiguous(x);
    if (contiguous && x->kind == TF_F32 && x->offset == 0 && bytes == x->seg_bytes) {
        if (x->seg_bytes && f->src.read(f->src.ctx, x, out, e)) goto fail_prefix;
    } else if (x->numel > 0) {
        unsigned char *seg = malloc((size_t)x->seg_bytes);
        if (!seg) {
            herr_set(e, "out of memory (%llu bytes)", (unsigned long long)x->seg_bytes);
            goto fail_prefix;
        }
        if (f->src.read(f->src.ctx, x, seg, e)) {
            free(seg);
            goto fail_prefix;
        }
        if (contiguous) {
            const unsigned char *p = seg + (size_t)x->offset * es;
            for (int64_t k = 0; k < x->numel; k++) out[k] = element(x->kind, p + (size_t)k * es);
        } else {       /* a strided view (a transpose, ...): walk it like an odometer */
            int64_t idx[TENSOR_MAX_DIMS] = {0}, src = x->offset;
            for (int64_t k = 0; k < x->numel; k++) {
                out[k] = element(x->kind, seg + (size_t)src * es);
                for (int d = x->ndim - 1; d >= 0; d--) {
                    src += x->stride[d];
                    if (++idx[d] < x->shape[d]) break;
                    src -= x->stride[d] * idx[d];
                    idx[d] = 0;
                }
            }
        }
        free(seg);
    }
    for (int64_t k = 0; k < x->numel; k++) {
        uint32_t b;
        memcpy(&b, &out[k], 4);
        if ((b & 0x7f800000u) == 0x7f800000u) {   /* NaN or infinity */
            char where[160] = "its value";
            if (x->ndim > 0) {
                memcpy(where, "element ", 8);
                element_index(x, k, where + 8, sizeof where - 8);
            }
            herr_set(e, "tensor %.200s: %s is %s%s; non-finite weights are refused", x->name,
                     where, (b & 0x007fffffu) ? "NaN" : (b >> 31) ? "-inf" : "inf",
                     x->kind == TF_F64 ? " (F64 rounded to float32)" : "");
            free(out);
            return NULL;
        }
    }
    f->read_bytes += bytes;
    return out;
fail_prefix:
    herr_prefix(e, "tensor %.200s: ", x->name);
    free(out);
    return NULL;
}

void tensorfile_close(tensor_file *f)
{
    if (!f) return;
    if (f->src.close) f->src.close(f->src.ctx);
    tf_index_free(&f->ix);
    close(f->fd);
    free(f);
}
