/* sha256.h: SHA-256 (FIPS 180-4) as lowercase hex, from nettle: its context
 * lives on the stack, hashing never allocates and cannot fail, and its x86
 * SHA-extensions path runs at 1.5-1.6 GB/s here (docs/model-files.md has the
 * measurement).  The identities in stream headers (model, tokenizer,
 * tagger, stories) are these digests.
 */
#ifndef HEADS_BASE_SHA256_H
#define HEADS_BASE_SHA256_H

#include <nettle/sha2.h> /* struct sha256_ctx: callers keep it on their stack */
#include <stddef.h>

/** A SHA-256 computation in progress (nettle's context). */
typedef struct sha256_ctx sha256_hex_ctx;

/** Start a digest. */
void sha256_hex_init(sha256_hex_ctx *c);
/** Hash len more bytes. */
void sha256_hex_add(sha256_hex_ctx *c, const void *data, size_t len);
/** Finish: write the digest as 64 lowercase hex characters plus NUL; c
 *  starts over.  @param out 65 bytes */
void sha256_hex_done(sha256_hex_ctx *c, char out[65]);
/** The digest of a buffer.  @param out 65 bytes */
void sha256_hex_buf(const void *data, size_t len, char out[65]);

#endif
