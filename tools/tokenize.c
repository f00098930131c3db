/* tokenize: stories text -> tokens stream (GPT-2 / GPT-Neo byte-level BPE).
 *
 *   tokenize --split train --seed 1 --take 200 stories.txt | postag-join | ...
 *
 * Input: stories separated by a line "<|endoftext|>" (file arguments are
 * read one after the other, like cat; stdin when none).  Each story becomes
 * one record: its index in the input, its text, and per token the id and the
 * byte span in that text.  See docs/tokenize.md for the joining of lines,
 * the seeded split, the selection rules and the invalid-UTF-8 policy.
 *
 * Reads: stories text and the tokenizer's vocab.json / merges.txt.  Writes:
 * a tokens stream.  Links: text/bpe, text/textin, base/sha256, io/records.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "text/bpe.h"
#include "base/sha256.h"
#include "text/textin.h"
#include "cli/cli.h"
#include "cli/toolio.h"
#include "io/outfile.h"
#include "io/records.h"
#include "io/stream.h"

static const char USAGE[] =
    "usage: tokenize [options] [STORIES...]\n"
    "Split stories text (stories separated by a line <|endoftext|>) into GPT-2 /\n"
    "GPT-Neo BPE tokens; write a tokens stream: per story its index in the input,\n"
    "its text and per token the id and byte span.  Files are read in order like\n"
    "cat; stdin when none.\n"
    "\n"
    "  --vocab FILE         vocab.json (default data/cache/tokenizer/vocab.json)\n"
    "  --merges FILE        merges.txt (default data/cache/tokenizer/merges.txt)\n"
    "  --keep-newlines      keep the story text verbatim; by default every line\n"
    "                       break becomes one space, as the study did (so a story\n"
    "                       ends with a space)\n"
    "  --stories LIST       only these story indices, e.g. 0-199,300,500- (0-based);\n"
    "                       every index named must exist in the input\n"
    "  --split train|test   the seeded split: story i is in train when the i-th\n"
    "                       output of splitmix64(seed), as a fraction of 2^64, is\n"
    "                       below --train-fraction\n"
    "  --seed N             split seed (default 1)\n"
    "  --train-fraction X   (default 0.8)\n"
    "  --take N             only the first N selected stories (after --split); fewer\n"
    "                       than N is an error\n"
    "  --shard K/N          of those, only every N-th from the K-th (0-based), so\n"
    "                       shards joined with cat hold each story once\n"
    "  --max-tokens N       fail on a story longer than N tokens (TinyStories-1M:\n"
    "                       2048); default no limit\n"
    "  --keep-empty         also write stories with no text but spaces and line\n"
    "                       breaks (0 tokens, or only space tokens), text after the\n"
    "                       last separator included; by default they are skipped\n"
    "                       (their index is kept)\n"
    "  --ids                write text instead of a stream: per story a line\n"
    "                       'INDEX<TAB>id id ...' (to diff with other tokenizers)\n"
    "  -o FILE              output (default stdout)\n"
    "  -h, --help           this help;  --version  the version\n"
    "\n"
    "Selection is an error when it cannot be met: an index of --stories beyond the\n"
    "input, --take N with fewer stories, or --stories/--split/--take/--shard\n"
    "leaving no story to write.  Closed stdin and binary input are errors too.\n"
    "\n"
    "example:\n"
    "  tokenize --stories 0-1 data/cache/stories/tinystories-train-first2316.txt | stream-view --head 1\n";

#define DEFAULT_VOCAB "data/cache/tokenizer/vocab.json"
#define DEFAULT_MERGES "data/cache/tokenizer/merges.txt"
#define SEPARATOR "<|endoftext|>"

typedef struct range { long lo, hi; } range;  /* inclusive; hi = -1: open */

typedef struct options {
    const char *vocab, *merges, *out;
    int keep_newlines, keep_empty, ids_text;
    range *ranges; int n_ranges; const char *ranges_text;
    int split;            /* 0 all, 1 train, 2 test */
    uint64_t seed;
    double train_fraction;
    long take;            /* -1 = all */
    long shard_k, shard_n;
    long max_tokens;      /* 0 = no limit */
} options;

