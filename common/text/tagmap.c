/* tagmap.c: the tag-merge grammar, tag drops, tag sets (see tagmap.h). */
#include "text/tagmap.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tagmap_init(tagmap *m) { memset(m, 0, sizeof *m); }

/* One rule "PATTERN=TAG" of length len at rule. */
static int add_rule(tagmap *m, const char *rule, size_t len, herr *e)
{
    const char *eq = memchr(rule, '=', len);
    if (!eq || eq == rule || memchr(eq + 1, '=', len - (size_t)(eq + 1 - rule)))
        return herr_set(e, "rule '%.*s': expected PATTERN=TAG, e.g. 'VB*=VB'", (int)len, rule);
    size_t pl = (size_t)(eq - rule), tl = len - pl - 1;
    if (pl > TAG_MAX || tl > TAG_MAX)
        return herr_set(e, "rule '%.*s': pattern and tag must be at most %d bytes", (int)len, rule, TAG_MAX);
    if (m->n_merge >= TAGMAP_MAX) return herr_set(e, "more than %d merge rules", TAGMAP_MAX);
    memcpy(m->pat[m->n_merge], rule, pl);
    m->pat[m->n_merge][pl] = 0;
    memcpy(m->to[m->n_merge], eq + 1, tl);
    m->to[m->n_merge][tl] = 0;
    m->n_merge++;
    return 0;
}

int tagmap_add_merge(tagmap *m, const char *spec, herr *e)
{
    int n0 = m->n_merge, any = 0;
    for (const char *p = spec;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len) {
            if (add_rule(m, p, len, e)) { m->n_merge = n0; return -1; }
            any = 1;
        }
        if (!comma) break;
        p = comma + 1;
    }
    if (!any) return herr_set(e, "no rule in '%s' (want PATTERN=TAG, e.g. 'VB*=VB')", spec);
    return 0;
}

int tagmap_add_drop(tagmap *m, const char *tag, herr *e)
{
    if (strlen(tag) > TAG_MAX) return herr_set(e, "tag '%s' is longer than %d bytes", tag, TAG_MAX);
    for (int i = 0; i < m->n_drop; i++)
        if (!strcmp(m->drop[i], tag)) return 0;
    if (m->n_drop >= TAGMAP_MAX) return herr_set(e, "more than %d dropped tags", TAGMAP_MAX);
    strcpy(m->drop[m->n_drop++], tag);
    return 0;
}

const char *tagmap_merge(const tagmap *m, const char *tag)
{
    for (int i = 0; i < m->n_merge; i++)
        if (fnmatch(m->pat[i], tag, 0) == 0) return m->to[i];  /* first match wins */
    return tag;
}

int tagmap_apply(const tagmap *m, const char *tag, char out[TAG_MAX + 1])
{
    const char *t = tagmap_merge(m, tag);
    size_t l = strlen(t);
    if (l > TAG_MAX) l = TAG_MAX;
    memmove(out, t, l);
    out[l] = 0;
    for (int i = 0; i < m->n_drop; i++)
        if (!strcmp(m->drop[i], out)) return 0;
    return 1;
}

void tagmap_to_header(const tagmap *m, stream_header *h)
{
    for (int i = 0; i < m->n_merge; i++) stream_header_add(h, "probe-merge", "%s=%s", m->pat[i], m->to[i]);
    for (int i = 0; i < m->n_drop; i++) {
        if (m->drop[i][0]) stream_header_add(h, "probe-drop", "%s", m->drop[i]);
        else stream_header_add(h, "probe-drop-empty", "yes");
    }
}

/* @return the value of line if it is "key: value", else NULL */
static const char *line_value(const char *line, const char *key)
{
    size_t kl = strlen(key);
    if (strncmp(line, key, kl) != 0 || line[kl] != ':') return NULL;
    return line[kl + 1] == ' ' ? line + kl + 2 : line + kl + 1;
}

int tagmap_from_header(tagmap *m, const stream_header *h, herr *e)
{
    tagmap_init(m);
    for (size_t i = 0; i < h->n; i++) {
        const char *v;
        if ((v = line_value(h->lines[i], "probe-merge"))) {
            /* one rule per line, taken whole (older probe-fit kept commas
             * inside a pattern; such probes must still read) */
            if (add_rule(m, v, strlen(v), e) != 0)
                return herr_set(e, "bad probe-merge line in the probes header: '%s'", v);
        } else if ((v = line_value(h->lines[i], "probe-drop"))) {
            if (!*v || tagmap_add_drop(m, v, e) != 0)
                return herr_set(e, "bad probe-drop line in the probes header: '%s'", v);
        } else if ((v = line_value(h->lines[i], "probe-drop-empty"))) {
            if (strcmp(v, "yes") != 0 || tagmap_add_drop(m, "", e) != 0)
                return herr_set(e, "bad probe-drop-empty line in the probes header: '%s'", v);
        }
    }
    return 0;
}

int tagset_index(tagset *t, const char *tag, herr *e)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->name[i], tag)) return i;
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        void *p = realloc(t->name, (size_t)cap * sizeof *t->name);
        if (!p) return herr_set(e, "out of memory (%d tags)", t->n);
        t->name = p;
        t->cap = cap;
    }
    snprintf(t->name[t->n], sizeof t->name[t->n], "%s", tag);
    return t->n++;
}
