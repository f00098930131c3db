#!/usr/bin/python3
"""gen_tensor_fixtures.py: golden model files for tests/unit/test_tensors.c.

Run with Debian's /usr/bin/python3 (python3-torch, python3-numpy):
    /usr/bin/python3 tests/oracles/gen_tensor_fixtures.py tests/golden/tensors

Writes
  small.bin            torch.save (zip format) of a small state dict: float32,
                       float16, bfloat16, float64 tensors, a tied pair sharing one
                       storage, a transposed (non-contiguous) view, a view with a
                       storage offset, a 0-dim scalar, a 4-D tensor, a bool mask
                       and an int64 buffer, in an OrderedDict with _metadata
  small_p4.bin         the same with pickle protocol 4 (FRAME, MEMOIZE, STACK_GLOBAL)
  many.bin, many_p4.bin  300 0-dim views of one storage and an nn.Parameter
                       (LONG_BINPUT, BININT2, _rebuild_parameter); expected_many.txt
  small.safetensors    the same state dict written by hand (json + struct), each
                       tensor in its own dtype, in the same order
  saved_small.safetensors  the bytes tensors_save_safetensors must produce for
                       small.bin's float tensors (F32, compact header, padded)
  expected.txt         the oracle: per float tensor "name ndim d0 d1 .. : hex
                       bits of every value as float32", plus "skipped N"
  legacy.bin           torch.save(_use_new_zipfile_serialization=False): refused
                       (the only file whose bytes change from run to run)
  bad_*.bin, bad_*.safetensors   corrupt inputs the loaders must refuse; bad.txt
                       gives the expected message fragment, and the tensor
                       whose reading must fail when the file itself opens
                       (a dtype heads does not read)
  gptneo/              a tiny GPT-Neo (config.json: 2 layers, hidden 8, vocab 50)
                       saved the ways Hugging Face does (ok.bin: torch.save with
                       the bool attn.bias buffers, masked_bias, a tied lm_head and
                       an int64 buffer; ok.safetensors; ok_f16.*) and hostile
                       variants forward-dump must refuse with one line naming the
                       tensor and the problem: a NaN, an infinity, an F64 value
                       beyond float32, integer dtypes where weights belong, and a
                       view of 2^28 elements over a 1-element storage;
                       gptneo/cases.txt lists file, expected fragment
The safetensors package is not used: the format is written directly, so the C
reader is checked against torch's own tensors, not against another reader.
"""
import collections
import io
import json
import os
import struct
import sys
import zipfile

import numpy as np
import torch

out = sys.argv[1] if len(sys.argv) > 1 else "tests/golden/tensors"
os.makedirs(out, exist_ok=True)
g = torch.Generator().manual_seed(1234)


def rnd(*shape, dtype=torch.float32):
    return (torch.randn(*shape, generator=g) * 3).to(dtype)


sd = collections.OrderedDict()
sd["transformer.wte.weight"] = rnd(5, 3)
sd["transformer.h.0.attn.attention.bias"] = torch.tril(torch.ones(4, 4, dtype=torch.bool)).view(1, 1, 4, 4)
sd["transformer.h.0.attn.attention.masked_bias"] = torch.tensor(-1e9)
base = rnd(4, 3)
sd["proj.weight_t"] = base.t()                 # non-contiguous, strides (1, 3)
long_vec = rnd(10)
sd["vec.head"] = long_vec[:4]                  # shares storage with vec.tail
sd["vec.tail"] = long_vec[6:]                  # storage offset 6
sd["half.weight"] = rnd(2, 3, dtype=torch.float16)
sd["half.weight"][0, 0] = 6.1e-5               # near the subnormal range
sd["half.weight"][0, 1] = 3.0e-7               # a float16 subnormal
sd["bf16.weight"] = rnd(2, 2, dtype=torch.bfloat16)
sd["f64.bias"] = rnd(3, dtype=torch.float64)
sd["block4d"] = rnd(1, 2, 2, 3)
sd["position_ids"] = torch.arange(6, dtype=torch.int64).view(1, 6)
sd["empty"] = torch.zeros(0, 3)
sd["lm_head.weight"] = sd["transformer.wte.weight"]   # tied: one storage
sd._metadata = collections.OrderedDict([("", {"version": 1}), ("transformer", {"version": 1})])

