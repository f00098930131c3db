/* torchbin.c: index PyTorch's pytorch_model.bin (see torchbin.h).
 *
 * The zip container is libzip's job.  The pickle is run here by a small
 * machine that knows only the opcodes and globals a state dict uses
 * (collections.OrderedDict, torch._utils._rebuild_tensor_v2 /
 * _rebuild_parameter, torch.*Storage); anything else is refused by name, so
 * no pickle can make it do more than build dicts, tuples and tensor views.
 * Opcode semantics follow CPython's Lib/pickle.py (_Unpickler.load_*);
 * the persistent id and _rebuild_tensor_v2's arguments follow torch's
 * torch/serialization.py (_save, persistent_id) and torch/_utils.py.
 *
 * What a pickle can cost is bounded: values live in an arena charged
 * against a budget of PK_BUDGET_PER_BYTE bytes per byte of data.pkl plus
 * PK_BUDGET_BASE, and so do the stack (at most PK_MAX_STACK entries), the
 * MARK stack (PK_MAX_MARKS) and the memo (dense: a pickler numbers its memo
 * entries 0, 1, 2, ..., so an index may only overwrite one or add the
 * next).  Measured with torch 1.13's torch.save: 5-8 bytes per byte of
 * data.pkl for state dicts of 5,000 weights, 13.6 for the densest we could
 * make (20,000 0-dim views with 3-character names, pickle protocol 4). */
#include "io/torchbin.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#define PK_MAX_PICKLE ((uint64_t)1 << 30)
#define PK_MAX_STACK ((size_t)1 << 16)
#define PK_MAX_MARKS ((size_t)1 << 10)
#define PK_MAX_DIMS 64
#define PK_BUDGET_PER_BYTE 16
#define PK_BUDGET_BASE ((size_t)1 << 20)
#define MEMO_CHUNK 4096     /* memo entries per arena chunk: no realloc of a big array */

/* torch's storage classes (torch/storage.py, _dtype_to_storage_type_map),
 * named like safetensors dtypes.  Only the first four are read. */
static const struct { const char *storage, *dtype; int bits; enum tf_kind kind; } storage_types[] = {
    {"FloatStorage", "F32", 32, TF_F32},        {"HalfStorage", "F16", 16, TF_F16},
    {"BFloat16Storage", "BF16", 16, TF_BF16},   {"DoubleStorage", "F64", 64, TF_F64},
    {"BoolStorage", "BOOL", 8, TF_OTHER},       {"ByteStorage", "U8", 8, TF_OTHER},
    {"CharStorage", "I8", 8, TF_OTHER},         {"ShortStorage", "I16", 16, TF_OTHER},
    {"IntStorage", "I32", 32, TF_OTHER},        {"LongStorage", "I64", 64, TF_OTHER},
    {"ComplexFloatStorage", "C64", 64, TF_OTHER}, {"ComplexDoubleStorage", "C128", 128, TF_OTHER},
    {"QInt8Storage", "QI8", 8, TF_OTHER},       {"QUInt8Storage", "QU8", 8, TF_OTHER},
    {"QInt32Storage", "QI32", 32, TF_OTHER},    {"QUInt4x2Storage", "QU4X2", 8, TF_OTHER},
    {"QUInt2x4Storage", "QU2X4", 8, TF_OTHER},
};
#define N_STORAGE_TYPES (sizeof storage_types / sizeof storage_types[0])

/* ------------------------------------------------------------- values -- */

enum pkind { P_NONE, P_BOOL, P_INT, P_FLOAT, P_STR, P_TUPLE, P_LIST, P_DICT, P_GLOBAL,
             P_STORAGE, P_TENSOR };

enum gid { G_ORDEREDDICT, G_REBUILD_V2, G_REBUILD_PARAM, G_STORAGE };

/* 16 bytes: scalars and strings inline (a string is a slice of data.pkl),
 * containers, storages and tensors by pointer into the arena. */
typedef struct pval {
    uint8_t k;
    uint32_t n;            /* STR: length; GLOBAL: gid */
    union {
        int64_t i;         /* BOOL, INT; GLOBAL G_STORAGE: storage type */
        double f;
        uint64_t off;      /* STR: offset in data.pkl */
        void *p;           /* TUPLE, LIST, DICT: plist; STORAGE: pstorage; TENSOR: ptensor */
    } u;
} pval;

typedef struct plist {     /* TUPLE, LIST; DICT: key, value, key, value, ... */
    pval *v;
    uint32_t n, cap;
} plist;

typedef struct pstorage {
    uint64_t key_off;      /* the storage key (a slice of data.pkl) */
    uint32_t key_len;
    int type;              /* index in storage_types */
    int64_t numel;
    int64_t zindex;        /* zip entry, once looked up (-1 before) */
    uint64_t bytes;
} pstorage;

typedef struct ptensor {
    pstorage *st;
    int64_t offset;
    int ndim;
    const pval *size, *stride;   /* [ndim] INTs: the items of immutable tuples */
} ptensor;

typedef struct ablock {
    struct ablock *next;
    size_t used, cap;
    max_align_t data[];
} ablock;

