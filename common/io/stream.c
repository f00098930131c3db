/* stream.c: the record-stream container (format in stream.h). */
#include "io/stream.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "cli/cli.h"
#include "io/outfile.h"

static const char MAGIC[8] = {'H', 'E', 'A', 'D', 'S', 'T', 'R', 'M'};
static const char END_MAGIC[8] = {'H', 'E', 'A', 'D', 'S', 'E', 'N', 'D'};

static const char *const KIND_NAMES[] = {"unknown", "tokens", "tagged", "activations", "probes"};
static const char *const KIND_PRODUCERS[] = {"?", "tokenize", "postag-join", "forward-dump",
                                             "probe-fit"};

const char *stream_kind_name(uint32_t kind)
{
    return kind >= 1 && kind <= STREAM_KIND_MAX ? KIND_NAMES[kind] : KIND_NAMES[0];
}

const char *stream_kind_producer(uint32_t kind)
{
    return kind >= 1 && kind <= STREAM_KIND_MAX ? KIND_PRODUCERS[kind] : KIND_PRODUCERS[0];
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* Frame check: zstd's content checksum cannot see a flipped bit that
 * leaves the decoded bytes unchanged (redundant entropy-table bits), so
 * every zstd frame is followed by a zstd skippable frame holding a hash of
 * the compressed frame bytes: 8 bytes skippable header, "HDSC", u64 hash.
 * `zstd -d` skips it; our reader checks it. */
#define TRAILER_MAGIC (ZSTD_MAGIC_SKIPPABLE_START + 3u)
#define TRAILER_LEN 20

typedef struct frame_hash {
    uint64_t h, total;
    uint8_t pend[8];
    int npend;
} frame_hash;

static void fh_reset(frame_hash *f) { memset(f, 0, sizeof *f); f->h = 0x243F6A8885A308D3ull; }
static void fh_word(frame_hash *f, uint64_t w)
{
    f->h = (f->h ^ w) * 0x9E3779B97F4A7C15ull;
    f->h ^= f->h >> 29;
}
static void fh_update(frame_hash *f, const uint8_t *p, size_t n)
{
    f->total += n;
    while (n && f->npend) {
        f->pend[f->npend++] = *p++, n--;
        if (f->npend == 8) { fh_word(f, get_u64(f->pend)); f->npend = 0; }
    }
    if (!n) return;  /* all taken into a still-partial word */
    for (; n >= 8; p += 8, n -= 8) fh_word(f, get_u64(p));
    memcpy(f->pend, p, n);
    f->npend = (int)n;
}
static uint64_t fh_final(frame_hash *f)
{
    memset(f->pend + f->npend, 0, (size_t)(8 - f->npend));
    if (f->npend) fh_word(f, get_u64(f->pend));
    fh_word(f, f->total);
    uint64_t h = f->h;
    h ^= h >> 33; h *= 0xFF51AFD7ED558CCDull; h ^= h >> 33;
    return h;
}

/* ------------------------------------------------------------------ */
/* Header                                                              */

void stream_header_init(stream_header *h) { memset(h, 0, sizeof *h); }

void stream_header_free(stream_header *h)
{
    for (size_t i = 0; i < h->n; i++) free(h->lines[i]);
    free(h->lines);
    stream_header_init(h);
}

/* Append a line (taken over).  Out of memory (or a NULL line) marks the
 * header broken instead: every writer refuses a broken header. */
static void header_push(stream_header *h, char *line)
{
    if (!line) {
        h->oom = 1;
        return;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 16;
        char **lines = realloc(h->lines, cap * sizeof *lines);
        if (!lines) {
            free(line);
            h->oom = 1;
            return;
        }
        h->lines = lines;
        h->cap = cap;
    }
    h->lines[h->n++] = line;
}

void stream_header_copy(stream_header *dst, const stream_header *src)
{
    stream_header_free(dst);
    for (size_t i = 0; i < src->n; i++) header_push(dst, strdup(src->lines[i]));
    dst->oom |= src->oom;
}

/* "key: value" with newlines in the value as spaces; NULL when out of memory. */
static char *format_line(const char *key, const char *fmt, va_list ap)
{
    char *value;
    if (vasprintf(&value, fmt, ap) < 0) return NULL;
    for (char *p = value; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    char *line;
    if (asprintf(&line, "%s: %s", key, value) < 0) line = NULL;
    free(value);
    return line;
}

void stream_header_add(stream_header *h, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    header_push(h, format_line(key, fmt, ap));
    va_end(ap);
}

/* @return index of the last line with this key, or -1 */
static long header_find(const stream_header *h, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = h->n; i-- > 0;)
        if (strncmp(h->lines[i], key, klen) == 0 && h->lines[i][klen] == ':') return (long)i;
    return -1;
}

void stream_header_set(stream_header *h, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = format_line(key, fmt, ap);
    va_end(ap);
    long i = header_find(h, key);
    if (i < 0 || !line) { header_push(h, line); return; }
    free(h->lines[i]);
    h->lines[i] = line;
}

const char *stream_header_get(const stream_header *h, const char *key)
{
    long i = header_find(h, key);
    if (i < 0) return NULL;
    const char *v = h->lines[i] + strlen(key) + 1;
    return *v == ' ' ? v + 1 : v;
}

void stream_header_add_provenance(stream_header *h, int argc, char **argv)
{
    char *args = cli_join_args(argc, argv);
    if (!args) {
        h->oom = 1;
        return;
    }
    stream_header_add(h, "pg", "%s %s%s%s", cli_tool(), HEADS_VERSION, *args ? " " : "", args);
    free(args);
}

void stream_header_print(const stream_header *h, FILE *f)
{
    for (size_t i = 0; i < h->n; i++) fprintf(f, "%s\n", h->lines[i]);
}

static int is_provenance(const char *line) { return strncmp(line, "pg:", 3) == 0; }

/* Parse header text into lines.  @return 0, or -1 if it holds a NUL */
static int header_parse(stream_header *h, const char *text, size_t len)
{
    stream_header_free(h);
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] == 0) return -1;
        if (i == len || text[i] == '\n') {
            if (i > start) {
                char *line = malloc(i - start + 1);
                if (line) {
                    memcpy(line, text + start, i - start);
                    line[i - start] = 0;
                }
                header_push(h, line);
            }
            start = i + 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */

#define STAGE_SIZE (1u << 18)

struct stream_writer {
    outfile *out;            /* written whole or not at all (outfile.h) */
    ZSTD_CCtx *cctx;
    uint8_t *stage;          /* uncompressed bytes waiting for zstd */
    size_t stage_len;
    uint8_t *zbuf;
    size_t zcap;
    uint64_t count;
    frame_hash hash;         /* of the compressed frame bytes written */
    int failed;              /* a write failed: every later call reports err */
    herr err;
};

/* The first failure sticks: later calls do nothing and report it. */
static int wr_fail(stream_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int wr_fail(stream_writer *w, const char *fmt, ...)
{
    if (!w->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->err.msg, sizeof w->err.msg, fmt, ap);
        va_end(ap);
        w->failed = 1;
    }
    return -1;
}

static void write_out(stream_writer *w, const void *p, size_t n)
{
    if (!w->failed && n && fwrite(p, 1, n, w->out->f) != n)
        wr_fail(w, "%s: write error: %s", w->out->path, strerror(errno));
}

static void compress_stage(stream_writer *w, ZSTD_EndDirective mode)
{
    ZSTD_inBuffer in = {w->stage, w->stage_len, 0};
    while (!w->failed) {
        ZSTD_outBuffer out = {w->zbuf, w->zcap, 0};
        size_t left = ZSTD_compressStream2(w->cctx, &out, &in, mode);
        if (ZSTD_isError(left)) {
            wr_fail(w, "zstd: %s", ZSTD_getErrorName(left));
            break;
        }
        fh_update(&w->hash, w->zbuf, out.pos);
        write_out(w, w->zbuf, out.pos);
        if (mode == ZSTD_e_continue ? in.pos == in.size : left == 0) break;
    }
    w->stage_len = 0;
}

static void stage_bytes(stream_writer *w, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n && !w->failed) {
        size_t take = STAGE_SIZE - w->stage_len < n ? STAGE_SIZE - w->stage_len : n;
        memcpy(w->stage + w->stage_len, b, take);
        w->stage_len += take;
        b += take;
        n -= take;
        if (w->stage_len == STAGE_SIZE) compress_stage(w, ZSTD_e_continue);
    }
}

