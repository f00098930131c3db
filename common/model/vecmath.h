/* vecmath.h: the small vector-math kit the model code shares: 8-float
 * vectors (GCC/Clang vector extensions), exp, tanh, gelu_new and the
 * LayerNorm statistics, each defined once for inference (gptneo.c) and
 * training (gptneo_train.c).
 *
 * Everything is a forced-inline function: each compiled variant of a hot
 * function (target_clones: AVX2 and baseline x86-64) gets its own copy built
 * for its instruction set, and no 256-bit vector crosses a call, so no ABI
 * question arises.  -std=c17 keeps floating-point contraction off: both
 * variants give bit-identical results.
 */
#ifndef HEADS_MODEL_VECMATH_H
#define HEADS_MODEL_VECMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef float vm_f8 __attribute__((vector_size(32)));
typedef int32_t vm_i8 __attribute__((vector_size(32)));

#define VM_INLINE static inline __attribute__((always_inline))

/* Hot kernels compiled twice (AVX2 and baseline) and picked at load time.
 * Not under ASan (its interceptors and ifuncs do not mix) or clang < 14. */
#if defined(__x86_64__) && (defined(__clang__) ? __clang_major__ >= 14 : __GNUC__ >= 6) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(VM_NO_CLONES)
#define VM_KERNEL __attribute__((target_clones("avx2", "default")))
#else
#define VM_KERNEL
#endif

/** Unaligned load / store of 8 floats. */
VM_INLINE vm_f8 vm_load(const float *p) { vm_f8 v; memcpy(&v, p, sizeof v); return v; }
VM_INLINE void vm_store(float *p, vm_f8 v) { memcpy(p, &v, sizeof v); }
/** All lanes = x.  Written as 0 + x (GCC 12 broadcasts it in one
 *  instruction; the {x, x, ...} initializer becomes 9 lane inserts in the
 *  AVX2 clones, 18% of the attention kernel's time). */
VM_INLINE vm_f8 vm_splat(float x) { return (vm_f8){0, 0, 0, 0, 0, 0, 0, 0} + x; }

/** Lane-wise m ? a : b (m: the result of a vector comparison, lanes all ones or zero). */
VM_INLINE vm_f8 vm_select(vm_i8 m, vm_f8 a, vm_f8 b)
{
    vm_i8 ai, bi;
    memcpy(&ai, &a, sizeof ai);
    memcpy(&bi, &b, sizeof bi);
    vm_i8 r = (ai & m) | (bi & ~m);
    vm_f8 out;
    memcpy(&out, &r, sizeof out);
    return out;
}
VM_INLINE vm_f8 vm_max(vm_f8 a, vm_f8 b) { return vm_select(a > b, a, b); }

/** Largest lane. */
VM_INLINE float vm_hmax(vm_f8 v)
{
    float m = v[0];
    for (int i = 1; i < 8; i++) m = v[i] > m ? v[i] : m;
    return m;
}
/** Sum of the lanes, in a fixed pairing. */
VM_INLINE float vm_hsum(vm_f8 v) { return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])); }

/* exp(x), Cephes' expf (Moshier, Cephes Math Library, expf.c): x = n ln2 + r
 * with |r| <= ln2/2 (ln2 split in two for an exact product), a degree-6
 * polynomial for e^r, times 2^n built in the exponent bits.  Relative
 * error ~2 ulp.  Defined for every input: arguments are clamped to
 * [ln FLT_MIN, ln FLT_MAX] (so the result is a normal float, never 0 or
 * Inf: a softmax over -Inf-free scores then never divides by 0), and NaN
 * gives NaN: the clamps let it through, and 2^n is built from the bits of
 * x log2(e) + 1.5 * 2^23 (whose low mantissa bits hold n) rather than by a
 * float-to-int conversion, so no lane ever converts a NaN.  A softmax's
 * cost is mostly this function: no select is spent on NaN. */
#define VM_EXP_HI 88.3762626647949f
#define VM_EXP_LO (-87.3365447505531f)