typedef struct vm {
    const unsigned char *p;
    size_t len, pos, op_pos;
    ablock *blocks;
    size_t mem, budget;     /* bytes held (arena, stack, marks, memo) and the cap */
    pval *stack;
    size_t sn, scap;
    size_t *marks;
    size_t mn, mcap;
    pval **memo;            /* chunks of MEMO_CHUNK entries, in the arena */
    size_t memo_n, memo_cap;
    plist *empty_tuple;
    herr *e;
} vm;

static int vm_err(vm *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vm_err(vm *m, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return herr_set(m->e, "data.pkl offset %zu: %s", m->op_pos, msg);
}

static int charge(vm *m, size_t bytes)
{
    if (bytes > m->budget - m->mem)
        return vm_err(m, "running this pickle would take more than %zu MB (%d bytes per byte of its "
                      "%zu, plus 1 MB); a state dict takes 5 to 14", m->budget >> 20, PK_BUDGET_PER_BYTE, m->len);
    m->mem += bytes;
    return 0;
}

static void *vm_alloc(vm *m, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    ablock *b = m->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        if (charge(m, cap + sizeof *b)) return NULL;
        b = malloc(sizeof *b + cap);
        if (!b) { vm_err(m, "out of memory"); return NULL; }
        b->next = m->blocks;
        b->used = 0;
        b->cap = cap;
        m->blocks = b;
    }
    void *r = (unsigned char *)b->data + b->used;
    b->used += n;
    return r;
}

/* Grow a malloc'd array to hold need elements, charging the budget. */
static int grow(vm *m, void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    if (charge(m, (c - *cap) * elem)) return -1;
    void *q = realloc(*p, c * elem);
    if (!q) return vm_err(m, "out of memory");
    *p = q;
    *cap = c;
    return 0;
}

static int list_push(vm *m, plist *l, pval v)
{
    if (l->n == l->cap) {
        if (l->cap >= UINT32_MAX / 4) return vm_err(m, "a container of %u items", l->n);
        uint32_t c = l->cap ? l->cap * 2 : 4;
        pval *nv = vm_alloc(m, (size_t)c * sizeof *nv);
        if (!nv) return -1;
        if (l->n) memcpy(nv, l->v, (size_t)l->n * sizeof *nv);
        l->v = nv;
        l->cap = c;
    }
    l->v[l->n++] = v;
    return 0;
}

static int push(vm *m, pval v)
{
    if (m->sn >= PK_MAX_STACK)
        return vm_err(m, "pickle stack deeper than %zu entries (a state dict needs about 2000)", PK_MAX_STACK);
    if (grow(m, (void **)&m->stack, &m->scap, m->sn + 1, sizeof *m->stack)) return -1;
    m->stack[m->sn++] = v;
    return 0;
}

static size_t stack_floor(const vm *m) { return m->mn ? m->marks[m->mn - 1] : 0; }

static int pop(vm *m, pval *out)
{
    if (m->sn <= stack_floor(m)) return vm_err(m, "stack underflow");
    *out = m->stack[--m->sn];
    return 0;
}

/* The top of the stack (valid until the next push). */
static pval *top(vm *m)
{
    if (m->sn <= stack_floor(m)) {
        vm_err(m, "stack underflow");
        return NULL;
    }
    return &m->stack[m->sn - 1];
}

static int push_new(vm *m, enum pkind k, size_t size)
{
    void *o = vm_alloc(m, size);
    if (!o) return -1;
    memset(o, 0, size);
    pval v = {.k = (uint8_t)k, .u.p = o};
    return push(m, v);
}

static int push_scalar(vm *m, enum pkind k, int64_t i)
{
    pval v = {.k = (uint8_t)k, .u.i = i};
    return push(m, v);
}

/* Pop the MARK of opcode `what`; @return the stack index it marked, or -1. */
static long pop_mark(vm *m, const char *what)
{
    if (!m->mn) return vm_err(m, "%s without a MARK before it", what);
    return (long)m->marks[--m->mn];
}

/* Everything above the last MARK becomes a tuple. */
static int op_tuple(vm *m)
{
    long from = pop_mark(m, "TUPLE");
    if (from < 0) return -1;
    size_t n = m->sn - (size_t)from;
    plist *t = vm_alloc(m, sizeof *t);
    pval *items = n ? vm_alloc(m, n * sizeof *items) : NULL;
    if (!t || (n && !items)) return -1;
    if (n) memcpy(items, m->stack + from, n * sizeof *items);
    t->v = items;
    t->n = t->cap = (uint32_t)n;
    m->sn = (size_t)from;
    pval v = {.k = P_TUPLE, .u.p = t};
    return push(m, v);
}

static int op_tuple_n(vm *m, int n)
{
    if (m->sn < stack_floor(m) + (size_t)n) return vm_err(m, "stack underflow");
    plist *t = vm_alloc(m, sizeof *t);
    pval *items = vm_alloc(m, (size_t)n * sizeof *items);
    if (!t || !items) return -1;
    memcpy(items, m->stack + m->sn - (size_t)n, (size_t)n * sizeof *items);
    t->v = items;
    t->n = t->cap = (uint32_t)n;
    m->sn -= (size_t)n;
    pval v = {.k = P_TUPLE, .u.p = t};
    return push(m, v);
}

