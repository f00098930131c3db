/* treebank.c: NLTK's TreebankWordTokenizer, rewrite for rewrite (see
 * treebank.h).  Each rule is NLTK's regex and substitution, applied to the
 * whole text in NLTK's order with PCRE2 (global substitution has the same
 * left-to-right, non-overlapping semantics as Python's re.sub). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "text/treebank.h"
#include "text/utf8.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Python's \s for str patterns (= str.isspace), as a class body. */
#define PY_WS "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}" \
              "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"

typedef struct rule {
    const char *pattern;      /* NLTK's regex (PCRE2 syntax) */
    const char *replacement;  /* NLTK's substitution, \1 -> $1, \g<0> -> $0 */
} rule;

/* Before the " " + text + " " padding. */
static const rule RULES_BEFORE_PAD[] = {
    /* STARTING_QUOTES */
    {"^\"", "``"},
    {"(``)", " $1 "},
    {"([ \\(\\[{<])(\"|'{2})", "$1 `` "},
    /* PUNCTUATION */
    {"([:,])([^\\d])", " $1 $2"},
    {"([:,])$", " $1 "},
    {"\\.\\.\\.", " ... "},
    {"[;@#$%&]", " $0 "},
    {"([^\\.])(\\.)([\\]\\)}>\"']*)[" PY_WS "]*$", "$1 $2$3 "}, /* the final period */
    {"[?!]", " $0 "},
    {"([^'])' ", "$1 ' "},
    /* PARENS_BRACKETS */
    {"[\\]\\[\\(\\)\\{\\}\\<\\>]", " $0 "},
    /* DOUBLE_DASHES */
    {"--", " -- "},
};

/* After the padding. */
static const rule RULES_AFTER_PAD[] = {
    /* ENDING_QUOTES */
    {"''", " '' "},
    {"\"", " '' "},
    {"([^' ])('[sS]|'[mM]|'[dD]|') ", "$1 $2 "},
    {"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", "$1 $2 "},
    /* CONTRACTIONS2 (MacIntyreContractions) */
    {"(?i)\\b(can)(?#X)(not)\\b", " $1 $2 "},
    {"(?i)\\b(d)(?#X)('ye)\\b", " $1 $2 "},
    {"(?i)\\b(gim)(?#X)(me)\\b", " $1 $2 "},
    {"(?i)\\b(gon)(?#X)(na)\\b", " $1 $2 "},
    {"(?i)\\b(got)(?#X)(ta)\\b", " $1 $2 "},
    {"(?i)\\b(lem)(?#X)(me)\\b", " $1 $2 "},
    {"(?i)\\b(more)(?#X)('n)\\b", " $1 $2 "},
    {"(?i)\\b(wan)(?#X)(na)(?=[" PY_WS "])", " $1 $2 "},
    /* CONTRACTIONS3 */
    {"(?i) ('t)(?#X)(is)\\b", " $1 $2 "},
    {"(?i) ('t)(?#X)(was)\\b", " $1 $2 "},
};

#define N_BEFORE (sizeof RULES_BEFORE_PAD / sizeof RULES_BEFORE_PAD[0])
#define N_AFTER (sizeof RULES_AFTER_PAD / sizeof RULES_AFTER_PAD[0])

struct treebank {
    pcre2_code *code[N_BEFORE + N_AFTER];
    const rule *rule[N_BEFORE + N_AFTER];
    pcre2_match_data *md;
    char *cur, *alt;          /* the text being rewritten, and the next version */
    size_t cur_len, cur_cap, alt_cap;
    const char **quotes;      /* scratch for span_tokenize's quote list */
    size_t quotes_cap;
};

void treebank_free(treebank *tb)
{
    if (!tb) return;
    for (size_t i = 0; i < N_BEFORE + N_AFTER; i++) pcre2_code_free(tb->code[i]);
    pcre2_match_data_free(tb->md);
    free(tb->cur);
    free(tb->alt);
    free(tb->quotes);
    free(tb);
}

/* Python's re.IGNORECASE for str patterns, which NLTK's contraction rules
 * use: a pattern letter matches every character whose simple lowercase
 * equals the letter's, plus the extra equivalences of CPython's
 * Lib/re/_compiler.py (_equivalences: i with U+0131 dotless i, s with U+017F
 * long s).  For ASCII letters that adds U+0130 (capital I with dot, lower
 * i), U+0131 and U+212A (Kelvin sign, lower k) and U+017F.  PCRE2's caseless
 * mode folds by Unicode case folding instead (no U+0130, U+0131), so such a
 * pattern is rewritten here with explicit classes and compiled case-
 * sensitively: "(?i)\b(gim)" -> "\b([gG][iI\x{130}\x{131}][mM])".
 * Letters after a backslash, inside [...] or a (?#...) comment stay as
 * they are (the rules have no letter inside a class).
 * @return a malloc'd pattern, or NULL when out of memory */
