/* torchbin.c: read PyTorch's pytorch_model.bin (torch.save zip format,
 * torch >= 1.6) without Python.
 *
 * The file is a zip archive whose entries PyTorch stores uncompressed:
 *   <archive>/data.pkl     the state dict, pickled (protocol 2)
 *   <archive>/data/<key>   raw little-endian storage bytes, one per storage
 *   <archive>/version ...  ignored
 * The pickle is run by a small interpreter that knows only the opcodes and
 * globals a state dict uses (collections.OrderedDict,
 * torch._utils._rebuild_tensor_v2 / _rebuild_parameter, torch.*Storage);
 * anything else is refused by name, so no pickle can make it do more than
 * build dicts, tuples and tensors.  Tensors are materialised as contiguous
 * row-major float32 copies (any storage offset and non-negative strides;
 * storages shared by several tensors are read once per tensor). */
#include "io/tensors.h"
#include "io/tensors_impl.h"
#include "cli/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ zip -- */

typedef struct {
    const char *name;        /* points into the file buffer, not NUL-terminated */
    size_t nlen;
    const unsigned char *data;
    uint64_t size;
    uint32_t crc;
    int crc_checked;
} zentry;

typedef struct {
    zentry *e;
    size_t n;
} zarchive;

static uint32_t crc_table[256];

