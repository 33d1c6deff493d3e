/* rowfilter: one streaming pass over a delivered file (contract sections 2-3).
 *
 * Reads the file, splits CSV records as PostgreSQL's COPY CSV does, checks
 * every field against its column rule, normalises id numbers (section 3),
 * computes person_key = HMAC-SHA256 and finds duplicate keys (contract v2: a row
 * repeated exactly counts once, its repeats are rejected; rows sharing a key but
 * differing anywhere else are all rejected). Valid rows go to stdout in PostgreSQL's binary COPY format, each value
 * already of its raw column's type (line_no, the values, a key after each id
 * column; the partition's defaults fill in extract_date and batch_id); rejected
 * rows go to the rejects file as CSV (line_no, raw line, reason). Text stays in
 * the file's encoding: the loader sets client_encoding to it and the server
 * converts, as it does for a plain COPY.
 *
 * Usage (built and driven by safetynet/rowfilter.py):
 *   rowfilter FILE ENCODING HEADER DELIM REJECTS KEYCOLS TYPES COLUMN...
 *   ENCODING  GB18030 | UTF8          HEADER  0 | 1
 *   KEYCOLS   comma-separated column indexes of the file's key (every column, in
 *             order, for a source without a key: repeats are "exact duplicate")
 *   TYPES     a letter per raw column after line_no (each file column, then the
 *             person_key after an id): t text, d date, n numeric, s smallint,
 *             i integer, b bigint, x bytea (a person_key: its 32 bytes)
 *   COLUMN    name \t kind \t required(0|1) [\t value]...  (values of kind enum)
 *   kinds     text alnum digits6 enum id money number integer fen date date8
 * The pseudonym key comes from env SAFETYNET_PSEUDONYM_KEY (never argv).
 * Summary on stderr: "rows=N loaded=N rejected=N withdrawn=N sha256=HEX". Exit 0,
 * or 2 on bad usage/IO.
 *
 * The file: only a regular file is read (opened without following a symlink, a
 * FIFO or device refused), and its SHA-256 is computed over exactly the bytes read,
 * so the loader compares the bytes it loaded with the manifest (no swap after a check).
 *
 * Conflicting keys: the first row of a key was already written to COPY when a later
 * row with that key and other values shows up. Both are rejected; the first row's
 * line number goes to REJECTS.withdrawn (the loader deletes it from the partition
 * inside the load transaction) and its raw line, read again from the file, to the
 * rejects. "loaded" counts rows written minus withdrawn ones.
 *
 * A record longer than MAX_RECORD bytes is rejected and reading goes on at the next
 * line (the buffer never grows past it).
 */
#define _GNU_SOURCE
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One thread writes: stdio without its per-call locking (the rejects file). */
#define putc putc_unlocked
#define fwrite fwrite_unlocked
#define fputs fputs_unlocked

enum kind { TEXT, ALNUM, DIGITS6, ENUM, ID, MONEY, NUMBER, INTEGER, FEN, DATE, DATE8 };
static const char *KINDS[] = {"text", "alnum", "digits6", "enum", "id", "money", "number",
                              "integer", "fen", "date", "date8"};

typedef struct {
    const char *name;
    enum kind kind;
    int required;
    int nvalues;
    char **values;
    char type;            /* its letter in TYPES: the raw column's type */
} column;

typedef struct { const unsigned char *p; size_t n; int null; } field;

#define MAX_IDS 8
static column *cols;
static int ncols, nkeys, gb18030;
static int keycols[8];
static char delim;
static int nout;               /* fields of an output row */
static FILE *rej;
static SHA256_CTX inner_ctx, outer_ctx;

static void die(const char *what) { fprintf(stderr, "rowfilter: %s\n", what); exit(2); }

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q) die("out of memory");
    return q;
}

/* ---------------------------------------------------------------- HMAC-SHA256 */

static void hmac_init(const char *key) {
    unsigned char k[64] = {0}, pad[64];
    size_t n = strlen(key);
    if (n > 64) SHA256((const unsigned char *)key, n, k);
    else memcpy(k, key, n);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
    SHA256_Init(&inner_ctx);
    SHA256_Update(&inner_ctx, pad, 64);
    for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
    SHA256_Init(&outer_ctx);
    SHA256_Update(&outer_ctx, pad, 64);
}

static void person_key(const char *id, size_t n, unsigned char digest[32]) {
    SHA256_CTX ctx = inner_ctx;
    SHA256_Update(&ctx, id, n);
    SHA256_Final(digest, &ctx);
    ctx = outer_ctx;
    SHA256_Update(&ctx, digest, 32);
    SHA256_Final(digest, &ctx);
}

/* ---------------------------------------------------------------- encodings */