/* --- story selection ---------------------------------------------------- */

/* splitmix64 (Steele, Lea, Flood 2014): the i-th output of the generator
 * seeded with seed.  Pure integer arithmetic: the same on every machine. */
static uint64_t splitmix64_at(uint64_t seed, uint64_t i)
{
    uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* @return 1 if story index is in the train side of the split. */
static int in_train(const options *o, uint64_t index)
{
    /* 53 high bits as a double in [0, 1): exact, no libm rounding. */
    double u = (double)(splitmix64_at(o->seed, index) >> 11) * 0x1.0p-53;
    return u < o->train_fraction;
}

static void parse_ranges(options *o, const char *s)
{
    o->ranges_text = s;
    char *copy = xstrdup(s), *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        range r;
        char *dash = strchr(item, '-');
        if (dash == item) die("--stories: '%s' is not an index or a range (want e.g. 0-199,300,500-)", item);
        if (dash) {
            *dash = 0;
            r.lo = cli_parse_long("--stories", item, 0, 1L << 40);
            r.hi = dash[1] ? cli_parse_long("--stories", dash + 1, 0, 1L << 40) : -1;
            if (r.hi >= 0 && r.hi < r.lo) die("--stories: empty range %ld-%ld", r.lo, r.hi);
        } else {
            r.lo = r.hi = cli_parse_long("--stories", item, 0, 1L << 40);
        }
        o->ranges = xrealloc(o->ranges, (size_t)(o->n_ranges + 1) * sizeof *o->ranges);
        o->ranges[o->n_ranges++] = r;
    }
    free(copy);
    if (!o->n_ranges) die("--stories: empty list");
}

/* @return the largest index --stories names (an open range: its start), or
 * -1 without --stories */
static long ranges_max(const options *o)
{
    long m = -1;
    for (int i = 0; i < o->n_ranges; i++) {
        long need = o->ranges[i].hi < 0 ? o->ranges[i].lo : o->ranges[i].hi;
        if (need > m) m = need;
    }
    return m;
}

static int in_ranges(const options *o, long index)
{
    if (!o->n_ranges) return 1;
    for (int i = 0; i < o->n_ranges; i++)
        if (index >= o->ranges[i].lo && (o->ranges[i].hi < 0 || index <= o->ranges[i].hi)) return 1;
    return 0;
}

/* --- input: all files hashed first, then read story by story ------------ */

typedef struct input {
    FILE **files;
    const char **names;
    int n, cur;
    char digest[65];
    /* what the hashing pass saw: the stories and which are empty */
    long n_stories;
    uint8_t *empty;      /* bit per story: nothing but spaces and line breaks */
    size_t empty_cap;    /* bytes */
} input;

/* The hashing pass also splits the input into stories, exactly as
 * input_line and the main loop do (lines end at \n, \r\n or \r; a file's
 * last line ends with the file; a line "<|endoftext|>" ends a story; text
 * after the last one is a story), so every selection can be checked before
 * anything is written. */
typedef struct scan {
    int sep_at;          /* bytes of SEPARATOR matched on this line, -1: not a separator */
    int line_bytes;      /* any byte on this line (its line break aside) */
    int line_nonspace;   /* any byte but spaces on this line */
    int after_cr;        /* the last byte was \r: a \n next belongs to it */
    int pending;         /* story text since the last separator */
    int nonspace;        /* ... other than spaces and line breaks */
} scan;

static void scan_story_end(input *in, scan *sc)
{
    size_t byte = (size_t)(in->n_stories / 8);
    if (byte >= in->empty_cap) {
        size_t cap = in->empty_cap ? 2 * in->empty_cap : 4096;
        in->empty = xrealloc(in->empty, cap);
        memset(in->empty + in->empty_cap, 0, cap - in->empty_cap);
        in->empty_cap = cap;
    }
    if (!sc->nonspace) in->empty[byte] |= (uint8_t)(1u << (in->n_stories % 8));
    in->n_stories++;
    sc->pending = sc->nonspace = 0;
}

