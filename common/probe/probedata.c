/* probedata.c: gathering probe features and tags from activations. */
#include "probe/probedata.h"
#include "probe/clsreport.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int probe_gather(stream_reader *r, const act_layout *L, const tagmap *tm, const probe_input *in, int n_in,
                 size_t per, tagset *tags, probe_data *out, herr *e)
{
    size_t n = 0, cap = 0;
    int *labels = NULL;
    float *feats = NULL;
    uint32_t *story_of = NULL, *token_id = NULL;
    story_rec s;
    story_init(&s);
    uint64_t stories = 0;
    int rc = -1;
    for (;;) {
        int got = story_read(r, &s, e);
        if (got == SR_ERROR) goto fail;
        if (got == SR_END) break;
        stories++;
        if (s.n_tokens == 0) continue;
        if (!(s.flags & STORY_HAS_TAGS)) {
            herr_set(e, "%s: story %u has no POS tags (run postag-join before forward-dump)", stream_reader_name(r), s.story);
            goto fail;
        }
        if (!(s.flags & STORY_HAS_FLOATS) || (int)s.floats_per_token != L->floats_per_token) {
            herr_set(e, "%s: story %u has %u floats per token; the header's layout says %d", stream_reader_name(r), s.story,
                     s.floats_per_token, L->floats_per_token);
            goto fail;
        }
        for (uint32_t t = 0; t < s.n_tokens; t++) {
            char tag[TAG_MAX + 1];
            if (!tagmap_apply(tm, s.tokens[t].tag, tag)) continue;
            if (cls_reserved_label(tag)) {
                herr_set(e, "%s: story %u, token %u: the tag '%s' is a name reports use for something else (accuracy, "
                         "macro avg, weighted avg, (none)); rename it (probe-fit --merge)", stream_reader_name(r),
                         s.story, t, tag);
                goto fail;
            }
            if (n == cap) {
                size_t nc = cap ? cap + cap / 2 : 4096;
                int *nl = realloc(labels, nc * sizeof *labels);
                if (nl) labels = nl;
                float *nf = nl ? realloc(feats, nc * per * sizeof *feats) : NULL;
                if (!nf) {
                    herr_set(e, "out of memory for %zu tokens of %zu floats", nc, per);
                    goto fail;
                }
                feats = nf;
                if (out->want_tokens) {
                    uint32_t *ns = realloc(story_of, nc * sizeof *story_of);
                    if (ns) story_of = ns;
                    uint32_t *ni = ns ? realloc(token_id, nc * sizeof *token_id) : NULL;
                    if (!ni) {
                        herr_set(e, "out of memory for %zu tokens", nc);
                        goto fail;
                    }
                    token_id = ni;
                }
                cap = nc;
            }
            const float *src = s.floats + (size_t)t * s.floats_per_token;
            float *dst = feats + n * per;
            for (int p = 0; p < n_in; p++)
                for (int a = 0; a < in[p].dim; a++) {
                    float v = src[in[p].src + a];
                    if (!isfinite(v)) {
                        herr_set(e, "%s: story %u, token %u: non-finite value (%s) in vector %c of layer %d head %d, "
                                 "dimension %d", stream_reader_name(r), s.story, t, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf",
                                 in[p].vec, in[p].layer, in[p].head, a);
                        goto fail;
                    }
                    dst[in[p].dst + a] = v;
                }
            if (out->want_tokens) {
                story_of[n] = (uint32_t)(stories - 1);
                token_id[n] = s.tokens[t].id;
            }
            if ((labels[n] = tagset_index(tags, tag, e)) < 0) goto fail;
            n++;
        }
        if (out->on_story) out->on_story(stories);
    }
    out->feats = feats;
    out->labels = labels;
    out->n = n;
    out->story_of = story_of;
    out->token_id = token_id;
    out->n_stories = (uint32_t)stories;
    feats = NULL;
    labels = NULL;
    story_of = token_id = NULL;
    rc = 0;
fail:
    if (rc) {
        out->feats = NULL;
        out->labels = NULL;
        out->n = 0;
        out->story_of = out->token_id = NULL;
    }
    story_free(&s);
    free(feats);
    free(labels);
    free(story_of);
    free(token_id);
    return rc;
}