/* SETITEMS / APPENDS: the items above the last MARK go into the dict or
 * list just below it. */
static int op_extend(vm *m, enum pkind want, const char *what)
{
    long from = pop_mark(m, what);
    if (from < 0) return -1;
    if ((size_t)from <= stack_floor(m)) return vm_err(m, "stack underflow");
    pval *target = &m->stack[from - 1];
    if (target->k != want)
        return vm_err(m, "%s on something that is not a %s", what, want == P_DICT ? "dict" : "list");
    size_t n = m->sn - (size_t)from;
    if (want == P_DICT && n % 2) return vm_err(m, "%s with an odd number of items", what);
    plist *l = target->u.p;
    for (size_t k = 0; k < n; k++)
        if (list_push(m, l, m->stack[(size_t)from + k])) return -1;
    m->sn = (size_t)from;
    return 0;
}

static int need(vm *m, size_t n)
{
    if (m->len - m->pos < n) return vm_err(m, "pickle ends in the middle of an opcode");
    return 0;
}

static const char *opname(int op)
{
    switch (op) {
    case '0': return "POP"; case '1': return "POP_MARK"; case '2': return "DUP";
    case 'F': return "FLOAT"; case 'I': return "INT"; case 'L': return "LONG";
    case 'P': return "PERSID"; case 'S': return "STRING"; case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING"; case 'V': return "UNICODE"; case 'd': return "DICT";
    case 'g': return "GET"; case 'i': return "INST"; case 'l': return "LIST";
    case 'o': return "OBJ"; case 'p': return "PUT"; case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES"; case 0x81: return "NEWOBJ"; case 0x82: return "EXT1";
    case 0x83: return "EXT2"; case 0x84: return "EXT4"; case 0x8b: return "LONG4";
    case 0x8d: return "BINUNICODE8"; case 0x8e: return "BINBYTES8"; case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS"; case 0x91: return "FROZENSET"; case 0x92: return "NEWOBJ_EX";
    case 0x96: return "BYTEARRAY8"; case 0x97: return "NEXT_BUFFER"; case 0x98: return "READONLY_BUFFER";
    default: return "unknown";
    }
}

static int do_global(vm *m, const char *mod, size_t ml, const char *name, size_t nl)
{
#define IS(s, l, lit) ((l) == sizeof(lit) - 1 && memcmp((s), (lit), (l)) == 0)
    pval g = {.k = P_GLOBAL};
    if (IS(mod, ml, "collections") && IS(name, nl, "OrderedDict")) g.n = G_ORDEREDDICT;
    else if (IS(mod, ml, "torch._utils") && IS(name, nl, "_rebuild_tensor_v2")) g.n = G_REBUILD_V2;
    else if (IS(mod, ml, "torch._utils") && IS(name, nl, "_rebuild_parameter")) g.n = G_REBUILD_PARAM;
    else {
        int found = -1;
        if (IS(mod, ml, "torch"))
            for (size_t k = 0; k < N_STORAGE_TYPES; k++)
                if (nl == strlen(storage_types[k].storage) && memcmp(name, storage_types[k].storage, nl) == 0)
                    found = (int)k;
        if (found < 0) {
            int a = (int)(ml > 100 ? 100 : ml), b = (int)(nl > 100 ? 100 : nl);
            return vm_err(m, "forbidden global %.*s.%.*s (only collections.OrderedDict, "
                          "torch._utils._rebuild_tensor_v2 / _rebuild_parameter and torch.*Storage "
                          "are allowed)", a, mod, b, name);
        }
        g.n = G_STORAGE;
        g.u.i = found;
    }
    return push(m, g);
#undef IS
}

/* torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
 * requires_grad, backward_hooks[, metadata]) */
static int rebuild_tensor(vm *m, const plist *args)
{
    if (args->n < 6 || args->n > 7)
        return vm_err(m, "_rebuild_tensor_v2 takes 6 or 7 arguments, got %u", args->n);
    const pval *st = &args->v[0], *off = &args->v[1], *size = &args->v[2], *stride = &args->v[3];
    if (st->k != P_STORAGE) return vm_err(m, "_rebuild_tensor_v2: first argument is not a storage");
    if (off->k != P_INT || off->u.i < 0) return vm_err(m, "_rebuild_tensor_v2: bad storage offset");
    if (size->k != P_TUPLE || stride->k != P_TUPLE)
        return vm_err(m, "_rebuild_tensor_v2: size and stride must be tuples");
    const plist *sz = size->u.p, *sd = stride->u.p;
    if (sz->n != sd->n) return vm_err(m, "_rebuild_tensor_v2: %u sizes but %u strides", sz->n, sd->n);
    if (sz->n > PK_MAX_DIMS) return vm_err(m, "_rebuild_tensor_v2: %u dimensions", sz->n);
    for (uint32_t d = 0; d < sz->n; d++)
        if (sz->v[d].k != P_INT || sd->v[d].k != P_INT || sz->v[d].u.i < 0 || sd->v[d].u.i < 0)
            return vm_err(m, "_rebuild_tensor_v2: sizes and strides must be non-negative integers");
    ptensor *t = vm_alloc(m, sizeof *t);
    if (!t) return -1;
    t->st = st->u.p;
    t->offset = off->u.i;
    t->ndim = (int)sz->n;
    t->size = sz->v;
    t->stride = sd->v;
    pval v = {.k = P_TENSOR, .u.p = t};
    return push(m, v);
}