torch.save(sd, os.path.join(out, "small.bin"))
torch.save(sd, os.path.join(out, "small_p4.bin"), pickle_protocol=4)   # FRAME, MEMOIZE, STACK_GLOBAL
torch.save(sd, os.path.join(out, "legacy.bin"), _use_new_zipfile_serialization=False)

# Sanity: torch reads its own file back and the tie survives.
back = torch.load(os.path.join(out, "small.bin"))
assert back["lm_head.weight"].data_ptr() == back["transformer.wte.weight"].data_ptr()
assert not back["proj.weight_t"].is_contiguous()

# A state dict with 300 0-dim views into one storage (offsets past 255: BININT2;
# more than 256 memo slots: LONG_BINPUT) and an nn.Parameter
# (torch._utils._rebuild_parameter).
many = collections.OrderedDict()
vec = rnd(300)
for i in range(300):
    many["s%d" % i] = vec[i]
many["param"] = torch.nn.Parameter(rnd(2, 2))
torch.save(many, os.path.join(out, "many.bin"))
torch.save(many, os.path.join(out, "many_p4.bin"), pickle_protocol=4)

# --- expected listings --------------------------------------------------------
FLOATS = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def write_expected(fname, d):
    lines, skipped = [], 0
    for name, t in d.items():
        if t.dtype not in FLOATS:
            skipped += 1
            continue
        a = t.detach().to(torch.float32).contiguous().numpy()
        bits = a.reshape(-1).view(np.uint32)
        lines.append("%s %d %s : %s" % (name, a.ndim, " ".join(str(d) for d in a.shape),
                                        " ".join("%08x" % b for b in bits)))
    with open(os.path.join(out, fname), "w") as f:
        f.write("# name ndim shape... : float32 bits of every value (row-major)\n")
        f.write("\n".join(lines) + "\n")
        f.write("skipped %d\n" % skipped)


write_expected("expected.txt", sd)
write_expected("expected_many.txt", many)

# --- safetensors by hand -------------------------------------------------------
ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
      torch.float64: "F64", torch.bool: "BOOL", torch.int64: "I64"}


