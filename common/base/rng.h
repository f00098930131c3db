/* rng.h: splitmix64 (Steele, Lea & Flood, "Fast splittable pseudorandom
 * number generators", OOPSLA 2014; the constants of Vigna's public-domain
 * splitmix64.c), the one small deterministic generator of the toolkit:
 * random test weights, training initialisation, data order, dropout masks,
 * seeded splits.  Every use derives its stream from a seed, so results
 * never depend on threads or time.
 */
#ifndef HEADS_BASE_RNG_H
#define HEADS_BASE_RNG_H

#include <stdint.h>

/** The splitmix64 finaliser of z (a bijective mix of 64 bits). */
static inline uint64_t rng_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/** Next value of the generator whose state is *s (state += golden gamma,
 *  then the finaliser). */
static inline uint64_t rng_next(uint64_t *s)
{
    return rng_mix64(*s += 0x9E3779B97F4A7C15ull);
}

/** A uniform double in the open interval (0, 1) from the top 53 bits. */
static inline double rng_uniform01(uint64_t *s)
{
    return ((double)(rng_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

#endif
