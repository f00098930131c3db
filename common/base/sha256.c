/* sha256.c: SHA-256 as hex, through nettle (sha256.h). */
#include "base/sha256.h"

#include <nettle/sha2.h>
#include <stdint.h>

void sha256_hex_init(sha256_hex_ctx *c) { sha256_init(c); }

void sha256_hex_add(sha256_hex_ctx *c, const void *data, size_t len) { sha256_update(c, len, data); }

void sha256_hex_done(sha256_hex_ctx *c, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(c, sizeof d, d); /* also resets c */
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[64] = 0;
}

void sha256_hex_buf(const void *data, size_t len, char out[65])
{
    struct sha256_ctx c;
    sha256_hex_init(&c);
    sha256_hex_add(&c, data, len);
    sha256_hex_done(&c, out);
}
