/* bpe.h: GPT-2 / GPT-Neo byte-level BPE (the tokenizer of TinyStories-1M).
 *
 * Encoding a text is three steps, exactly as OpenAI's encoder.py and the npm
 * package gpt-3-encoder do them:
 *   1. pre-tokenisation with the GPT-2 regex (PCRE2, JIT, Unicode properties)
 *        's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *      where \s is JavaScript's set (see bpe.c: Unicode Z plus tab, LF, VT,
 *      FF, CR and U+FEFF);
 *   2. each piece's UTF-8 bytes become symbols (the byte-to-unicode map);
 *   3. adjacent symbol pairs are merged by rank (merges.txt order), all
 *      occurrences of the best pair at a time, until no pair has a rank.
 * The vocabulary's entries are kept as their decoded bytes, so a token's
 * text is the exact byte span it covers in the input.
 *
 * Text must be valid UTF-8: bpe_encode refuses anything else.  Callers with
 * raw bytes first call utf8_repair() (text/utf8.h), which replaces
 * ill-formed sequences by U+FFFD exactly as the WHATWG decoder (Node's
 * TextDecoder / Buffer) and Python's errors="replace" do, i.e. what a
 * JavaScript or Python tokenizer sees when handed those bytes.
 *
 * Cost: pieces up to 64 bytes run encoder.py's plain loop (a word cache
 * remembers them); longer pieces run the same rule in O(n + merges) time
 * with 11-17 bytes of scratch per byte, freed after the piece (see
 * merge_long in bpe.c).
 *
 * A bpe object is not thread-safe (it owns a word cache and match data);
 * give each thread its own.
 */
#ifndef HEADS_BPE_H
#define HEADS_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "text/utf8.h"

typedef struct bpe bpe;

/** One token: its vocabulary id and the byte span [start, end) it covers. */
typedef struct bpe_token {
    uint32_t id;
    uint32_t start, end;
} bpe_token;

/** A growable token array (bpe_encode appends to it). */
typedef struct bpe_tokens {
    bpe_token *v;
    size_t n, cap;
} bpe_tokens;

/** Load a tokenizer.
 *  @param vocab_path vocab.json (token string -> id, ids 0..n-1, dense)
 *  @param merges_path merges.txt ("#version" line, then "A B" per line)
 *  @param e error: a one-line message naming the file (and line)
 *  @return the tokenizer, or NULL on any error (missing file, malformed JSON,
 *          a symbol outside the byte-to-unicode alphabet, a merge whose parts
 *          or result are not in the vocabulary, ...) */
bpe *bpe_load(const char *vocab_path, const char *merges_path, herr *e)
    __attribute__((warn_unused_result));

/** Free a tokenizer (NULL is fine). */
void bpe_free(bpe *b);

/** @return the number of vocabulary entries (50257 for GPT-2). */
size_t bpe_vocab_size(const bpe *b);

/** @return the number of merges (50000 for GPT-2). */
size_t bpe_merge_count(const bpe *b);

/** The bytes a token stands for (decoded from the byte-to-unicode alphabet).
 *  @param id vocabulary id; @param len receives the byte count
 *  @return pointer into the tokenizer (not NUL-terminated), or NULL when id
 *          is out of range */
const char *bpe_token_text(const bpe *b, uint32_t id, size_t *len);

/** Look up a vocabulary entry by its decoded bytes.
 *  @return the id, or -1 when absent */
long bpe_token_id(const bpe *b, const char *bytes, size_t len);

/** Tokenize a text, appending tokens with byte spans relative to text.
 *  @param text valid UTF-8 (may contain NUL); @param len its length in bytes
 *         (< 4 GiB)
 *  @param out tokens are appended (out->n grows); zero-initialise before first use
 *  @param e error
 *  @return 0, or -1 if text is not valid UTF-8, too long, or memory ran out
 *          (out unchanged) */
int bpe_encode(bpe *b, const char *text, size_t len, bpe_tokens *out, herr *e)
    __attribute__((warn_unused_result));

/** Choose the merge algorithm by piece length (for tests; results are the
 *  same either way): pieces longer than bytes use the bucket merge, shorter
 *  ones the plain loop.  Default 64.  Clears the word cache.
 *  @param bytes threshold (0: bucket merge for all, SIZE_MAX: plain loop
 *         for all) */
void bpe_set_long_threshold(bpe *b, size_t bytes);

/** Free a token array's storage and zero it. */
void bpe_tokens_free(bpe_tokens *t);

#endif
