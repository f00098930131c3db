/* test_controls.c: the library parts of the controls (probe/controls.h,
 * probe/bootstrap.h) on cases small enough to check by hand; the tools are
 * checked against the Python oracles in tests/sh/test_controls.sh. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "probe/bootstrap.h"
#include "probe/clsreport.h"
#include "probe/controls.h"
#include "testlib.h"

int main(void)
{
    herr e;
    /* token-id lookup: id 5 A,A,B,B (tie -> A = 0); id 6 C,C,C,A -> C; majority tie A,B,C -> A */
    uint32_t ids[] = {5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 8};
    int y[] = {0, 0, 1, 1, 2, 2, 2, 0, 3, 3, 1};   /* A=0 B=1 C=2 D=3: counts 3 3 3 2 */
    tokid_baseline b;
    CHECK(tokid_baseline_fit(&b, ids, y, 11, 4, &e) == 0, "token-id baseline fits");
    CHECK(b.majority == 0, "majority tie -> the lowest class (A)");
    CHECK(tokid_baseline_predict(&b, 5) == 0 && tokid_baseline_predict(&b, 6) == 2 && tokid_baseline_predict(&b, 7) == 3 &&
              tokid_baseline_predict(&b, 8) == 1,
          "lookup: 5 -> A (tie), 6 -> C, 7 -> D, 8 -> B");
    CHECK(tokid_baseline_predict(&b, 9) == 0 && tokid_baseline_predict(&b, 0) == 0 && tokid_baseline_predict(&b, 99) == 0,
          "ids the training split lacks -> the majority class");
    tokid_baseline_free(&b);
    int bad[] = {0, 4};
    CHECK(tokid_baseline_fit(&b, ids, bad, 2, 4, &e) == -1 && strstr(e.msg, "class 4"), "a class out of range is an error: %s", e.msg);
    CHECK(tokid_baseline_fit(&b, ids, y, 0, 4, &e) == -1, "no tokens is an error");

    /* control task: a class of count 0 is never drawn; one class: always 0 */
    uint64_t cum[] = {10, 10, 30};   /* counts 10, 0, 20 */
    int seen[3] = {0, 0, 0};
    for (uint32_t t = 0; t < 3000; t++) seen[control_task_label(1, t, cum, 3)]++;
    CHECK(seen[1] == 0 && seen[0] > 800 && seen[0] < 1200 && seen[2] > 1800,
          "control labels follow the distribution (10 : 0 : 20 over 3000 types: %d %d %d)", seen[0], seen[1], seen[2]);
    uint64_t one[] = {7};
    CHECK(control_task_label(3, 12345, one, 1) == 0, "one class: always that class");
    int same = 1, differ = 0;
    for (uint32_t t = 0; t < 200; t++) {
        same &= control_task_label(9, t, cum, 3) == control_task_label(9, t, cum, 3);
        differ += control_task_label(9, t, cum, 3) != control_task_label(10, t, cum, 3);
    }
    CHECK(same && differ > 40, "a label is a function of (seed, type): same twice, another seed changes %d of 200", differ);

    /* bootstrap draws: splitmix64 from state 42, floor(z * 7 / 2^64) (numpy / Python ints: 5 1 1 2 0 6) */
    uint32_t *d = boot_draws(42, 1, 7, &e);
    CHECK(d && d[0] == 5 && d[1] == 1 && d[2] == 1 && d[3] == 2 && d[4] == 0 && d[5] == 6, "draws over 7 stories = Python's");
    free(d);
    CHECK(boot_draws(1, 0, 5, &e) == NULL, "0 replicates is an error");

    /* percentiles as numpy.percentile */
    double v[] = {3.0, 1.0, 4.0, 1.5, 9.0, 2.6};
    CHECK(boot_percentile(v, 6, 2.5) == 1.0625, "percentile 2.5 of 6 values = numpy's 1.0625");
    double w[] = {3.0, 1.0, 4.0, 1.5, 9.0, 2.6};
    CHECK(boot_percentile(w, 6, 97.5) == 8.375, "percentile 97.5 = numpy's 8.375");
    double one_v[] = {5.0};
    CHECK(boot_percentile(one_v, 1, 2.5) == 5.0, "one value: itself");
    double two[] = {0.2, 0.1};
    CHECK(boot_percentile(two, 2, 50) == 0.15000000000000002, "the median of 0.1, 0.2 = numpy's 0.15000000000000002");

    /* F1 per replicate: story 0 has the tag, story 1 not; a replicate of story 1 alone has no F1 */
    boot_counts c[2] = {{3, 4, 5}, {0, 1, 0}};
    uint32_t dr[] = {0, 0, 1, 1, 0, 1};
    double f1[3];
    boot_f1(c, 2, dr, 3, f1);
    CHECK(f1[0] == cls_f1(6, 8, 10) && isnan(f1[1]) && f1[2] == cls_f1(3, 5, 5),
          "replicate F1s: summed counts; NaN without the tag");
    CHECK(cls_f1(0, 0, 4) == 0.0 && cls_f1(0, 3, 0) == 0.0 && cls_f1(2, 2, 2) == 1.0, "F1 with zero_division=1's edges");
    TEST_END();
}
