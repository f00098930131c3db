/* pyfmt.h: numbers and strings formatted exactly as Python's json.dumps
 * writes them, so reports compare byte for byte with scikit-learn's.
 */
#ifndef HEADS_PYFMT_H
#define HEADS_PYFMT_H

#include <stdio.h>

/** Format a double as Python's repr(float): the shortest digit string that
 *  reads back to the same double, fixed notation for 1e-4 <= |v| < 1e16
 *  ("0.5", "5099.0", "0.0001"), else exponent ("1e-05", "1.5e+16");
 *  "NaN", "Infinity", "-Infinity" as json.dumps writes them.
 *  @param v value @param buf at least 32 bytes @return buf */
char *py_repr_double(double v, char buf[32]);

/** Write s as a JSON string literal as json.dumps(ensure_ascii=True)
 *  does: quotes, \" \\ \n \r \t \b \f, other control characters and every
 *  non-ASCII code point as \uXXXX (surrogate pairs above U+FFFF; invalid
 *  UTF-8 bytes as \u00XX).  @param f output @param s NUL-terminated UTF-8 */
void py_json_string(FILE *f, const char *s);

/** Sum as numpy's add.reduce does for a contiguous float64 array
 *  (pairwise summation, 8 accumulators, blocks of 128), bit for bit.
 *  @param a values @param n count @return the sum (0.0 for n == 0) */
double np_pairwise_sum(const double *a, size_t n);

#endif
