/* treebank.h: NLTK's TreebankWordTokenizer (nltk/tokenize/treebank.py, NLTK
 * 3.8 / 3.9) in C, word for word: `tokenize()` (the regex rewrites: starting
 * quotes -> ``, punctuation, the final period only, brackets, "--", ending
 * quotes -> '', contractions) and `span_tokenize()` (converted quotes mapped
 * back to the text's own `` '' " in order, then align_tokens).
 *
 * The regexes are NLTK's own, run with PCRE2 in UTF + UCP mode; Python's
 * `\s` (str.isspace) is spelled out as an explicit class because PCRE2's
 * differs on U+001C..U+001F.  Input must be valid UTF-8.
 *
 * The study tagged each story as one text (no sentence splitting), so only
 * the story's last period is split off: "time." inside a story stays one
 * word, exactly as NLTK does.
 */
#ifndef HEADS_TREEBANK_H
#define HEADS_TREEBANK_H

#include <stddef.h>
#include <stdint.h>

/** Compiled tokenizer (the regexes); reusable for many texts, not
 *  thread-safe (it owns scratch buffers). */
typedef struct treebank treebank;

/** Words of one text. */
typedef struct tb_words {
    size_t n;          /**< number of words */
    char **word;       /**< [n] tokenize() output (quotes as `` and ''), NUL-terminated */
    uint32_t *start;   /**< [n] byte offset of the word in the text (span_tokenize) */
    uint32_t *end;     /**< [n] byte end, exclusive */
    /* storage */
    char *arena;
    size_t arena_cap, cap;
} tb_words;

/** Compile the tokenizer.
 *  @param err receives a message on failure
 *  @return the tokenizer, or NULL */
treebank *treebank_new(const char **err) __attribute__((warn_unused_result));

/** Free the tokenizer (NULL is fine). */
void treebank_free(treebank *tb);

/** Initialise an empty word list. */
void tb_words_init(tb_words *w);
/** Free a word list's storage and re-initialise it. */
void tb_words_free(tb_words *w);

/** Tokenize a text as TreebankWordTokenizer().tokenize(text) and give each
 *  word its span as span_tokenize(text) does.
 *  @param tb the tokenizer
 *  @param text UTF-8 text (need not be NUL-terminated)
 *  @param len its length in bytes
 *  @param out receives the words (previous contents replaced)
 *  @param err receives a message on failure: invalid UTF-8, or a text where
 *         NLTK itself fails (align_tokens cannot find a word, more converted
 *         quotes than quotes in the text)
 *  @return 0, or -1 on failure */
int treebank_tokenize(treebank *tb, const char *text, size_t len, tb_words *out,
                      const char **err) __attribute__((warn_unused_result));

/** Map every byte offset of a text to a code-point index (how Python and
 *  Hugging Face count offsets).
 *  @param text UTF-8 text; @param len its length in bytes
 *  @param map out, len + 1 entries: map[b] = index of the character that
 *         contains byte b (a byte inside a multi-byte character maps to that
 *         character); map[len] = number of characters */
void utf8_char_map(const char *text, size_t len, uint32_t *map);

/** Is code point c whitespace in Python's sense (str.isspace)?
 *  @return 1 or 0 */
int py_isspace(uint32_t c);

/** Decode one UTF-8 character (input assumed valid).
 *  @param s text; @param cp receives the code point
 *  @return its length in bytes (1..4) */
int utf8_decode(const char *s, uint32_t *cp);

#endif