/* Length of the valid character at p (0 if invalid), PostgreSQL's rules. */
static int utf8_char(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    if (c == 0) return 0;
    if (c < 0x80) return 1;
    int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (!len || c > 0xf4 || (size_t)len > n) return 0;
    for (int i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    if (c == 0xe0 && p[1] < 0xa0) return 0;               /* overlong */
    if (c == 0xed && p[1] > 0x9f) return 0;               /* surrogate */
    if (c == 0xf0 && p[1] < 0x90) return 0;               /* overlong */
    if (c == 0xf4 && p[1] > 0x8f) return 0;               /* above U+10FFFF */
    return len;
}

static int gb18030_char(const unsigned char *p, size_t n) {
    unsigned c = p[0];
    if (c == 0) return 0;
    if (c < 0x80) return 1;
    if (c == 0x80 || c == 0xff || n < 2) return 0;
    if ((p[1] >= 0x40 && p[1] <= 0x7e) || (p[1] >= 0x80 && p[1] <= 0xfe)) return 2;
    if (p[1] < 0x30 || p[1] > 0x39 || n < 4) return 0;
    if (p[2] < 0x81 || p[2] > 0xfe || p[3] < 0x30 || p[3] > 0x39) return 0;
    /* four-byte: BMP 81308130-8431A439, supplementary 90308130-E3329A35 */
    unsigned long v = ((unsigned long)c << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    if ((v >= 0x81308130UL && v <= 0x8431a439UL) || (v >= 0x90308130UL && v <= 0xe3329a35UL))
        return 4;
    return 0;
}

static int char_len(const unsigned char *p, size_t n) {
    return gb18030 ? gb18030_char(p, n) : utf8_char(p, n);
}

#define HIGH_BITS 0x8080808080808080ULL
#define HAS_ZERO(w) (((w) - 0x0101010101010101ULL) & ~(w) & HIGH_BITS)

static int valid_encoding(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n;) {
        uint64_t w;                                       /* ASCII without NUL: 8 at a time */
        if (i + 8 <= n && (memcpy(&w, p + i, 8), !(w & HIGH_BITS) && !HAS_ZERO(w))) {
            i += 8;
            continue;
        }
        int len = char_len(p + i, n - i);
        if (!len) return 0;
        i += len;
    }
    return 1;
}

/* ---------------------------------------------------------------- CSV out */

static void put_field(FILE *f, const unsigned char *p, size_t n) {
    int quote = 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r';
    if (!quote) { fwrite(p, 1, n, f); return; }
    putc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"') putc('"', f);
        putc(p[i], f);
    }
    putc('"', f);
}

/* The raw line for the audit table: invalid bytes become U+FFFD in the file's encoding. */
static void put_raw_line(const unsigned char *p, size_t n) {
    static const unsigned char fffd_utf8[] = {0xef, 0xbf, 0xbd}, fffd_gb[] = {0x84, 0x31, 0xa4, 0x37};
    unsigned char *clean = xrealloc(NULL, n * 4 + 1);
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        int len = char_len(p + i, n - i);
        if (len) { memcpy(clean + m, p + i, len); m += len; i += len; continue; }
        memcpy(clean + m, gb18030 ? fffd_gb : fffd_utf8, gb18030 ? 4 : 3);
        m += gb18030 ? 4 : 3;
        i++;
    }
    put_field(rej, clean, m);
    free(clean);
}

static long rejected;

static void reject(long line_no, const unsigned char *raw, size_t n, const char *reason) {
    fprintf(rej, "%ld,", line_no);
    put_raw_line(raw, n);
    putc(',', rej);
    put_field(rej, (const unsigned char *)reason, strlen(reason));
    putc('\n', rej);
    rejected++;
}

/* ---------------------------------------------------------------- value rules */

static int all_digits(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9') return 0;
    return 1;
}

static int num(const unsigned char *p, int n) {
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (p[i] - '0');
    return v;
}

static int real_date(int y, int m, int d) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= days[m - 1] + (m == 2 && leap);
}

static int iso_date(const unsigned char *p, size_t n) {
    if (n != 10 || p[4] != '-' || p[7] != '-') return 0;
    if (!all_digits(p, 4) || !all_digits(p + 5, 2) || !all_digits(p + 8, 2)) return 0;
    return real_date(num(p, 4), num(p + 5, 2), num(p + 8, 2));
}

static int compact_date(const unsigned char *p, size_t n) {
    return n == 8 && all_digits(p, 8) && real_date(num(p, 4), num(p + 4, 2), num(p + 6, 2));
}

/* digits[.digits]: at most max_int significant integer digits, 1..max_dec decimals. */
static int decimal(const unsigned char *p, size_t n, int max_int, int max_dec) {
    size_t dot = n;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '.') { dot = i; break; }
    if (dot == 0 || !all_digits(p, dot)) return 0;
    if (dot < n && (n - dot - 1 < 1 || n - dot - 1 > (size_t)max_dec || !all_digits(p + dot + 1, n - dot - 1)))
        return 0;
    size_t lead = 0;
    while (lead < dot && p[lead] == '0') lead++;
    return dot - lead <= (size_t)max_int;
}

static int valid_value(const column *c, const unsigned char *p, size_t n) {
    switch (c->kind) {
    case TEXT: case ID: return 1;
    case ALNUM:
        for (size_t i = 0; i < n; i++)
            if (!((p[i] >= '0' && p[i] <= '9') || ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'z')))
                return 0;
        return 1;
    case DIGITS6: return n == 6 && all_digits(p, n);
    case ENUM:
        for (int i = 0; i < c->nvalues; i++)
            if (strlen(c->values[i]) == n && memcmp(c->values[i], p, n) == 0) return 1;
        return 0;
    case MONEY: return decimal(p, n, 12, 2);               /* numeric(14,2) */
    case NUMBER: return decimal(p, n, 10, 2);              /* numeric(12,2) */
    case INTEGER: return n >= 1 && n <= 9 && all_digits(p, n);
    case FEN: return n >= 1 && n <= 15 && all_digits(p, n);
    case DATE: return iso_date(p, n);
    case DATE8: return compact_date(p, n);
    }
    return 0;
}

