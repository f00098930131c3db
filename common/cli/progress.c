/* progress.c: the progress display of long work (cli_progress*, cli.h).
 *
 * On a terminal: one line redrawn in place (at most 10 times a second)
 * with the count, the rate and, when the total is known, the time left.
 * Elsewhere (a make log, a file): nothing for short work; for work that
 * has lasted HEADS_PROGRESS_MIN seconds (10) a line as the count passes a
 * quarter, a half and three quarters of a known total (every 60 s when the
 * total is unknown), and one summary line at the end.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

enum { MODE_UNSET = -1, MODE_OFF = 0, MODE_BAR, MODE_LINES };

static int mode = MODE_UNSET;
static double min_secs = 10.0;      /* lines mode: quiet before this */
static double every_secs = 60.0;    /* lines mode, unknown total */

static struct {
    int active;
    char what[32];
    double start, last_draw, last_line;
    int quarter;                    /* lines mode: quarters reported */
    uint64_t done, total;
    char extra[160];
} task;
static int bar_drawn;               /* a bar line is on the terminal */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void pick_mode(void)
{
    if (mode != MODE_UNSET) return;
    const char *m = getenv("HEADS_PROGRESS");
    if (m && !strcmp(m, "off")) mode = MODE_OFF;
    else if (m && !strcmp(m, "bar")) mode = MODE_BAR;
    else if (m && !strcmp(m, "lines")) mode = MODE_LINES;
    else mode = isatty(2) ? MODE_BAR : MODE_LINES;
    const char *s = getenv("HEADS_PROGRESS_MIN");
    if (s && *s) {
        char *end;
        double v = strtod(s, &end);
        if (!*end && v >= 0) min_secs = v, every_secs = v > 0 ? 6 * v : 0;
    }
}

char *cli_format_duration(double s, char buf[32])
{
    if (!(s >= 0)) s = 0;
    long t = (long)(s + 0.5);
    if (s < 60) snprintf(buf, 32, "%.*f s", s < 10 ? 1 : 0, s);
    else if (t < 3600) snprintf(buf, 32, "%ld:%02ld", t / 60, t % 60);
    else snprintf(buf, 32, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    return buf;
}

/* a rate with 3 significant digits at most, no exponent */
static char *format_rate(double r, char buf[32])
{
    if (r >= 100) snprintf(buf, 32, "%.0f", r);
    else if (r >= 10) snprintf(buf, 32, "%.1f", r);
    else snprintf(buf, 32, "%.2f", r);
    return buf;
}

size_t cli_progress_format(char *buf, size_t n, const char *what, uint64_t done, uint64_t total,
                           double elapsed, const char *extra, int final)
{
    char rate[32], t1[32];
    double r = elapsed > 0 ? (double)done / elapsed : 0;
    int k;
    if (final) {
        k = snprintf(buf, n, "%llu %s in %s", (unsigned long long)done, what, cli_format_duration(elapsed, t1));
        if (elapsed > 0 && done) k += snprintf(buf + k, n > (size_t)k ? n - (size_t)k : 0, " (%s/s)", format_rate(r, rate));
    } else if (total) {
        k = snprintf(buf, n, "%llu/%llu %s", (unsigned long long)done, (unsigned long long)total, what);
        if (elapsed > 0 && done) {
            double left = done < total ? (double)(total - done) / r : 0;
            k += snprintf(buf + k, n > (size_t)k ? n - (size_t)k : 0, ", %s/s, %s left", format_rate(r, rate),
                          cli_format_duration(left, t1));
        }
    } else {
        k = snprintf(buf, n, "%llu %s", (unsigned long long)done, what);
        if (elapsed > 0 && done)
            k += snprintf(buf + k, n > (size_t)k ? n - (size_t)k : 0, ", %s/s", format_rate(r, rate));
    }
    if (extra && *extra) k += snprintf(buf + k, n > (size_t)k ? n - (size_t)k : 0, ", %s", extra);
    return (size_t)k;
}

void cli_progress_clear(void)
{
    if (bar_drawn) {
        fputs("\r\033[K", stderr);
        bar_drawn = 0;
    }
}

static void emit(int final)
{
    char line[512];
    double t = now_s();
    cli_progress_format(line, sizeof line, task.what, task.done, task.total, t - task.start, task.extra, final);
    if (mode == MODE_BAR) {
        fprintf(stderr, "\r%s: %s\033[K", cli_tool(), line);
        bar_drawn = 1;
        cli_before_message(cli_progress_clear);
        if (final) { fputc('\n', stderr); bar_drawn = 0; }
    } else {
        fprintf(stderr, "%s: %s\n", cli_tool(), line);
    }
    fflush(stderr);
    task.last_draw = task.last_line = t;
}

void cli_progress_x(const char *what, uint64_t done, uint64_t total, const char *extra)
{
    pick_mode();
    if (mode == MODE_OFF) return;
    double t = now_s();
    if (!task.active || strncmp(task.what, what, sizeof task.what - 1)) {
        if (task.active) cli_progress_end();
        memset(&task, 0, sizeof task);
        task.active = 1;
        snprintf(task.what, sizeof task.what, "%s", what);
        task.start = task.last_draw = task.last_line = t;
    }
    task.done = done;
    task.total = total;
    snprintf(task.extra, sizeof task.extra, "%s", extra ? extra : "");
    if (mode == MODE_BAR) {
        if (t - task.last_draw >= 0.1 || (total && done >= total)) emit(0);
        return;
    }
    /* lines: only work that has lasted a while says anything */
    if (t - task.start < min_secs) return;
    if (total) {
        int q = done >= total ? 4 : (int)(4 * (double)done / (double)total);
        if (q > task.quarter && q < 4) { task.quarter = q; emit(0); }
    } else if (t - task.last_line >= every_secs) {
        emit(0);
    }
}

void cli_progress(const char *what, uint64_t done, uint64_t total)
{
    cli_progress_x(what, done, total, NULL);
}

void cli_progress_end(void)
{
    if (!task.active) return;
    task.active = 0;
    if (mode == MODE_BAR) {
        if (bar_drawn) emit(1);
    } else if (mode == MODE_LINES && now_s() - task.start >= min_secs) {
        emit(1);
    }
}
