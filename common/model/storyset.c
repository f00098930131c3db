/* storyset.c: stories in memory, checked against a model (storyset.h). */
#include "model/storyset.h"

#include <stdlib.h>
#include <string.h>

void storyset_free(storyset *ss)
{
    for (size_t i = 0; i < ss->n; i++) {
        story_free(&ss->s[i]);
        free(ss->ids[i]);
    }
    free(ss->s);
    free(ss->ids);
    stream_header_free(&ss->hdr);
    memset(ss, 0, sizeof *ss);
}

/* One story against the model. */
static int check_story(const storyset *ss, const story_rec *s, const gptneo_model *m, int flags,
                       herr *e)
{
    if (!(s->flags & STORY_HAS_TOKENS))
        return herr_set(e, "%s: story %u has no tokens (nothing to run the model on)", ss->name, s->story);
    if (s->n_tokens > (uint32_t)m->cfg.n_positions)
        return herr_set(e, "%s: story %u: %u tokens exceed the model's %d positions", ss->name, s->story,
                        s->n_tokens, m->cfg.n_positions);
    for (uint32_t t = 0; t < s->n_tokens; t++)
        if (s->tokens[t].id >= (uint32_t)m->cfg.vocab_size)
            return herr_set(e, "%s: story %u: token id %u at position %u is outside the vocabulary (%d)",
                            ss->name, s->story, s->tokens[t].id, t, m->cfg.vocab_size);
    if ((flags & STORYSET_TAGS) && !(s->flags & STORY_HAS_TAGS))
        return herr_set(e, "%s: story %u has no POS tags (run postag-join first)", ss->name, s->story);
    return 0;
}

int storyset_read(storyset *ss, const char *path, const gptneo_model *m, int flags, herr *e)
{
    memset(ss, 0, sizeof *ss);
    stream_header_init(&ss->hdr);
    snprintf(ss->name, sizeof ss->name, "%s", path && strcmp(path, "-") ? path : "stdin");
    stream_reader *r = stream_reader_open(path, (1u << STREAM_TOKENS) | (1u << STREAM_TAGGED) |
                                             (1u << STREAM_ACTIVATIONS), e);
    if (!r) return -1;
    stream_header_copy(&ss->hdr, stream_reader_header(r));
    const char *sha = stream_header_get(&ss->hdr, "model-sha256");
    if (sha && strcmp(sha, m->weights_sha256) != 0) {
        stream_reader_close(r);
        return herr_set(e, "%s was made with another model (its model-sha256 %.12s... is not the loaded "
                        "weights' %.12s...)", ss->name, sha, m->weights_sha256);
    }
    size_t cap = 0;
    int rc = 0;
    for (;;) {
        const uint8_t *rec;
        size_t len;
        int k = stream_reader_next(r, &rec, &len, e);
        if (k == SR_END) break;
        if (k == SR_ERROR) {
            rc = -1;
            break;
        }
        if (ss->n == cap) {
            cap = cap ? cap * 2 : 64;
            story_rec *ns = realloc(ss->s, cap * sizeof *ns);
            uint32_t **ni = ns ? realloc(ss->ids, cap * sizeof *ni) : NULL;
            if (ns) ss->s = ns;
            if (!ni) {
                rc = herr_set(e, "out of memory reading %s", ss->name);
                break;
            }
            ss->ids = ni;
        }
        story_rec *s = &ss->s[ss->n];
        story_init(s);
        ss->ids[ss->n] = NULL;
        ss->n++;
        if (story_decode(s, rec, len, e)) {
            rc = herr_prefix(e, "%s: record %llu: ", ss->name, (unsigned long long)stream_reader_count(r));
            break;
        }
        free(s->floats); /* only the tokens and tags are needed */
        s->floats = NULL;
        s->floats_per_token = 0;
        if ((rc = check_story(ss, s, m, flags, e))) break;
        if (s->n_tokens == 0 && !(flags & STORYSET_EMPTY_OK)) { /* valid (tokenize --keep-empty), nothing to run */
            story_free(s);
            ss->n--;
            ss->n_empty++;
            continue;
        }
        uint32_t *ids = malloc((s->n_tokens ? s->n_tokens : 1) * sizeof *ids);
        if (!ids) {
            rc = herr_set(e, "out of memory reading %s", ss->name);
            break;
        }
        for (uint32_t t = 0; t < s->n_tokens; t++) ids[t] = s->tokens[t].id;
        ss->ids[ss->n - 1] = ids;
    }
    stream_reader_close(r);
    if (!rc && ss->n == 0)
        rc = ss->n_empty ? herr_set(e, "%s: its %zu stories have 0 tokens (nothing to run the model on)", ss->name, ss->n_empty)
                         : herr_set(e, "%s holds no story", ss->name);
    if (rc) storyset_free(ss);
    return rc;
}