/* ---------------------------------------------------------------- identity (section 3) */

static const int WEIGHTS[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};

static char check_char(const char *first17) {
    int total = 0;
    for (int i = 0; i < 17; i++) total += (first17[i] - '0') * WEIGHTS[i];
    return "10X98765432"[total % 11];
}

/* Full-width digit/x/X or ideographic space at p, in the file's encoding. */
static int full_width(const unsigned char *p, size_t n, char *half) {
    if (gb18030) {
        if (n < 2 || p[0] != 0xa3) return p[0] == 0xa1 && n >= 2 && p[1] == 0xa1 ? (*half = ' ', 2) : 0;
        if (p[1] >= 0xb0 && p[1] <= 0xb9) { *half = '0' + p[1] - 0xb0; return 2; }
        if (p[1] == 0xd8 || p[1] == 0xf8) { *half = 'X'; return 2; }
        return 0;
    }
    if (n >= 3 && p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) { *half = ' '; return 3; }
    if (n < 3 || p[0] != 0xef) return 0;
    if (p[1] == 0xbc && p[2] >= 0x90 && p[2] <= 0x99) { *half = '0' + p[2] - 0x90; return 3; }
    if ((p[1] == 0xbc && p[2] == 0xb8) || (p[1] == 0xbd && p[2] == 0x98)) { *half = 'X'; return 3; }
    return 0;
}

/* id[0..18) a valid GB 11643 number: digits, its check character, a real birth date. */
static int valid_id(char id[19]) {
    id[18] = 0;
    if (!all_digits((unsigned char *)id, 17) || id[17] != check_char(id)) return 0;
    return real_date(num((unsigned char *)id + 6, 4), num((unsigned char *)id + 10, 2),
                     num((unsigned char *)id + 12, 2));
}

/* Normalise into id[]: whitespace trimmed, full-width to half, x to X, 15 -> 18.
 * Returns 1 if the result is a valid GB 11643 number. */
static int normalise_id(const unsigned char *p, size_t n, char id[19]) {
    if (n == 18 && all_digits(p, 17)) {                  /* as most arrive: only x to X */
        memcpy(id, p, 18);
        if (id[17] == 'x') id[17] = 'X';
        return valid_id(id);
    }
    char buf[64];
    size_t m = 0;
    for (size_t i = 0; i < n;) {
        char half = p[i];
        int len = full_width(p + i, n - i, &half);
        if (!len) len = 1;
        if (half == 'x') half = 'X';
        if (m == sizeof buf) return 0;
        buf[m++] = (half == '\t' || half == '\r' || half == '\n') ? ' ' : half;
        if (len == 1 && (unsigned char)half >= 0x80) return 0;   /* other non-ASCII */
        i += len;
    }
    size_t a = 0, b = m;
    while (a < b && buf[a] == ' ') a++;
    while (b > a && buf[b - 1] == ' ') b--;
    if (b - a == 15 && all_digits((unsigned char *)buf + a, 15)) {
        memcpy(id, buf + a, 6);
        memcpy(id + 6, "19", 2);
        memcpy(id + 8, buf + a + 6, 9);
        id[17] = check_char(id);
    } else if (b - a == 18) {
        memcpy(id, buf + a, 18);
    } else {
        return 0;
    }
    return valid_id(id);
}

/* ---------------------------------------------------------------- duplicate keys */

/* 16 bytes a slot: the hash's low 32 bits (enough to place it in a table of up to
 * 2^32 slots), the key's place in the arena, the line (top bit: the key conflicts).
 * In the arena before each key: the first row's info (row hash, file offset, length),
 * read only when the key repeats. */
typedef struct { uint32_t hash, off, len, line; } slot;
typedef struct { uint64_t row, file_off; uint32_t raw_n; } first_row;
#define CONFLICT 0x80000000u
static long withdrawn;
/* First rows of conflicting keys (rejected at the end), and the later line that showed it. */
typedef struct { uint32_t line, later; uint64_t file_off; uint32_t raw_n; } conflict;
static conflict *conflicts;
static size_t nconflicts, conflicts_cap;
static slot *table;
static size_t table_size, table_used;
static char *arena;
static size_t arena_used, arena_size;

static uint64_t hash_bytes(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ULL;                 /* FNV-1a, then mixed */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    h ^= h >> 33; h *= 0xff51afd7ed558ccdULL; h ^= h >> 33;
    return h;
}

static void grow_table(void) {
    size_t old_size = table_size;
    slot *old = table;
    table_size = table_size ? table_size * 2 : 1 << 16;
    table = calloc(table_size, sizeof *table);
    if (!table) die("out of memory");
    for (size_t i = 0; i < old_size; i++) {
        if (!old[i].len) continue;
        size_t j = old[i].hash & (table_size - 1);     /* the low bits are the slot */
        while (table[j].len) j = (j + 1) & (table_size - 1);
        table[j] = old[i];
    }
    free(old);
}

