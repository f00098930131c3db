/* sha256.h: SHA-256 (FIPS 180-4), for the provenance of every input a
 * tool reads.  Small and dependency-free; checked against sha256sum in
 * tests/unit/test_cli.c. */
#ifndef HEADS_SHA256_H
#define HEADS_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256_ctx {
    uint32_t h[8];
    uint64_t total;        /**< bytes hashed so far */
    uint8_t block[64];
    size_t fill;           /**< bytes pending in block */
} sha256_ctx;

/** Start a new digest. */
void sha256_init(sha256_ctx *c);
/** Hash len more bytes. */
void sha256_update(sha256_ctx *c, const void *data, size_t len);
/** Finish: write the 32-byte digest. */
void sha256_final(sha256_ctx *c, uint8_t out[32]);
/** Write 32 bytes as 64 lowercase hex characters plus NUL. */
void sha256_hex(const uint8_t digest[32], char out[65]);

#endif