static int op_reduce(vm *m)
{
    pval args, fn;
    if (pop(m, &args) || pop(m, &fn)) return -1;
    if (fn.k != P_GLOBAL) return vm_err(m, "REDUCE on something that is not an allowed global");
    if (args.k != P_TUPLE) return vm_err(m, "REDUCE arguments are not a tuple");
    const plist *a = args.u.p;
    switch (fn.n) {
    case G_ORDEREDDICT:
        if (a->n != 0) return vm_err(m, "OrderedDict called with arguments");
        return push_new(m, P_DICT, sizeof(plist));
    case G_REBUILD_V2:
        return rebuild_tensor(m, a);
    case G_REBUILD_PARAM:    /* (tensor, requires_grad, backward_hooks) */
        if (a->n != 3 || a->v[0].k != P_TENSOR) return vm_err(m, "_rebuild_parameter: bad arguments");
        return push(m, a->v[0]);
    default:
        return vm_err(m, "a storage type cannot be called");
    }
}

static int op_persid(vm *m)
{
    pval pid;
    if (pop(m, &pid)) return -1;
    const plist *t = pid.k == P_TUPLE ? pid.u.p : NULL;
    if (!t || t->n != 5 || t->v[0].k != P_STR || t->v[0].n != 7 ||
        memcmp(m->p + t->v[0].u.off, "storage", 7) != 0 || t->v[1].k != P_GLOBAL ||
        t->v[1].n != G_STORAGE || t->v[2].k != P_STR || t->v[3].k != P_STR ||
        t->v[4].k != P_INT || t->v[4].u.i < 0)
        return vm_err(m, "persistent id is not ('storage', torch.XStorage, key, location, numel)");
    pstorage *s = vm_alloc(m, sizeof *s);
    if (!s) return -1;
    s->key_off = t->v[2].u.off;
    s->key_len = t->v[2].n;
    s->type = (int)t->v[1].u.i;
    s->numel = t->v[4].u.i;
    s->zindex = -1;
    s->bytes = 0;
    pval v = {.k = P_STORAGE, .u.p = s};
    return push(m, v);
}

static int read_str(vm *m, size_t n)
{
    if (need(m, n)) return -1;
    if (memchr(m->p + m->pos, 0, n)) return vm_err(m, "string with a NUL byte");
    pval v = {.k = P_STR, .n = (uint32_t)n, .u.off = m->pos};
    m->pos += n;
    return push(m, v);
}

static int memo_put(vm *m, uint64_t idx)
{
    pval *v = top(m);
    if (!v) return -1;
    pval copy = *v;
    if (idx > m->memo_n)
        return vm_err(m, "memo index %llu skips ahead of the %zu entries written (a pickler numbers "
                      "them 0, 1, 2, ...)", (unsigned long long)idx, m->memo_n);
    if (idx == m->memo_n) {
        if (m->memo_n % MEMO_CHUNK == 0) {
            size_t c = m->memo_n / MEMO_CHUNK;
            if (grow(m, (void **)&m->memo, &m->memo_cap, c + 1, sizeof *m->memo)) return -1;
            if (!(m->memo[c] = vm_alloc(m, MEMO_CHUNK * sizeof **m->memo))) return -1;
        }
        m->memo_n++;
    }
    m->memo[idx / MEMO_CHUNK][idx % MEMO_CHUNK] = copy;
    return 0;
}

static int memo_get(vm *m, uint64_t idx)
{
    if (idx >= m->memo_n)
        return vm_err(m, "memo entry %llu read before it was written", (unsigned long long)idx);
    return push(m, m->memo[idx / MEMO_CHUNK][idx % MEMO_CHUNK]);
}

