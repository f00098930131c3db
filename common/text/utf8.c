/* utf8.c: UTF-8 helpers (see utf8.h). */
#include "text/utf8.h"

#include <stdlib.h>
#include <string.h>

/* Length of the well-formed sequence at s[i], or 0 if ill-formed; *bad
 * receives how many bytes form the maximal ill-formed subpart (Unicode
 * Table 3-7 gives the allowed second byte after E0, ED, F0 and F4). */
static size_t seq_len(const unsigned char *s, size_t len, size_t i, size_t *bad)
{
    unsigned c = s[i];
    if (c < 0x80) return 1;
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c == 0xE0) { need = 2; lo = 0xA0; }
    else if (c == 0xED) { need = 2; hi = 0x9F; }
    else if (c >= 0xE1 && c <= 0xEF) need = 2;
    else if (c == 0xF0) { need = 3; lo = 0x90; }
    else if (c == 0xF4) { need = 3; hi = 0x8F; }
    else if (c >= 0xF1 && c <= 0xF3) need = 3;
    else { *bad = 1; return 0; }
    size_t j = i + 1;
    for (size_t k = 0; k < need; k++, j++) {
        if (j >= len || s[j] < lo || s[j] > hi) { *bad = j - i; return 0; }
        lo = 0x80; hi = 0xBF;
    }
    return need + 1;
}

int utf8_valid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, bad;
    while (i < len) {
        if (u[i] < 0x80) { i++; continue; }
        size_t n = seq_len(u, len, i, &bad);
        if (!n) return 0;
        i += n;
    }
    return 1;
}

size_t utf8_count_invalid(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, bad, count = 0;
    while (i < len) {
        if (u[i] < 0x80) { i++; continue; }
        size_t n = seq_len(u, len, i, &bad);
        if (n) i += n;
        else { i += bad; count++; }
    }
    return count;
}

long utf8_repair(const char *in, size_t len, char **out, size_t *out_len, herr *e)
{
    *out = NULL;
    *out_len = len;
    if (utf8_valid(in, len)) return 0;
    const unsigned char *u = (const unsigned char *)in;
    /* Each bad byte becomes at most 3 bytes. */
    char *o = malloc(3 * len + 1);
    if (!o) return herr_set(e, "out of memory repairing %zu bytes of UTF-8", len);
    size_t i = 0, n = 0, bad;
    long replaced = 0;
    while (i < len) {
        size_t k = seq_len(u, len, i, &bad);
        if (k) { memcpy(o + n, in + i, k); n += k; i += k; continue; }
        memcpy(o + n, "\xEF\xBF\xBD", 3);
        n += 3;
        i += bad;
        replaced++;
    }
    o[n] = 0;
    *out = o;
    *out_len = n;
    return replaced;
}

int utf8_decode(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) { *cp = u[0]; return 1; }
    if (u[0] < 0xE0) { *cp = ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F); return 2; }
    if (u[0] < 0xF0) {
        *cp = ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
        return 3;
    }
    *cp = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) |
          ((uint32_t)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
    return 4;
}

int utf8_encode(uint32_t c, char *o)
{
    if (c < 0x80) { o[0] = (char)c; return 1; }
    if (c < 0x800) { o[0] = (char)(0xC0 | (c >> 6)); o[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12)); o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18)); o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F)); o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

void utf8_char_offsets(const char *text, size_t len, uint32_t *map)
{
    uint32_t chars = 0;
    for (size_t i = 0; i < len; i++) {
        /* a character starts at every byte that is not a continuation byte */
        if (((unsigned char)text[i] & 0xC0) != 0x80) map[i] = chars++;
        else map[i] = chars;
    }
    map[len] = chars;
}

void utf8_char_map(const char *text, size_t len, uint32_t *map)
{
    uint32_t ch = 0;
    for (size_t b = 0; b < len; b++) {
        /* a continuation byte belongs to the character already counted */
        if (b > 0 && ((unsigned char)text[b] & 0xC0) != 0x80) ch++;
        map[b] = ch;
    }
    map[len] = len ? ch + 1 : 0;
}