static char *python_ignorecase(const char *p)
{
    char *out = malloc(strlen(p) * 24 + 1), *o = out;
    if (!out) return NULL;
    while (*p) {
        if (*p == '\\') {                      /* an escape: \b, \x{..}, \x0b */
            *o++ = *p++;
            if (*p == 'x' && p[1] == '{') {
                while (*p && *p != '}') *o++ = *p++;
                if (*p) *o++ = *p++;
            } else if (*p) {
                *o++ = *p++;
            }
        } else if (*p == '[') {                 /* a class, copied as is */
            do {
                if (*p == '\\' && p[1]) *o++ = *p++;
                *o++ = *p++;
            } while (*p && *p != ']');
            if (*p) *o++ = *p++;
        } else if (strncmp(p, "(?#", 3) == 0) { /* a comment */
            while (*p && *p != ')') *o++ = *p++;
            if (*p) *o++ = *p++;
        } else if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') {
            char lo = (char)(*p | 0x20);
            o += sprintf(o, "[%c%c%s]", lo, lo - 32,
                         lo == 'i' ? "\\x{130}\\x{131}" : lo == 'k' ? "\\x{212A}" : lo == 's' ? "\\x{17F}" : "");
            p++;
        } else {
            *o++ = *p++;
        }
    }
    *o = 0;
    return out;
}

treebank *treebank_new(herr *e)
{
    treebank *tb = calloc(1, sizeof *tb);
    if (!tb) { herr_set(e, "out of memory"); return NULL; }
    for (size_t i = 0; i < N_BEFORE + N_AFTER; i++) {
        const rule *r = i < N_BEFORE ? &RULES_BEFORE_PAD[i] : &RULES_AFTER_PAD[i - N_BEFORE];
        int ec;
        PCRE2_SIZE eo;
        tb->rule[i] = r;
        int ignorecase = strncmp(r->pattern, "(?i)", 4) == 0;
        char *pat = ignorecase ? python_ignorecase(r->pattern + 4) : NULL;
        if (ignorecase && !pat) { herr_set(e, "out of memory"); treebank_free(tb); return NULL; }
        tb->code[i] = pcre2_compile((PCRE2_SPTR)(pat ? pat : r->pattern), PCRE2_ZERO_TERMINATED,
                                    PCRE2_UTF | PCRE2_UCP, &ec, &eo, NULL);
        free(pat);
        if (!tb->code[i]) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(ec, msg, sizeof msg);
            herr_set(e, "Treebank regex %zu: %s at offset %zu", i, (char *)msg, (size_t)eo);
            treebank_free(tb);
            return NULL;
        }
        /* JIT is an optimisation only: without it PCRE2 interprets. */
        (void)pcre2_jit_compile(tb->code[i], PCRE2_JIT_COMPLETE);
    }
    tb->md = pcre2_match_data_create(16, NULL);
    if (!tb->md) { herr_set(e, "out of memory"); treebank_free(tb); return NULL; }
    return tb;
}

void tb_words_init(tb_words *w) { memset(w, 0, sizeof *w); }

void tb_words_free(tb_words *w)
{
    free(w->word);
    free(w->start);
    free(w->end);
    free(w->arena);
    tb_words_init(w);
}

static int grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 256;
    while (n < need) n *= 2;
    char *p = realloc(*buf, n);
    if (!p) return -1;
    *buf = p;
    *cap = n;
    return 0;
}

/* Apply one rule to tb->cur (global substitution), result into tb->cur. */
static int apply_rule(treebank *tb, size_t i, herr *e)
{
    for (;;) {
        PCRE2_SIZE outlen = tb->alt_cap;
        int rc = pcre2_substitute(tb->code[i], (PCRE2_SPTR)tb->cur, tb->cur_len, 0,
                                  PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH |
                                      PCRE2_NO_UTF_CHECK,
                                  tb->md, NULL, (PCRE2_SPTR)tb->rule[i]->replacement,
                                  PCRE2_ZERO_TERMINATED, (PCRE2_UCHAR *)tb->alt, &outlen);
        if (rc == PCRE2_ERROR_NOMEMORY) {
            if (grow(&tb->alt, &tb->alt_cap, outlen + 1)) return herr_set(e, "out of memory");
            continue;
        }
        if (rc < 0) return herr_set(e, "Treebank rule %zu: regex substitution failed (PCRE2 error %d)", i, rc);
        char *t = tb->cur; tb->cur = tb->alt; tb->alt = t;
        size_t c = tb->cur_cap; tb->cur_cap = tb->alt_cap; tb->alt_cap = c;
        tb->cur_len = outlen;
        return 0;
    }
}

