/* tensors.c: tensor sets, in memory or backed by an opened model file
 * (see tensors.h).  File types and reading live in tensorfile.c and the
 * format readers; this file only keeps the set. */
#include "io/tensors.h"
#include "io/tensorfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    tensorfile_close(ts->file);
    tensors_init(ts);
}

const tensor *tensors_find(const tensor_set *ts, const char *name)
{
    for (size_t i = 0; i < ts->n; i++)
        if (strcmp(ts->t[i].name, name) == 0) return &ts->t[i];
    return NULL;
}

/* numel of a shape, or -1 if ndim/shape is invalid or the floats overflow size_t. */
static int64_t shape_numel(int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > TENSOR_MAX_DIMS) return -1;
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || __builtin_mul_overflow(n, shape[i], &n)) return -1;
    if ((uint64_t)n > SIZE_MAX / sizeof(float)) return -1;
    return n;
}

/* Append a tensor that takes ownership of data (freed on failure). */
static tensor *push(tensor_set *ts, const char *name, int ndim, const int64_t *shape, int64_t numel,
                    float *data, herr *e)
{
    char *nm = strdup(name);
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 16;
        tensor *t = nm ? realloc(ts->t, cap * sizeof *t) : NULL;
        if (!t) {
            free(nm);
            free(data);
            herr_set(e, "out of memory adding tensor %.200s", name);
            return NULL;
        }
        ts->t = t;
        ts->cap = cap;
    } else if (!nm) {
        free(data);
        herr_set(e, "out of memory adding tensor %.200s", name);
        return NULL;
    }
    tensor *t = &ts->t[ts->n++];
    memset(t, 0, sizeof *t);
    t->name = nm;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->numel = numel;
    t->data = data;
    return t;
}

tensor *tensors_add(tensor_set *ts, const char *name, int ndim, const int64_t *shape,
                    const float *data, herr *e)
{
    if (!name) {
        herr_set(e, "tensor without a name");
        return NULL;
    }
    int64_t numel = shape_numel(ndim, shape);
    if (numel < 0) {
        herr_set(e, "tensor %.200s: bad shape (%d dimensions, at most %d, each >= 0)", name, ndim,
                 TENSOR_MAX_DIMS);
        return NULL;
    }
    size_t bytes = (size_t)numel * sizeof(float);
    float *copy = malloc(bytes ? bytes : 1);
    if (!copy) {
        herr_set(e, "out of memory adding tensor %.200s (%zu bytes)", name, bytes);
        return NULL;
    }
    if (data) memcpy(copy, data, bytes);
    else memset(copy, 0, bytes);
    return push(ts, name, ndim, shape, numel, copy, e);
}

int tensors_open(const char *path, tensor_set *ts, herr *e)
{
    tensors_init(ts);
    tensor_file *f = tensorfile_open(path, e);
    if (!f) return -1;
    ts->file = f;
    memcpy(ts->sha256, tensorfile_sha256(f), sizeof ts->sha256);
    return 0;
}

int tensors_has(const tensor_set *ts, const char *name)
{
    return tensors_find(ts, name) || (ts->file && tensorfile_find(ts->file, name));
}

const tensor *tensors_get(tensor_set *ts, const char *name, herr *e)
{
    const tensor *t = tensors_find(ts, name);
    if (t) return t;
    const tf_entry *x = ts->file ? tensorfile_find(ts->file, name) : NULL;
    if (!x) {
        herr_set(e, "missing tensor %.200s", name);
        return NULL;
    }
    float *data = tensorfile_read(ts->file, x, e);   /* checks ndim <= TENSOR_MAX_DIMS */
    if (!data) return NULL;
    return push(ts, x->name, x->ndim, x->shape, x->numel, data, e);
}

size_t tensors_file_count(const tensor_set *ts)
{
    return ts->file ? tensorfile_count(ts->file) : 0;
}

int tensors_file_info(const tensor_set *ts, size_t i, tensor_info *out)
{
    const tf_entry *x = ts->file ? tensorfile_entry(ts->file, i) : NULL;
    if (!x) return -1;
    out->name = x->name;
    out->dtype = x->dtype;
    out->readable = x->kind != TF_OTHER;
    out->ndim = x->ndim;
    out->shape = x->shape;
    out->numel = x->numel;
    return 0;
}

const char *tensors_shape_str(int ndim, const int64_t *shape, char *buf, size_t n)
{
    size_t p = 0;
    buf[0] = 0;
    for (int i = 0; i < ndim && p + 24 < n; i++)
        p += (size_t)snprintf(buf + p, n - p, "%s%lld", i ? "x" : "", (long long)shape[i]);
    if (!ndim) snprintf(buf, n, "scalar");
    return buf;
}

size_t tensors_name_count(const tensor_set *ts)
{
    return ts->file ? tensorfile_count(ts->file) : ts->n;
}

const char *tensors_name(const tensor_set *ts, size_t i)
{
    if (ts->file) {
        const tf_entry *x = tensorfile_entry(ts->file, i);
        return x ? x->name : NULL;
    }
    return i < ts->n ? ts->t[i].name : NULL;
}

void tensors_close_file(tensor_set *ts)
{
    tensorfile_close(ts->file);
    ts->file = NULL;
}