/* A line ends (with a line break, or with its file when term is 0). */
static void scan_line_end(input *in, scan *sc, int term)
{
    if (sc->sep_at == (int)strlen(SEPARATOR)) {
        scan_story_end(in, sc);
    } else {
        sc->pending |= sc->line_bytes || term;
        sc->nonspace |= sc->line_nonspace;
    }
    sc->sep_at = sc->line_bytes = sc->line_nonspace = 0;
}

static void scan_bytes(input *in, scan *sc, const char *buf, size_t n)
{
    static const char sep[] = SEPARATOR;
    for (size_t i = 0; i < n; i++) {
        char c = buf[i];
        if (sc->after_cr) {
            sc->after_cr = 0;
            if (c == '\n') continue;  /* \r\n: one line break, already counted */
        }
        if (c == '\n' || c == '\r') {
            scan_line_end(in, sc, 1);
            sc->after_cr = c == '\r';
            continue;
        }
        sc->line_bytes = 1;
        if (!c || !strchr(" \t\v\f", c)) sc->line_nonspace = 1;  /* as all_space() */
        if (sc->sep_at >= 0 && sc->sep_at < (int)sizeof sep - 1 && c == sep[sc->sep_at]) sc->sep_at++;
        else sc->sep_at = -1;
    }
}

/* A file ends: its last line ends with it (input_line does the same). */
static void scan_file_end(input *in, scan *sc)
{
    if (sc->line_bytes) scan_line_end(in, sc, 0);
    sc->sep_at = 0;
    sc->after_cr = 0;
}

/* @return 1 when story i of the input holds only spaces and line breaks */
static int story_empty(const input *in, long i)
{
    return (in->empty[i / 8] >> (i % 8)) & 1;
}

/* Open every input and hash it.  Regular files are rewound after hashing;
 * anything else (a pipe) is spooled to an anonymous temporary file, so memory
 * stays independent of the input size. */
static void input_open(input *in, int n, char **paths)
{
    static char *stdin_only[] = {"-"};
    if (n == 0) { n = 1; paths = stdin_only; }
    in->files = xcalloc((size_t)n, sizeof *in->files);
    in->names = xcalloc((size_t)n, sizeof *in->names);
    in->n = n;
    sha256_hex_ctx ctx;
    sha256_hex_init(&ctx);
    scan sc = {0};
    static char buf[1 << 16];
    for (int i = 0; i < n; i++) {
        int is_stdin = strcmp(paths[i], "-") == 0;
        const char *name = is_stdin ? "stdin" : paths[i];
        FILE *f = is_stdin ? stdin : fopen(paths[i], "rb");
        if (!f) die("%s: %s", name, strerror(errno));
        struct stat st;
        int regular = fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && ftell(f) == 0;
        FILE *spool = NULL;
        if (!regular) {
            spool = tmpfile();
            if (!spool) die("temporary file for %s: %s", name, strerror(errno));
        }
        size_t got;
        while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
            sha256_hex_add(&ctx, buf, got);
            scan_bytes(in, &sc, buf, got);
            if (spool && fwrite(buf, 1, got, spool) != got) die("temporary file for %s: %s", name, strerror(errno));
        }
        if (ferror(f)) die("%s: read error: %s", name, strerror(errno));
        scan_file_end(in, &sc);
        if (spool) {
            if (!is_stdin) fclose(f);
            f = spool;
        }
        if (fflush(f) != 0 || fseek(f, 0, SEEK_SET) != 0) die("%s: cannot rewind: %s", name, strerror(errno));
        in->files[i] = f;
        in->names[i] = name;
    }
    if (sc.pending) scan_story_end(in, &sc);
    sha256_hex_done(&ctx, in->digest);
}