def raw_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def safetensors_bytes(items, metadata=None, pad=True):
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, t in items:
        b = raw_bytes(t)
        header[name] = {"dtype": ST[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


st_items = list(sd.items())
with open(os.path.join(out, "small.safetensors"), "wb") as f:
    f.write(safetensors_bytes(st_items, {"format": "pt"}))

# What tensors_save_safetensors must write for small.bin's float tensors:
# F32, the set's order, __metadata__ first, compact JSON padded with spaces.
f32_items = [(n, t.detach().to(torch.float32)) for n, t in sd.items() if t.dtype in FLOATS]
with open(os.path.join(out, "saved_small.safetensors"), "wb") as f:
    f.write(safetensors_bytes(f32_items, {"format": "pt"}))

# --- corrupt inputs --------------------------------------------------------------
bad = []   # (file, expected message fragment)


def bad_st(fname, data, frag, tensor=None):
    with open(os.path.join(out, fname), "wb") as f:
        f.write(data)
    bad.append((fname, frag) if tensor is None else (fname, frag, tensor))


two = [("a", rnd(2, 2)), ("b", rnd(3))]
good = safetensors_bytes(two)
hl = struct.unpack("<Q", good[:8])[0]
hdr = json.loads(good[8:8 + hl])
body = good[8 + hl:]


def with_header(h, body=body):
    hb = json.dumps(h).encode()
    return struct.pack("<Q", len(hb)) + hb + body


bad_st("bad_hlen.safetensors", struct.pack("<Q", 1 << 40) + good[8:], "header length")
h = json.loads(json.dumps(hdr)); h["b"]["data_offsets"] = [16, 16 + 12 + 400]; h["b"]["shape"] = [103]
bad_st("bad_offsets.safetensors", with_header(h), "beyond the data")
h = json.loads(json.dumps(hdr)); h["b"]["data_offsets"] = [8, 20]
bad_st("bad_overlap.safetensors", with_header(h), "overlaps")
h = json.loads(json.dumps(hdr)); h["b"]["shape"] = [4]
bad_st("bad_size.safetensors", with_header(h), "need")
bad_st("bad_json.safetensors", struct.pack("<Q", 20) + b'{"a": {"dtype": "F3' + body, "bad JSON")
# A dtype heads does not know opens (a newer safetensors may add dtypes;
# the offsets are still checked) and is refused when it is read.
h = json.loads(json.dumps(hdr)); h["a"]["dtype"] = "F128"
bad_st("bad_dtype.safetensors", with_header(h), "dtype F128", tensor="a")
h = json.loads(json.dumps(hdr)); h["a"]["dtype"] = "F32; rm -rf"
bad_st("bad_dtypename.safetensors", with_header(h), "not a dtype name")
h = json.loads(json.dumps(hdr)); h["a"]["dtype"] = "I32"
bad_st("bad_i32.safetensors", with_header(h), "has dtype I32", tensor="a")
h = json.loads(json.dumps(hdr)); h["a"]["shape"] = [2, -2]
bad_st("bad_shape.safetensors", with_header(h), "shape")
bad_st("bad_hole.safetensors", with_header(hdr, body + b"\0" * 8), "after the last tensor")
dup = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
bad_st("bad_dup.safetensors", struct.pack("<Q", len(dup)) + dup + b"\0" * 4, "appears twice")
dup = b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"dtype":"F16"}}'
bad_st("bad_dupfield.safetensors", struct.pack("<Q", len(dup)) + dup + b"\0" * 4, "duplicate")
# Structure the member-by-member parse must refuse: a bracket closed by the
# wrong kind, text after the object, a member without a value.
for fname, text, frag in [("bad_brackets.safetensors", b'{"a":{"dtype":"F32","shape":[1},"data_offsets":[0,4]]}', "bad JSON"),
                          ("bad_trailing.safetensors", b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}} x', "after the object"),
                          ("bad_novalue.safetensors", b'{"a":}', "bad JSON")]:
    bad_st(fname, struct.pack("<Q", len(text)) + text + b"\0" * 4, frag)

# Zips: take the real small.bin apart and rebuild it in broken ways.
zin = zipfile.ZipFile(os.path.join(out, "small.bin"))
names = zin.namelist()
prefix = names[0].split("/")[0]
members = {n: zin.read(n) for n in names}


def write_zip(fname, entries, compress=zipfile.ZIP_STORED, frag=""):
    with zipfile.ZipFile(os.path.join(out, fname), "w", compression=compress) as z:
        for n, d in entries:   # fixed timestamps: the same bytes on every run
            z.writestr(zipfile.ZipInfo(n, date_time=(2020, 1, 1, 0, 0, 0)), d, compress_type=compress)
    bad.append((fname, frag))


pkl = members[prefix + "/data.pkl"]
storages = [(n, d) for n, d in members.items() if "/data/" in n]
write_zip("bad_compressed.bin", list(members.items()), zipfile.ZIP_DEFLATED, "compressed")
write_zip("bad_nopkl.bin", storages + [(prefix + "/version", b"3\n")], frag="data.pkl")
# A pickle that calls os.system: pickle.dumps of a __reduce__ to os.system, by hand.
evil = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."
write_zip("bad_global.bin", [("evil/data.pkl", evil), ("evil/version", b"3\n")], frag="os.system")
# builtins.eval via the same route
evil2 = b"\x80\x02c__builtin__\neval\nX\x01\x00\x00\x001\x85R."
write_zip("bad_eval.bin", [("evil/data.pkl", evil2)], frag="__builtin__.eval")
# A forbidden opcode: INST ('i') in place of GLOBAL + REDUCE.
inst = b"\x80\x02(X\x01\x00\x00\x00aios\nsystem\n."
write_zip("bad_opcode.bin", [("evil/data.pkl", inst)], frag="INST")
# The real pickle but one storage missing from the archive.
write_zip("bad_nostorage.bin", [(n, d) for n, d in members.items() if not n.endswith("/data/0")],
          frag="data/0")
