/* select.c: head lists, story lists, token windows (select.h). */
#include "io/select.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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

int head_list_parse(const char *s, head_id *out, int max, herr *e)
{
    int n = 0;
    const char *p = s;
    if (!*p) return herr_set(e, "empty head list (want e.g. L2H0,L6H4)");
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
        if (n == max) return herr_set(e, "too many heads (at most %d)", max);
        out[n].layer = (int)l;
        out[n].head = (int)h;
        n++;
        if (!*p) break;
        p++;
        continue;
    bad:;
        size_t len = strcspn(start, ",");
        return herr_set(e, "'%.*s' is not a head (want L<layer>H<head>, e.g. L2H0)", (int)len,
                    start);
    }
    return n;
}

int story_sel_parse(story_sel *s, const char *spec, herr *e)
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
            uint32_t(*r)[2] = realloc(s->r, cap * sizeof *s->r);
            if (!r) {
                story_sel_free(s);
                return herr_set(e, "out of memory");
            }
            s->r = r;
        }
        s->r[s->n][0] = (uint32_t)a;
        s->r[s->n][1] = (uint32_t)b;
        s->n++;
        if (!*p) break;
        p++;
    }
    if (!(s->seen = calloc(s->n, 1))) {
        story_sel_free(s);
        return herr_set(e, "out of memory");
    }
    return 0;
bad:
    free(s->r);
    s->r = NULL;
    s->n = 0;
    return herr_set(e, "'%s' is not a story list (want e.g. 3 or 0-99,120)", spec);
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

int tok_window_parse(tok_window *w, const char *s, herr *e)
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
        if (b <= a) return herr_set(e, "window '%s' is empty (want A:B with A < B)", s);
        w->b = (long)b;
    }
    w->a = (long)a;
    return 0;
bad:
    return herr_set(e, "'%s' is not a token window (want A:B, positions A..B-1)", s);
}

int tok_window_resolve(const tok_window *w, const story_rec *s, long *lo, long *hi, herr *e)
{
    const long T = (long)s->n_tokens;
    long a = w->given ? w->a : 0, b = (w->given && w->b >= 0) ? w->b : T;
    if (w->given && (a >= T || b > T)) /* no window: the whole story, even 0 tokens */
        return herr_set(e, "token window %ld:%ld is outside story %u (%ld tokens)", a, b,
                    s->story, T);
    *lo = a;
    *hi = b;
    return 0;
}


int select_index_list(const char *s, uint8_t *mask, int n, herr *e)
{
    memset(mask, 0, (size_t)n);
    if (!s || !*s) return herr_set(e, "empty list (want e.g. 0-3,5)");
    if (strcmp(s, "all") == 0) {
        memset(mask, 1, (size_t)n);
        return 0;
    }
    const char *p = s;
    while (*p) {
        char *end;
        const char *num = p; /* the text of the last number, for the message */
        long a = strtol(p, &end, 10), b = a;
        if (end == p || a < 0) return herr_set(e, "bad list '%s' (want e.g. 0-3,5 or all)", s);
        p = end;
        if (*p == '-') {
            num = ++p;
            b = strtol(p, &end, 10);
            if (end == p || b < a) return herr_set(e, "bad range in '%s'", s);
            p = end;
        }
        if (b >= n) return herr_set(e, "index %.*s out of range 0-%d", (int)(p - num), num, n - 1);
        for (long i = a; i <= b; i++) mask[i] = 1;
        if (*p == ',') p++;
        else if (*p) return herr_set(e, "bad list '%s' (want e.g. 0-3,5 or all)", s);
    }
    return 0;
}
