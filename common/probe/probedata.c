/* probedata.c: gathering probe features and tags from activations. */
#include "probe/probedata.h"

#include <math.h>

#include "cli/cli.h"

size_t probe_gather(stream_reader *r, const act_layout *L, const tagmap *tm, const probe_input *in,
                    int n_in, size_t per, tagset *tags, float **feats_out, int **labels_out)
{
    size_t n = 0, cap = 0;
    int *labels = NULL;
    float *feats = NULL;
    story_rec s;
    story_init(&s);
    uint64_t stories = 0;
    while (story_read_or_die(r, &s)) {
        stories++;
        if (s.n_tokens == 0) continue;
        if (!(s.flags & STORY_HAS_TAGS))
            die("%s: story %u has no POS tags (run postag-join before forward-dump)", reader_name(r), s.story);
        if (!(s.flags & STORY_HAS_FLOATS) || (int)s.floats_per_token != L->floats_per_token)
            die("%s: story %u has %u floats per token; the header's layout says %d", reader_name(r),
                s.story, s.floats_per_token, L->floats_per_token);
        for (uint32_t t = 0; t < s.n_tokens; t++) {
            char tag[TAG_MAX + 1];
            if (!tagmap_apply(tm, s.tokens[t].tag, tag)) continue;
            if (n == cap) {
                cap = cap ? cap + cap / 2 : 4096;
                labels = xrealloc(labels, cap * sizeof *labels);
                feats = xrealloc(feats, cap * per * sizeof *feats);
            }
            const float *src = s.floats + (size_t)t * s.floats_per_token;
            float *dst = feats + n * per;
            for (int p = 0; p < n_in; p++)
                for (int a = 0; a < in[p].dim; a++) {
                    float v = src[in[p].src + a];
                    if (!isfinite(v))
                        die("%s: story %u token %u: non-finite %c value of layer %d head %d", reader_name(r),
                            s.story, t, in[p].vec, in[p].layer, in[p].head);
                    dst[in[p].dst + a] = v;
                }
            labels[n++] = tagset_index(tags, tag);
        }
        cli_progress("stories", stories, 0);
    }
    cli_progress_end();
    story_free(&s);
    *feats_out = feats;
    *labels_out = labels;
    return n;
}
