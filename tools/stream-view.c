/* stream-view: print any heads stream as text (like `samtools view`).
 *
 * Header lines come first, prefixed "## ", then a "#"-prefixed line of
 * column names, then one row per token (story kinds) or per probe class
 * (probes), tab-separated.  Lines starting with '#' are comments to gnuplot
 * and awk scripts can skip them with /^#/.
 *
 * Reads: any heads stream.  Writes: text (header, TSV/CSV rows).
 * Links: io/records, io/stream, cli/toolio.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/toolio.h"
#include "io/records.h"
#include "io/stream.h"

static const char USAGE[] =
    "usage: stream-view [options] [FILE]\n"
    "Print a heads stream (tokens, tagged, activations, probes) as text.\n"
    "\n"
    "  --header      print only the header\n"
    "  --count       print only the number of records (stories or probes)\n"
    "  --head N      print only the first N records\n"
    "  --no-header   omit the header and the column-name line\n"
    "  --csv         comma-separated values (RFC 4180 quoting): no \"## \" header\n"
    "                lines, one row of column names first\n"
    "  -h, --help    this help;  --version  the version\n"
    "\n"
    "Rows: tokens:      story pos id start end text\n"
    "      tagged:      ... tag\n"
    "      activations: ... then one column per float, named L<layer>H<head><vector><i>\n"
    "      probes:      layer head vector class n_train iterations converged loss w0..w(d-1) intercept\n"
    "Text fields escape \\t \\n \\r and \\\\ (TSV); CSV quotes them instead.\n"
    "\n"
    "example:\n"
    "  tokenize --stories 0-1 stories.txt | stream-view --head 1\n";

static int csv_mode;

/* Print a text field: escaped for TSV, quoted for CSV. */
static void put_field(const char *s, size_t n)
{
    if (csv_mode) {
        putchar('"');
        for (size_t i = 0; i < n; i++) {
            if (s[i] == '"') putchar('"');
            putchar(s[i]);
        }
        putchar('"');
        return;
    }
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '\t': fputs("\\t", stdout); break;
        case '\n': fputs("\\n", stdout); break;
        case '\r': fputs("\\r", stdout); break;
        case '\\': fputs("\\\\", stdout); break;
        default: putchar(s[i]);
        }
    }
}

static char sep(void) { return csv_mode ? ',' : '\t'; }

static void print_columns(uint32_t kind, const act_layout *L)
{
    static const char *const base[] = {"story", "pos", "id", "start", "end", "text"};
    if (kind == STREAM_PROBES) {
        printf("%slayer%chead%cvector%cclass%cn_train%citerations%cconverged%closs%cw0..w(d-1)%cintercept\n",
               csv_mode ? "" : "#", sep(), sep(), sep(), sep(), sep(), sep(), sep(), sep(), sep());
        return;
    }
    fputs(csv_mode ? "" : "#", stdout);
    for (int i = 0; i < 6; i++) printf("%s%s", i ? (csv_mode ? "," : "\t") : "", base[i]);
    if (kind != STREAM_TOKENS) printf("%ctag", sep());
    if (kind == STREAM_ACTIVATIONS)
        for (int l = 0; l < L->n_layers; l++)
            for (int h = 0; h < L->n_heads; h++)
                for (int v = 0; v < L->n_vecs; v++)
                    for (int i = 0; i < L->vec_width[v]; i++)
                        printf("%cL%dH%d%c%d", sep(), L->layers[l], L->heads[h], L->vecs[v], i);
    putchar('\n');
}

static void print_story(const story_rec *s, uint32_t kind)
{
    for (uint32_t t = 0; t < s->n_tokens; t++) {
        const story_token *k = &s->tokens[t];
        printf("%u%c%u%c%u%c%u%c%u%c", s->story, sep(), t, sep(), k->id, sep(), k->start, sep(),
               k->end, sep());
        put_field(s->text + k->start, k->end - k->start);
        if (kind != STREAM_TOKENS) {
            putchar(sep());
            put_field(k->tag, strlen(k->tag));
        }
        if (kind == STREAM_ACTIVATIONS)
            for (uint32_t i = 0; i < s->floats_per_token; i++)
                printf("%c%.9g", sep(), (double)s->floats[(size_t)t * s->floats_per_token + i]);
        putchar('\n');
    }
}

