/* pyfmt.c: Python-compatible number and string formatting (see pyfmt.h). */
#include "probe/pyfmt.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

char *py_repr_double(double v, char buf[32])
{
    if (isnan(v)) { strcpy(buf, "NaN"); return buf; }
    if (isinf(v)) { strcpy(buf, v > 0 ? "Infinity" : "-Infinity"); return buf; }
    char tmp[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        if (strtod(tmp, NULL) == v) break;
    }
    /* tmp = [-]d[.ddd]e[+-]XX : collect digits and exponent */
    const char *p = tmp;
    int neg = 0;
    if (*p == '-') { neg = 1; p++; }
    char dig[20];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') dig[nd++] = *p;
    int e = atoi(p + 1);
    while (nd > 1 && dig[nd - 1] == '0') nd--; /* trailing zeros */
    dig[nd] = 0;
    int decpt = e + 1; /* value = 0.DIGITS x 10^decpt */
    char *o = buf;
    if (neg) *o++ = '-';
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            *o++ = '0'; *o++ = '.';
            for (int i = 0; i < -decpt; i++) *o++ = '0';
            memcpy(o, dig, nd); o += nd;
        } else if (decpt >= nd) {
            memcpy(o, dig, nd); o += nd;
            for (int i = nd; i < decpt; i++) *o++ = '0';
            *o++ = '.'; *o++ = '0';
        } else {
            memcpy(o, dig, decpt); o += decpt;
            *o++ = '.';
            memcpy(o, dig + decpt, nd - decpt); o += nd - decpt;
        }
        *o = 0;
    } else {
        *o++ = dig[0];
        if (nd > 1) { *o++ = '.'; memcpy(o, dig + 1, nd - 1); o += nd - 1; }
        sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    return buf;
}

/* Decode one UTF-8 sequence; @return code point or -1 (invalid), *len set */
static long utf8_next(const unsigned char *s, int *len)
{
    unsigned c = s[0];
    int n;
    long cp;
    if (c < 0x80) { *len = 1; return c; }
    else if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
    else { *len = 1; return -1; }
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) { *len = 1; return -1; }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const long min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { *len = 1; return -1; }
    *len = n;
    return cp;
}

void py_json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    while (*p) {
        int len;
        long cp = utf8_next(p, &len);
        if (cp < 0) cp = *p; /* invalid byte: as its Latin-1 code point */
        switch (cp) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '\b': fputs("\\b", f); break;
        case '\f': fputs("\\f", f); break;
        default:
            if (cp >= 0x20 && cp < 0x7F) fputc((int)cp, f);
            else if (cp < 0x10000) fprintf(f, "\\u%04lx", cp);
            else {
                long v = cp - 0x10000;
                fprintf(f, "\\u%04lx\\u%04lx", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
            }
        }
        p += len;
    }
    fputc('"', f);
}

double np_pairwise_sum(const double *a, size_t n)
{
    if (n < 8) {
        double r = 0.0;
        for (size_t i = 0; i < n; i++) r += a[i];
        return r;
    } else if (n <= 128) {
        double r[8];
        size_t i;
        for (int j = 0; j < 8; j++) r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    size_t n2 = n / 2;
    n2 -= n2 % 8;
    return np_pairwise_sum(a, n2) + np_pairwise_sum(a + n2, n - n2);
}
