/* tensors_impl.h: the index of a model file, as the format readers
 * (safetensors.c, torchbin.c) build it and tensorfile.c reads tensors
 * through it.  Internal to common/io: tools use tensors.h.
 *
 * Layering (no cycles): tensors.c (sets) -> tensorfile.c (dispatch by file
 * type, reading a tensor) -> safetensors.c, torchbin.c (indexes) ->
 * tensors_impl.c (this header: the index, dtypes, float conversions). */
#ifndef HEADS_TENSORS_IMPL_H
#define HEADS_TENSORS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the model-file readers assume a little-endian host"
#endif

/** How an element is turned into a float32 (TF_OTHER: not read). */
enum tf_kind { TF_F32, TF_F16, TF_BF16, TF_F64, TF_OTHER };

/** A dtype, by its safetensors name. */
typedef struct tf_dtype {
    const char *name;     /**< "F32", "BOOL", ... */
    int bits;             /**< bits per element */
    enum tf_kind kind;
} tf_dtype;

/** @return the dtype of this safetensors name, or NULL if heads does not
 *  know it. @param len bytes of name */
const tf_dtype *tf_dtype_find(const char *name, size_t len);

/** One tensor of a file.  Its elements are element `offset` + sum_d
 *  idx[d] * stride[d] of its segment: the bytes a safetensors entry's
 *  data_offsets name, or a .bin's storage (one zip entry). */
typedef struct tf_entry {
    char *name;
    char dtype[16];       /**< safetensors name ("F32"; a .bin's FloatStorage is "F32") */
    enum tf_kind kind;
    int bits;             /**< bits per element; 0 if the dtype is unknown */
    int ndim;
    int64_t *shape;       /**< [ndim] */
    int64_t *stride;      /**< [ndim] in elements; NULL: contiguous row-major */
    int64_t numel;
    int64_t offset;       /**< first element, counted in elements of the segment */
    uint64_t seg;         /**< which segment (torchbin: zip entry index) */
    uint64_t seg_pos;     /**< safetensors: the segment's byte position in the file */
    uint64_t seg_bytes;   /**< the segment's size in bytes */
} tf_entry;

/** Every tensor of a file, in file order, plus a by-name lookup. */
typedef struct tf_index {
    tf_entry *e;
    size_t n, cap;
    size_t *by_name;      /**< [n] entry numbers sorted by name (tf_index_seal) */
} tf_index;

/** Add an entry (zeroed, name copied).  @param name_len bytes of name (no NUL inside)
 *  @param ndim dimensions; shape (and stride when want_stride) get ndim slots
 *  @return the entry, or NULL with "out of memory" in e */
tf_entry *tf_index_add(tf_index *ix, const char *name, size_t name_len, int ndim,
                       int want_stride, herr *e);

/** Sort the names for tf_index_find and refuse a name seen twice.
 *  @return 0, or -1 with "tensor NAME appears twice" (or out of memory) in e */
int tf_index_seal(tf_index *ix, herr *e) __attribute__((warn_unused_result));

/** @return the entry of this name (after tf_index_seal), or NULL */
const tf_entry *tf_index_find(const tf_index *ix, const char *name);

/** Free the entries; the index is left empty. */
void tf_index_free(tf_index *ix);

/** How a format reads a segment: exactly x->seg_bytes bytes of x's segment
 *  into buf, checked (a .bin's CRC).  @return 0, or -1 with a message in e */
typedef struct tf_source {
    void *ctx;
    int (*read)(void *ctx, const tf_entry *x, void *buf, herr *e);
    void (*close)(void *ctx);
} tf_source;

/** Exact IEEE half -> float. @param h the 16 bits */
float tf_f16_to_f32(uint16_t h);
/** bfloat16 -> float (exact). @param b the 16 bits */
float tf_bf16_to_f32(uint16_t b);

/** Little-endian loads from unaligned bytes. */
static inline uint16_t tf_le16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t tf_le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t tf_le64(const unsigned char *p) {
    return (uint64_t)tf_le32(p) | ((uint64_t)tf_le32(p + 4) << 32);
}

/** Read exactly len bytes at pos (pread, retried on EINTR and short reads).
 *  @return 0, or -1 with "read error: ..." / "unexpected end of file" in e */
int tf_pread(int fd, void *buf, size_t len, uint64_t pos, herr *e)
    __attribute__((warn_unused_result));

#endif