/* The slot of the first row with this key (hash h), or NULL after remembering the
 * key with ``info`` for line_no. */
static slot *first_of(const char *key, size_t n, uint64_t h, long line_no, const first_row *info) {
    if (4 * (table_used + 1) > 3 * table_size) grow_table();
    size_t j = h & (table_size - 1);
    for (; table[j].len; j = (j + 1) & (table_size - 1))
        if (table[j].hash == (uint32_t)h && table[j].len == n + 1
            && !memcmp(arena + table[j].off + sizeof *info, key, n))
            return &table[j];
    size_t need = sizeof *info + n;
    while (arena_used + need > arena_size) {
        arena_size = arena_size ? arena_size * 2 : 1 << 20;
        arena = xrealloc(arena, arena_size);
    }
    memcpy(arena + arena_used, info, sizeof *info);
    memcpy(arena + arena_used + sizeof *info, key, n);
    if (arena_used + need > UINT32_MAX || line_no >= (long)CONFLICT) die("file too large");
    table[j] = (slot){(uint32_t)h, (uint32_t)arena_used, (uint32_t)n + 1, (uint32_t)line_no};
    arena_used += need;
    table_used++;
    return NULL;
}

/* ---------------------------------------------------------------- records */

/* A record being checked. Two take turns: while one is checked, the other (valid,
 * its slot in the duplicate-key table prefetched) waits for its probe, so the cache
 * miss of the probe overlaps the next record's checks. */
typedef struct {
    field *fields;
    int fields_cap;
    unsigned char *values;      /* unquoted field bytes (records with quotes) */
    size_t values_cap;
    char ids[MAX_IDS][19];      /* normalised id numbers */
    long line_no;
    const unsigned char *raw;   /* the record in the read buffer */
    size_t raw_n;
    char *key;                  /* key columns joined by 0x1f, and their hash */
    size_t key_n, key_cap;
    uint64_t hash;
    uint64_t row;               /* hash of every (normalised) value: tells repeats apart */
    uint64_t file_off;          /* where the record starts in the file */
} record;

static uint64_t record_off;         /* file offset of the record being handled */
static int key_is_row;              /* the key is the whole row (casework) */
static unsigned char in_key[256];   /* column c is a key column */

static long loaded;
static record records[2];
static record *now = &records[0];   /* the record being checked */
static record *waiting;             /* a valid record waiting for its duplicate probe */

static void ensure_fields(int count) {
    if (count < now->fields_cap) return;
    now->fields_cap = now->fields_cap ? now->fields_cap * 2 : 16;
    now->fields = xrealloc(now->fields, now->fields_cap * sizeof *now->fields);
}

/* A record without quotes: its fields are the bytes between delimiters. */
static int split_plain(const unsigned char *p, size_t n) {
    int count = 0;
    for (const unsigned char *end = p + n;;) {
        const unsigned char *next = memchr(p, delim, end - p);
        ensure_fields(count);
        size_t len = (next ? next : end) - p;
        now->fields[count++] = (field){p, len, len == 0};
        if (!next) return count;
        p = next + 1;
    }
}

/* Split one record as COPY CSV does; returns the number of fields. */
static int split(const unsigned char *p, size_t n, int quoted) {
    if (!quoted) return split_plain(p, n);
    if (n + 1 > now->values_cap) now->values = xrealloc(now->values, now->values_cap = 2 * n + 64);
    unsigned char *values = now->values;
    int count = 0;
    size_t v = 0, i = 0;
    for (;;) {
        ensure_fields(count);
        size_t start = v;
        int quoted = 0, in_quote = 0;
        for (; i < n; i++) {
            unsigned char c = p[i];
            if (in_quote) {
                if (c == '"' && i + 1 < n && p[i + 1] == '"') { values[v++] = '"'; i++; }
                else if (c == '"') in_quote = 0;
                else values[v++] = c;
            } else if (c == (unsigned char)delim) {
                break;
            } else if (c == '"') {
                in_quote = quoted = 1;
            } else {
                values[v++] = c;
            }
        }
        now->fields[count++] = (field){values + start, v - start, !quoted && v == start};
        if (i >= n) return count;
        i++;
    }
}

static void trim(field *f) {
    while (f->n && f->p[0] == ' ') { f->p++; f->n--; }
    while (f->n && f->p[f->n - 1] == ' ') f->n--;
    f->null = f->n == 0;
}

/* Append "<before><name><after>" to the row's reasons, "; " between two. */
static void add_reason(char *reasons, const char *before, const char *name, const char *after) {
    size_t len = strlen(reasons);
    if (len + strlen(name) + 16 < 1024)
        sprintf(reasons + len, "%s%s%s%s", len ? "; " : "", before, name, after);
}

/* The reasons of the column rules, in column order, then of the id numbers; a valid
 * id is replaced by its normalised form (held in the record's ids). */
static void rule_reasons(char *reasons) {
    field *fields = now->fields;
    for (int c = 0; c < ncols; c++) {
        field *f = &fields[c];
        trim(f);
        if (f->null) { if (cols[c].required) add_reason(reasons, "", cols[c].name, " is empty"); continue; }
        if (!valid_value(&cols[c], f->p, f->n)) add_reason(reasons, "invalid ", cols[c].name, "");
    }
    for (int c = 0, nid = 0; c < ncols; c++) {
        if (cols[c].kind != ID || fields[c].null) continue;
        char *id = now->ids[nid++];
        if (!normalise_id(fields[c].p, fields[c].n, id)) add_reason(reasons, "invalid ", cols[c].name, "");
        else { fields[c].p = (unsigned char *)id; fields[c].n = 18; }
    }
}