/* str.isspace(): Python's whitespace (PY_WS above). */
static int py_isspace(uint32_t c)
{
    if (c < 0x80) return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* str.split(): words between runs of Python whitespace. */
static int split_words(const char *s, size_t len, tb_words *out, herr *e)
{
    if (grow(&out->arena, &out->arena_cap, len + 1)) return herr_set(e, "out of memory");
    size_t n = 0, a = 0, i = 0;
    size_t *offs = NULL, offs_cap = 0;
    while (i < len) {
        uint32_t cp;
        int l = utf8_decode(s + i, &cp);
        if (py_isspace(cp)) { i += (size_t)l; continue; }
        size_t j = i;
        while (j < len) {
            l = utf8_decode(s + j, &cp);
            if (py_isspace(cp)) break;
            j += (size_t)l;
        }
        if (n == offs_cap) {
            offs_cap = offs_cap ? 2 * offs_cap : 256;
            size_t *p = realloc(offs, offs_cap * sizeof *p);
            if (!p) { free(offs); return herr_set(e, "out of memory"); }
            offs = p;
        }
        offs[n++] = a;
        memcpy(out->arena + a, s + i, j - i);
        a += j - i;
        out->arena[a++] = '\0';
        i = j;
    }
    if (n > out->cap) {
        char **w = realloc(out->word, n * sizeof *w);
        if (w) out->word = w;
        uint32_t *st = realloc(out->start, n * sizeof *st);
        if (st) out->start = st;
        uint32_t *en = realloc(out->end, n * sizeof *en);
        if (en) out->end = en;
        if (!w || !st || !en) { free(offs); return herr_set(e, "out of memory"); }
        out->cap = n;
    }
    for (size_t k = 0; k < n; k++) out->word[k] = out->arena + offs[k];
    out->n = n;
    free(offs);
    return 0;
}

static int is_quote_word(const char *w)
{
    return strcmp(w, "\"") == 0 || strcmp(w, "``") == 0 || strcmp(w, "''") == 0;
}

/* span_tokenize: restore the text's own quotes for converted ones, then
 * align_tokens (each word searched from the end of the previous one). */
static int align_spans(treebank *tb, const char *text, size_t len, tb_words *w,
                       herr *e)
{
    int restore = memchr(text, '"', len) != NULL;
    for (size_t i = 0; !restore && i + 1 < len; i++)
        if (text[i] == '\'' && text[i + 1] == '\'') restore = 1;
    size_t nq = 0, next_q = 0;
    if (restore) {
        /* re.finditer(r"``|'{2}|\"", text): leftmost, alternatives in order */
        for (size_t i = 0; i < len;) {
            const char *q = NULL;
            if (i + 1 < len && text[i] == '`' && text[i + 1] == '`') q = "``";
            else if (i + 1 < len && text[i] == '\'' && text[i + 1] == '\'') q = "''";
            else if (text[i] == '"') q = "\"";
            if (!q) { i++; continue; }
            if (nq == tb->quotes_cap) {
                size_t c = tb->quotes_cap ? 2 * tb->quotes_cap : 64;
                const char **p = realloc(tb->quotes, c * sizeof *p);
                if (!p) return herr_set(e, "out of memory");
                tb->quotes = p;
                tb->quotes_cap = c;
            }
            tb->quotes[nq++] = q;
            i += strlen(q);
        }
    }
    size_t point = 0;
    for (size_t k = 0; k < w->n; k++) {
        const char *tok = w->word[k];
        if (restore && is_quote_word(tok)) {
            if (next_q == nq) return herr_set(e, "more converted quotes than quotes in the text (NLTK fails here too)");
            tok = tb->quotes[next_q++];
        }
        size_t tl = strlen(tok);
        const char *hit = point <= len ? memmem(text + point, len - point, tok, tl) : NULL;
        if (!hit) return herr_set(e, "a word is not found in the text (NLTK's align_tokens fails here too)");
        w->start[k] = (uint32_t)(hit - text);
        point = (size_t)(hit - text) + tl;
        w->end[k] = (uint32_t)point;
    }
    return 0;
}

int treebank_tokenize(treebank *tb, const char *text, size_t len, tb_words *out,
                      herr *e)
{
    if (len >= UINT32_MAX / 2) return herr_set(e, "text too long (%zu bytes)", len);
    int ec = pcre2_match(tb->code[0], (PCRE2_SPTR)text, len, 0, 0, tb->md, NULL);
    if (ec < PCRE2_ERROR_NOMATCH) return herr_set(e, "story text is not valid UTF-8");
    if (memchr(text, '\0', len)) return herr_set(e, "story text contains a NUL byte");
    if (grow(&tb->cur, &tb->cur_cap, len + 3)) return herr_set(e, "out of memory");
    memcpy(tb->cur, text, len);
    tb->cur[len] = '\0';
    tb->cur_len = len;
    for (size_t i = 0; i < N_BEFORE; i++)
        if (apply_rule(tb, i, e)) return -1;
    /* text = " " + text + " " */
    if (grow(&tb->cur, &tb->cur_cap, tb->cur_len + 3)) return herr_set(e, "out of memory");
    memmove(tb->cur + 1, tb->cur, tb->cur_len);
    tb->cur[0] = ' ';
    tb->cur[tb->cur_len + 1] = ' ';
    tb->cur_len += 2;
    tb->cur[tb->cur_len] = '\0';
    for (size_t i = N_BEFORE; i < N_BEFORE + N_AFTER; i++)
        if (apply_rule(tb, i, e)) return -1;
    if (split_words(tb->cur, tb->cur_len, out, e)) return -1;
    return align_spans(tb, text, len, out, e);
}