typedef struct growbuf { char *p; size_t n, cap; } growbuf;

static void gb_reserve(growbuf *b, size_t more)
{
    if (b->n + more + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 14;
        while (cap < b->n + more + 1) cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
}

static void gb_add(growbuf *b, const char *s, size_t n)
{
    gb_reserve(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

/* Append the next line across all inputs, with its terminator ("\n", "\r\n"
 * or "\r", Python's universal newlines), to b: read straight into the story
 * text, so a story of one huge line is held once.
 * @return the line's length, or -1 at the end of input */
static long input_line(input *in, growbuf *b, size_t *term_len)
{
    size_t n0 = b->n;
    while (in->cur < in->n) {
        FILE *f = in->files[in->cur];
        int c;
        while ((c = getc_unlocked(f)) != EOF) {
            gb_reserve(b, 2);
            b->p[b->n++] = (char)c;
            if (c == '\n') { *term_len = b->n - n0 >= 2 && b->p[b->n - 2] == '\r' ? 2 : 1; goto done; }
            if (c == '\r') {
                int d = getc_unlocked(f);
                if (d == '\n') { b->p[b->n++] = '\n'; *term_len = 2; }
                else { if (d != EOF) ungetc(d, f); *term_len = 1; }
                goto done;
            }
        }
        if (ferror(f)) die("%s: read error: %s", in->names[in->cur], strerror(errno));
        /* A file's last line without a terminator ends there (like cat, the
         * next file's first line would continue it; we keep it a line). */
        in->cur++;
        if (b->n > n0) { *term_len = 0; goto done; }
    }
    return -1;
done:
    b->p[b->n] = 0;
    return (long)(b->n - n0);
}

/* --- main ---------------------------------------------------------------- */

static int all_space(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(" \t\n\r\v\f", s[i])) return 0;
    return 1;
}

static void file_sha256(const char *path, const char *what, char out[65])
{
    FILE *f = fopen(path, "rb");
    if (!f) die("%s %s: %s", what, path, strerror(errno));
    fclose(f);
    cli_sha256_file(path, out);
}

typedef struct state {
    const options *o;
    bpe *tok;
    stream_writer *w;
    FILE *text_out;
    bpe_tokens toks;
    story_rec rec;
    long selected, written, repaired_stories;
} state;

static const char *plural(long n) { return n == 1 ? "y" : "ies"; }

/* Selections that cannot be met are errors, not empty or short output.
 * Decided from the hashing pass (the stories and which are empty), before
 * anything is written, with the rules of emit_story. */
static void check_selection(const options *o, const input *in)
{
    long n = in->n_stories, need = ranges_max(o);
    if (need >= n)
        die("--stories %s: story %ld does not exist (the input has %ld stor%s)", o->ranges_text, need, n, plural(n));
    long selected = 0, empty = 0, nonempty = 0;
    for (long i = 0; i < n && (o->take < 0 || selected < o->take); i++) {
        if (!in_ranges(o, i)) continue;
        if (!o->keep_empty && story_empty(in, i)) { empty++; continue; }
        nonempty++;
        if (o->split && in_train(o, (uint64_t)i) != (o->split == 1)) continue;
        selected++;
    }
    if (o->take >= 0 && selected < o->take)
        die("--take %ld: only %ld stor%s selected", o->take, selected, plural(selected));
    long written = !o->shard_n ? selected : selected > o->shard_k ? (selected - o->shard_k - 1) / o->shard_n + 1 : 0;
    if (written > 0 || !(o->n_ranges || o->split || o->take >= 0 || o->shard_n)) return;
    if (selected > 0)
        die("--shard %ld/%ld: no story in this shard (the selection holds %ld)", o->shard_k, o->shard_n, selected);
    if (n == 0) die("no story selected: the input holds no story");
    const char *side = o->split == 1 ? "train" : "test";
    if (nonempty == 0 && empty == 1)
        die("no story selected: the one story is empty (only spaces and line breaks); --keep-empty writes it");
    if (nonempty == 0)
        die("no story selected: %s %ld stories are empty (only spaces and line breaks); --keep-empty writes them",
            o->n_ranges ? "the" : "all", empty);
    if (o->split && nonempty == 1)
        die("no story selected: the one story is not on the %s side of --split (seed %llu, --train-fraction %g)",
            side, (unsigned long long)o->seed, o->train_fraction);
    if (o->split)
        die("no story selected: none of the %ld stories is on the %s side of --split (seed %llu, "
            "--train-fraction %g)", nonempty, side, (unsigned long long)o->seed, o->train_fraction);
    die("no story selected");
}

/* The current story's repaired text (NULL when it was valid UTF-8). */
static char *repaired;

/* Handle one complete story: check, select, repair, tokenize, write. */
static void emit_story(state *st, long index, growbuf *text)
{
    const options *o = st->o;
    const char *s = text->p ? text->p : "";
    size_t len = text->n;
    herr e;
    /* every story is checked, selected or not: the whole input must be text */
    if (textin_check(s, len, &e)) die("story %ld: %s", index, e.msg);
    if (!in_ranges(o, index)) return;
    if (!o->keep_empty && all_space(s, len)) return;
    if (o->split && in_train(o, (uint64_t)index) != (o->split == 1)) return;
    if (o->take >= 0 && st->selected >= o->take) return;
    long ordinal = st->selected++;
    if (o->shard_n && ordinal % o->shard_n != o->shard_k) return;

    size_t fixed_len;
    free(repaired);  /* file-scope: stays reachable if we die below */
    long bad = utf8_repair(s, len, &repaired, &fixed_len, &e);
    if (bad < 0) die("story %ld: %s", index, e.msg);
    if (bad) {
        st->repaired_stories++;
        s = repaired;
        len = fixed_len;
    }
    if (len >= STREAM_MAX_RECORD / 4) die("story %ld is too long (%zu bytes)", index, len);
    st->toks.n = 0;
    if (bpe_encode(st->tok, s, len, &st->toks, &e)) die("story %ld: %s", index, e.msg);
    if (o->max_tokens && (long)st->toks.n > o->max_tokens)
        die("story %ld has %zu tokens, more than --max-tokens %ld", index, st->toks.n, o->max_tokens);

    if (st->text_out) {
        if (fprintf(st->text_out, "%ld\t", index) < 0) die("write error: %s", strerror(errno));
        for (size_t i = 0; i < st->toks.n; i++)
            fprintf(st->text_out, i ? " %u" : "%u", st->toks.v[i].id);
        if (fputc('\n', st->text_out) == EOF) die("write error: %s", strerror(errno));
    } else {
        story_rec *r = &st->rec;
        r->story = (uint32_t)index;
        r->flags = STORY_HAS_TOKENS;
        r->text = (char *)s;
        r->text_len = (uint32_t)len;
        r->n_tokens = (uint32_t)st->toks.n;
        r->tokens = xrealloc(r->tokens, (st->toks.n ? st->toks.n : 1) * sizeof *r->tokens);
        for (size_t i = 0; i < st->toks.n; i++)
            r->tokens[i] = (story_token){.id = st->toks.v[i].id, .start = st->toks.v[i].start, .end = st->toks.v[i].end};
        /* a huge story: give the tokens' first copy back before the record
         * is encoded (peak memory) */
        if (st->toks.cap > (1u << 20)) bpe_tokens_free(&st->toks);
        cli_write_story(st->w, r);
        r->text = NULL;
    }
    st->written++;
    cli_progress("stories", (uint64_t)st->written, o->take > 0 ? (uint64_t)o->take : 0);
}

enum { O_VOCAB = 256, O_MERGES, O_KEEP_NL, O_STORIES, O_SPLIT, O_SEED, O_FRACTION, O_TAKE,
       O_SHARD, O_MAX_TOKENS, O_KEEP_EMPTY, O_IDS, O_VERSION };

int main(int argc, char **argv)
{
    cli_init(argv[0]);
    options o = {.vocab = DEFAULT_VOCAB, .merges = DEFAULT_MERGES, .seed = 1,
                 .train_fraction = 0.8, .take = -1};
    static const struct option opts[] = {
        {"vocab", required_argument, 0, O_VOCAB}, {"merges", required_argument, 0, O_MERGES},
        {"keep-newlines", no_argument, 0, O_KEEP_NL}, {"stories", required_argument, 0, O_STORIES},
        {"split", required_argument, 0, O_SPLIT}, {"seed", required_argument, 0, O_SEED},
        {"train-fraction", required_argument, 0, O_FRACTION}, {"take", required_argument, 0, O_TAKE},
        {"shard", required_argument, 0, O_SHARD}, {"max-tokens", required_argument, 0, O_MAX_TOKENS},
        {"keep-empty", no_argument, 0, O_KEEP_EMPTY}, {"ids", no_argument, 0, O_IDS},
        {"help", no_argument, 0, 'h'}, {"version", no_argument, 0, O_VERSION}, {0, 0, 0, 0}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        case O_VOCAB: o.vocab = optarg; break;
        case O_MERGES: o.merges = optarg; break;
        case O_KEEP_NL: o.keep_newlines = 1; break;
        case O_STORIES: parse_ranges(&o, optarg); break;
        case O_SPLIT:
            o.split = 1 + cli_parse_choice("--split", optarg, (const char *const[]){"train", "test", NULL});
            break;
        case O_SEED: o.seed = (uint64_t)cli_parse_long("--seed", optarg, 0, INT64_MAX); break;
        case O_FRACTION:
            o.train_fraction = cli_parse_double("--train-fraction", optarg);
            if (!(o.train_fraction >= 0 && o.train_fraction <= 1)) die("--train-fraction: must be in [0, 1]");
            break;
        case O_TAKE: o.take = cli_parse_long("--take", optarg, 1, INT32_MAX); break;
        case O_SHARD: {
            char *slash = strchr(optarg, '/');
            if (!slash) die("--shard: expected K/N, e.g. 0/4");
            *slash = 0;
            o.shard_k = cli_parse_long("--shard", optarg, 0, 1 << 20);
            o.shard_n = cli_parse_long("--shard", slash + 1, 1, 1 << 20);
            *slash = '/';
            if (o.shard_k >= o.shard_n) die("--shard %s: K must be below N", optarg);
            break;
        }
        case O_MAX_TOKENS: o.max_tokens = cli_parse_long("--max-tokens", optarg, 1, INT32_MAX); break;
        case O_KEEP_EMPTY: o.keep_empty = 1; break;
        case O_IDS: o.ids_text = 1; break;
        case 'o': o.out = optarg; break;
        case 'h': fputs(USAGE, stdout); return 0;
        case O_VERSION: cli_print_version();
        default: cli_bad_option(argv);
        }
    }

    /* Before anything opens a file: with fd 0 closed, the first file opened
     * (the vocabulary, a spool) would be read as stdin. */
    herr he;
    int reads_stdin = optind == argc;
    for (int i = optind; i < argc; i++) reads_stdin |= strcmp(argv[i], "-") == 0;
    if (reads_stdin && textin_stdin_check(&he)) die("%s", he.msg);

    /* Tokenizer first: a bad vocabulary fails before any input is read. */
    bpe *tok = bpe_load(o.vocab, o.merges, &he);
    if (!tok) die("%s", he.msg);
    char vocab_sha[65], merges_sha[65], tok_sha[65];
    file_sha256(o.vocab, "--vocab", vocab_sha);
    file_sha256(o.merges, "--merges", merges_sha);
    {   /* tokenizer identity: sha256 of vocab.json's bytes then merges.txt's */
        size_t lv, lm;
        char *v = cli_read_file(o.vocab, &lv), *m = cli_read_file(o.merges, &lm);
        sha256_hex_ctx ctx;
        sha256_hex_init(&ctx);
        sha256_hex_add(&ctx, v, lv);
        sha256_hex_add(&ctx, m, lm);
        sha256_hex_done(&ctx, tok_sha);
        free(v);
        free(m);
    }

    input in = {0};
    input_open(&in, argc - optind, argv + optind);
    check_selection(&o, &in);

    state st = {.o = &o, .tok = tok};
    story_init(&st.rec);
    outfile *ids_file = NULL;
    if (o.ids_text) {
        ids_file = cli_open_output(o.out);  /* --ids: written whole or not at all */
        st.text_out = ids_file->f;
    } else {
        stream_header h;
        stream_header_init(&h);
        stream_header_add(&h, "tokenizer", "gpt2-byte-level-bpe vocab %zu merges %zu", bpe_vocab_size(tok), bpe_merge_count(tok));
        stream_header_add(&h, "tokenizer-sha256", "%s", tok_sha);
        stream_header_add(&h, "vocab-sha256", "%s", vocab_sha);
        stream_header_add(&h, "merges-sha256", "%s", merges_sha);
        stream_header_add(&h, "stories-sha256", "%s", in.digest);
        stream_header_add(&h, "stories-join", "%s", o.keep_newlines ? "newlines" : "study");
        stream_header_add(&h, "stories-select", "%s", o.ranges_text ? o.ranges_text : "all");
        if (o.split) {
            stream_header_add(&h, "split", "%s", o.split == 1 ? "train" : "test");
            stream_header_add(&h, "split-seed", "%llu", (unsigned long long)o.seed);
            stream_header_add(&h, "train-fraction", "%.17g", o.train_fraction);
        } else {
            stream_header_add(&h, "split", "all");
        }
        if (o.take >= 0) stream_header_add(&h, "take", "%ld", o.take);
        stream_header_add_provenance(&h, argc, argv);
        st.w = cli_open_stream(o.out, STREAM_TOKENS, &h);
        stream_header_free(&h);
    }

    growbuf text = {0};
    size_t term;
    long len, index = 0;           /* index: stories complete so far */
    int pending = 0;               /* pending: text after the last separator */
    while ((len = input_line(&in, &text, &term)) >= 0) {
        size_t start = text.n - (size_t)len, body = (size_t)len - term;
        if (body == strlen(SEPARATOR) && memcmp(text.p + start, SEPARATOR, body) == 0) {
            text.n = start;
            emit_story(&st, index++, &text);
            text.n = 0;
            pending = 0;
            continue;
        }
        pending = 1;
        if (!o.keep_newlines) {  /* the study's joining: the line break becomes one space */
            text.n = start + body;
            if (term) gb_add(&text, " ", 1);
        }
        if (text.n >= STREAM_MAX_RECORD / 4) {
            if (textin_check(text.p, text.n, &he)) die("story %ld: %s", index, he.msg);
            die("story %ld is too long (more than %u bytes)", index, STREAM_MAX_RECORD / 4);
        }
    }
    /* Text after the last separator is one more story (the study's reader
     * dropped it; a filter should not lose text silently); when it holds
     * only spaces it is an empty story like any other. */
    if (pending) emit_story(&st, index++, &text);
    cli_progress_end();
    /* the hashing pass and this one must agree on the stories */
    if (index != in.n_stories) die("internal error: %ld stories read, %ld counted", index, in.n_stories);
    if (st.repaired_stories)
        warn("%ld stories had invalid UTF-8; each bad sequence became U+FFFD", st.repaired_stories);

    if (ids_file) {
        cli_close_output(ids_file);
    } else {
        cli_close_stream(st.w);
    }
    for (int i = 0; i < in.n; i++)
        if (in.files[i] != stdin) fclose(in.files[i]);
    free(in.files);
    free(in.names);
    free(in.empty);
    free(text.p);
    free(o.ranges);
    story_free(&st.rec);
    bpe_tokens_free(&st.toks);
    bpe_free(tok);
    free(repaired);
    return 0;
}