static inline uint64_t mix(uint64_t h, uint64_t w) {
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

/* A hash of the record's other values (the key's are equal when it is probed) after
 * trimming and id normalisation, 8 bytes a step: two rows with one key are exact
 * repeats when it matches. */
static uint64_t hash_row(const record *r) {
    uint64_t h = 0x243f6a8885a308d3ULL;
    for (int c = 0; c < ncols; c++) {
        if (in_key[c]) continue;
        const field *f = &r->fields[c];
        if (f->null) { h = mix(h, 0xffffffffffffffffULL); continue; }
        const unsigned char *p = f->p;
        size_t n = f->n;
        h = mix(h, n);
        for (; n >= 8; p += 8, n -= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            h = mix(h, w);
        }
        if (n) {
            uint64_t w = 0;
            memcpy(&w, p, n);
            h = mix(h, w);
        }
    }
    return h;
}

/* The record's key (its key columns joined by 0x1f) and hash; its slot is prefetched. */
static void hash_key(record *r) {
    size_t k = 0;
    for (int i = 0; i < nkeys; i++) {
        field *f = &r->fields[keycols[i]];
        if (k + f->n + 1 > r->key_cap) r->key = xrealloc(r->key, r->key_cap = 2 * (k + f->n + 1));
        memcpy(r->key + k, f->p, f->n);
        k += f->n;
        r->key[k++] = 0x1f;
    }
    r->key_n = k;
    r->hash = hash_bytes(r->key, k);
    r->row = key_is_row ? 0 : hash_row(r);
    if (table) __builtin_prefetch(&table[r->hash & (table_size - 1)]);
}

/* Whether the key is every column in file order (a source without a key, casework). */
static int whole_row_key(void) {
    if (nkeys != ncols) return 0;
    for (int i = 0; i < nkeys; i++)
        if (keycols[i] != i) return 0;
    return 1;
}

static int key_names(char *out) {
    int len = sprintf(out, "(");
    for (int i = 0; i < nkeys; i++)
        len += sprintf(out + len, "%s%s", i ? ", " : "", cols[keycols[i]].name);
    return len + sprintf(out + len, ")");
}

/* Empty if no earlier valid row had this record's key. "exact duplicate of line N"
 * when that row had the same values too (and the key is not known to conflict);
 * else the key conflicts: "duplicate key (...) of line N with different values", and
 * the first row (already written) is noted for withdrawal. */
static void duplicate_reason(char *reasons, const record *r) {
    first_row info = {r->row, r->file_off, (uint32_t)r->raw_n};
    slot *first = first_of(r->key, r->key_n, r->hash, r->line_no, &info);
    if (!first) return;
    long first_line = first->line & ~CONFLICT;
    first_row seen;
    memcpy(&seen, arena + first->off, sizeof seen);
    if (!(first->line & CONFLICT) && seen.row == r->row) {
        sprintf(reasons, "exact duplicate of line %ld", first_line);
        return;
    }
    int len = sprintf(reasons, "duplicate key ");
    len += key_names(reasons + len);
    sprintf(reasons + len, " of line %ld with different values", first_line);
    if (first->line & CONFLICT) return;
    first->line |= CONFLICT;
    if (nconflicts == conflicts_cap)
        conflicts = xrealloc(conflicts, (conflicts_cap = conflicts_cap ? 2 * conflicts_cap : 64) * sizeof *conflicts);
    conflicts[nconflicts++] = (conflict){(uint32_t)first_line, (uint32_t)r->line_no, seen.file_off, seen.raw_n};
}

/* ---------------------------------------------------------------- COPY binary out
 * Valid rows go out in PostgreSQL's binary COPY format, each value already in
 * its column's type: the server only stores them (no parsing, no casts). Text
 * stays in the file's encoding; the loader sets client_encoding to match. */

/* stdout through an own 1 MiB buffer: a row is a dozen small pieces, and stdio's
 * per-call cost was a sixth of the filter's time. */
static unsigned char obuf[1 << 20];
static size_t olen;

static void write_all(const unsigned char *p, size_t n) {
    while (n) {
        ssize_t done = write(STDOUT_FILENO, p, n);
        if (done < 0 && errno == EINTR) continue;
        if (done <= 0) die("write failed");
        p += done;
        n -= (size_t)done;
    }
}

static void flush_out(void) {
    write_all(obuf, olen);
    olen = 0;
}

static void put_bytes(const void *p, size_t n) {
    if (olen + n > sizeof obuf) {
        flush_out();
        if (n > sizeof obuf) { write_all(p, n); return; }
    }
    memcpy(obuf + olen, p, n);
    olen += n;
}

static void put_be(uint64_t v, int bytes) {
    if (olen + 8 > sizeof obuf) flush_out();
    for (int i = bytes - 1; i >= 0; i--, v >>= 8) obuf[olen + i] = (unsigned char)v;
    olen += bytes;
}

static void put_length(int32_t n) { put_be((uint32_t)n, 4); }

/* Days from 2000-01-01 (PostgreSQL's date) to y-m-d of the proleptic Gregorian calendar. */
static int32_t pg_date(int y, int m, int d) {
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468 - 10957;
}

static void put_date(const unsigned char *p, size_t n) {
    int y = num(p, 4), m = num(p + (n == 8 ? 4 : 5), 2), d = num(p + (n == 8 ? 6 : 8), 2);
    put_length(4);
    put_be((uint32_t)pg_date(y, m, d), 4);
}

static void put_integer(const unsigned char *p, size_t n, int bytes) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (p[i] - '0');
    put_length(bytes);
    put_be(v, bytes);
}

