/* tensors_impl.h: helpers shared by the model-file readers (tensors.c,
 * safetensors.c, torchbin.c).  Internal to common/: tools use tensors.h. */
#ifndef HEADS_TENSORS_IMPL_H
#define HEADS_TENSORS_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include "io/tensors.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the model-file readers assume a little-endian host"
#endif

/** Format a one-line message into err (if errlen > 0).  @return -1 */
int tio_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Read a whole file into memory.
 *  @param data_out receives the malloc'd bytes (caller frees)
 *  @param len_out receives the length
 *  @return 0, or -1 with a message in err */
int tio_read_file(const char *path, unsigned char **data_out, size_t *len_out,
                  char *err, size_t errlen) __attribute__((warn_unused_result));

/** Like tensors_add but takes ownership of data (malloc'd, numel floats).
 *  @return the new tensor, or NULL with a message in err (data is freed) */
tensor *tio_add_owned(tensor_set *ts, const char *name, int ndim,
                      const int64_t *shape, float *data, char *err, size_t errlen);

/** Check that no name occurs twice (O(n log n)).
 *  @return 0, or -1 with "tensor NAME appears twice" in err */
int tio_check_unique(const tensor_set *ts, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/** Exact IEEE half -> float. @param h the 16 bits */
float tio_f16_to_f32(uint16_t h);
/** bfloat16 -> float (exact). @param b the 16 bits */
float tio_bf16_to_f32(uint16_t b);

/** Little-endian loads from unaligned bytes. */
static inline uint16_t tio_le16(const unsigned char *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t tio_le32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t tio_le64(const unsigned char *p) {
    return (uint64_t)tio_le32(p) | ((uint64_t)tio_le32(p + 4) << 32);
}

#endif
