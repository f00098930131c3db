/* torchbin.h: the pytorch_model.bin reader's index (internal to
 * common/io; tools use tensors.h).
 *
 * The file is what torch.save writes since torch 1.6: a zip archive (read
 * with libzip) whose entries PyTorch stores uncompressed:
 *   <archive>/data.pkl     the state dict, pickled (protocol 2)
 *   <archive>/data/<key>   raw little-endian storage bytes, one per storage
 *   <archive>/byteorder    "little" when present; others ignored
 * data.pkl is run by a small pickle machine of our own (no C library runs
 * pickles safely) that knows only the opcodes and globals a state dict
 * uses, with a bounded stack, a bounded memo and a memory budget
 * proportional to the pickle's size (docs/model-files.md). */
#ifndef HEADS_TORCHBIN_H
#define HEADS_TORCHBIN_H

#include <stdint.h>

#include "io/tensors_impl.h"

/** Index a pytorch_model.bin: open the zip, run data.pkl, and check every
 *  tensor: its storage entry exists, is stored uncompressed and unencrypted
 *  and holds numel x element size bytes; its view (storage offset, sizes,
 *  strides) lies inside the storage and has no more elements than it.  No
 *  storage is read (data.pkl is, CRC-checked).
 *  @param fd the open file (duplicated for libzip; kept by the caller)
 *  @param size its size in bytes
 *  @param ix out: the index in the state dict's order (tf_index_free); sealed
 *  @param src out: how to read a storage (CRC-checked)
 *  @return 0, or -1 with a message (no path) in e; ix is then empty */
int torchbin_index(int fd, uint64_t size, tf_index *ix, tf_source *src, herr *e)
    __attribute__((warn_unused_result));

#endif