# The real pickle with a storage shorter than it claims.
short = [(n, (d[:-4] if n.endswith("/data/0") else d)) for n, d in members.items()]
write_zip("bad_shortstorage.bin", short, frag="bytes")
# Pickle ends without STOP.
write_zip("bad_nostop.bin", [(prefix + "/data.pkl", pkl[:-1])] + storages, frag="STOP")
# A data.pkl whose top-level object is a list, not a dict.
write_zip("bad_toplist.bin", [("x/data.pkl", b"\x80\x02]q\x00.")], frag="dict")
bad.append(("legacy.bin", "legacy"))


# Hand-made state-dict pickles over one 1-element float storage "x/data/0".
def U(text):
    b = text.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def tensor_pickle(offset=b"K\x00", size=b")", stride=b")"):
    return (b"ctorch._utils\n_rebuild_tensor_v2\n((" + U("storage") + b"ctorch\nFloatStorage\n"
            + U("0") + U("cpu") + b"K\x01tQ" + offset + size + stride
            + b"\x89ccollections\nOrderedDict\n)RtR")


def state_pickle(entries):
    body = b"".join(U(k) + v for k, v in entries)
    return b"\x80\x02ccollections\nOrderedDict\n)R(" + body + b"u."


one_float = struct.pack("<f", 2.5)
write_zip("bad_dupname.bin", [("x/data.pkl", state_pickle([("a", tensor_pickle()), ("a", tensor_pickle())])),
                              ("x/data/0", one_float)], frag="appears twice")
write_zip("bad_view.bin", [("x/data.pkl", state_pickle([("a", tensor_pickle(size=b"K\x02\x85", stride=b"K\x01\x85"))])),
                           ("x/data/0", one_float)], frag="reaches element")
write_zip("bad_negoffset.bin", [("x/data.pkl", state_pickle([("a", tensor_pickle(offset=b"J\xff\xff\xff\xff"))])),
                                ("x/data/0", one_float)], frag="storage offset")
write_zip("bad_notensor.bin", [("x/data.pkl", state_pickle([("a", b"K\x07")])), ("x/data/0", one_float)],
          frag="not a tensor")
# A view of 2^24 x 16 elements (strides 0) over the 1-element storage: it
# "lies inside" the storage but would cost 1 GiB as float32.
write_zip("bad_hugeview.bin", [("x/data.pkl", state_pickle([("a", tensor_pickle(size=b"J\x00\x00\x00\x01K\x10\x86",
                                                                              stride=b"K\x00K\x00\x86"))])),
                               ("x/data/0", one_float)], frag="over a storage of only 1")
# Opcodes that need a MARK, without one.
write_zip("bad_tuple_nomark.bin", [("x/data.pkl", b"\x80\x02K\x01t.")], frag="TUPLE without a MARK")
write_zip("bad_setitems_nomark.bin", [("x/data.pkl", b"\x80\x02}K\x01K\x02u.")], frag="SETITEMS without a MARK")
write_zip("bad_appends_nomark.bin", [("x/data.pkl", b"\x80\x02]K\x01e.")], frag="APPENDS without a MARK")
# A memo index far ahead of the entries written (a 16 M-slot memo from 5 bytes).
write_zip("bad_memoskip.bin", [("x/data.pkl", b"\x80\x02}r\x00\x00\x00\x01.")], frag="skips ahead")
# A LongStorage tensor opens and is refused when read.
write_zip("bad_i64.bin", [("x/data.pkl", state_pickle([("a", tensor_pickle().replace(b"FloatStorage", b"LongStorage"))])),
                          ("x/data/0", struct.pack("<q", 7))], frag="has dtype I64")
bad[-1] = bad[-1] + ("a",)
# The same hand-made pickle, well formed, must load (so the three above fail
# for the reason named, not for the pickle's framing).
with zipfile.ZipFile(os.path.join(out, "handmade.bin"), "w") as z:
    for n, d in [("x/data.pkl", state_pickle([("a", tensor_pickle())])), ("x/data/0", one_float),
                 ("x/version", b"3\n")]:
        z.writestr(zipfile.ZipInfo(n, date_time=(2020, 1, 1, 0, 0, 0)), d)
