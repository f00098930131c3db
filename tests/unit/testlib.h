/* testlib.h: a minimal test harness for C unit tests.  Each CHECK prints
 * "ok - what" or "not ok - what (file:line)" for tests/run.sh to count. */
#ifndef HEADS_TESTLIB_H
#define HEADS_TESTLIB_H
#include <stdio.h>
#include <math.h>

static int t_failed;

#define CHECK(cond, ...) do { \
    if (cond) { printf("ok - "); printf(__VA_ARGS__); printf("\n"); } \
    else { t_failed++; printf("not ok - "); printf(__VA_ARGS__); \
           printf(" (%s:%d: %s)\n", __FILE__, __LINE__, #cond); } \
    fflush(stdout); } while (0)

#define CHECK_NEAR(a, b, tol, ...) do { double _a = (a), _b = (b); \
    CHECK(fabs(_a - _b) <= (tol) * (1.0 + fabs(_b)), __VA_ARGS__); \
    if (!(fabs(_a - _b) <= (tol) * (1.0 + fabs(_b)))) printf("    got %.9g want %.9g\n", _a, _b); } while (0)

#define TEST_END() return t_failed ? 1 : 0
#endif