outfile *stream_writer_claim(const char *path, herr *e)
{
    if ((!path || strcmp(path, "-") == 0) && isatty(1)) {
        herr_set(e, "refusing to write a binary stream to a terminal; use -o FILE or a pipe");
        return NULL;
    }
    return outfile_open(path, e);
}

stream_writer *stream_writer_open(const char *path, uint32_t kind, const stream_header *h, int level,
                                  herr *e)
{
    outfile *out = stream_writer_claim(path, e);
    return out ? stream_writer_open_output(out, kind, h, level, e) : NULL;
}

static void writer_release(stream_writer *w)
{
    ZSTD_freeCCtx(w->cctx);
    free(w->stage);
    free(w->zbuf);
    free(w);
}

stream_writer *stream_writer_open_output(outfile *out, uint32_t kind, const stream_header *h, int level,
                                         herr *e)
{
    size_t hlen = 0;
    for (size_t i = 0; i < h->n; i++) hlen += strlen(h->lines[i]) + 1;
    const char *bad = h->oom ? "out of memory building the stream header"
                             : hlen >= STREAM_MAX_HEADER ? "stream header too large" : NULL;
    stream_writer *w = bad ? NULL : calloc(1, sizeof *w);
    if (w) {
        w->out = out;
        w->cctx = ZSTD_createCCtx();
        w->stage = malloc(STAGE_SIZE);
        w->zcap = ZSTD_CStreamOutSize();
        w->zbuf = malloc(w->zcap);
        if (!w->cctx || !w->stage || !w->zbuf) {
            writer_release(w);
            w = NULL;
        }
    }
    if (!w) {
        herr_set(e, "%s: %s", out->path, bad ? bad : "out of memory");
        outfile_abort(out);
        return NULL;
    }
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level ? level : STREAM_DEFAULT_LEVEL);
    ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
    fh_reset(&w->hash);
    uint8_t fixed[20];
    memcpy(fixed, MAGIC, 8);
    put_u32(fixed + 8, STREAM_VERSION);
    put_u32(fixed + 12, kind);
    put_u32(fixed + 16, (uint32_t)hlen);
    stage_bytes(w, fixed, sizeof fixed);
    for (size_t i = 0; i < h->n; i++) {
        stage_bytes(w, h->lines[i], strlen(h->lines[i]));
        stage_bytes(w, "\n", 1);
    }
    return w;
}

