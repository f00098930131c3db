/* tagmap.c: tag merging and dropping for probes (see tagmap.h). */
#include "text/tagmap.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

void tagmap_init(tagmap *m) { memset(m, 0, sizeof *m); }

int tagmap_add_merge(tagmap *m, const char *rule)
{
    const char *eq = strchr(rule, '=');
    if (!eq || eq == rule || m->n_merge >= TAGMAP_MAX) return -1;
    size_t pl = (size_t)(eq - rule), tl = strlen(eq + 1);
    if (pl > TAG_MAX || tl > TAG_MAX || strchr(eq + 1, '=')) return -1;
    memcpy(m->pat[m->n_merge], rule, pl);
    m->pat[m->n_merge][pl] = 0;
    memcpy(m->to[m->n_merge], eq + 1, tl + 1);
    m->n_merge++;
    return 0;
}

int tagmap_add_drop(tagmap *m, const char *tag)
{
    if (strlen(tag) > TAG_MAX || m->n_drop >= TAGMAP_MAX) return -1;
    for (int i = 0; i < m->n_drop; i++)
        if (!strcmp(m->drop[i], tag)) return 0;
    strcpy(m->drop[m->n_drop++], tag);
    return 0;
}

int tagmap_apply(const tagmap *m, const char *tag, char out[TAG_MAX + 1])
{
    const char *t = tag;
    for (int i = 0; i < m->n_merge; i++)
        if (fnmatch(m->pat[i], tag, 0) == 0) { t = m->to[i]; break; }
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

int tagmap_from_header(tagmap *m, const stream_header *h, const char **err)
{
    tagmap_init(m);
    for (size_t i = 0; i < h->n; i++) {
        const char *v;
        if ((v = line_value(h->lines[i], "probe-merge"))) {
            if (tagmap_add_merge(m, v) != 0) { *err = "bad probe-merge line in the probes header"; return -1; }
        } else if ((v = line_value(h->lines[i], "probe-drop"))) {
            if (!*v || tagmap_add_drop(m, v) != 0) { *err = "bad probe-drop line in the probes header"; return -1; }
        } else if ((v = line_value(h->lines[i], "probe-drop-empty"))) {
            if (strcmp(v, "yes") != 0 || tagmap_add_drop(m, "") != 0) {
                *err = "bad probe-drop-empty line in the probes header"; return -1;
            }
        }
    }
    return 0;
}

int tagset_index(tagset *t, const char *tag)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->name[i], tag)) return i;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 64;
        t->name = xrealloc(t->name, (size_t)t->cap * sizeof *t->name);
    }
    snprintf(t->name[t->n], sizeof t->name[t->n], "%s", tag);
    return t->n++;
}
