/* toolio.c: the tools' dying side of streams, records and selections (toolio.h). */
#include "cli/toolio.h"

#include <string.h>

#include "cli/cli.h"
#include "io/outfile.h"

stream_reader *cli_open_input(const char *path, uint32_t kind_mask)
{
    herr e;
    stream_reader *r = stream_reader_open(path, kind_mask, &e);
    if (!r) die("%s", e.msg);
    return r;
}

int cli_read_record(stream_reader *r, const uint8_t **rec, size_t *len)
{
    herr e;
    int got = stream_reader_next(r, rec, len, &e);
    if (got == SR_ERROR) die("%s", e.msg);
    return got == SR_RECORD;
}

int cli_read_story(stream_reader *r, story_rec *s)
{
    herr e;
    int got = story_read(r, s, &e);
    if (got == SR_ERROR) die("%s", e.msg);
    if (got == SR_RECORD && story_check_finite(s, stream_reader_name(r), &e)) die("%s", e.msg);
    return got == SR_RECORD;
}

int cli_read_probe(stream_reader *r, probe_rec *p)
{
    herr e;
    int got = probe_rec_read(r, p, &e);
    if (got == SR_ERROR) die("%s", e.msg);
    return got == SR_RECORD;
}

stream_writer *cli_open_stream(const char *path, uint32_t kind, const stream_header *h)
{
    herr e;
    stream_writer *w = stream_writer_open(path, kind, h, 0, &e);
    if (!w) die("%s", e.msg);
    return w;
}

outfile *cli_claim_stream(const char *path)
{
    herr e;
    outfile *o = stream_writer_claim(path, &e);
    if (!o) die("%s", e.msg);
    return o;
}

stream_writer *cli_stream_on(outfile *out, uint32_t kind, const stream_header *h)
{
    herr e;
    stream_writer *w = stream_writer_open_output(out, kind, h, 0, &e);
    if (!w) die("%s", e.msg);
    return w;
}

void cli_write_story(stream_writer *w, const story_rec *s)
{
    herr e;
    if (story_write(w, s, &e)) die("%s", e.msg);
}

void cli_write_probe(stream_writer *w, const probe_rec *p)
{
    herr e;
    if (probe_rec_write(w, p, &e)) die("%s", e.msg);
}

void cli_close_stream(stream_writer *w)
{
    herr e;
    if (stream_writer_close(w, &e)) die("%s", e.msg);
}

void cli_table_model(FILE *f, const stream_header *h)
{
    const char *m = stream_header_get(h, "model"), *sha = stream_header_get(h, "model-sha256");
    if (!m || !sha) die("the activations header names no model (no model / model-sha256 lines)");
    fprintf(f, "# model: %s\n# model-sha256: %s\n", m, sha);
}

void cli_act_layout(stream_reader *r, act_layout *L, int need_model)
{
    herr e;
    const stream_header *h = stream_reader_header(r);
    if (act_layout_parse(L, h, &e)) die("%s: %s", stream_reader_name(r), e.msg);
    if (need_model && (!stream_header_get(h, "model") || !stream_header_get(h, "model-sha256")))
        die("%s: the activations header names no model (no model / model-sha256 lines)", stream_reader_name(r));
}

void cli_model_identity(const char *path, const char *label, char **model, char **sha)
{
    *model = *sha = NULL;
    if (!path) {
        *model = xstrdup(label);
        return;
    }
    stream_reader *r = cli_open_input(path, 0);
    const stream_header *h = stream_reader_header(r);
    const char *m = stream_header_get(h, "model"), *s = stream_header_get(h, "model-sha256");
    if (!m || !s) die("%s: its header names no model (no model / model-sha256 lines)", path);
    *model = xstrdup(m);
    *sha = xstrdup(s);
    stream_reader_close(r);
}

int cli_heads_from_options(const char *heads_s, long layer, long head, const act_layout *L, head_id *out)
{
    herr e;
    int nh = 0;
    if (heads_s && strcmp(heads_s, "all") != 0) {
        if (layer >= 0 || head >= 0) die("give --heads or --layer/--head, not both");
        nh = head_list_parse(heads_s, out, SELECT_MAX_HEADS, &e);
        if (nh < 0) die("--heads: %s", e.msg);
        return nh;
    }
    if (heads_s) { /* all: every dumped head */
        if (layer >= 0 || head >= 0) die("give --heads or --layer/--head, not both");
        if (!L) return 0;
        for (int li = 0; li < L->n_layers; li++)
            for (int hi = 0; hi < L->n_heads; hi++) {
                if (nh == SELECT_MAX_HEADS) die("--heads all: too many heads");
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
