/* tensors.c: tensor-set management and the format dispatch of tensors_load.
 * The formats live in safetensors.c and torchbin.c. */
#include "io/tensors.h"
#include "io/tensors_impl.h"
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int tio_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        for (char *p = err; *p; p++)  /* keep it one line */
            if (*p == '\n' || *p == '\r') *p = ' ';
    }
    return -1;
}

int tio_read_file(const char *path, unsigned char **data_out, size_t *len_out,
                  char *err, size_t errlen)
{
    *data_out = NULL;
    *len_out = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return tio_err(err, errlen, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return tio_err(err, errlen, "%s: not a regular file", path);
    }
    size_t len = (size_t)st.st_size;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        fclose(f);
        return tio_err(err, errlen, "%s: out of memory reading %zu bytes", path, len);
    }
    size_t got = len ? fread(buf, 1, len, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (got != len || bad) {
        free(buf);
        return tio_err(err, errlen, "%s: read error", path);
    }
    *data_out = buf;
    *len_out = len;
    return 0;
}

float tio_f16_to_f32(uint16_t h)
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

float tio_bf16_to_f32(uint16_t b)
{
    uint32_t bits = (uint32_t)b << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

void tensors_init(tensor_set *ts)
{
    memset(ts, 0, sizeof *ts);
}

void tensors_free(tensor_set *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        free(ts->t[i].name);
        free(ts->t[i].data);
    }
    free(ts->t);
    tensors_init(ts);
}

const tensor *tensors_find(const tensor_set *ts, const char *name)
{
    for (size_t i = 0; i < ts->n; i++)
        if (strcmp(ts->t[i].name, name) == 0) return &ts->t[i];
    return NULL;
}

/* numel of a shape, or -1 if ndim/shape is invalid or overflows. */
static int64_t shape_numel(int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > TENSOR_MAX_DIMS) return -1;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || __builtin_mul_overflow(n, shape[i], &n)) return -1;
    }
    if ((uint64_t)n > SIZE_MAX / sizeof(float)) return -1;
    return n;
}

static tensor *push(tensor_set *ts, const char *name, int ndim, const int64_t *shape,
                    int64_t numel, float *data)
{
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 16;
        ts->t = xrealloc(ts->t, cap * sizeof *ts->t);
        ts->cap = cap;
    }
    tensor *t = &ts->t[ts->n++];
    memset(t, 0, sizeof *t);
    t->name = xstrdup(name);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->numel = numel;
    t->data = data;
    return t;
}

tensor *tensors_add(tensor_set *ts, const char *name, int ndim,
                    const int64_t *shape, const float *data)
{
    int64_t numel = shape_numel(ndim, shape);
    if (numel < 0 || !name) return NULL;
    float *copy = xmalloc(numel ? (size_t)numel * sizeof(float) : 1);
    if (data) memcpy(copy, data, (size_t)numel * sizeof(float));
    else memset(copy, 0, (size_t)numel * sizeof(float));
    return push(ts, name, ndim, shape, numel, copy);
}

tensor *tio_add_owned(tensor_set *ts, const char *name, int ndim,
                      const int64_t *shape, float *data, char *err, size_t errlen)
{
    int64_t numel = shape_numel(ndim, shape);
    if (numel < 0) {
        free(data);
        tio_err(err, errlen, "tensor %s: bad shape (%d dims; at most %d supported)",
                name, ndim, TENSOR_MAX_DIMS);
        return NULL;
    }
    return push(ts, name, ndim, shape, numel, data);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int tio_check_unique(const tensor_set *ts, char *err, size_t errlen)
{
    if (ts->n < 2) return 0;
    char **names = malloc(ts->n * sizeof *names);
    if (!names) return tio_err(err, errlen, "out of memory");
    for (size_t i = 0; i < ts->n; i++) names[i] = ts->t[i].name;
    qsort(names, ts->n, sizeof *names, cmp_name);
    int rc = 0;
    for (size_t i = 1; i < ts->n && !rc; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            rc = tio_err(err, errlen, "tensor %.200s appears twice", names[i]);
    free(names);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int tensors_load(const char *path, tensor_set *ts, char *err, size_t errlen)
{
    if (ends_with(path, ".safetensors"))
        return tensors_load_safetensors(path, ts, err, errlen);
    if (ends_with(path, ".bin") || ends_with(path, ".pt") || ends_with(path, ".pth"))
        return tensors_load_torch_bin(path, ts, err, errlen);
    tensors_init(ts);
    return tio_err(err, errlen,
                   "%s: unknown model file type (expected .safetensors or .bin)", path);
}
