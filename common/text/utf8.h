/* utf8.h: the UTF-8 helpers the text modules and tools share: validation,
 * repair of ill-formed input, decoding, byte -> code-point offset maps.
 *
 * "Valid" is Unicode's definition (Table 3-7 of the Unicode Standard): no
 * overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 */
#ifndef HEADS_UTF8_H
#define HEADS_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/** @return 1 if [s, s+len) is well-formed UTF-8, else 0 */
int utf8_valid(const char *s, size_t len);

/** Count the ill-formed sequences: what utf8_repair would replace.
 *  @return the number of maximal ill-formed subparts in [s, s+len) */
size_t utf8_count_invalid(const char *s, size_t len);

/** Replace ill-formed UTF-8 by U+FFFD, one per maximal subpart (the WHATWG
 *  "utf-8" decoder = Unicode's recommended practice, what Node's TextDecoder
 *  and Python's errors="replace" do).
 *  @param in,len raw bytes
 *  @param out receives a malloc'd copy (NUL-terminated, *out_len excludes the
 *         NUL) only when something was replaced; otherwise *out is NULL
 *  @param out_len receives the repaired length (len when nothing changed)
 *  @param e error (may be NULL)
 *  @return the number of U+FFFD inserted (0: input was valid UTF-8), or -1
 *          when out of memory (*out NULL) */
long utf8_repair(const char *in, size_t len, char **out, size_t *out_len, herr *e)
    __attribute__((warn_unused_result));

/** Decode one character of valid UTF-8.
 *  @param s text (at least one whole character); @param cp receives the
 *         code point
 *  @return its length in bytes (1..4) */
int utf8_decode(const char *s, uint32_t *cp);

/** Encode a code point (<= U+10FFFF, not a surrogate).
 *  @param c code point; @param out 4 bytes @return the byte count (1..4) */
int utf8_encode(uint32_t c, char *out);

/** Map byte offsets to code-point offsets, rounding up inside a character
 *  (what Python str indices and Hugging Face offset mappings count).
 *  @param text,len valid UTF-8
 *  @param map len + 1 entries: map[i] = number of characters that start
 *         before byte i (so map[len] is the length in characters) */
void utf8_char_offsets(const char *text, size_t len, uint32_t *map);

/** Map byte offsets to the index of the character holding that byte
 *  (rounding down inside a character).
 *  @param text,len UTF-8 text
 *  @param map len + 1 entries: map[b] = index of the character containing
 *         byte b; map[len] = number of characters */
void utf8_char_map(const char *text, size_t len, uint32_t *map);

#endif
