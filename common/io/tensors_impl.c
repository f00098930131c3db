/* tensors_impl.c: a model file's index, dtypes, float conversions (see
 * tensors_impl.h). */
#include "io/tensors_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The safetensors dtypes (safetensors' Dtype enum, 0.5), with their widths.
 * Only the first four are read; the others are indexed so that their
 * offsets are checked and a request for one names its dtype. */
static const tf_dtype dtypes[] = {
    {"F32", 32, TF_F32},     {"F16", 16, TF_F16},     {"BF16", 16, TF_BF16},
    {"F64", 64, TF_F64},     {"BOOL", 8, TF_OTHER},   {"U8", 8, TF_OTHER},
    {"I8", 8, TF_OTHER},     {"I16", 16, TF_OTHER},   {"U16", 16, TF_OTHER},
    {"I32", 32, TF_OTHER},   {"U32", 32, TF_OTHER},   {"I64", 64, TF_OTHER},
    {"U64", 64, TF_OTHER},   {"F8_E5M2", 8, TF_OTHER}, {"F8_E4M3", 8, TF_OTHER},
    {"F8_E8M0", 8, TF_OTHER}, {"F6_E2M3", 6, TF_OTHER}, {"F6_E3M2", 6, TF_OTHER},
    {"F4", 4, TF_OTHER},     {"C64", 64, TF_OTHER},
};

const tf_dtype *tf_dtype_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strlen(dtypes[i].name) == len && memcmp(dtypes[i].name, name, len) == 0) return &dtypes[i];
    return NULL;
}

tf_entry *tf_index_add(tf_index *ix, const char *name, size_t name_len, int ndim,
                       int want_stride, herr *e)
{
    if (ix->n == ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 64;
        tf_entry *p = realloc(ix->e, cap * sizeof *p);
        if (!p) { herr_set(e, "out of memory indexing %zu tensors", ix->n); return NULL; }
        ix->e = p;
        ix->cap = cap;
    }
    tf_entry *x = &ix->e[ix->n];
    memset(x, 0, sizeof *x);
    size_t dims = ndim > 0 ? (size_t)ndim : 1;
    x->name = malloc(name_len + 1);
    x->shape = calloc(dims, sizeof *x->shape);
    x->stride = want_stride ? calloc(dims, sizeof *x->stride) : NULL;
    if (!x->name || !x->shape || (want_stride && !x->stride)) {
        free(x->name);
        free(x->shape);
        free(x->stride);
        herr_set(e, "out of memory indexing %zu tensors", ix->n);
        return NULL;
    }
    memcpy(x->name, name, name_len);
    x->name[name_len] = 0;
    x->ndim = ndim;
    ix->n++;
    return x;
}

static int cmp_by_name(const void *a, const void *b, void *ctx)
{
    const tf_index *ix = ctx;
    return strcmp(ix->e[*(const size_t *)a].name, ix->e[*(const size_t *)b].name);
}

int tf_index_seal(tf_index *ix, herr *e)
{
    free(ix->by_name);
    ix->by_name = malloc((ix->n ? ix->n : 1) * sizeof *ix->by_name);
    if (!ix->by_name) return herr_set(e, "out of memory indexing %zu tensors", ix->n);
    for (size_t i = 0; i < ix->n; i++) ix->by_name[i] = i;
    qsort_r(ix->by_name, ix->n, sizeof *ix->by_name, cmp_by_name, ix);  /* glibc's (_GNU_SOURCE) */
    for (size_t i = 1; i < ix->n; i++)
        if (strcmp(ix->e[ix->by_name[i - 1]].name, ix->e[ix->by_name[i]].name) == 0)
            return herr_set(e, "tensor %.200s appears twice", ix->e[ix->by_name[i]].name);
    return 0;
}

const tf_entry *tf_index_find(const tf_index *ix, const char *name)
{
    size_t lo = 0, hi = ix->by_name ? ix->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const tf_entry *x = &ix->e[ix->by_name[mid]];
        int c = strcmp(x->name, name);
        if (c == 0) return x;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

void tf_index_free(tf_index *ix)
{
    for (size_t i = 0; i < ix->n; i++) {
        free(ix->e[i].name);
        free(ix->e[i].shape);
        free(ix->e[i].stride);
    }
    free(ix->e);
    free(ix->by_name);
    memset(ix, 0, sizeof *ix);
}

float tf_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else {                        /* subnormal: normalise */
            int e = -1;
            do { man <<= 1; e++; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

float tf_bf16_to_f32(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int tf_pread(int fd, void *buf, size_t len, uint64_t pos, herr *e)
{
    unsigned char *p = buf;
    while (len) {
        ssize_t got = pread(fd, p, len > ((size_t)1 << 30) ? (size_t)1 << 30 : len, (off_t)pos);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return herr_set(e, "read error: %s", strerror(errno));
        if (got == 0) return herr_set(e, "unexpected end of file (was it changed while being read?)");
        p += got;
        pos += (uint64_t)got;
        len -= (size_t)got;
    }
    return 0;
}
