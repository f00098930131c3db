/* cli.h: what every tool shares at its edges: the tool name in error
 * messages, dying with one clear line, version, terminal checks, progress.
 *
 * Every tool calls cli_init(argv[0]) first; afterwards die() prefixes its
 * message with the tool name, so an error is always one line on stderr:
 *     tokenize: vocab.json: no such file
 */
#ifndef HEADS_CLI_H
#define HEADS_CLI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <nettle/sha2.h>

/** Project version, printed by every tool's --version and recorded in
 *  provenance headers. */
#define HEADS_VERSION "0.1.0"

/** Remember the tool's name (basename of argv0) for messages.
 *  @param argv0 argv[0] of main */
void cli_init(const char *argv0);

/** @return the tool name given to cli_init ("heads" before it). */
const char *cli_tool(void);

/** Print "tool: message" plus newline on stderr, run the registered
 *  cleanup (removing half-written outputs) and exit(1). */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/** Print "tool: message" plus newline on stderr and continue. */
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Print "tool VERSION" on stdout and exit(0). */
void cli_print_version(void) __attribute__((noreturn));

/** Register a function that die() calls before exiting (at most 8);
 *  used by the stream writer to unlink its temporary file. */
void cli_on_die(void (*fn)(void));

/** Join argv[1..argc-1] into one line for a provenance header, quoting
 *  arguments with spaces. @return malloc'd string (caller frees), or NULL
 *  when out of memory. */
char *cli_join_args(int argc, char **argv);

/** Progress of long work on stderr (common/cli/progress.c).  A task starts
 *  with the first call for a label and ends at cli_progress_end (or when
 *  another label starts).  On a terminal: one line redrawn in place, at
 *  most 10 times a second: "tool: 120/256 probes, 31.2/s, 4.4 s left",
 *  then a summary line "tool: 256 probes in 8.2 s (31.2/s)".  Not on a
 *  terminal (make logs, files): nothing while the task is younger than 10
 *  s; after that a line as the count passes 1/4, 1/2 and 3/4 of a known
 *  total (every 60 s when the total is unknown), and the summary line at
 *  the end.  Env HEADS_PROGRESS=bar|lines|off forces a mode;
 *  HEADS_PROGRESS_MIN=S sets the 10 s (and the 60 s to 6 S).
 *  Calls from several threads must be serialised by the caller.
 *  @param what label, e.g. "stories"; @param done count so far;
 *  @param total count expected or 0 when unknown */
void cli_progress(const char *what, uint64_t done, uint64_t total);

/** cli_progress with a short text appended to the line (e.g. "loss 3.41").
 *  @param extra text or NULL */
void cli_progress_x(const char *what, uint64_t done, uint64_t total, const char *extra);

/** End the current task: its summary line (on a terminal when a line was
 *  drawn; elsewhere when it lasted 10 s or more). */
void cli_progress_end(void);

/** Erase a progress line drawn on the terminal (die and warn call it
 *  first, through cli_before_message). */
void cli_progress_clear(void);

/** Register the function die() and warn() call before their message (the
 *  progress display erases its line with it). @param fn function or NULL */
void cli_before_message(void (*fn)(void));

/** The text of a progress line, without the tool name (for tests).
 *  @param buf,n output buffer @param elapsed seconds since the start
 *  @param extra appended text or NULL @param final the summary form
 *  ("N what in T (R/s)")  @return the length snprintf reports */
size_t cli_progress_format(char *buf, size_t n, const char *what, uint64_t done, uint64_t total,
                           double elapsed, const char *extra, int final);

/** A duration as "4.2 s" (under 10 s), "42 s", "3:07" or "1:02:03".
 *  @param s seconds @param buf output @return buf */
char *cli_format_duration(double s, char buf[32]);

/** Parse a non-negative integer fully, or die naming the option.
 *  @return the value */
long cli_parse_long(const char *opt, const char *s, long min, long max);

/** One of a fixed set of words, or die naming the option and the choices
 *  ("--mode: 'x' is not zero or mean").  @param choices NULL-terminated
 *  @return the index of s in choices */
int cli_parse_choice(const char *opt, const char *s, const char *const *choices);

/** Parse a float fully, or die naming the option. */
double cli_parse_double(const char *opt, const char *s);

/** Parse a list like "0-3,5,7" into a 0/1 mask of n entries, or die.
 *  "all" selects every entry. @param mask out, n bytes */
void cli_parse_index_list(const char *opt, const char *s, uint8_t *mask, int n);

/** For getopt_long loops: set `opterr = 0` before the loop (so getopt prints
 *  nothing itself) and call this on '?': dies with one line naming the
 *  unknown option or the option missing its value. */
void cli_bad_option(char **argv) __attribute__((noreturn));

/** After getopt: the one optional input file operand (NULL = stdin); dies
 *  on a second operand.  @return argv[optind] or NULL */
const char *cli_single_input(int argc, char **argv);

/** Read a whole file into memory, or die.
 *  @param path file name; @param len_out receives the length
 *  @return malloc'd bytes with a NUL appended (not counted in len) */
char *cli_read_file(const char *path, size_t *len_out);

/** Open an output file (io/outfile.h: written whole or not at all), or die.
 *  @param path file name, or NULL / "-" for stdout @return the handle */
struct outfile *cli_open_output(const char *path);

/** Close an output opened with cli_open_output (renamed into place), or die. */
void cli_close_output(struct outfile *o);
/** sha256 of a file as 64 lowercase hex characters, or die (for tools).
 *  @param out 65 bytes */
void cli_sha256_file(const char *path, char out[65]);

/** Checked allocation: die on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
