/* err.h: the one error convention of common/.
 *
 * Library code never prints and never exits: a function that can fail takes
 * an `herr *` as its last parameter and returns -1 (or NULL) with a one-line
 * message in it, no tool prefix, no newline.  Only tools turn that into
 * output, with die("%s", e.msg), which adds the tool's name:
 *
 *     herr e;
 *     if (gptneo_load(dir, &m, &e)) die("%s", e.msg);
 *
 * A caller adding context to a callee's message uses herr_prefix:
 *
 *     if (story_decode(&s, rec, len, &e)) return herr_prefix(&e, "story %u: ", i);
 */
#ifndef HEADS_BASE_ERR_H
#define HEADS_BASE_ERR_H

#define HERR_MAX 512

/** An error message buffer (one line). */
typedef struct herr {
    char msg[HERR_MAX]; /**< "" when no error was set */
} herr;

/** Set the message (printf format; newlines and carriage returns become
 *  spaces, so the message stays one line; truncated to HERR_MAX - 1 bytes).
 *  @param e buffer (may be NULL: the message is dropped)
 *  @return -1, so `return herr_set(e, ...)` reports failure */
int herr_set(herr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Put formatted context before the message already in e
 *  ("story 3: " + "token id 9 outside ...").
 *  @param e buffer holding a message (may be NULL) @return -1 */
int herr_prefix(herr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