/* Run the pickle.  @return 0 with the top-level value in *out, or -1. */
static int vm_run(vm *m, pval *out)
{
    for (;;) {
        m->op_pos = m->pos;
        if (m->pos >= m->len) return vm_err(m, "pickle ends without STOP");
        int op = m->p[m->pos++];
        int rc = 0;
        switch (op) {
        case 0x80:                                       /* PROTO */
            if (need(m, 1)) return -1;
            if (m->p[m->pos] < 2 || m->p[m->pos] > 5)
                return vm_err(m, "pickle protocol %d not supported", m->p[m->pos]);
            m->pos++;
            break;
        case 0x95:                                       /* FRAME: a length, framing only */
            if (need(m, 8)) return -1;
            m->pos += 8;
            break;
        case '.':                                        /* STOP */
            return pop(m, out);
        case '}': rc = push_new(m, P_DICT, sizeof(plist)); break;   /* EMPTY_DICT */
        case ']': rc = push_new(m, P_LIST, sizeof(plist)); break;   /* EMPTY_LIST */
        case ')': {                                      /* EMPTY_TUPLE: immutable, shared */
            if (!m->empty_tuple && !(m->empty_tuple = vm_alloc(m, sizeof(plist)))) return -1;
            memset(m->empty_tuple, 0, sizeof(plist));
            pval v = {.k = P_TUPLE, .u.p = m->empty_tuple};
            rc = push(m, v);
            break;
        }
        case 'N': rc = push_scalar(m, P_NONE, 0); break;            /* NONE */
        case 0x88: rc = push_scalar(m, P_BOOL, 1); break;           /* NEWTRUE */
        case 0x89: rc = push_scalar(m, P_BOOL, 0); break;           /* NEWFALSE */
        case '(':                                        /* MARK */
            if (m->mn >= PK_MAX_MARKS)
                return vm_err(m, "MARKs nested deeper than %zu (a state dict needs 3)", PK_MAX_MARKS);
            if (grow(m, (void **)&m->marks, &m->mcap, m->mn + 1, sizeof *m->marks)) return -1;
            m->marks[m->mn++] = m->sn;
            break;
        case 't': rc = op_tuple(m); break;                          /* TUPLE */
        case 0x85: case 0x86: case 0x87: rc = op_tuple_n(m, op - 0x84); break;  /* TUPLE1..3 */
        case 'q':                                        /* BINPUT */
            if (need(m, 1)) return -1;
            rc = memo_put(m, m->p[m->pos++]);
            break;
        case 'r':                                        /* LONG_BINPUT */
            if (need(m, 4)) return -1;
            m->pos += 4;
            rc = memo_put(m, tf_le32(m->p + m->pos - 4));
            break;
        case 0x94: rc = memo_put(m, m->memo_n); break;   /* MEMOIZE: the next index */
        case 'h':                                        /* BINGET */
            if (need(m, 1)) return -1;
            rc = memo_get(m, m->p[m->pos++]);
            break;
        case 'j':                                        /* LONG_BINGET */
            if (need(m, 4)) return -1;
            m->pos += 4;
            rc = memo_get(m, tf_le32(m->p + m->pos - 4));
            break;
        case 'X': {                                      /* BINUNICODE */
            if (need(m, 4)) return -1;
            uint32_t n = tf_le32(m->p + m->pos);
            m->pos += 4;
            rc = read_str(m, n);
            break;
        }
        case 0x8c:                                       /* SHORT_BINUNICODE */
            if (need(m, 1)) return -1;
            m->pos++;
            rc = read_str(m, m->p[m->pos - 1]);
            break;
        case 'J':                                        /* BININT */
            if (need(m, 4)) return -1;
            m->pos += 4;
            rc = push_scalar(m, P_INT, (int32_t)tf_le32(m->p + m->pos - 4));
            break;
        case 'K':                                        /* BININT1 */
            if (need(m, 1)) return -1;
            rc = push_scalar(m, P_INT, m->p[m->pos++]);
            break;
        case 'M':                                        /* BININT2 */
            if (need(m, 2)) return -1;
            m->pos += 2;
            rc = push_scalar(m, P_INT, tf_le16(m->p + m->pos - 2));
            break;
        case 0x8a: {                                     /* LONG1: little-endian two's complement */
            if (need(m, 1)) return -1;
            int n = m->p[m->pos++];
            if (n > 8) return vm_err(m, "integer of %d bytes too large", n);
            if (need(m, (size_t)n)) return -1;
            uint64_t u = 0;
            for (int k = 0; k < n; k++) u |= (uint64_t)m->p[m->pos + (size_t)k] << (8 * k);
            if (n > 0 && n < 8 && (m->p[m->pos + (size_t)n - 1] & 0x80)) u |= ~0ull << (8 * n);
            m->pos += (size_t)n;
            int64_t i;
            memcpy(&i, &u, sizeof i);
            rc = push_scalar(m, P_INT, i);
            break;
        }
        case 'G': {                                      /* BINFLOAT (big-endian) */
            if (need(m, 8)) return -1;
            uint64_t u = 0;
            for (int k = 0; k < 8; k++) u = (u << 8) | m->p[m->pos + (size_t)k];
            m->pos += 8;
            pval v = {.k = P_FLOAT};
            memcpy(&v.u.f, &u, 8);
            rc = push(m, v);
            break;
        }
        case 'c': {                                      /* GLOBAL "mod\nname\n" */
            const unsigned char *a = m->p + m->pos, *e = m->p + m->len;
            const unsigned char *nl1 = memchr(a, '\n', (size_t)(e - a));
            const unsigned char *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(e - nl1 - 1)) : NULL;
            if (!nl2) return vm_err(m, "GLOBAL without its two lines");
            m->pos = (size_t)(nl2 + 1 - m->p);
            rc = do_global(m, (const char *)a, (size_t)(nl1 - a), (const char *)nl1 + 1,
                           (size_t)(nl2 - nl1 - 1));
            break;
        }
        case 0x93: {                                     /* STACK_GLOBAL */
            pval name, mod;
            if (pop(m, &name) || pop(m, &mod)) return -1;
            if (name.k != P_STR || mod.k != P_STR) return vm_err(m, "STACK_GLOBAL needs two strings");
            rc = do_global(m, (const char *)m->p + mod.u.off, mod.n, (const char *)m->p + name.u.off, name.n);
            break;
        }
        case 'Q': rc = op_persid(m); break;              /* BINPERSID */
        case 'R': rc = op_reduce(m); break;              /* REDUCE */
        case 's': {                                      /* SETITEM */
            pval v, k;
            if (pop(m, &v) || pop(m, &k)) return -1;
            pval *d = top(m);
            if (!d) return -1;
            if (d->k != P_DICT) return vm_err(m, "SETITEM on something that is not a dict");
            plist *l = d->u.p;
            rc = list_push(m, l, k) || list_push(m, l, v) ? -1 : 0;
            break;
        }
        case 'u': rc = op_extend(m, P_DICT, "SETITEMS"); break;
        case 'a': {                                      /* APPEND */
            pval v;
            if (pop(m, &v)) return -1;
            pval *l = top(m);
            if (!l) return -1;
            if (l->k != P_LIST) return vm_err(m, "APPEND on something that is not a list");
            rc = list_push(m, l->u.p, v);
            break;
        }
        case 'e': rc = op_extend(m, P_LIST, "APPENDS"); break;
        case 'b': {                                      /* BUILD: an OrderedDict's _metadata */
            pval state;
            if (pop(m, &state)) return -1;
            pval *obj = top(m);
            if (!obj) return -1;
            if (obj->k != P_DICT || (state.k != P_DICT && state.k != P_NONE && state.k != P_TUPLE))
                return vm_err(m, "BUILD is only accepted on a dict (an OrderedDict's _metadata)");
            break;  /* the state (module versions) is not needed */
        }
        default:
            return vm_err(m, "pickle opcode 0x%02x (%s) is not allowed in a state dict", op, opname(op));
        }
        if (rc) return -1;
    }
}