static void print_probe(const probe_rec *p)
{
    for (uint32_t k = 0; k < p->n_classes; k++) {
        printf("%u%c%u%c%s%c", p->layer, sep(), p->head, sep(), p->vec, sep());
        put_field(p->classes[k], strlen(p->classes[k]));
        printf("%c%u%c%u%c%u%c%.17g", sep(), p->n_train, sep(), p->iterations, sep(),
               p->converged, sep(), p->loss);
        for (uint32_t j = 0; j <= p->dim; j++)
            printf("%c%.17g", sep(), p->weights[(size_t)k * (p->dim + 1) + j]);
        putchar('\n');
    }
}

int main(int argc, char **argv)
{
    herr he;
    cli_init(argv[0]);
    enum { OPT_HEADER = 256, OPT_COUNT, OPT_HEAD, OPT_NO_HEADER, OPT_CSV, OPT_VERSION };
    static const struct option opts[] = {
        {"header", no_argument, 0, OPT_HEADER},       {"count", no_argument, 0, OPT_COUNT},
        {"head", required_argument, 0, OPT_HEAD},     {"no-header", no_argument, 0, OPT_NO_HEADER},
        {"csv", no_argument, 0, OPT_CSV},             {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, OPT_VERSION},     {0, 0, 0, 0},
    };
    int only_header = 0, only_count = 0, show_header = 1;
    long head = -1;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_HEADER: only_header = 1; break;
        case OPT_COUNT: only_count = 1; break;
        case OPT_HEAD: head = cli_parse_long("--head", optarg, 0, 1L << 40); break;
        case OPT_NO_HEADER: show_header = 0; break;
        case OPT_CSV: csv_mode = 1; show_header = 0; break;
        case 'h': fputs(USAGE, stdout); return 0;
        case OPT_VERSION: cli_print_version();
        default: cli_bad_option(argv);
        }
    }
    const char *path = cli_single_input(argc, argv);
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

    stream_reader *r = cli_open_input(path, 0);
    uint32_t kind = stream_reader_kind(r);
    act_layout L;
    memset(&L, 0, sizeof L);
    if (kind == STREAM_ACTIVATIONS) {
        cli_act_layout(r, &L, 0);
    }
    if (only_header) {
        printf("kind: %s\n", stream_kind_name(kind));
        stream_header_print(stream_reader_header(r), stdout);
        stream_reader_close(r);
        return 0;
    }
    if (show_header && !only_count) {
        printf("## kind: %s\n", stream_kind_name(kind));
        const stream_header *h = stream_reader_header(r);
        for (size_t i = 0; i < h->n; i++) printf("## %s\n", h->lines[i]);
    }
    if ((show_header || csv_mode) && !only_count) print_columns(kind, &L);

    story_rec s;
    probe_rec p;
    story_init(&s);
    probe_rec_init(&p);
    uint64_t n = 0;
    const uint8_t *rec;
    size_t len;
    while ((head < 0 || (long)n < head) && cli_read_record(r, &rec, &len)) {
        if (kind == STREAM_PROBES) {
            if (probe_rec_decode(&p, rec, len, &he) != 0) die("%s: record %llu: %s", stream_reader_name(r), (unsigned long long)n, he.msg);
            if (!only_count) print_probe(&p);
        } else {
            if (story_decode(&s, rec, len, &he) != 0) die("%s: record %llu: %s", stream_reader_name(r), (unsigned long long)n, he.msg);
            if (kind == STREAM_ACTIVATIONS && s.floats_per_token != (uint32_t)L.floats_per_token)
                die("%s: record %llu has %u floats per token; the header's layout says %d",
                    stream_reader_name(r), (unsigned long long)n, s.floats_per_token, L.floats_per_token);
            if (!only_count) print_story(&s, kind);
        }
        n++;
    }
    if (only_count) printf("%llu\n", (unsigned long long)n);
    story_free(&s);
    probe_rec_free(&p);
    stream_reader_close(r);
    if (fflush(stdout) != 0 || ferror(stdout)) die("write error on stdout");
    return 0;
}
