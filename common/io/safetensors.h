/* safetensors.h: the safetensors reader's index (internal to common/io;
 * tools use tensors.h, which also declares the writer,
 * tensors_save_safetensors).
 *
 * Layout: an 8-byte little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
 *  "__metadata__": {"k": "v"}}, then the byte buffer; offsets are relative
 * to the start of the buffer, which entries must cover without holes or
 * overlaps (the rule of the format's own reader, huggingface/safetensors
 * safetensors/src/tensor.rs, Metadata::validate). */
#ifndef HEADS_SAFETENSORS_H
#define HEADS_SAFETENSORS_H

#include <stdint.h>

#include "io/tensors_impl.h"

/** Index a safetensors file: read and check its header, every entry's
 *  dtype, shape and offsets; read no tensor data.  Entries come out in the
 *  order of their data.  Dtypes heads does not know are indexed (their
 *  offsets checked for bounds and tiling only) and refused when read.
 *  @param fd the open file (kept by the caller; src reads from it)
 *  @param size its size in bytes
 *  @param ix out: the index (tf_index_free); sealed
 *  @param src out: how to read an entry's bytes
 *  @return 0, or -1 with a message (no path) in e; ix is then empty */
int safetensors_index(int fd, uint64_t size, tf_index *ix, tf_source *src, herr *e)
    __attribute__((warn_unused_result));

#endif