VM_INLINE vm_f8 vm_exp(vm_f8 xin)
{
    vm_f8 x = vm_select(xin > vm_splat(VM_EXP_HI), vm_splat(VM_EXP_HI), xin);
    x = vm_select(x < vm_splat(VM_EXP_LO), vm_splat(VM_EXP_LO), x);
    const vm_f8 magic = vm_splat(12582912.0f); /* 1.5 * 2^23: round to nearest */
    vm_f8 t = x * vm_splat(1.44269504088896341f) + magic;
    vm_f8 n = t - magic;
    vm_f8 r = x - n * vm_splat(0.693359375f) - n * vm_splat(-2.12194440e-4f);
    vm_f8 p = vm_splat(1.9875691500e-4f);
    p = p * r + vm_splat(1.3981999507e-3f);
    p = p * r + vm_splat(8.3334519073e-3f);
    p = p * r + vm_splat(4.1665795894e-2f);
    p = p * r + vm_splat(1.6666665459e-1f);
    p = p * r + vm_splat(5.0000001201e-1f);
    p = p * (r * r) + r + vm_splat(1.0f);
    vm_i8 tb, mb;
    const vm_f8 m8 = magic;
    memcpy(&tb, &t, sizeof tb);
    memcpy(&mb, &m8, sizeof mb);
    vm_i8 bits = (tb - mb + 127) << 23; /* n + 127 in the exponent field */
    vm_f8 scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale; /* NaN in: r, p and the product are NaN */
}

/** Scalar twin of vm_exp (the same arithmetic, for loop tails). */
VM_INLINE float vm_exp1(float xin)
{
    float x = xin < VM_EXP_HI ? xin : VM_EXP_HI;
    x = x > VM_EXP_LO ? x : VM_EXP_LO;
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &e, sizeof scale);
    return xin == xin ? p * scale : xin;
}

/** A softmax's numerators in place: p[j] = exp(p[j] - mx) for j < n, and
 *  their sum (8 lanes, then the tail, in that fixed order). */
VM_INLINE float vm_exp_shifted_sum(float *p, int n, float mx)
{
    const int n8 = n & ~7;
    vm_f8 vsum = vm_splat(0.0f), vmx = vm_splat(mx);
    for (int j = 0; j < n8; j += 8) {
        vm_f8 e = vm_exp(vm_load(p + j) - vmx);
        vm_store(p + j, e);
        vsum += e;
    }
    float sum = vm_hsum(vsum);
    for (int j = n8; j < n; j++) {
        p[j] = vm_exp1(p[j] - mx);
        sum += p[j];
    }
    return sum;
}

/** tanh(u) = 1 - 2 / (exp(2u) + 1). */
VM_INLINE vm_f8 vm_tanh(vm_f8 u) { return vm_splat(1.0f) - vm_splat(2.0f) / (vm_exp(u + u) + vm_splat(1.0f)); }
VM_INLINE float vm_tanh1(float u) { return 1.0f - 2.0f / (vm_exp1(u + u) + 1.0f); }

/* gelu_new (Hendrycks & Gimpel 2016, the tanh approximation; Hugging Face
 * activations.py NewGELUActivation):
 *   0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3),
 * evaluated as 0.5 x (2 - 2 / (1 + exp(2u))): one rounding fewer than
 * 1 + tanh(u).  Its derivative (training) uses vm_tanh. */
#define VM_GELU_K 0.7978845608028654f /* sqrt(2/pi) */
VM_INLINE vm_f8 vm_gelu_u(vm_f8 v) { return vm_splat(VM_GELU_K) * (v + vm_splat(0.044715f) * v * v * v); }
VM_INLINE float vm_gelu_u1(float v) { return VM_GELU_K * (v + 0.044715f * v * v * v); }
VM_INLINE vm_f8 vm_gelu_new(vm_f8 v)
{
    vm_f8 u = vm_gelu_u(v);
    return vm_splat(0.5f) * v * (vm_splat(2.0f) - vm_splat(2.0f) / (vm_splat(1.0f) + vm_exp(u + u)));
}
VM_INLINE float vm_gelu_new1(float v)
{
    float u = vm_gelu_u1(v);
    return 0.5f * v * (2.0f - 2.0f / (1.0f + vm_exp1(u + u)));
}

/** LayerNorm's statistics of one row x[0..D) (torch.nn.LayerNorm: biased
 *  variance, eps inside the root): *mean and *rstd = 1 / sqrt(var + eps),
 *  summed in double.  The row is then (x - mean) * rstd * w + b. */
VM_INLINE void vm_ln_stats(const float *x, int D, double eps, float *mean, float *rstd)
{
    double s = 0, v = 0;
    for (int i = 0; i < D; i++) s += x[i];
    const double m = s / D;
    for (int i = 0; i < D; i++) v += (x[i] - m) * (x[i] - m);
    *mean = (float)m;
    *rstd = (float)(1.0 / sqrt(v / D + eps));
}

#endif
