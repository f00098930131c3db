/* headtab.c: shared pieces of the table tools (see headtab.h). */
#include "io/headtab.h"
#include "io/outfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"

static int hterr(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int hterr(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Parse a decimal number at *p (digits only), advancing p. */
static int parse_num(const char **p, unsigned long long max, unsigned long long *v)
{
    const char *s = *p;
    if (!isdigit((unsigned char)*s)) return -1;
    unsigned long long x = 0;
    while (isdigit((unsigned char)*s)) {
        x = x * 10 + (unsigned)(*s - '0');
        if (x > max) return -1;
        s++;
    }
    *p = s;
    *v = x;
    return 0;
}

int headspec_parse(const char *s, head_id *out, int max, char *err, size_t errlen)
{
    int n = 0;
    const char *p = s;
    if (!*p) return hterr(err, errlen, "empty head list (want e.g. L2H0,L6H4)");
    for (;;) {
        const char *start = p;
        unsigned long long l, h;
        if ((*p != 'L' && *p != 'l')) goto bad;
        p++;
        if (parse_num(&p, 100000, &l)) goto bad;
        if (*p != 'H' && *p != 'h') goto bad;
        p++;
        if (parse_num(&p, 100000, &h)) goto bad;
        if (*p && *p != ',') goto bad;
        if (n == max) return hterr(err, errlen, "too many heads (at most %d)", max);
        out[n].layer = (int)l;
        out[n].head = (int)h;
        n++;
        if (!*p) break;
        p++;
        continue;
    bad:;
        size_t len = strcspn(start, ",");
        return hterr(err, errlen, "'%.*s' is not a head (want L<layer>H<head>, e.g. L2H0)", (int)len,
                    start);
    }
    return n;
}

int story_sel_parse(story_sel *s, const char *spec, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    if (!spec || !strcmp(spec, "all")) {
        s->all = 1;
        return 0;
    }
    const char *p = spec;
    size_t cap = 0;
    for (;;) {
        unsigned long long a, b;
        if (parse_num(&p, 0xffffffffull, &a)) goto bad;
        b = a;
        if (*p == '-') {
            p++;
            if (parse_num(&p, 0xffffffffull, &b) || b < a) goto bad;
        }
        if (*p && *p != ',') goto bad;
        if (s->n == cap) {
            cap = cap ? 2 * cap : 4;
            s->r = xrealloc(s->r, cap * sizeof *s->r);
        }
        s->r[s->n][0] = (uint32_t)a;
        s->r[s->n][1] = (uint32_t)b;
        s->n++;
        if (!*p) break;
        p++;
    }
    s->seen = xcalloc(s->n, 1);
    return 0;
bad:
    free(s->r);
    s->r = NULL;
    s->n = 0;
    return hterr(err, errlen, "'%s' is not a story list (want e.g. 3 or 0-99,120)", spec);
}

int story_sel_take(story_sel *s, uint32_t i)
{
    if (s->all) return 1;
    int hit = 0;
    for (size_t k = 0; k < s->n; k++)
        if (i >= s->r[k][0] && i <= s->r[k][1]) {
            s->seen[k] = 1;
            hit = 1;
        }
    return hit;
}

int story_sel_missing(const story_sel *s, uint32_t *missing)
{
    if (s->all) return 0;
    for (size_t k = 0; k < s->n; k++)
        if (!s->seen[k]) {
            *missing = s->r[k][0];
            return 1;
        }
    return 0;
}

void story_sel_free(story_sel *s)
{
    free(s->r);
    free(s->seen);
    memset(s, 0, sizeof *s);
}

int tok_window_parse(tok_window *w, const char *s, char *err, size_t errlen)
{
    w->a = 0;
    w->b = -1;
    w->given = 1;
    const char *p = s;
    unsigned long long a = 0, b = 0;
    if (*p != ':' && parse_num(&p, 100000000, &a)) goto bad;
    if (*p != ':') goto bad;
    p++;
    if (*p) {
        if (parse_num(&p, 100000000, &b) || *p) goto bad;
        if (b <= a) return hterr(err, errlen, "window '%s' is empty (want A:B with A < B)", s);
        w->b = (long)b;
    }
    w->a = (long)a;
    return 0;
bad:
    return hterr(err, errlen, "'%s' is not a token window (want A:B, positions A..B-1)", s);
}

int tok_window_resolve(const tok_window *w, const story_rec *s, long *lo, long *hi, char *err,
                       size_t errlen)
{
    const long T = (long)s->n_tokens;
    long a = w->given ? w->a : 0, b = (w->given && w->b >= 0) ? w->b : T;
    if (a >= T || b > T)
        return hterr(err, errlen, "token window %ld:%ld is outside story %u (%ld tokens)", a, b,
                    s->story, T);
    *lo = a;
    *hi = b;
    return 0;
}

void token_word(const story_rec *s, uint32_t t, char *out, size_t n)
{
    const unsigned char *b = (const unsigned char *)s->text + s->tokens[t].start;
    size_t len = s->tokens[t].end - s->tokens[t].start;
    while (len && isspace(*b)) b++, len--;
    while (len && isspace(b[len - 1])) len--;
    if (len > n - 1) {
        len = n - 1;
        while (len && (b[len] & 0xC0) == 0x80) len--; /* do not split a UTF-8 sequence */
    }
    for (size_t i = 0; i < len; i++) out[i] = (b[i] < 0x20 || b[i] == 0x7f) ? ' ' : (char)b[i];
    out[len] = 0;
}

void token_label(const story_rec *s, uint32_t t, char *out, size_t n)
{
    char w[256];
    token_word(s, t, w, sizeof w);
    snprintf(out, n, "%s (%s)", w, s->tokens[t].tag);
}

const char *tag_field(const char *tag) { return *tag ? tag : "(none)"; }

void headtab_print_model(FILE *f, const stream_header *h)
{
    const char *m = header_get(h, "model"), *sha = header_get(h, "model-sha256");
    if (!m || !sha) die("the activations header names no model (no model / model-sha256 lines)");
    fprintf(f, "# model: %s\n# model-sha256: %s\n", m, sha);
}

/* ------------------------------------------------------------------ */
/* Text outputs written under a temporary name                         */

static outfile *g_table;  /* the one table open (tools write one each) */

FILE *table_open(const char *path)
{
    if (g_table) die("internal error: two tables open");
    g_table = cli_open_output(path);
    return g_table->f;
}

void table_close(FILE *f)
{
    if (!g_table || f != g_table->f) die("internal error: closing a table that is not open");
    cli_close_output(g_table);
    g_table = NULL;
}

int heads_from_options(const char *heads_s, long layer, long head, const act_layout *L, head_id *out)
{
    char err[512];
    int nh = 0;
    if (heads_s && strcmp(heads_s, "all") != 0) {
        if (layer >= 0 || head >= 0) die("give --heads or --layer/--head, not both");
        nh = headspec_parse(heads_s, out, HEADTAB_MAX_HEADS, err, sizeof err);
        if (nh < 0) die("--heads: %s", err);
        return nh;
    }
    if (heads_s) { /* all: every dumped head */
        if (layer >= 0 || head >= 0) die("give --heads or --layer/--head, not both");
        if (!L) return 0;
        for (int li = 0; li < L->n_layers; li++)
            for (int hi = 0; hi < L->n_heads; hi++) {
                if (nh == HEADTAB_MAX_HEADS) die("--heads all: too many heads");
                out[nh].layer = L->layers[li];
                out[nh++].head = L->heads[hi];
            }
        return nh;
    }
    if (layer < 0 || head < 0) die("no head chosen (--heads L2H0,... or --layer N --head N)");
    out[0].layer = (int)layer;
    out[0].head = (int)head;
    return 1;
}
