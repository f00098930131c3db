/* tensors.h: named float32 tensors, and the model files that hold them:
 * safetensors (read + write) and PyTorch's pytorch_model.bin (zip + pickle
 * state dict, read only, without Python).  docs/model-files.md says exactly
 * what is accepted and what is refused.
 *
 * A tensor_set is either built in memory (tensors_add; model-init and train
 * do that, then tensors_save_safetensors) or opened from a file:
 *
 *     herr e;
 *     tensor_set ts;
 *     if (tensors_open(path, &ts, &e)) die("%s", e.msg);   // index only
 *     const tensor *w = tensors_get(&ts, "transformer.wte.weight", &e);
 *     if (!w) die("%s: %s", path, e.msg);                  // read on request
 *     ...
 *     tensors_close_file(&ts);  // optional: drop the index, keep what was read
 *     tensors_free(&ts);
 *
 * Opening reads the file once to hash it (sha256, for provenance), reads its
 * index (the safetensors JSON header; the zip directory and data.pkl of a
 * .bin) and validates every entry's location against the file: names,
 * dtypes, shapes, offsets, and for a .bin that each tensor view (storage
 * offset, sizes, strides) lies inside its storage.  No tensor data is read.
 * Memory for opening is proportional to the index, itself part of the file.
 *
 * tensors_get then reads one tensor as a contiguous row-major float32 array:
 * F16 and BF16 are widened exactly, F64 rounded to nearest.  It refuses,
 * naming the tensor: a dtype it does not read (BOOL, integers, F8, ...), more
 * than TENSOR_MAX_DIMS dimensions, a NaN or an infinity (after conversion to
 * float32), a storage whose CRC fails.  Tensors nobody asks for are never
 * read, whatever their dtype (GPT-Neo's bool attn.bias buffers, GPT-2's
 * attn.bias / masked_bias).  The floats read from one file are capped at
 * 8 x its size + 16 MiB, so overlapping views of one storage cannot make a
 * small file cost much memory (a real model needs at most about 4x: F16
 * widened, plus a tied lm_head read again).
 */
#ifndef HEADS_TENSORS_H
#define HEADS_TENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define TENSOR_MAX_DIMS 4

typedef struct tensor {
    char *name;                      /**< e.g. "transformer.wte.weight" */
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];  /**< row-major */
    int64_t numel;                   /**< product of shape (1 for ndim 0) */
    float *data;                     /**< [numel], owned by the set */
} tensor;

struct tensor_file;                  /* an opened file's index (tensorfile.h) */

typedef struct tensor_set {
    tensor *t;           /**< [n]: added, or read from the file, in that order */
    size_t n, cap;
    char sha256[65];     /**< sha256 of the file opened, hex ("" if built in memory) */
    struct tensor_file *file;  /**< the file tensors are read from on request, or NULL */
} tensor_set;

/** What a file's index says about one entry (pointers valid while the file
 *  is open). */
typedef struct tensor_info {
    const char *name;
    const char *dtype;        /**< as safetensors names it: "F32", "BF16", "BOOL", "I64", ...;
                                   a .bin's torch.FloatStorage is "F32", LongStorage "I64" */
    int readable;             /**< 1 if tensors_get reads this dtype (F32, F16, BF16, F64) */
    int ndim;
    const int64_t *shape;     /**< [ndim] */
    int64_t numel;
} tensor_info;

/** Initialise an empty in-memory set. */
void tensors_init(tensor_set *ts);

/** Free every tensor and close the file, if any; the set is left empty. */
void tensors_free(tensor_set *ts);

/** @return the tensor with this exact name among those added or already
 *  read (never reads from the file: see tensors_get), or NULL. */
const tensor *tensors_find(const tensor_set *ts, const char *name);

/** Add a tensor (name and data copied; data NULL means zeros).  Names may
 *  repeat in memory; tensors_save_safetensors refuses that.
 *  @param shape ndim entries, each >= 0; ndim 0..TENSOR_MAX_DIMS
 *  @return the new tensor (valid until the next add or get), or NULL with a
 *  message in e (bad name, bad shape, out of memory) */
tensor *tensors_add(tensor_set *ts, const char *name, int ndim, const int64_t *shape,
                    const float *data, herr *e);

/** Open a model file: .safetensors, or .bin / .pt / .pth (PyTorch zip
 *  format, torch >= 1.6), chosen by the name's ending.  Hashes the file and
 *  reads and validates its index; reads no tensor data.
 *  @param ts out: an empty set backed by the file (tensors_free when done)
 *  @return 0, or -1 with "PATH: problem" in e (ts left empty, nothing open) */
int tensors_open(const char *path, tensor_set *ts, herr *e)
    __attribute__((warn_unused_result));

/** @return 1 if the set holds a tensor of this name, added, read, or in the
 *  file's index whatever its dtype; else 0.  Reads nothing. */
int tensors_has(const tensor_set *ts, const char *name);

/** The tensor of this name: one already added or read, else read now from
 *  the file (float32, finite, checked as described above).
 *  @return the tensor (the struct may move when more are added; its data
 *  pointer stays valid until tensors_free), or NULL with a message in e that
 *  names the tensor and the problem ("missing tensor NAME" when the set and
 *  the file have no such name), without the file's path */
const tensor *tensors_get(tensor_set *ts, const char *name, herr *e)
    __attribute__((warn_unused_result));

/** A shape as messages show it: "64x4" ("scalar" for ndim 0), into buf
 *  (cut short rather than overflow).  @return buf */
const char *tensors_shape_str(int ndim, const int64_t *shape, char *buf, size_t n);

/** The names the set holds, read or not: the file's index (file order)
 *  for a set backed by a file, else the tensors added, in order.
 *  @return the count; tensors_name(ts, i) for i below it (NULL beyond) */
size_t tensors_name_count(const tensor_set *ts);
const char *tensors_name(const tensor_set *ts, size_t i);

/** @return the number of entries in the file's index (0 for an in-memory set) */
size_t tensors_file_count(const tensor_set *ts);

/** Entry i of the file's index, in file order (a .bin: the state dict's
 *  order; a .safetensors: the order of the data).
 *  @return 0, or -1 if i is out of range or the set has no file */
int tensors_file_info(const tensor_set *ts, size_t i, tensor_info *out);

/** Close the file behind the set (its descriptor and index); the tensors
 *  already read stay.  No-op for an in-memory set. */
void tensors_close_file(tensor_set *ts);

/** Write a .safetensors file (F32), tensors in the set's order, with a
 *  __metadata__ {"format": "pt"}.  Written to PATH.tmp.XXXXXX, fsync'd and
 *  renamed over PATH; the temporary is removed on error.
 *  @return 0, or -1 with "PATH: problem" in e */
int tensors_save_safetensors(const char *path, const tensor_set *ts, herr *e)
    __attribute__((warn_unused_result));

#endif