int stream_writer_put(stream_writer *w, const void *rec, size_t len, herr *e)
{
    if (len >= STREAM_MAX_RECORD) wr_fail(w, "%s: record too large (%zu bytes)", w->out->path, len);
    if (!w->failed) {
        uint8_t lenbuf[4];
        put_u32(lenbuf, (uint32_t)len);
        stage_bytes(w, lenbuf, 4);
        stage_bytes(w, rec, len);
        w->count++;
    }
    if (w->failed && e) *e = w->err;
    return w->failed ? -1 : 0;
}

int stream_writer_close(stream_writer *w, herr *e)
{
    uint8_t end[20];
    put_u32(end, STREAM_END_TAG);
    put_u64(end + 4, w->count);
    memcpy(end + 12, END_MAGIC, 8);
    stage_bytes(w, end, sizeof end);
    if (!w->failed) compress_stage(w, ZSTD_e_end);
    uint8_t trailer[TRAILER_LEN];
    put_u32(trailer, TRAILER_MAGIC);
    put_u32(trailer + 4, 12);
    memcpy(trailer + 8, "HDSC", 4);
    put_u64(trailer + 12, fh_final(&w->hash));
    write_out(w, trailer, sizeof trailer);
    int rc = 0;
    if (w->failed) {
        if (e) *e = w->err;
        outfile_abort(w->out);
        rc = -1;
    } else {
        rc = outfile_close(w->out, e);
    }
    writer_release(w);
    return rc;
}