/* A checked decimal "digits[.digits]" as numeric: base-10000 digits, weight, dscale. */
static void put_numeric(const unsigned char *p, size_t n) {
    char buf[64];
    size_t dot = n;
    for (size_t i = 0; i < n; i++)
        if (p[i] == '.') { dot = i; break; }
    int scale = dot < n ? (int)(n - dot - 1) : 0;
    size_t lead = 0;
    while (lead < dot && p[lead] == '0') lead++;
    int int_len = (int)(dot - lead), pad = (4 - int_len % 4) % 4, len = pad;
    memset(buf, '0', sizeof buf);
    memcpy(buf + len, p + lead, int_len);                 /* integer part, aligned to 4 */
    len += int_len;
    memcpy(buf + len, p + dot + 1, scale);                /* fraction, padded to 4 with 0 */
    len += (scale + 3) / 4 * 4;
    int groups = len / 4, weight = (pad + int_len) / 4 - 1;
    uint16_t digit[16];
    for (int g = 0; g < groups; g++) digit[g] = (uint16_t)num((unsigned char *)buf + 4 * g, 4);
    int first = 0, last = groups;
    while (first < last && !digit[first]) { first++; weight--; }
    while (last > first && !digit[last - 1]) last--;
    if (first == last) weight = 0;
    put_length(8 + 2 * (last - first));
    put_be(last - first, 2);
    put_be((uint16_t)weight, 2);
    put_be(0, 2);                                         /* sign: positive */
    put_be(scale, 2);
    for (int g = first; g < last; g++) put_be(digit[g], 2);
}

static void put_key(const field *f) {
    unsigned char digest[32];
    if (f->null) { put_length(-1); return; }
    person_key((const char *)f->p, f->n, digest);
    put_length(32);
    put_bytes(digest, 32);
}

static void put_value(const field *f, char type) {
    if (f->null) { put_length(-1); return; }
    switch (type) {
    case 'd': put_date(f->p, f->n); return;
    case 'n': put_numeric(f->p, f->n); return;
    case 's': put_integer(f->p, f->n, 2); return;
    case 'i': put_integer(f->p, f->n, 4); return;
    case 'b': put_integer(f->p, f->n, 8); return;
    }
    put_length((int32_t)f->n);
    put_bytes(f->p, f->n);
}

/* line_no, the values, a person_key after each id column. */
static void write_row(const record *r) {
    put_be(nout, 2);
    put_length(4);
    put_be((uint32_t)r->line_no, 4);
    for (int c = 0; c < ncols; c++) {
        put_value(&r->fields[c], cols[c].type);
        if (cols[c].kind == ID) put_key(&r->fields[c]);
    }
    loaded++;
}

/* Probe the waiting record's key: write it out, or reject it as a duplicate. */
static void finish_waiting(void) {
    if (!waiting) return;
    char reasons[1024];
    reasons[0] = 0;
    duplicate_reason(reasons, waiting);
    if (reasons[0]) reject(waiting->line_no, waiting->raw, waiting->raw_n, reasons);
    else write_row(waiting);
    waiting = NULL;
}

static void reject_now(long line_no, const unsigned char *raw, size_t n, const char *reason) {
    finish_waiting();                                     /* rejects stay in line order */
    reject(line_no, raw, n, reason);
}

static void check_row(long line_no, const unsigned char *raw, size_t raw_n) {
    char reasons[1024];
    reasons[0] = 0;
    rule_reasons(reasons);
    if (reasons[0]) { reject_now(line_no, raw, raw_n, reasons); return; }
    now->line_no = line_no;
    now->raw = raw;
    now->raw_n = raw_n;
    now->file_off = record_off;
    hash_key(now);
    finish_waiting();
    waiting = now;
    now = now == &records[0] ? &records[1] : &records[0];
}

static void handle_record(long line_no, const unsigned char *p, size_t n, int broken,
                          int quoted) {
    if (n && p[n - 1] == '\r') n--;
    if (!valid_encoding(p, n)) {
        reject_now(line_no, p, n, gb18030 ? "bytes not valid GB18030" : "bytes not valid UTF8");
        return;
    }
    if (broken) {
        reject_now(line_no, p, n, "unterminated quoted field");
        return;
    }
    int count = n ? split(p, n, quoted) : 0;
    if (count != ncols) {
        char reason[64];
        sprintf(reason, "%d fields, expected %d", count, ncols);
        reject_now(line_no, p, n, reason);
        return;
    }
    check_row(line_no, p, n);
}

