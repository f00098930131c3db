#!/usr/bin/python3
"""gen_split_golden.py: the story split of `tokenize --split`, computed
independently of the C code, for tests/golden/tokenize/split.txt.

Story i is in the train side when the i-th output (0-based) of splitmix64
seeded with SEED, taken as 53 bits / 2^53, is below the train fraction.

    /usr/bin/python3 tests/oracles/gen_split_golden.py > tests/golden/tokenize/split.txt
"""
M = (1 << 64) - 1


def splitmix64_at(seed, i):
    z = (seed + (i + 1) * 0x9E3779B97F4A7C15) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def train(seed, fraction, i):
    return (splitmix64_at(seed, i) >> 11) / 2.0**53 < fraction


N = 2316  # stories in the mirror file
for seed, fraction in [(1, 0.8), (42, 0.5), (18446744073709551615 >> 1, 0.8)]:
    idx = [i for i in range(N) if train(seed, fraction, i)]
    print(f"seed {seed} fraction {fraction} train {len(idx)} test {N - len(idx)}")
    print("train-first-200", " ".join(map(str, idx[:200])))
    rest = [i for i in range(N) if not train(seed, fraction, i)]
    print("test-first-200", " ".join(map(str, rest[:200])))