static void crc_init(void)
{
    if (crc_table[1]) return;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32_buf(const unsigned char *p, uint64_t n)
{
    crc_init();
    uint32_t c = 0xffffffffu;
    for (uint64_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static int cmp_zentry(const void *x, const void *y);

/* Parse the central directory.  @return 0, or -1 with err set. */
static int zip_open(const char *path, const unsigned char *buf, size_t len, zarchive *z,
                    char *err, size_t errlen)
{
    memset(z, 0, sizeof *z);
    if (len < 22) return tio_err(err, errlen, "%s: too short for a zip archive", path);
    size_t eocd = (size_t)-1;
    size_t lo = len - 22 > 65535 ? len - 22 - 65535 : 0;
    for (size_t i = len - 22 + 1; i-- > lo;) {
        if (tio_le32(buf + i) == 0x06054b50u && i + 22 + tio_le16(buf + i + 20) == len) {
            eocd = i;
            break;
        }
    }
    if (eocd == (size_t)-1)
        return tio_err(err, errlen, "%s: no zip end-of-central-directory record (truncated file?)", path);
    const unsigned char *e = buf + eocd;
    uint64_t disk = tio_le16(e + 4), cd_disk = tio_le16(e + 6), n_here = tio_le16(e + 8),
             total = tio_le16(e + 10), cd_size = tio_le32(e + 12), cd_off = tio_le32(e + 16);
    size_t cd_limit = eocd;
    if (eocd >= 20 && tio_le32(buf + eocd - 20) == 0x07064b50u) {   /* zip64 locator */
        const unsigned char *l = buf + eocd - 20;
        uint64_t z64 = tio_le64(l + 8);
        if (tio_le32(l + 4) != 0 || tio_le32(l + 16) > 1)
            return tio_err(err, errlen, "%s: multi-disk zip archives are not supported", path);
        if (z64 > eocd - 20 || eocd - 20 - z64 < 56 || tio_le32(buf + z64) != 0x06064b50u)
            return tio_err(err, errlen, "%s: bad zip64 end-of-central-directory record", path);
        const unsigned char *r = buf + z64;
        disk = tio_le32(r + 16);
        cd_disk = tio_le32(r + 20);
        n_here = tio_le64(r + 24);
        total = tio_le64(r + 32);
        cd_size = tio_le64(r + 40);
        cd_off = tio_le64(r + 48);
        cd_limit = (size_t)z64;
    } else if (total == 0xffff || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
        return tio_err(err, errlen, "%s: zip64 archive without its zip64 locator", path);
    }
    if (disk != 0 || cd_disk != 0 || n_here != total)
        return tio_err(err, errlen, "%s: multi-disk zip archives are not supported", path);
    if (cd_off > cd_limit || cd_size > cd_limit - cd_off)
        return tio_err(err, errlen, "%s: zip central directory lies outside the file", path);
    if (total > cd_size / 46)
        return tio_err(err, errlen, "%s: zip central directory too small for %llu entries", path,
                       (unsigned long long)total);
    z->e = calloc(total ? total : 1, sizeof *z->e);
    if (!z->e) return tio_err(err, errlen, "%s: out of memory", path);
    const unsigned char *p = buf + cd_off, *end = buf + cd_off + cd_size;
    for (uint64_t k = 0; k < total; k++) {
        if (end - p < 46 || tio_le32(p) != 0x02014b50u)
            goto bad_cd;
        unsigned flags = tio_le16(p + 8), method = tio_le16(p + 10);
        uint64_t csize = tio_le32(p + 20), usize = tio_le32(p + 24), lho = tio_le32(p + 42);
        size_t nlen = tio_le16(p + 28), xlen = tio_le16(p + 30), clen = tio_le16(p + 32);
        if ((size_t)(end - p) < 46 + nlen + xlen + clen) goto bad_cd;
        const char *name = (const char *)p + 46;
        const unsigned char *x = p + 46 + nlen, *xend = x + xlen;
        while (xend - x >= 4) {                 /* zip64 extended information */
            unsigned id = tio_le16(x), sz = tio_le16(x + 2);
            if ((size_t)(xend - x - 4) < sz) goto bad_cd;
            if (id == 0x0001) {
                const unsigned char *q = x + 4, *qend = q + sz;
                if (usize == 0xffffffffu) { if (qend - q < 8) goto bad_cd; usize = tio_le64(q); q += 8; }
                if (csize == 0xffffffffu) { if (qend - q < 8) goto bad_cd; csize = tio_le64(q); q += 8; }
                if (lho == 0xffffffffu) { if (qend - q < 8) goto bad_cd; lho = tio_le64(q); q += 8; }
            }
            x += 4 + sz;
        }
        if (flags & 1) {
            tio_err(err, errlen, "%s: zip entry %.*s is encrypted", path, (int)(nlen > 200 ? 200 : nlen), name);
            goto fail;
        }
        if (method != 0 || csize != usize) {
            tio_err(err, errlen, "%s: zip entry %.*s is compressed (method %u); PyTorch stores "
                    "entries uncompressed and only those are read", path,
                    (int)(nlen > 200 ? 200 : nlen), name, method);
            goto fail;
        }
        /* The local header: its own name and extra lengths (PyTorch pads
         * with the extra field to align the data). */
        if (lho > cd_off || cd_off - lho < 30 || tio_le32(buf + lho) != 0x04034b50u) {
            tio_err(err, errlen, "%s: zip entry %.*s: bad local header offset", path,
                    (int)(nlen > 200 ? 200 : nlen), name);
            goto fail;
        }
        uint64_t data = lho + 30 + (uint64_t)tio_le16(buf + lho + 26) + tio_le16(buf + lho + 28);
        if (tio_le16(buf + lho + 26) != nlen || data > cd_off ||
            memcmp(buf + lho + 30, name, nlen) != 0 || usize > cd_off - data) {
            tio_err(err, errlen, "%s: zip entry %.*s: data lies outside the file or header mismatch",
                    path, (int)(nlen > 200 ? 200 : nlen), name);
            goto fail;
        }
        zentry *ze = &z->e[z->n++];
        ze->name = name;
        ze->nlen = nlen;
        ze->data = buf + data;
        ze->size = usize;
        ze->crc = tio_le32(p + 16);
        p += 46 + nlen + xlen + clen;
    }
    qsort(z->e, z->n, sizeof *z->e, cmp_zentry);
    return 0;
bad_cd:
    tio_err(err, errlen, "%s: corrupt zip central directory", path);
fail:
    free(z->e);
    z->e = NULL;
    return -1;
}

static int cmp_zname(const char *a, size_t al, const char *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

static int cmp_zentry(const void *x, const void *y)
{
    const zentry *a = x, *b = y;
    return cmp_zname(a->name, a->nlen, b->name, b->nlen);
}

/* Entries sorted by name (zip_open does it) for a binary search. */
static zentry *zip_find(zarchive *z, const char *prefix, size_t plen, const char *rest)
{
    char key[1024];
    size_t rlen = strlen(rest);
    if (plen + rlen > sizeof key) return NULL;
    memcpy(key, prefix, plen);
    memcpy(key + plen, rest, rlen);
    size_t lo = 0, hi = z->n, kl = plen + rlen;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_zname(z->e[mid].name, z->e[mid].nlen, key, kl);
        if (c == 0) return &z->e[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static int zip_check_crc(const char *path, zentry *e, char *err, size_t errlen)
{
    if (e->crc_checked) return 0;
    if (crc32_buf(e->data, e->size) != e->crc)
        return tio_err(err, errlen, "%s: zip entry %.*s fails its CRC check (corrupt file)", path,
                       (int)(e->nlen > 200 ? 200 : e->nlen), e->name);
    e->crc_checked = 1;
    return 0;
}

/* --------------------------------------------------------------- pickle -- */

enum vkind { V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_TUPLE, V_LIST, V_DICT,
             V_GLOBAL, V_STORAGE, V_TENSOR };

enum gid { G_ORDEREDDICT, G_REBUILD_V2, G_REBUILD_PARAM, G_STORAGE };

enum skind { S_F32, S_F16, S_BF16, S_F64, S_SKIP };

static const struct { const char *name; int size; enum skind kind; } storage_types[] = {
    {"FloatStorage", 4, S_F32}, {"HalfStorage", 2, S_F16}, {"BFloat16Storage", 2, S_BF16},
    {"DoubleStorage", 8, S_F64}, {"BoolStorage", 1, S_SKIP}, {"ByteStorage", 1, S_SKIP},
    {"CharStorage", 1, S_SKIP}, {"ShortStorage", 2, S_SKIP}, {"IntStorage", 4, S_SKIP},
    {"LongStorage", 8, S_SKIP},
};

#define PK_MAX_DIMS 8

typedef struct val {
    enum vkind k;
    int64_t i;                /* BOOL, INT; GLOBAL: gid; STORAGE: numel */
    double f;
    char *s;                  /* STR; STORAGE: key */
    int st;                   /* GLOBAL G_STORAGE / STORAGE: index in storage_types */
    struct val **items;       /* TUPLE, LIST; DICT: key, value, key, value ... */
    size_t n, cap;
    struct val *storage;      /* TENSOR */
    int64_t offset;
    int ndim;
    int64_t size[PK_MAX_DIMS], stride[PK_MAX_DIMS];
} val;

typedef struct {
    const unsigned char *p;
    size_t len, pos, op_pos;
    val **all;                /* every value, freed at the end */
    size_t n_all, cap_all;
    val **stack;
    size_t sn, scap;
    size_t *marks;
    size_t mn, mcap;
    val **memo;
    size_t memo_n;
    char *err;
    size_t errlen;
} vm;

#define PK_MAX_STACK (1u << 22)
#define PK_MAX_MEMO (1u << 22)

static int vm_err(vm *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vm_err(vm *m, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tio_err(m->err, m->errlen, "data.pkl offset %zu: %s", m->op_pos, msg);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

static val *vnew(vm *m, enum vkind k)
{
    if (grow((void **)&m->all, &m->cap_all, m->n_all + 1, sizeof *m->all)) return NULL;
    val *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->k = k;
    m->all[m->n_all++] = v;
    return v;
}

static int vpush_item(val *c, val *x)
{
    if (grow((void **)&c->items, &c->cap, c->n + 1, sizeof *c->items)) return -1;
    c->items[c->n++] = x;
    return 0;
}

static int push(vm *m, val *v)
{
    if (!v) return vm_err(m, "out of memory");
    if (m->sn >= PK_MAX_STACK) return vm_err(m, "stack too deep");
    if (grow((void **)&m->stack, &m->scap, m->sn + 1, sizeof *m->stack))
        return vm_err(m, "out of memory");
    m->stack[m->sn++] = v;
    return 0;
}

static val *pop(vm *m)
{
    size_t floor = m->mn ? m->marks[m->mn - 1] : 0;
    if (m->sn <= floor) {
        vm_err(m, "stack underflow");
        return NULL;
    }
    return m->stack[--m->sn];
}

static val *top(vm *m)
{
    size_t floor = m->mn ? m->marks[m->mn - 1] : 0;
    if (m->sn <= floor) {
        vm_err(m, "stack underflow");
        return NULL;
    }
    return m->stack[m->sn - 1];
}

/* Pop everything above the last MARK into a new container of kind k. */
static val *pop_mark(vm *m, enum vkind k)
{
    if (!m->mn) {
        vm_err(m, "no MARK on the stack");
        return NULL;
    }
    size_t from = m->marks[--m->mn];
    val *c = vnew(m, k);
    if (!c) { vm_err(m, "out of memory"); return NULL; }
    for (size_t i = from; i < m->sn; i++)
        if (vpush_item(c, m->stack[i])) { vm_err(m, "out of memory"); return NULL; }
    m->sn = from;
    return c;
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
    val *g = vnew(m, V_GLOBAL);
    if (!g) return vm_err(m, "out of memory");
    if (IS(mod, ml, "collections") && IS(name, nl, "OrderedDict")) g->i = G_ORDEREDDICT;
    else if (IS(mod, ml, "torch._utils") && IS(name, nl, "_rebuild_tensor_v2")) g->i = G_REBUILD_V2;
    else if (IS(mod, ml, "torch._utils") && IS(name, nl, "_rebuild_parameter")) g->i = G_REBUILD_PARAM;
    else {
        int found = -1;
        if (IS(mod, ml, "torch"))
            for (size_t k = 0; k < sizeof storage_types / sizeof storage_types[0]; k++)
                if (nl == strlen(storage_types[k].name) && memcmp(name, storage_types[k].name, nl) == 0)
                    found = (int)k;
        if (found < 0) {
            int a = (int)(ml > 100 ? 100 : ml), b = (int)(nl > 100 ? 100 : nl);
            return vm_err(m, "forbidden global %.*s.%.*s (only collections.OrderedDict, "
                          "torch._utils._rebuild_tensor_v2 and torch.*Storage are allowed)",
                          a, mod, b, name);
        }
        g->i = G_STORAGE;
        g->st = found;
    }
    return push(m, g);
#undef IS
}


/* torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
 * requires_grad, backward_hooks[, metadata]) */
static int rebuild_tensor(vm *m, val *args)
{
    if (args->n < 6 || args->n > 7)
        return vm_err(m, "_rebuild_tensor_v2 takes 6 or 7 arguments, got %zu", args->n);
    val *st = args->items[0], *off = args->items[1], *size = args->items[2], *stride = args->items[3];
    if (st->k != V_STORAGE) return vm_err(m, "_rebuild_tensor_v2: first argument is not a storage");
    if (off->k != V_INT || off->i < 0) return vm_err(m, "_rebuild_tensor_v2: bad storage offset");
    if (size->k != V_TUPLE || stride->k != V_TUPLE || size->n != stride->n)
        return vm_err(m, "_rebuild_tensor_v2: size and stride must be tuples of one length");
    if (size->n > PK_MAX_DIMS) return vm_err(m, "_rebuild_tensor_v2: %zu dimensions", size->n);
    val *t = vnew(m, V_TENSOR);
    if (!t) return vm_err(m, "out of memory");
    t->storage = st;
    t->offset = off->i;
    t->ndim = (int)size->n;
    for (size_t d = 0; d < size->n; d++) {
        val *a = size->items[d], *b = stride->items[d];
        if (a->k != V_INT || b->k != V_INT || a->i < 0 || b->i < 0)
            return vm_err(m, "_rebuild_tensor_v2: sizes and strides must be non-negative integers");
        t->size[d] = a->i;
        t->stride[d] = b->i;
    }
    return push(m, t);
}

static int do_reduce(vm *m)
{
    val *args = pop(m), *fn = args ? pop(m) : NULL;
    if (!fn) return -1;
    if (fn->k != V_GLOBAL) return vm_err(m, "REDUCE on something that is not an allowed global");
    if (args->k != V_TUPLE) return vm_err(m, "REDUCE arguments are not a tuple");
    switch (fn->i) {
    case G_ORDEREDDICT:
        if (args->n != 0) return vm_err(m, "OrderedDict called with arguments");
        return push(m, vnew(m, V_DICT));
    case G_REBUILD_V2:
        return rebuild_tensor(m, args);
    case G_REBUILD_PARAM:    /* (tensor, requires_grad, backward_hooks) */
        if (args->n != 3 || args->items[0]->k != V_TENSOR)
            return vm_err(m, "_rebuild_parameter: bad arguments");
        return push(m, args->items[0]);
    default:
        return vm_err(m, "a storage type cannot be called");
    }
}

static int do_persid(vm *m)
{
    val *pid = pop(m);
    if (!pid) return -1;
    if (pid->k != V_TUPLE || pid->n != 5 || pid->items[0]->k != V_STR ||
        strcmp(pid->items[0]->s, "storage") != 0 || pid->items[1]->k != V_GLOBAL ||
        pid->items[1]->i != G_STORAGE || pid->items[2]->k != V_STR ||
        pid->items[3]->k != V_STR || pid->items[4]->k != V_INT || pid->items[4]->i < 0)
        return vm_err(m, "persistent id is not ('storage', torch.XStorage, key, location, numel)");
    val *s = vnew(m, V_STORAGE);
    if (!s) return vm_err(m, "out of memory");
    s->st = pid->items[1]->st;
    s->s = pid->items[2]->s;     /* owned by the key string value */
    s->i = pid->items[4]->i;
    return push(m, s);
}

static int read_str(vm *m, size_t n)
{
    if (need(m, n)) return -1;
    if (memchr(m->p + m->pos, 0, n)) return vm_err(m, "string with a NUL byte");
    val *v = vnew(m, V_STR);
    if (!v) return vm_err(m, "out of memory");
    v->s = malloc(n + 1);
    if (!v->s) return vm_err(m, "out of memory");
    memcpy(v->s, m->p + m->pos, n);
    v->s[n] = 0;
    v->n = n;
    m->pos += n;
    return push(m, v);
}

static int push_int(vm *m, int64_t i)
{
    val *v = vnew(m, V_INT);
    if (v) v->i = i;
    return push(m, v);
}

static int memo_put(vm *m, uint64_t idx)
{
    val *v = top(m);
    if (!v) return -1;
    if (idx >= PK_MAX_MEMO) return vm_err(m, "memo index %llu too large", (unsigned long long)idx);
    if (idx >= m->memo_n) {
        size_t n = m->memo_n ? m->memo_n : 64;
        while (n <= idx) n *= 2;
        val **q = realloc(m->memo, n * sizeof *q);
        if (!q) return vm_err(m, "out of memory");
        memset(q + m->memo_n, 0, (n - m->memo_n) * sizeof *q);
        m->memo = q;
        m->memo_n = n;
    }
    m->memo[idx] = v;
    return 0;
}

static int memo_get(vm *m, uint64_t idx)
{
    if (idx >= m->memo_n || !m->memo[idx])
        return vm_err(m, "memo entry %llu read before it was written", (unsigned long long)idx);
    return push(m, m->memo[idx]);
}

/* Run the pickle.  @return the top-level value, or NULL with err set. */
static val *vm_run(vm *m)
{
    size_t memo_next = 0;  /* MEMOIZE */
    for (;;) {
        m->op_pos = m->pos;
        if (m->pos >= m->len) {
            vm_err(m, "pickle ends without STOP");
            return NULL;
        }
        int op = m->p[m->pos++];
        int rc = 0;
        switch (op) {
        case 0x80:                                       /* PROTO */
            if (need(m, 1)) return NULL;
            if (m->p[m->pos] < 2 || m->p[m->pos] > 5) {
                vm_err(m, "pickle protocol %d not supported", m->p[m->pos]);
                return NULL;
            }
            m->pos++;
            break;
        case 0x95:                                       /* FRAME */
            if (need(m, 8)) return NULL;
            m->pos += 8;
            break;
        case '.': {                                      /* STOP */
            val *v = pop(m);
            return v;
        }
        case '}': rc = push(m, vnew(m, V_DICT)); break;  /* EMPTY_DICT */
        case ']': rc = push(m, vnew(m, V_LIST)); break;  /* EMPTY_LIST */
        case ')': rc = push(m, vnew(m, V_TUPLE)); break; /* EMPTY_TUPLE */
        case 'N': rc = push(m, vnew(m, V_NONE)); break;  /* NONE */
        case 0x88: case 0x89: {                          /* NEWTRUE, NEWFALSE */
            val *v = vnew(m, V_BOOL);
            if (v) v->i = op == 0x88;
            rc = push(m, v);
            break;
        }
        case '(':                                        /* MARK */
            if (grow((void **)&m->marks, &m->mcap, m->mn + 1, sizeof *m->marks)) {
                vm_err(m, "out of memory");
                return NULL;
            }
            m->marks[m->mn++] = m->sn;
            break;
        case 't': rc = push(m, pop_mark(m, V_TUPLE)); break;   /* TUPLE */
        case 0x85: case 0x86: case 0x87: {                     /* TUPLE1..3 */
            int n = op - 0x84;
            size_t floor = m->mn ? m->marks[m->mn - 1] : 0;
            if (m->sn < floor + (size_t)n) { vm_err(m, "stack underflow"); return NULL; }
            val *t = vnew(m, V_TUPLE);
            if (!t) { vm_err(m, "out of memory"); return NULL; }
            for (int k = 0; k < n; k++)
                if (vpush_item(t, m->stack[m->sn - (size_t)n + (size_t)k])) { vm_err(m, "out of memory"); return NULL; }
            m->sn -= (size_t)n;
            rc = push(m, t);
            break;
        }
        case 'q':                                        /* BINPUT */
            if (need(m, 1)) return NULL;
            rc = memo_put(m, m->p[m->pos++]);
            break;
        case 'r':                                        /* LONG_BINPUT */
            if (need(m, 4)) return NULL;
            rc = memo_put(m, tio_le32(m->p + m->pos));
            m->pos += 4;
            break;
        case 0x94:                                       /* MEMOIZE */
            rc = memo_put(m, memo_next++);
            break;
        case 'h':                                        /* BINGET */
            if (need(m, 1)) return NULL;
            rc = memo_get(m, m->p[m->pos++]);
            break;
        case 'j':                                        /* LONG_BINGET */
            if (need(m, 4)) return NULL;
            rc = memo_get(m, tio_le32(m->p + m->pos));
            m->pos += 4;
            break;
        case 'X': {                                      /* BINUNICODE */
            if (need(m, 4)) return NULL;
            uint32_t n = tio_le32(m->p + m->pos);
            m->pos += 4;
            rc = read_str(m, n);
            break;
        }
        case 0x8c:                                       /* SHORT_BINUNICODE */
            if (need(m, 1)) return NULL;
            m->pos++;
            rc = read_str(m, m->p[m->pos - 1]);
            break;
        case 'J':                                        /* BININT */
            if (need(m, 4)) return NULL;
            rc = push_int(m, (int32_t)tio_le32(m->p + m->pos));
            m->pos += 4;
            break;
        case 'K':                                        /* BININT1 */
            if (need(m, 1)) return NULL;
            rc = push_int(m, m->p[m->pos++]);
            break;
        case 'M':                                        /* BININT2 */
            if (need(m, 2)) return NULL;
            rc = push_int(m, tio_le16(m->p + m->pos));
            m->pos += 2;
            break;
        case 0x8a: {                                     /* LONG1 */
            if (need(m, 1)) return NULL;
            int n = m->p[m->pos++];
            if (n > 8) { vm_err(m, "integer of %d bytes too large", n); return NULL; }
            if (need(m, (size_t)n)) return NULL;
            uint64_t u = 0;
            for (int k = 0; k < n; k++) u |= (uint64_t)m->p[m->pos + (size_t)k] << (8 * k);
            if (n > 0 && n < 8 && (m->p[m->pos + (size_t)n - 1] & 0x80)) u |= ~0ull << (8 * n);
            m->pos += (size_t)n;
            rc = push_int(m, (int64_t)u);
            break;
        }
        case 'G': {                                      /* BINFLOAT (big-endian) */
            if (need(m, 8)) return NULL;
            uint64_t u = 0;
            for (int k = 0; k < 8; k++) u = (u << 8) | m->p[m->pos + (size_t)k];
            m->pos += 8;
            val *v = vnew(m, V_FLOAT);
            if (v) memcpy(&v->f, &u, 8);
            rc = push(m, v);
            break;
        }
        case 'c': {                                      /* GLOBAL "mod\nname\n" */
            const unsigned char *a = m->p + m->pos, *e = m->p + m->len;
            const unsigned char *nl1 = memchr(a, '\n', (size_t)(e - a));
            const unsigned char *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(e - nl1 - 1)) : NULL;
            if (!nl2) { vm_err(m, "GLOBAL without its two lines"); return NULL; }
            m->pos = (size_t)(nl2 + 1 - m->p);
            rc = do_global(m, (const char *)a, (size_t)(nl1 - a), (const char *)nl1 + 1,
                           (size_t)(nl2 - nl1 - 1));
            break;
        }
        case 0x93: {                                     /* STACK_GLOBAL */
            val *name = pop(m), *mod = name ? pop(m) : NULL;
            if (!mod) return NULL;
            if (name->k != V_STR || mod->k != V_STR) { vm_err(m, "STACK_GLOBAL needs two strings"); return NULL; }
            rc = do_global(m, mod->s, mod->n, name->s, name->n);
            break;
        }
        case 'Q': rc = do_persid(m); break;              /* BINPERSID */
        case 'R': rc = do_reduce(m); break;              /* REDUCE */
        case 's': {                                      /* SETITEM */
            val *v = pop(m), *k = v ? pop(m) : NULL, *d = k ? top(m) : NULL;
            if (!d) return NULL;
            if (d->k != V_DICT) { vm_err(m, "SETITEM on something that is not a dict"); return NULL; }
            if (vpush_item(d, k) || vpush_item(d, v)) { vm_err(m, "out of memory"); return NULL; }
            break;
        }
        case 'u': {                                      /* SETITEMS */
            val *items = pop_mark(m, V_TUPLE), *d = items ? top(m) : NULL;
            if (!d) return NULL;
            if (d->k != V_DICT || items->n % 2) { vm_err(m, "SETITEMS on something that is not a dict"); return NULL; }
            for (size_t k = 0; k < items->n; k++)
                if (vpush_item(d, items->items[k])) { vm_err(m, "out of memory"); return NULL; }
            break;
        }
        case 'a': {                                      /* APPEND */
            val *v = pop(m), *l = v ? top(m) : NULL;
            if (!l) return NULL;
            if (l->k != V_LIST) { vm_err(m, "APPEND on something that is not a list"); return NULL; }
            if (vpush_item(l, v)) { vm_err(m, "out of memory"); return NULL; }
            break;
        }
        case 'e': {                                      /* APPENDS */
            val *items = pop_mark(m, V_TUPLE), *l = items ? top(m) : NULL;
            if (!l) return NULL;
            if (l->k != V_LIST) { vm_err(m, "APPENDS on something that is not a list"); return NULL; }
            for (size_t k = 0; k < items->n; k++)
                if (vpush_item(l, items->items[k])) { vm_err(m, "out of memory"); return NULL; }
            break;
        }
        case 'b': {                                      /* BUILD: OrderedDict state (_metadata) */
            val *state = pop(m), *obj = state ? top(m) : NULL;
            if (!obj) return NULL;
            if (obj->k != V_DICT || (state->k != V_DICT && state->k != V_NONE && state->k != V_TUPLE)) {
                vm_err(m, "BUILD is only accepted on a dict (an OrderedDict's _metadata)");
                return NULL;
            }
            break;  /* the state (module versions) is not needed */
        }
        default:
            vm_err(m, "pickle opcode 0x%02x (%s) is not allowed in a state dict", op, opname(op));
            return NULL;
        }
        if (rc) return NULL;
    }
}

static void vm_free(vm *m)
{
    for (size_t i = 0; i < m->n_all; i++) {
        val *v = m->all[i];
        if (v->k == V_STR) free(v->s);
        free(v->items);
        free(v);
    }
    free(m->all);
    free(m->stack);
    free(m->marks);
    free(m->memo);
}

/* ------------------------------------------------------------- tensors -- */

static int materialise(const char *path, zarchive *z, const char *prefix, size_t plen,
                       const char *name, const val *t, tensor_set *ts, char *err, size_t errlen)
{
    const val *st = t->storage;
    int es = storage_types[st->st].size;
    enum skind kind = storage_types[st->st].kind;
    if (kind == S_SKIP) {
        ts->n_skipped++;
        return 0;
    }
    if (t->ndim > TENSOR_MAX_DIMS)
        return tio_err(err, errlen, "%s: tensor %s has %d dimensions (at most %d supported)", path,
                       name, t->ndim, TENSOR_MAX_DIMS);
    char rest[600];
    if (snprintf(rest, sizeof rest, "/data/%s", st->s) >= (int)sizeof rest)
        return tio_err(err, errlen, "%s: storage key too long", path);
    zentry *e = zip_find(z, prefix, plen, rest);
    if (!e)
        return tio_err(err, errlen, "%s: tensor %s: storage data/%.100s missing from the archive", path,
                       name, st->s);
    if ((uint64_t)st->i > UINT64_MAX / (uint64_t)es || e->size != (uint64_t)st->i * (uint64_t)es)
        return tio_err(err, errlen, "%s: tensor %s: storage data/%.100s has %llu bytes, its pickle says "
                       "%lld elements of %d bytes", path, name, st->s, (unsigned long long)e->size,
                       (long long)st->i, es);
    if (zip_check_crc(path, e, err, errlen)) return -1;
    int64_t numel = 1, maxoff = t->offset;
    for (int d = 0; d < t->ndim; d++) {
        int64_t span;
        if (__builtin_mul_overflow(numel, t->size[d], &numel) ||
            (t->size[d] > 0 && (__builtin_mul_overflow(t->size[d] - 1, t->stride[d], &span) ||
                                __builtin_add_overflow(maxoff, span, &maxoff))))
            return tio_err(err, errlen, "%s: tensor %s: sizes overflow", path, name);
    }
    if (numel > 0 && maxoff >= st->i)
        return tio_err(err, errlen, "%s: tensor %s reaches element %lld of a storage of %lld", path,
                       name, (long long)maxoff, (long long)st->i);
    if ((uint64_t)numel > SIZE_MAX / sizeof(float))
        return tio_err(err, errlen, "%s: tensor %s too large", path, name);
    float *out = malloc(numel ? (size_t)numel * sizeof(float) : 1);
    if (!out) return tio_err(err, errlen, "%s: out of memory", path);
    int64_t idx[PK_MAX_DIMS] = {0};
    int64_t src = t->offset;
    for (int64_t k = 0; k < numel; k++) {
        const unsigned char *p = e->data + (size_t)src * (size_t)es;
        switch (kind) {
        case S_F32: memcpy(&out[k], p, 4); break;
        case S_F16: out[k] = tio_f16_to_f32(tio_le16(p)); break;
        case S_BF16: out[k] = tio_bf16_to_f32(tio_le16(p)); break;
        case S_F64: { double dv; memcpy(&dv, p, 8); out[k] = (float)dv; break; }
        case S_SKIP: break;
        }
        for (int d = t->ndim - 1; d >= 0; d--) {        /* odometer step */
            src += t->stride[d];
            if (++idx[d] < t->size[d]) break;
            src -= t->stride[d] * idx[d];
            idx[d] = 0;
        }
    }
    if (!tio_add_owned(ts, name, t->ndim, t->size, out, err, errlen)) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s: %s", path, err);
        return tio_err(err, errlen, "%s", tmp);
    }
    return 0;
}

static int load_buf(const char *path, const unsigned char *buf, size_t len, tensor_set *ts,
                    char *err, size_t errlen)
{
    if (len >= 2 && buf[0] == 0x80 && buf[1] <= 5)
        return tio_err(err, errlen, "%s: legacy (pre-1.6, non-zip) torch.save format is not supported; "
                       "re-save it with a current torch or use model.safetensors", path);
    if (len < 4 || tio_le32(buf) != 0x04034b50u)
        return tio_err(err, errlen, "%s: not a PyTorch zip archive", path);
    zarchive z;
    if (zip_open(path, buf, len, &z, err, errlen)) return -1;
    zentry *pkl = NULL;
    for (size_t i = 0; i < z.n; i++) {
        const zentry *e = &z.e[i];
        static const char suf[] = "/data.pkl";
        size_t sl = sizeof suf - 1;
        if (e->nlen > sl && memcmp(e->name + e->nlen - sl, suf, sl) == 0 &&
            !memchr(e->name, '/', e->nlen - sl)) {
            if (pkl) {
                free(z.e);
                return tio_err(err, errlen, "%s: more than one data.pkl in the archive", path);
            }
            pkl = &z.e[i];
        }
    }
    if (!pkl) {
        free(z.e);
        return tio_err(err, errlen, "%s: no <archive>/data.pkl in the zip (not a torch.save file)", path);
    }
    size_t plen = pkl->nlen - strlen("/data.pkl");
    char prefix[256];
    if (plen >= sizeof prefix || memchr(pkl->name, 0, plen)) {
        free(z.e);
        return tio_err(err, errlen, "%s: bad archive name", path);
    }
    memcpy(prefix, pkl->name, plen);
    prefix[plen] = 0;
    const zentry *bo = zip_find(&z, prefix, plen, "/byteorder");
    if (bo && !(bo->size == 6 && memcmp(bo->data, "little", 6) == 0)) {
        free(z.e);
        return tio_err(err, errlen, "%s: storages are not little-endian", path);
    }
    if (zip_check_crc(path, pkl, err, errlen)) {
        free(z.e);
        return -1;
    }

    vm m;
    memset(&m, 0, sizeof m);
    m.p = pkl->data;
    m.len = (size_t)pkl->size;
    m.err = err;
    m.errlen = errlen;
    int rc = -1;
    val *root = vm_run(&m);
    if (!root) {
        char tmp[512];
        snprintf(tmp, sizeof tmp, "%s: %s", path, err);
        tio_err(err, errlen, "%s", tmp);
        goto out;
    }
    if (root->k != V_DICT) {
        tio_err(err, errlen, "%s: data.pkl does not hold a dict of tensors (a state dict)", path);
        goto out;
    }
    for (size_t i = 0; i + 1 < root->n; i += 2) {
        const val *k = root->items[i], *v = root->items[i + 1];
        if (k->k != V_STR) {
            tio_err(err, errlen, "%s: state dict key %zu is not a string", path, i / 2);
            goto out;
        }
        if (v->k != V_TENSOR) {
            tio_err(err, errlen, "%s: state dict entry %.200s is not a tensor", path, k->s);
            goto out;
        }
        if (materialise(path, &z, prefix, plen, k->s, v, ts, err, errlen)) goto out;
    }
    char dup[300];
    if (tio_check_unique(ts, dup, sizeof dup)) {
        tio_err(err, errlen, "%s: %s", path, dup);
        goto out;
    }
    rc = 0;
out:
    vm_free(&m);
    free(z.e);
    return rc;
}

int tensors_load_torch_bin(const char *path, tensor_set *ts, char *err, size_t errlen)
{
    tensors_init(ts);
    unsigned char *buf;
    size_t len;
    if (tio_read_file(path, &buf, &len, err, errlen) != 0) return -1;
    int rc = load_buf(path, buf, len, ts, err, errlen);
    if (rc == 0) cli_sha256_buf(buf, len, ts->sha256);
    else tensors_free(ts);
    free(buf);
    return rc;
}
