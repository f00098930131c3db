/* tensorfile.h: an opened model file: its index, its sha256, and reading
 * one tensor as float32 (internal to common/io; tools use tensors.h, whose
 * tensor_set wraps this).  The file type is chosen here, by the name's
 * ending, and nowhere else. */
#ifndef HEADS_TENSORFILE_H
#define HEADS_TENSORFILE_H

#include <stddef.h>

#include "io/tensors_impl.h"

typedef struct tensor_file tensor_file;

/** Open, hash and index a .safetensors / .bin / .pt / .pth file.
 *  @return the file, or NULL with "PATH: problem" in e */
tensor_file *tensorfile_open(const char *path, herr *e);

/** @return the file's sha256 as 64 hex characters */
const char *tensorfile_sha256(const tensor_file *f);

/** @return the number of entries in the index */
size_t tensorfile_count(const tensor_file *f);

/** @return entry i (in file order), or NULL past the end */
const tf_entry *tensorfile_entry(const tensor_file *f, size_t i);

/** @return the entry of this name, or NULL */
const tf_entry *tensorfile_find(const tensor_file *f, const char *name);

/** Read entry x as a contiguous row-major float32 array of x->numel values,
 *  all finite.  @return the malloc'd array (caller frees), or NULL with
 *  "tensor NAME: problem" (or "tensor NAME has dtype ...") in e */
float *tensorfile_read(tensor_file *f, const tf_entry *x, herr *e);

/** Close the file and free the index.  NULL is fine. */
void tensorfile_close(tensor_file *f);

#endif