static void vm_free(vm *m)
{
    while (m->blocks) {
        ablock *n = m->blocks->next;
        free(m->blocks);
        m->blocks = n;
    }
    free(m->stack);
    free(m->marks);
    free(m->memo);
}

/* ---------------------------------------------------------------- zip -- */

static const char *zip_problem(int code)
{
    switch (code) {
    case ZIP_ER_NOZIP: return "not a valid zip archive (truncated, or its directory and entries do not fit the file)";
    case ZIP_ER_EXISTS: return "two zip entries have the same name";
    case ZIP_ER_INCONS: return "zip archive inconsistent (central directory and local headers disagree)";
    case ZIP_ER_MULTIDISK: return "multi-disk zip archives are not supported";
    case ZIP_ER_CRC: return "CRC check failed (corrupt file)";
    case ZIP_ER_MEMORY: return "out of memory";
    case ZIP_ER_COMPNOTSUPP: return "compression method not supported";
    case ZIP_ER_ENCRNOTSUPP: case ZIP_ER_NOPASSWD: return "encrypted";
    default: return NULL;
    }
}

static int zip_fail(herr *e, const char *what, zip_error_t *ze)
{
    const char *p = zip_problem(zip_error_code_zip(ze));
    return herr_set(e, "%s: %s", what, p ? p : zip_error_strerror(ze));
}

/* Entry idx must be stored as-is: PyTorch never compresses or encrypts. */
static int zip_entry_plain(zip_t *za, zip_uint64_t idx, zip_stat_t *st, herr *e)
{
    zip_stat_init(st);
    if (zip_stat_index(za, idx, ZIP_FL_ENC_RAW, st) != 0)
        return zip_fail(e, "zip entry", zip_get_error(za));
    const char *nm = (st->valid & ZIP_STAT_NAME) ? st->name : "?";
    if ((st->valid & ZIP_STAT_ENCRYPTION_METHOD) && st->encryption_method != ZIP_EM_NONE)
        return herr_set(e, "zip entry %.200s is encrypted", nm);
    if (!(st->valid & ZIP_STAT_COMP_METHOD) || st->comp_method != ZIP_CM_STORE)
        return herr_set(e, "zip entry %.200s is compressed (method %d); PyTorch stores entries "
                        "uncompressed and only those are read", nm, (int)st->comp_method);
    if (!(st->valid & ZIP_STAT_SIZE)) return herr_set(e, "zip entry %.200s has no size", nm);
    return 0;
}

/* Read all of entry idx (size bytes) and check its CRC, which libzip does
 * when a read reaches the end of the entry. */
static int zip_read_all(zip_t *za, zip_uint64_t idx, void *buf, uint64_t size, herr *e)
{
    const char *nm = zip_get_name(za, idx, ZIP_FL_ENC_RAW);
    if (!nm) nm = "?";
    zip_file_t *f = zip_fopen_index(za, idx, 0);
    if (!f) return zip_fail(e, nm, zip_get_error(za));
    int rc = 0;
    unsigned char *p = buf;
    uint64_t done = 0;
    while (done < size && rc == 0) {
        zip_int64_t got = zip_fread(f, p + done, size - done);
        if (got < 0) rc = zip_fail(e, nm, zip_file_get_error(f));
        else if (got == 0) rc = herr_set(e, "%.200s: entry ends early", nm);
        else done += (uint64_t)got;
    }
    if (rc == 0) {
        unsigned char extra;
        zip_int64_t got = zip_fread(f, &extra, 1);
        if (got < 0) rc = zip_fail(e, nm, zip_file_get_error(f));
        else if (got > 0) rc = herr_set(e, "%.200s: entry longer than its size", nm);
    }
    zip_fclose(f);
    return rc;
}