/* A probe record's numbers before any use. */
static int probe_check(const probe_rec *p, int i, const char *stream, herr *e)
{
    if (p->n_classes < 2) return herr_set(e, "%s: probe %d has %u classes", stream, i, p->n_classes);
    if (p->dim < 1 || p->dim > PROBE_MAX_DIM)
        return herr_set(e, "%s: probe %d (layer %u head %u %s) has dimension %u (want 1..%d)", stream, i, p->layer,
                        p->head, p->vec, p->dim, PROBE_MAX_DIM);
    const size_t D = (size_t)p->dim + 1;
    for (size_t j = 0; j < (size_t)p->n_classes * D; j++)
        if (!isfinite(p->weights[j])) {
            char where[32];
            if (j % D == p->dim) snprintf(where, sizeof where, "intercept");
            else snprintf(where, sizeof where, "dimension %zu", j % D);
            return herr_set(e, "%s: probe %d (layer %u head %u %s): non-finite weight (%s) of class '%s', %s", stream,
                            i, p->layer, p->head, p->vec, isnan(p->weights[j]) ? "NaN" : "Inf", p->classes[j / D],
                            where);
        }
    return 0;
}

int probe_read_all(stream_reader *r, probe_rec **out, herr *e)
{
    probe_rec *probes = NULL;
    int n = 0, rc = 0;
    for (;;) {
        probe_rec *np = realloc(probes, (size_t)(n + 1) * sizeof *probes);
        if (!np) {
            rc = herr_set(e, "%s: out of memory reading probe %d", stream_reader_name(r), n);
            break;
        }
        probes = np;
        probe_rec_init(&probes[n]);
        int got = probe_rec_read(r, &probes[n], e);
        if (got == SR_ERROR) { rc = -1; break; }
        if (got != SR_RECORD) break;
        const probe_rec *p = &probes[n];
        if (probe_check(p, n, stream_reader_name(r), e)) { rc = -1; break; }
        for (int q = 0; q < n && !rc; q++)
            if (probes[q].layer == p->layer && probes[q].head == p->head && !strcmp(probes[q].vec, p->vec))
                rc = herr_set(e, "%s: probes %d and %d are both of layer %u head %u %s (a shard joined twice?)",
                              stream_reader_name(r), q, n, p->layer, p->head, p->vec);
        if (rc) break;
        n++;
    }
    if (!rc && !n) rc = herr_set(e, "%s: no probes in the stream", stream_reader_name(r));
    if (rc) {
        if (probes)
            for (int p = 0; p <= n; p++) probe_rec_free(&probes[p]);
        free(probes);
        return -1;
    }
    *out = probes;
    return n;
}

int probe_match_acts(const stream_header *probes_h, const stream_header *acts_h, const char *acts_name, herr *e)
{
    const char *pm = stream_header_get(probes_h, "model-sha256"), *am = stream_header_get(acts_h, "model-sha256");
    if (pm && am && strcmp(pm, am))
        return herr_set(e, "the probes were fitted on model %.12s..., %s comes from model %.12s... (model-sha256)", pm,
                        acts_name, am);
    const char *pc = stream_header_get(probes_h, "control-task"), *ac = stream_header_get(acts_h, "control-task");
    const char *pd = stream_header_get(probes_h, "control-task-dist"), *ad = stream_header_get(acts_h, "control-task-dist");
    if (!pc != !ac)
        return herr_set(e, "the probes were fitted on %s, %s has %s (control-task header lines)",
                        pc ? "control-task tags" : "real tags", acts_name, ac ? "control-task tags" : "real tags");
    if (pc && strcmp(pc, ac))
        return herr_set(e, "the probes were fitted on another control task than %s's: '%s' vs '%s' (control-task "
                        "header lines)", acts_name, pc, ac);
    if (pc && (!pd || !ad || strcmp(pd, ad)))
        return herr_set(e, "the probes' control-task tags were drawn from another distribution than %s's: '%s' vs "
                        "'%s' (control-task-dist header lines)", acts_name, pd ? pd : "none", ad ? ad : "none");
    return 0;
}

int probe_inputs(const act_layout *L, const probe_rec *probes, int n, const char *acts_name, probe_input *in,
                 int *offset, size_t *per, herr *e)
{
    *per = 0;
    for (int p = 0; p < n; p++) {
        const probe_rec *pr = &probes[p];
        const int src = act_offset(L, (int)pr->layer, (int)pr->head, pr->vec[0]);
        if (src < 0)
            return herr_set(e, "%s has no vector %s of layer %u head %u, which probe %d needs", acts_name, pr->vec,
                            pr->layer, pr->head, p);
        const int w = pr->vec[0] == 'a' ? 1 : L->d_head;
        if ((int)pr->dim != w)
            return herr_set(e, "probe of layer %u head %u %s has dimension %u; %s has %d floats per vector", pr->layer,
                            pr->head, pr->vec, pr->dim, acts_name, w);
        offset[p] = (int)*per;
        in[p] = (probe_input){(int)pr->layer, (int)pr->head, pr->vec[0], src, offset[p], w};
        *per += (size_t)w;
    }
    return 0;
}