void stream_writer_abort(stream_writer *w)
{
    if (!w) return;
    outfile_abort(w->out);
    writer_release(w);
}

uint64_t stream_frame_hash(const void *data, size_t len, size_t chunk)
{
    frame_hash fh;
    fh_reset(&fh);
    const uint8_t *p = data;
    for (size_t at = 0; at < len; at += chunk)
        fh_update(&fh, p + at, len - at < chunk ? len - at : chunk);
    return fh_final(&fh);
}

size_t stream_frame_payload(const void *payload, size_t len, uint8_t **out)
{
    size_t cap = ZSTD_compressBound(len) + TRAILER_LEN;
    uint8_t *buf = malloc(cap);
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    size_t n = 0;
    if (buf && cctx) {
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
        n = ZSTD_compress2(cctx, buf, cap - TRAILER_LEN, payload, len);
    }
    ZSTD_freeCCtx(cctx);
    if (!buf || !cctx || ZSTD_isError(n)) {
        free(buf);
        *out = NULL;
        return 0;
    }
    frame_hash fh;
    fh_reset(&fh);
    fh_update(&fh, buf, n);
    put_u32(buf + n, TRAILER_MAGIC);
    put_u32(buf + n + 4, 12);
    memcpy(buf + n + 8, "HDSC", 4);
    put_u64(buf + n + 12, fh_final(&fh));
    *out = buf;
    return n + TRAILER_LEN;
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */

struct stream_reader {
    char *name;
    FILE *in;                  /* NULL when reading memory */
    const uint8_t *mem;
    size_t mem_len, mem_pos;
    ZSTD_DCtx *dctx;
    uint8_t *zin;              /* compressed input buffer */
    size_t zin_cap, zin_len, zin_pos;
    int input_eof;
    uint64_t bytes_in;         /* compressed bytes read so far */
    int frame_open;            /* inside a zstd frame (not yet complete) */
    frame_hash hash;           /* of the current frame's compressed bytes */
    uint8_t *buf;              /* decompressed bytes */
    size_t buf_cap, buf_pos, buf_len;
    uint32_t kind, kind_mask;
    stream_header header;      /* merged header */
    stream_header part_header; /* header of the current part */
    uint64_t count, part_count;
    int finished;
    char err[512];
};

static int rd_fail(stream_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int rd_fail(stream_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    return SR_ERROR;
}

/* Pull more compressed input.  @return bytes now available */
static size_t rd_fill_input(stream_reader *r)
{
    if (r->zin_pos < r->zin_len) return r->zin_len - r->zin_pos;
    if (r->input_eof) return 0;
    if (!r->in) {
        size_t take = r->mem_len - r->mem_pos;
        if (take > r->zin_cap) take = r->zin_cap;
        memcpy(r->zin, r->mem + r->mem_pos, take);
        r->mem_pos += take;
        r->zin_len = take;
    } else {
        r->zin_len = fread(r->zin, 1, r->zin_cap, r->in);
    }
    r->zin_pos = 0;
    r->bytes_in += r->zin_len;
    if (r->zin_len == 0) r->input_eof = 1;
    return r->zin_len;
}

/* Read the frame-check trailer that follows a complete zstd frame.
 * @return 0, or SR_ERROR with r->err set */
static int rd_check_trailer(stream_reader *r)
{
    uint8_t t[TRAILER_LEN];
    for (size_t got = 0; got < TRAILER_LEN;) {
        if (!rd_fill_input(r))
            return rd_fail(r, "%s: truncated stream (ends before its frame check)", r->name);
        size_t take = r->zin_len - r->zin_pos;
        if (take > TRAILER_LEN - got) take = TRAILER_LEN - got;
        memcpy(t + got, r->zin + r->zin_pos, take);
        r->zin_pos += take;
        got += take;
    }
    if (get_u32(t) != TRAILER_MAGIC || get_u32(t + 4) != 12 || memcmp(t + 8, "HDSC", 4) != 0)
        return rd_fail(r, "%s: corrupt stream (bad frame check)", r->name);
    if (get_u64(t + 12) != fh_final(&r->hash))
        return rd_fail(r, "%s: corrupt stream (frame check mismatch)", r->name);
    return 0;
}

/* Make n decompressed bytes available at buf + buf_pos.
 * @return 1 if available, 0 at a clean end of input (nothing pending and
 * no frame open), SR_ERROR with r->err set otherwise. */
static int rd_need(stream_reader *r, size_t n, int eof_ok)
{
    while (r->buf_len - r->buf_pos < n) {
        /* Compact, then grow if the request needs it. */
        if (r->buf_pos) {
            memmove(r->buf, r->buf + r->buf_pos, r->buf_len - r->buf_pos);
            r->buf_len -= r->buf_pos;
            r->buf_pos = 0;
        }
        /* Grow with the data actually decoded, not with the length a
         * (possibly corrupt) record claims. */
        if (r->buf_cap - r->buf_len < ZSTD_DStreamOutSize()) {
            size_t cap = r->buf_cap ? 2 * r->buf_cap : (1u << 17);
            while (cap - r->buf_len < ZSTD_DStreamOutSize()) cap *= 2;
            uint8_t *nb = realloc(r->buf, cap);
            if (!nb) return rd_fail(r, "%s: out of memory (%zu bytes)", r->name, cap);
            r->buf = nb;
            r->buf_cap = cap;
        }
        if (!rd_fill_input(r)) {
            if (r->in && ferror(r->in))
                return errno == EBADF && r->in == stdin
                           ? rd_fail(r, "stdin is closed or not open for reading; give an input file, or a pipe or file on stdin")
                           : rd_fail(r, "%s: read error: %s", r->name, strerror(errno));
            if (!r->bytes_in && !eof_ok)
                return rd_fail(r, "%s: empty input (0 bytes), not a heads stream", r->name);
            if (r->frame_open || r->buf_len > 0 || !eof_ok)
                return rd_fail(r, "%s: truncated stream (ends before its end marker)", r->name);
            return 0;
        }
        if (!r->frame_open) {
            /* A new frame starts here: check it is zstd at all. */
            if (r->zin_len - r->zin_pos >= 4) {
                uint32_t m = get_u32(r->zin + r->zin_pos);
                if (m != ZSTD_MAGICNUMBER) {
                    if (r->count == 0 && r->buf_len == 0 && r->kind == 0)
                        return rd_fail(r, "%s: not a heads stream (not zstd-compressed)", r->name);
                    return rd_fail(r, "%s: corrupt stream (garbage after a zstd frame)", r->name);
                }
            }
        }
        if (!r->frame_open) fh_reset(&r->hash);
        ZSTD_inBuffer in = {r->zin, r->zin_len, r->zin_pos};
        ZSTD_outBuffer out = {r->buf + r->buf_len, r->buf_cap - r->buf_len, 0};
        size_t ret = ZSTD_decompressStream(r->dctx, &out, &in);
        if (ZSTD_isError(ret))
            return rd_fail(r, "%s: corrupt stream (zstd: %s)", r->name, ZSTD_getErrorName(ret));
        fh_update(&r->hash, r->zin + r->zin_pos, in.pos - r->zin_pos);
        r->zin_pos = in.pos;
        r->buf_len += out.pos;
        r->frame_open = ret != 0;
        if (ret == 0 && rd_check_trailer(r) != 0) return SR_ERROR;
    }
    return 1;
}

static const char *kind_list(uint32_t mask, char *buf, size_t cap)
{
    buf[0] = 0;
    int first = 1;
    for (uint32_t k = 1; k <= STREAM_KIND_MAX; k++) {
        if (!(mask & (1u << k))) continue;
        size_t used = strlen(buf);
        snprintf(buf + used, cap - used, "%s%s from %s", first ? "" : " or ", stream_kind_name(k),
                 stream_kind_producer(k));
        first = 0;
    }
    return buf;
}

/* Read one part's fixed header and text header into part_header. */
static int rd_part_header(stream_reader *r)
{
    int got = rd_need(r, 20, 0);
    if (got != 1) return SR_ERROR;
    const uint8_t *p = r->buf + r->buf_pos;
    if (memcmp(p, MAGIC, 8) != 0) return rd_fail(r, "%s: not a heads stream (bad magic)", r->name);
    uint32_t version = get_u32(p + 8), kind = get_u32(p + 12), hlen = get_u32(p + 16);
    if (version != STREAM_VERSION)
        return rd_fail(r, "%s: stream format version %u; this build reads version %u", r->name,
                       version, STREAM_VERSION);
    if (kind < 1 || kind > STREAM_KIND_MAX)
        return rd_fail(r, "%s: unknown stream kind %u", r->name, kind);
    if (r->kind && kind != r->kind)
        return rd_fail(r, "%s: concatenated streams of different kinds (%s then %s)", r->name,
                       stream_kind_name(r->kind), stream_kind_name(kind));
    if (r->kind_mask && !(r->kind_mask & (1u << kind))) {
        char want[256];
        const char *kn = stream_kind_name(kind);
        return rd_fail(r, "%s is a%s %s stream; expected %s", r->name, strchr("aeiou", kn[0]) ? "n" : "", kn,
                       kind_list(r->kind_mask, want, sizeof want));
    }
    if (hlen >= STREAM_MAX_HEADER) return rd_fail(r, "%s: corrupt stream (header length %u)", r->name, hlen);
    r->buf_pos += 20;
    if (rd_need(r, hlen, 0) != 1) return SR_ERROR;
    if (header_parse(&r->part_header, (const char *)r->buf + r->buf_pos, hlen) != 0)
        return rd_fail(r, "%s: corrupt stream (NUL in header)", r->name);
    if (r->part_header.oom) return rd_fail(r, "%s: out of memory reading the header", r->name);
    r->buf_pos += hlen;
    r->kind = kind;
    r->part_count = 0;
    return 0;
}

/* Merge a later part's header: identity lines must agree. */
static int rd_merge_header(stream_reader *r)
{
    const stream_header *a = &r->header, *b = &r->part_header;
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a->n && is_provenance(a->lines[i])) i++;
        while (j < b->n && is_provenance(b->lines[j])) j++;
        if (i == a->n || j == b->n) break;
        if (strcmp(a->lines[i], b->lines[j]) != 0)
            return rd_fail(r, "%s: concatenated streams disagree: '%s' vs '%s'", r->name,
                           a->lines[i], b->lines[j]);
        i++, j++;
    }
    if (i != a->n || j != b->n)
        return rd_fail(r, "%s: concatenated streams disagree: '%s' only in %s part", r->name,
                       i != a->n ? a->lines[i] : b->lines[j], i != a->n ? "the first" : "a later");
    for (j = 0; j < b->n; j++) {
        if (!is_provenance(b->lines[j])) continue;
        int seen = 0;
        for (i = 0; i < r->header.n && !seen; i++) seen = strcmp(r->header.lines[i], b->lines[j]) == 0;
        if (!seen) header_push(&r->header, strdup(b->lines[j]));
    }
    if (r->header.oom) return rd_fail(r, "%s: out of memory reading the header", r->name);
    return 0;
}