assert torch.load(os.path.join(out, "handmade.bin"))["a"].item() == 2.5   # torch agrees it is valid

with open(os.path.join(out, "bad.txt"), "w") as f:
    f.write("# file<TAB>fragment the one-line error must contain[<TAB>tensor: the file opens and reading this tensor fails]\n")
    for b in bad:
        f.write("\t".join(b) + "\n")
print("wrote", out, "(%d corrupt files)" % len(bad))


# --- a tiny GPT-Neo, saved well and saved hostile --------------------------------
# The config model-init writes for --layers 2 --heads 2 --hidden 8 --vocab 50
# --positions 16 --window 4 (global, local), so forward-dump runs it.
G = os.path.join(out, "gptneo")
os.makedirs(G, exist_ok=True)
L, D, V, P, W = 2, 8, 50, 16, 4
config = collections.OrderedDict([
    ("_name_or_path", "heads tensor fixture (random)"), ("activation_function", "gelu_new"),
    ("architectures", ["GPTNeoForCausalLM"]), ("attention_dropout", 0),
    ("attention_layers", ["global", "local"]), ("attention_types", [[["global", "local"], 1]]),
    ("bos_token_id", 49), ("embed_dropout", 0), ("eos_token_id", 49), ("hidden_size", D),
    ("initializer_range", 0.02), ("intermediate_size", None), ("layer_norm_epsilon", 1e-5),
    ("max_position_embeddings", P), ("model_type", "gpt_neo"), ("num_heads", 2), ("num_layers", L),
    ("resid_dropout", 0), ("torch_dtype", "float32"), ("use_cache", True), ("vocab_size", V),
    ("window_size", W)])
with open(os.path.join(G, "config.json"), "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")

g2 = torch.Generator().manual_seed(99)


def w(*shape, mean=0.0, std=0.3):
    return torch.randn(*shape, generator=g2) * std + mean


def gptneo_state(dtype=torch.float32):
    """A GPTNeoForCausalLM state dict as save_pretrained wrote it for torch."""
    sd = collections.OrderedDict()
    sd["transformer.wte.weight"] = w(V, D).to(dtype)
    sd["transformer.wpe.weight"] = w(P, D).to(dtype)
    causal = torch.tril(torch.ones((P, P), dtype=torch.bool))
    for l in range(L):
        p = "transformer.h.%d." % l
        sd[p + "ln_1.weight"] = w(D, mean=1.0, std=0.1).to(dtype)
        sd[p + "ln_1.bias"] = w(D, std=0.05).to(dtype)
        mask = causal if l == 0 else torch.bitwise_xor(causal, torch.tril(causal, -W))
        sd[p + "attn.attention.bias"] = mask.view(1, 1, P, P).clone()
        sd[p + "attn.attention.masked_bias"] = torch.tensor(-1e9).to(dtype)
        for n in ("k_proj", "v_proj", "q_proj", "out_proj"):
            sd[p + "attn.attention.%s.weight" % n] = w(D, D).to(dtype)
        sd[p + "attn.attention.out_proj.bias"] = w(D, std=0.05).to(dtype)
        sd[p + "ln_2.weight"] = w(D, mean=1.0, std=0.1).to(dtype)
        sd[p + "ln_2.bias"] = w(D, std=0.05).to(dtype)
        sd[p + "mlp.c_fc.weight"] = w(4 * D, D).to(dtype)
        sd[p + "mlp.c_fc.bias"] = w(4 * D, std=0.05).to(dtype)
        sd[p + "mlp.c_proj.weight"] = w(D, 4 * D).to(dtype)
        sd[p + "mlp.c_proj.bias"] = w(D, std=0.05).to(dtype)
    sd["transformer.ln_f.weight"] = w(D, mean=1.0, std=0.1).to(dtype)
    sd["transformer.ln_f.bias"] = w(D, std=0.05).to(dtype)
    sd["transformer.position_ids"] = torch.arange(P, dtype=torch.int64).view(1, P)   # unused int64
    sd["lm_head.weight"] = sd["transformer.wte.weight"]                               # tied
    return sd


base32 = gptneo_state(torch.float32)
base16 = gptneo_state(torch.float16)
cases = []   # (file, fragment or "ok")