/* End of the record starting at p: the index of its '\n', or n if not in p[0..n).
 * A quoted field may hold newlines, as COPY allows, up to MAX_QUOTED bytes; a quote
 * still open after that or at the end of the file makes the record *broken*: it is
 * then its first physical line only, rejected, and reading goes on after it. */
#define MAX_QUOTED (64 << 10)

static size_t record_end(const unsigned char *p, size_t n, int eof, long *lines, int *broken,
                         int *quoted) {
    int in_quote = 0;
    size_t first_newline = n;
    *lines = 0;
    *broken = 0;
    const unsigned char *newline = memchr(p, '\n', n);  /* most records hold no quote */
    size_t until = newline ? (size_t)(newline - p) : n;
    *quoted = memchr(p, '"', until) != NULL;
    if (!*quoted) return until;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"') {
            in_quote = !in_quote;
        } else if (p[i] == '\n') {
            if (!in_quote) return i;
            if (first_newline == n) first_newline = i;
            (*lines)++;
        }
        if (in_quote && i >= MAX_QUOTED && first_newline < n) break;
    }
    if (!in_quote || (!eof && (n < MAX_QUOTED || first_newline == n))) return n;
    *lines = 0;
    *broken = 1;
    return first_newline;
}

/* A record may be this long; a longer one is rejected (its first KEPT_OF_LONG bytes
 * kept in the audit trail) and reading goes on at the next line. */
#define MAX_RECORD (64 << 10)
#define KEPT_OF_LONG 1024

static int in_fd = -1;
static SHA256_CTX file_sha;         /* of every byte read: the bytes that were loaded */

static size_t read_in(unsigned char *p, size_t n) {
    for (;;) {
        ssize_t got = read(in_fd, p, n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) die("read failed");
        SHA256_Update(&file_sha, p, (size_t)got);
        return (size_t)got;
    }
}

static void reject_long(long line_no, const unsigned char *p, size_t n) {
    char reason[64];
    sprintf(reason, "record longer than %d bytes", MAX_RECORD);
    reject_now(line_no, p, n < KEPT_OF_LONG ? n : KEPT_OF_LONG, reason);
}

static void filter(int header) {
    size_t cap = 8 << 20, have = 0, pos = 0;
    unsigned char *buf = xrealloc(NULL, cap);
    uint64_t base = 0;                                    /* file offset of buf[0] */
    long line_no = 1;
    int eof = 0, first = 1;
    for (;;) {
        long extra;
        int broken, quoted;
        size_t end = record_end(buf + pos, have - pos, eof, &extra, &broken, &quoted);
        if (pos + end == have && !eof && !broken) {       /* need more bytes */
            finish_waiting();                             /* it points into buf */
            if (have - pos > MAX_RECORD) {                /* a line without end: skip it */
                if (!(first && header)) reject_long(line_no, buf + pos, have - pos);
                first = 0;
                line_no++;
                for (;;) {
                    base += have;
                    have = read_in(buf, cap);
                    const unsigned char *nl = memchr(buf, '\n', have);
                    if (!have) { eof = 1; pos = 0; break; }
                    if (nl) { pos = (size_t)(nl - buf) + 1; break; }
                }
                continue;
            }
            memmove(buf, buf + pos, have - pos);
            base += pos;
            have -= pos; pos = 0;
            if (have == cap) buf = xrealloc(buf, cap *= 2);
            size_t got = read_in(buf + have, cap - have);
            if (!got) eof = 1;
            have += got;
            continue;
        }
        if (pos == have) break;
        const unsigned char *rec = buf + pos;
        size_t n = end;
        if (first && n >= 3 && !memcmp(rec, "\xef\xbb\xbf", 3)) { rec += 3; n -= 3; }
        record_off = base + (uint64_t)(rec - buf);
        if (!(first && header)) {
            if (n > MAX_RECORD) reject_long(line_no, rec, n);
            else handle_record(line_no, rec, n, broken, quoted);
        }
        first = 0;
        line_no += 1 + extra;
        pos += end + (pos + end < have);
    }
    finish_waiting();
    free(buf);
}

/* The first rows of conflicting keys: rejected (their raw line read again from the
 * file), their line numbers listed for the loader to delete from the partition. */
static void withdraw_conflicts(const char *rejects_path) {
    if (!nconflicts) return;
    char names[512];
    key_names(names);
    size_t len = strlen(rejects_path) + 16;
    char *path = xrealloc(NULL, len);
    snprintf(path, len, "%s.withdrawn", rejects_path);
    FILE *out = fopen(path, "wb");
    if (!out) die("cannot open the withdrawn file");
    unsigned char *raw = NULL;
    for (size_t i = 0; i < nconflicts; i++) {
        conflict *c = &conflicts[i];
        raw = xrealloc(raw, c->raw_n + 1);
        size_t got = 0;
        while (got < c->raw_n) {
            ssize_t r = pread(in_fd, raw + got, c->raw_n - got, (off_t)(c->file_off + got));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) die("cannot read a conflicting row again");
            got += (size_t)r;
        }
        char reason[600];
        snprintf(reason, sizeof reason, "duplicate key %s repeated with different values on line %u",
                 names, c->later);
        reject(c->line, raw, c->raw_n, reason);
        fprintf(out, "%u\n", c->line);
        withdrawn++;
    }
    free(raw);
    free(path);
    if (fclose(out)) die("write failed");
}