typedef struct tb_ctx {
    zip_t *za;
} tb_ctx;

static int tb_read(void *ctx, const tf_entry *x, void *buf, herr *e)
{
    return zip_read_all(((tb_ctx *)ctx)->za, x->seg, buf, x->seg_bytes, e);
}

static void tb_close(void *ctx)
{
    tb_ctx *c = ctx;
    if (c->za) zip_discard(c->za);
    free(c);
}

/* ------------------------------------------------------------ the index -- */

/* Locate, check and remember the zip entry of storage st. */
static int resolve_storage(zip_t *za, const char *prefix, const unsigned char *pkl, uint64_t file_size,
                           pstorage *st, const char *tname, herr *e)
{
    if (st->zindex >= 0) return 0;
    size_t plen = strlen(prefix), n = plen + 6 + st->key_len + 1;
    char *nm = malloc(n);
    if (!nm) return herr_set(e, "out of memory");
    snprintf(nm, n, "%s/data/%.*s", prefix, (int)st->key_len, (const char *)pkl + st->key_off);
    zip_int64_t idx = zip_name_locate(za, nm, ZIP_FL_ENC_RAW);
    free(nm);
    int kl = (int)(st->key_len > 100 ? 100 : st->key_len);
    const char *key = (const char *)pkl + st->key_off;
    if (idx < 0)
        return herr_set(e, "tensor %.200s: storage data/%.*s missing from the archive", tname, kl, key);
    zip_stat_t zs;
    if (zip_entry_plain(za, (zip_uint64_t)idx, &zs, e)) return herr_prefix(e, "tensor %.200s: ", tname);
    if (zs.size > file_size)   /* stored: its bytes are in the file, so this is a lie */
        return herr_set(e, "tensor %.200s: storage data/%.*s claims %llu bytes, more than the file", tname, kl,
                        key, (unsigned long long)zs.size);
    uint64_t es = (uint64_t)storage_types[st->type].bits / 8;
    if ((uint64_t)st->numel > UINT64_MAX / es || zs.size != (uint64_t)st->numel * es)
        return herr_set(e, "tensor %.200s: storage data/%.*s has %llu bytes, its pickle says %lld "
                        "elements of %llu bytes", tname, kl, key, (unsigned long long)zs.size,
                        (long long)st->numel, (unsigned long long)es);
    st->zindex = idx;
    st->bytes = zs.size;
    return 0;
}

/* A view must lie inside its storage and have no more elements than it. */
static int check_view(const ptensor *t, const char *tname, int64_t *numel_out, herr *e)
{
    int64_t numel = 1, maxoff = t->offset;
    for (int d = 0; d < t->ndim; d++) {
        int64_t sz = t->size[d].u.i, sd = t->stride[d].u.i, span;
        if (__builtin_mul_overflow(numel, sz, &numel) ||
            (sz > 0 && (__builtin_mul_overflow(sz - 1, sd, &span) ||
                        __builtin_add_overflow(maxoff, span, &maxoff))))
            return herr_set(e, "tensor %.200s: sizes and strides overflow", tname);
    }
    const pstorage *st = t->st;
    if (numel > 0 && maxoff >= st->numel)
        return herr_set(e, "tensor %.200s reaches element %lld of a storage of %lld", tname,
                        (long long)maxoff, (long long)st->numel);
    if (numel > st->numel)
        return herr_set(e, "tensor %.200s is a view of %lld elements over a storage of only %lld "
                        "(overlapping strides)", tname, (long long)numel, (long long)st->numel);
    *numel_out = numel;
    return 0;
}

static int index_state_dict(zip_t *za, const char *prefix, vm *m, const pval *root, uint64_t file_size,
                            tf_index *ix, herr *e)
{
    if (root->k != P_DICT) return herr_set(e, "data.pkl does not hold a dict of tensors (a state dict)");
    const plist *d = root->u.p;
    for (uint32_t i = 0; i + 1 < d->n; i += 2) {
        const pval *k = &d->v[i], *v = &d->v[i + 1];
        if (k->k != P_STR) return herr_set(e, "state dict key %u is not a string", i / 2);
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(k->n > 200 ? 200 : k->n), (const char *)m->p + k->u.off);
        if (v->k != P_TENSOR) return herr_set(e, "state dict entry %s is not a tensor", name);
        const ptensor *t = v->u.p;
        int64_t numel = 0;
        if (resolve_storage(za, prefix, m->p, file_size, t->st, name, e) || check_view(t, name, &numel, e))
            return -1;
        tf_entry *x = tf_index_add(ix, (const char *)m->p + k->u.off, k->n, t->ndim, 1, e);
        if (!x) return -1;
        snprintf(x->dtype, sizeof x->dtype, "%s", storage_types[t->st->type].dtype);
        x->kind = storage_types[t->st->type].kind;
        x->bits = storage_types[t->st->type].bits;
        for (int dd = 0; dd < t->ndim; dd++) {
            x->shape[dd] = t->size[dd].u.i;
            x->stride[dd] = t->stride[dd].u.i;
        }
        x->numel = numel;
        x->offset = t->offset;
        x->seg = (uint64_t)t->st->zindex;
        x->seg_bytes = t->st->bytes;
    }
    return tf_index_seal(ix, e);
}

