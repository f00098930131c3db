/* test_vecmath.c: the shared vector-math kit (common/model/vecmath.h)
 * against libm in double: exp's accuracy over its whole range, its value for
 * every input (NaN, infinities, huge arguments: defined, never undefined
 * behaviour), vector lanes equal to the scalar twin bit for bit, gelu_new and
 * tanh against their formulas, LayerNorm statistics against a double sum. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "model/vecmath.h"
#include "testlib.h"

static float bits_f(uint32_t b)
{
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static int same_bits(float a, float b) { return memcmp(&a, &b, 4) == 0; }

int main(void)
{
    /* accuracy over the clamped range */
    double worst = 0;
    float at = 0;
    for (int i = 0; i <= 400000; i++) {
        float x = VM_EXP_LO + (VM_EXP_HI - VM_EXP_LO) * (float)i / 400000.0f;
        double want = exp((double)x), got = vm_exp1(x);
        double r = fabs(got - want) / want;
        if (r > worst) { worst = r; at = x; }
    }
    CHECK(worst < 5e-7, "exp: max relative error %.2g (at %g) over [ln FLT_MIN, ln FLT_MAX]", worst, at);

    /* every input has a defined value */
    CHECK(isnan(vm_exp1(NAN)) && isnan(vm_exp1(-NAN)), "exp(NaN) is NaN");
    CHECK(isfinite(vm_exp1(INFINITY)) && vm_exp1(INFINITY) > 1e38f,
          "exp(+Inf) is clamped to a finite float above 1e38 (%g)", vm_exp1(INFINITY));
    CHECK(vm_exp1(-INFINITY) > 0 && vm_exp1(-INFINITY) <= FLT_MIN * 1.001f,
          "exp(-Inf) is clamped to ~FLT_MIN (%g): a softmax denominator is never 0", vm_exp1(-INFINITY));
    CHECK(isfinite(vm_exp1(1e30f)) && vm_exp1(-1e30f) > 0, "exp of huge arguments stays finite");

    /* vector lanes = scalar, bit for bit, on ordinary and special inputs */
    float in[64];
    for (int i = 0; i < 48; i++) in[i] = -100.0f + 4.3f * (float)i;
    in[48] = NAN; in[49] = INFINITY; in[50] = -INFINITY; in[51] = 0.0f; in[52] = -0.0f;
    in[53] = bits_f(0x00000001u); in[54] = 88.5f; in[55] = -87.5f;
    for (int i = 56; i < 64; i++) in[i] = (float)i * 0.37f - 11.0f;
    int same = 1, same_g = 1, same_t = 1;
    for (int i = 0; i < 64; i += 8) {
        float e[8], g[8], t[8];
        vm_store(e, vm_exp(vm_load(in + i)));
        vm_store(g, vm_gelu_new(vm_load(in + i)));
        vm_store(t, vm_tanh(vm_load(in + i)));
        for (int k = 0; k < 8; k++) {
            same &= same_bits(e[k], vm_exp1(in[i + k]));
            same_g &= same_bits(g[k], vm_gelu_new1(in[i + k])) || (isnan(g[k]) && isnan(vm_gelu_new1(in[i + k])));
            same_t &= same_bits(t[k], vm_tanh1(in[i + k])) || (isnan(t[k]) && isnan(vm_tanh1(in[i + k])));
        }
    }
    CHECK(same, "exp: vector lanes = scalar twin, bit for bit (NaN, Inf, 0, subnormal included)");
    CHECK(same_g, "gelu_new: vector lanes = scalar twin");
    CHECK(same_t, "tanh: vector lanes = scalar twin");

    /* gelu_new and tanh against their formulas in double */
    double wg = 0, wt = 0;
    for (int i = 0; i <= 20000; i++) {
        double x = -12.0 + 24.0 * i / 20000.0;
        double u = sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x);
        double g = 0.5 * x * (1.0 + tanh(u));
        wg = fmax(wg, fabs(vm_gelu_new1((float)x) - g) / fmax(1.0, fabs(g)));
        wt = fmax(wt, fabs(vm_tanh1((float)x) - tanh(x)));
    }
    CHECK(wg < 1e-6, "gelu_new = 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))) (max err %.2g)", wg);
    CHECK(wt < 1e-6, "tanh (max abs err %.2g)", wt);

    /* LayerNorm statistics */
    float row[37];
    double s = 0, v = 0;
    for (int i = 0; i < 37; i++) { row[i] = (float)sin(i * 1.7) * 3.0f + 100.0f; s += row[i]; }
    double m = s / 37;
    for (int i = 0; i < 37; i++) v += (row[i] - m) * (row[i] - m);
    float mu, rstd;
    vm_ln_stats(row, 37, 1e-5, &mu, &rstd);
    CHECK(fabs(mu - m) < 1e-5 && fabs(rstd - 1.0 / sqrt(v / 37 + 1e-5)) < 1e-6 * (1.0 / sqrt(v / 37)),
          "LayerNorm statistics (biased variance, eps inside the root) on a row offset by 100");

    /* select and reductions */
    vm_f8 a = {1, 9, 3, 7, 5, 2, 8, 4}, b = vm_splat(4.5f);
    float mx[8];
    vm_store(mx, vm_max(a, b));
    CHECK(mx[0] == 4.5f && mx[1] == 9 && vm_hmax(a) == 9 && vm_hsum(a) == 39, "max, hmax, hsum");
    TEST_END();
}