/* Open FILE only if it is a regular file: no symbolic link, FIFO or device. */
static void open_input(const char *path) {
    in_fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (in_fd < 0) die(errno == ELOOP ? "the input file is a symbolic link" : "cannot open the input file");
    struct stat st;
    if (fstat(in_fd, &st) || !S_ISREG(st.st_mode)) die("the input is not a regular file");
    int flags = fcntl(in_fd, F_GETFL);
    if (flags < 0 || fcntl(in_fd, F_SETFL, flags & ~O_NONBLOCK)) die("cannot read the input file");
    SHA256_Init(&file_sha);
}

static void parse_column(column *c, char *spec) {
    char *parts[64];
    int n = 0;
    for (char *s = spec; n < 64;) {
        parts[n++] = s;
        char *tab = strchr(s, '\t');
        if (!tab) break;
        *tab = 0;
        s = tab + 1;
    }
    if (n < 3) die("column spec needs name, kind, required");
    c->name = parts[0];
    c->kind = (enum kind) - 1;
    for (int k = 0; k < (int)(sizeof KINDS / sizeof *KINDS); k++)
        if (!strcmp(parts[1], KINDS[k])) c->kind = (enum kind)k;
    if ((int)c->kind < 0) die("unknown column kind");
    c->required = parts[2][0] == '1';
    c->nvalues = n - 3;
    c->values = xrealloc(NULL, (n - 3 + 1) * sizeof(char *));
    for (int i = 3; i < n; i++) c->values[i - 3] = parts[i];
}

/* The raw column types (TYPES) each rule kind may be written as. */
static int writable(const column *c, char type) {
    switch (c->kind) {
    case TEXT: case ALNUM: case DIGITS6: case ID: return type == 't';
    case ENUM:
        if (type == 't') return 1;
        for (int i = 0; i < c->nvalues; i++)
            if (!*c->values[i] || strlen(c->values[i]) > 4 || !all_digits((unsigned char *)c->values[i], strlen(c->values[i])))
                return 0;
        return type == 's' || type == 'i';
    case MONEY: case NUMBER: return type == 'n';
    case INTEGER: return type == 'i' || type == 'b';
    case FEN: return type == 'b';
    case DATE: case DATE8: return type == 'd';
    }
    return 0;
}

static void parse_types(const char *types) {
    const char *t = types;
    for (int c = 0; c < ncols; c++) {
        if (!*t) die("TYPES is shorter than the columns");
        cols[c].type = *t++;
        if (!writable(&cols[c], cols[c].type)) {
            fprintf(stderr, "rowfilter: column %s (%s) cannot be written as type '%c'\n",
                    cols[c].name, KINDS[cols[c].kind], cols[c].type);
            exit(2);
        }
        if (cols[c].kind != ID) continue;
        if (*t++ != 'x') die("a person_key column must be bytea (x)");
        nout++;
    }
    if (*t) die("TYPES is longer than the columns");
    nout += 1 + ncols;
}

static void put_header(void) {
    put_bytes("PGCOPY\n\377\r\n\0", 11);
    put_be(0, 4);                                         /* flags */
    put_be(0, 4);                                         /* header extension length */
}

int main(int argc, char **argv) {
    if (argc < 9) die("usage: rowfilter FILE ENCODING HEADER DELIM REJECTS KEYCOLS TYPES COLUMN...");
    const char *key = getenv("SAFETYNET_PSEUDONYM_KEY");
    if (!key) die("SAFETYNET_PSEUDONYM_KEY is not set");
    hmac_init(key);
    open_input(argv[1]);
    gb18030 = !strcmp(argv[2], "GB18030");
    delim = argv[4][0];
    rej = fopen(argv[5], "wb");
    if (!rej) die("cannot open the rejects file");
    for (char *s = argv[6]; *s; s = strchr(s, ',') ? strchr(s, ',') + 1 : s + strlen(s)) {
        if (nkeys == 8) die("too many key columns");
        keycols[nkeys++] = atoi(s);
    }
    ncols = argc - 8;
    cols = calloc(ncols, sizeof *cols);
    for (int i = 0, ids = 0; i < ncols; i++) {
        parse_column(&cols[i], argv[8 + i]);
        if (cols[i].kind == ID && ++ids > MAX_IDS) die("too many id columns");
    }
    parse_types(argv[7]);
    for (int i = 0; i < nkeys; i++) {
        if (keycols[i] < 0 || keycols[i] >= ncols || keycols[i] > 255) die("key column out of range");
        in_key[keycols[i]] = 1;
    }
    key_is_row = whole_row_key();
    put_header();
    filter(argv[3][0] == '1');
    put_be(0xffff, 2);                                    /* end of the COPY data */
    flush_out();
    withdraw_conflicts(argv[5]);
    if (fclose(rej)) die("write failed");
    unsigned char digest[32];
    char hex[65];
    SHA256_Final(digest, &file_sha);
    for (int i = 0; i < 32; i++) sprintf(hex + 2 * i, "%02x", digest[i]);
    fprintf(stderr, "rows=%ld loaded=%ld rejected=%ld withdrawn=%ld sha256=%s\n",
            loaded - withdrawn + rejected, loaded - withdrawn, rejected, withdrawn, hex);
    return 0;
}