/* Find <prefix>/data.pkl (exactly one, prefix without '/').
 * @return its index, or -1 with e set */
static zip_int64_t find_pickle(zip_t *za, char *prefix, size_t cap, herr *e)
{
    static const char suf[] = "/data.pkl";
    const size_t sl = sizeof suf - 1;
    zip_int64_t n = zip_get_num_entries(za, 0), found = -1;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *nm = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        size_t len = nm ? strlen(nm) : 0;
        if (len > sl && memcmp(nm + len - sl, suf, sl) == 0 && !memchr(nm, '/', len - sl)) {
            if (found >= 0) return herr_set(e, "more than one data.pkl in the archive");
            if (len - sl >= cap) return herr_set(e, "archive name too long");
            memcpy(prefix, nm, len - sl);
            prefix[len - sl] = 0;
            found = i;
        }
    }
    if (found < 0) return herr_set(e, "no <archive>/data.pkl in the zip (not a torch.save file)");
    return found;
}

int torchbin_index(int fd, uint64_t size, tf_index *ix, tf_source *src, herr *e)
{
    memset(ix, 0, sizeof *ix);
    memset(src, 0, sizeof *src);
    unsigned char magic[4] = {0};
    if (size >= 2 && tf_pread(fd, magic, size < 4 ? (size_t)size : 4, 0, e)) return -1;
    if (size >= 2 && magic[0] == 0x80 && magic[1] <= 5)
        return herr_set(e, "legacy (pre-1.6, non-zip) torch.save format is not supported; "
                        "re-save it with a current torch or use model.safetensors");
    if (size < 4 || tf_le32(magic) != 0x04034b50u) return herr_set(e, "not a PyTorch zip archive");

    int zfd = dup(fd);   /* libzip closes the descriptor it is given */
    if (zfd < 0) return herr_set(e, "cannot duplicate the file descriptor");
    int zerr = 0;
    zip_t *za = zip_fdopen(zfd, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!za) {
        close(zfd);
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        zip_fail(e, "zip", &ze);
        zip_error_fini(&ze);
        return -1;
    }
    tb_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        zip_discard(za);
        return herr_set(e, "out of memory");
    }
    ctx->za = za;
    vm m;
    memset(&m, 0, sizeof m);
    unsigned char *pkl = NULL;
    int rc = -1;
    char prefix[256];
    zip_int64_t pi = find_pickle(za, prefix, sizeof prefix, e);
    if (pi < 0) goto out;
    zip_stat_t zs;
    if (zip_entry_plain(za, (zip_uint64_t)pi, &zs, e)) goto out;
    if (zs.size > PK_MAX_PICKLE || zs.size > size) {
        herr_set(e, "data.pkl claims %llu bytes (a state dict's pickle is far smaller)",
                 (unsigned long long)zs.size);
        goto out;
    }
    char bname[300];
    snprintf(bname, sizeof bname, "%s/byteorder", prefix);
    zip_int64_t bi = zip_name_locate(za, bname, ZIP_FL_ENC_RAW);
    if (bi >= 0) {
        zip_stat_t bs;
        char order[6];
        if (zip_entry_plain(za, (zip_uint64_t)bi, &bs, e)) goto out;
        if (bs.size != 6) {
            herr_set(e, "storages are not little-endian (a byteorder entry of %llu bytes)",
                     (unsigned long long)bs.size);
            goto out;
        }
        if (zip_read_all(za, (zip_uint64_t)bi, order, 6, e)) goto out;
        if (memcmp(order, "little", 6)) {
            herr_set(e, "storages are not little-endian (byteorder says \"%.6s\")", order);
            goto out;
        }
    }
    pkl = malloc(zs.size ? (size_t)zs.size : 1);
    if (!pkl) { herr_set(e, "out of memory reading data.pkl"); goto out; }
    if (zip_read_all(za, (zip_uint64_t)pi, pkl, zs.size, e)) goto out;

    m.p = pkl;
    m.len = (size_t)zs.size;
    m.budget = PK_BUDGET_PER_BYTE * m.len + PK_BUDGET_BASE;
    m.e = e;
    pval root;
    if (vm_run(&m, &root)) goto out;
    if (index_state_dict(za, prefix, &m, &root, size, ix, e)) goto out;
    rc = 0;
out:
    vm_free(&m);
    free(pkl);
    if (rc) {
        tf_index_free(ix);
        tb_close(ctx);
        return -1;
    }
    src->ctx = ctx;
    src->read = tb_read;
    src->close = tb_close;
    return 0;
}