static stream_reader *reader_new(const char *name, uint32_t kind_mask, herr *e)
{
    stream_reader *r = calloc(1, sizeof *r);
    if (r) {
        r->name = strdup(name);
        r->kind_mask = kind_mask;
        r->dctx = ZSTD_createDCtx();
        r->zin_cap = ZSTD_DStreamInSize();
        r->zin = malloc(r->zin_cap);
        stream_header_init(&r->header);
        stream_header_init(&r->part_header);
    }
    if (!r || !r->name || !r->dctx || !r->zin) {
        herr_set(e, "out of memory opening %s", name);
        stream_reader_close(r);
        return NULL;
    }
    return r;
}

static stream_reader *reader_start(stream_reader *r, herr *e)
{
    if (rd_part_header(r) != 0) {
        herr_set(e, "%s", r->err);
        stream_reader_close(r);
        return NULL;
    }
    stream_header_copy(&r->header, &r->part_header);
    if (r->header.oom) {
        herr_set(e, "%s: out of memory reading the header", r->name);
        stream_reader_close(r);
        return NULL;
    }
    return r;
}

stream_reader *stream_reader_open(const char *path, uint32_t kind_mask, herr *e)
{
    int use_stdin = !path || strcmp(path, "-") == 0;
    if (!use_stdin && !*path) {
        herr_set(e, "an empty input file name");
        return NULL;
    }
    stream_reader *r = reader_new(use_stdin ? "stdin" : path, kind_mask, e);
    if (!r) return NULL;
    if (use_stdin) {
        r->in = stdin;
    } else {
        r->in = fopen(path, "rb");
        if (!r->in) {
            herr_set(e, "%s: %s", path, strerror(errno));
            stream_reader_close(r);
            return NULL;
        }
    }
    return reader_start(r, e);
}