def save_bin(name, sd, frag):
    torch.save(sd, os.path.join(G, name))
    cases.append((name, frag))


def save_st(name, sd, frag):
    items = [(n, t) for n, t in sd.items() if n != "lm_head.weight"]   # safetensors drops the tie
    with open(os.path.join(G, name), "wb") as f:
        f.write(safetensors_bytes(items, {"format": "pt"}))
    cases.append((name, frag))


ST[torch.int32] = "I32"
save_bin("ok.bin", base32, "ok")
save_st("ok.safetensors", base32, "ok")
save_bin("ok_f16.bin", base16, "ok")
save_st("ok_f16.safetensors", base16, "ok")

sd = collections.OrderedDict(base32); sd["transformer.wte.weight"] = base32["transformer.wte.weight"].clone()
sd["transformer.wte.weight"][3, 1] = float("nan"); sd["lm_head.weight"] = sd["transformer.wte.weight"]
save_st("nan_wte.safetensors", sd, "tensor transformer.wte.weight: element \\[3, 1\\] is NaN")
save_bin("nan_wte.bin", sd, "tensor transformer.wte.weight: element \\[3, 1\\] is NaN")
sd = collections.OrderedDict(base32); t = base32["transformer.h.1.attn.attention.out_proj.weight"].clone()
t[2, 5] = float("inf"); sd["transformer.h.1.attn.attention.out_proj.weight"] = t
save_bin("inf_out_proj.bin", sd, "tensor transformer.h.1.attn.attention.out_proj.weight: element \\[2, 5\\] is inf")
save_st("inf_out_proj.safetensors", sd, "tensor transformer.h.1.attn.attention.out_proj.weight: element \\[2, 5\\] is inf")
sd = collections.OrderedDict(base16); t = base16["transformer.h.0.mlp.c_fc.weight"].clone()
t[7, 0] = float("-inf"); sd["transformer.h.0.mlp.c_fc.weight"] = t
save_bin("ninf_f16.bin", sd, "tensor transformer.h.0.mlp.c_fc.weight: element \\[7, 0\\] is -inf")
sd = collections.OrderedDict(base32); t = base32["transformer.ln_f.bias"].to(torch.float64).clone()
t[4] = 1e300; sd["transformer.ln_f.bias"] = t
save_st("f64_overflow.safetensors", sd, "tensor transformer.ln_f.bias: element \\[4\\] is inf .F64 rounded to float32")
sd = collections.OrderedDict(base32); sd["transformer.wte.weight"] = base32["transformer.wte.weight"].to(torch.int32)
sd["lm_head.weight"] = sd["transformer.wte.weight"]
save_st("i32_wte.safetensors", sd, "tensor transformer.wte.weight has dtype I32")
sd = collections.OrderedDict(base32); sd["transformer.wte.weight"] = base32["transformer.wte.weight"].to(torch.int64)
sd["lm_head.weight"] = sd["transformer.wte.weight"]
save_bin("i64_wte.bin", sd, "tensor transformer.wte.weight has dtype I64")
sd = collections.OrderedDict(base32); sd["lm_head.weight"] = base32["transformer.wte.weight"].to(torch.bool)
save_bin("bool_lm_head.bin", sd, "tensor lm_head.weight has dtype BOOL")
# An extra tensor, used by nobody, that views 2^24 x 16 elements over one
# float: the loader before this check read it whole (1 GiB) and went on.
sd = collections.OrderedDict(base32)
sd["junk.weight"] = torch.zeros(1).as_strided((1 << 24, 16), (0, 0))
save_bin("hugeview.bin", sd, "tensor junk.weight is a view of 268435456 elements over a storage of only 1")
back = torch.load(os.path.join(G, "hugeview.bin"))
assert back["junk.weight"].shape == (1 << 24, 16) and back["junk.weight"].stride() == (0, 0)
with open(os.path.join(G, "cases.txt"), "w") as f:
    f.write("# file<TAB>ok, or an ERE the one-line error of forward-dump must match\n")
    for c in cases:
        f.write("\t".join(c) + "\n")
print("wrote", G, "(%d model files)" % len(cases))
