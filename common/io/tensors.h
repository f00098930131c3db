/* tensors.h: named float32 tensors and the model file formats that hold
 * them: safetensors (read + write) and PyTorch's pytorch_model.bin (zip +
 * pickle state dict, read only, without Python).
 *
 * Float16 / bfloat16 tensors are widened to float32 on load.  Tensors of
 * other dtypes (bool causal-mask buffers, integer buffers) are skipped and
 * counted in n_skipped: a GPT-Neo state dict's `attn.attention.bias`
 * (bool) is one of them.  Readers validate every offset and size against the
 * file and refuse anything unexpected with a one-line message.
 */
#ifndef HEADS_TENSORS_H
#define HEADS_TENSORS_H

#include <stddef.h>
#include <stdint.h>

#define TENSOR_MAX_DIMS 4

typedef struct tensor {
    char *name;                      /**< e.g. "transformer.wte.weight" */
    int ndim;
    int64_t shape[TENSOR_MAX_DIMS];  /**< row-major, as stored */
    int64_t numel;
    float *data;                     /**< [numel], owned */
} tensor;

typedef struct tensor_set {
    tensor *t;          /**< [n] in file order */
    size_t n, cap;
    size_t n_skipped;   /**< non-float entries passed over */
    char sha256[65];    /**< sha256 of the file read, hex ("" if built in memory) */
} tensor_set;

/** Initialise an empty set. */
void tensors_init(tensor_set *ts);
/** Free every tensor. */
void tensors_free(tensor_set *ts);
/** @return the tensor with this exact name, or NULL. */
const tensor *tensors_find(const tensor_set *ts, const char *name);
/** Add a tensor (name and data copied).  @param shape ndim entries */
tensor *tensors_add(tensor_set *ts, const char *name, int ndim,
                    const int64_t *shape, const float *data);

/** Load a .safetensors file.
 *  @param err buffer for a one-line message (no tool prefix)
 *  @return 0 on success, -1 on error (ts left empty) */
int tensors_load_safetensors(const char *path, tensor_set *ts, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/** Load a PyTorch pytorch_model.bin (zip archive with data.pkl and
 *  data/N storages; legacy non-zip format refused).  Only the pickle opcodes
 *  and globals a state dict needs are accepted (collections.OrderedDict,
 *  torch._utils._rebuild_tensor_v2, torch.*Storage); anything else is refused.
 *  @return 0 on success, -1 on error */
int tensors_load_torch_bin(const char *path, tensor_set *ts, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/** Load either format, chosen by the file name's ending. */
int tensors_load(const char *path, tensor_set *ts, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/** Write a .safetensors file (F32), tensors in the set's order, with a
 *  __metadata__ {"format": "pt"}.  Written to a temporary name and renamed.
 *  @return 0 on success, -1 on error */
int tensors_save_safetensors(const char *path, const tensor_set *ts, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