stream_reader *stream_reader_open_mem(const void *data, size_t len, uint32_t kind_mask, herr *e)
{
    stream_reader *r = reader_new("memory", kind_mask, e);
    if (!r) return NULL;
    r->mem = data;
    r->mem_len = len;
    return reader_start(r, e);
}

uint32_t stream_reader_kind(const stream_reader *r) { return r->kind; }
const stream_header *stream_reader_header(const stream_reader *r) { return &r->header; }
const char *stream_reader_name(const stream_reader *r) { return r->name; }
uint64_t stream_reader_count(const stream_reader *r) { return r->count; }

/* The reader's error, copied for the caller. */
static int rd_report(const stream_reader *r, herr *e)
{
    herr_set(e, "%s", r->err);
    return SR_ERROR;
}

static int next_record(stream_reader *r, const uint8_t **rec, size_t *len);

int stream_reader_next(stream_reader *r, const uint8_t **rec, size_t *len, herr *e)
{
    int got = next_record(r, rec, len);
    return got == SR_ERROR ? rd_report(r, e) : got;
}

static int next_record(stream_reader *r, const uint8_t **rec, size_t *len)
{
    if (r->err[0]) return SR_ERROR;
    if (r->finished) return SR_END;
    for (;;) {
        if (rd_need(r, 4, 0) != 1) return SR_ERROR;
        uint32_t n = get_u32(r->buf + r->buf_pos);
        if (n != STREAM_END_TAG) {
            if (n >= STREAM_MAX_RECORD)
                return rd_fail(r, "%s: corrupt stream (record length %u)", r->name, n);
            if (rd_need(r, 4 + (size_t)n, 0) != 1) return SR_ERROR;
            *rec = r->buf + r->buf_pos + 4;
            *len = n;
            r->buf_pos += 4 + (size_t)n;
            r->count++;
            r->part_count++;
            return SR_RECORD;
        }
        if (rd_need(r, 20, 0) != 1) return SR_ERROR;
        const uint8_t *p = r->buf + r->buf_pos;
        if (memcmp(p + 12, END_MAGIC, 8) != 0)
            return rd_fail(r, "%s: corrupt stream (bad end marker)", r->name);
        if (get_u64(p + 4) != r->part_count)
            return rd_fail(r, "%s: corrupt stream (end marker counts %llu records, read %llu)",
                           r->name, (unsigned long long)get_u64(p + 4),
                           (unsigned long long)r->part_count);
        r->buf_pos += 20;
        /* Another concatenated part, or the clean end. */
        int more = rd_need(r, 1, 1);
        if (more == SR_ERROR) return SR_ERROR;
        if (more == 0) { r->finished = 1; return SR_END; }
        if (rd_part_header(r) != 0 || rd_merge_header(r) != 0) return SR_ERROR;
    }
}

void stream_reader_close(stream_reader *r)
{
    if (!r) return;
    if (r->in && r->in != stdin) fclose(r->in);
    ZSTD_freeDCtx(r->dctx); /* NULL is fine */
    free(r->zin);
    free(r->buf);
    free(r->name);
    stream_header_free(&r->header);
    stream_header_free(&r->part_header);
    free(r);
}
