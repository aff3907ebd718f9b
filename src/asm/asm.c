/* asm.c - the assembler: text in the bpf_conformance / uBPF syntax -> eBPF
 * bytecode (the syntax is described in docs/asm.md).
 *
 * One pass over the lines scans tokens, parses each instruction into one or
 * two slots and records label definitions and references; then labels are
 * resolved and sbpf_validate() checks the whole program (a program with Kops
 * sites, written as .raw pairs, is checked by lowering it: sbpf_kops_lower()
 * applies the site rules and validates the result). Mnemonics and their
 * operand layouts come from opcodes.def through sbpf_op_info(). Every problem
 * becomes a caret diagnostic; parsing resumes at the next line, so one run
 * reports many problems.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safebpf/asm.h"
#include "safebpf/kops.h"

#define MAX_ERRORS   50 /* diagnostics collected before giving up */
#define MAX_MNEMONIC 40 /* longest mnemonic text considered ("lock fetch add32") */
#define MAX_OPS      4  /* most operands any form takes, plus one to detect extras */

/* ---------------------------------------------------------------- tokens */

enum tok_kind { T_END, T_IDENT, T_REG, T_NUM, T_PUNCT };

struct tok {
	enum tok_kind kind; /* what was scanned */
	size_t off;         /* byte offset in the source text */
	int len;            /* length in bytes */
	uint64_t num;       /* T_NUM: value (magnitude, no sign) */
	int hex;            /* T_NUM: written as 0x... */
	int bad;            /* T_NUM: 1 malformed, 2 above 64 bits; T_REG: 1 malformed, 2 > r10 */
	int reg;            /* T_REG: register number when !bad */
	char ch;            /* T_PUNCT: the character */
};

struct lexer {
	const char *text;   /* whole source */
	size_t pos;         /* next byte to scan */
	size_t eol;         /* end of the current line (offset of '\n' or NUL) */
	size_t prev_end;    /* end of the last token consumed by advance() */
	struct tok cur;     /* current token */
};

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_ident_start(int c)
{
	return is_alpha(c) || c == '_' || c == '.';
}

static int is_ident_char(int c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '.';
}

static int to_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int digit_value(int c)
{
	if (is_digit(c))
		return c - '0';
	c = to_lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : 99;
}

/* Scans a number starting at t->off: decimal or 0x-hex. Letters glued to it
 * make it malformed ("12ab", "0xZ"). */
static void scan_number(const struct lexer *lx, struct tok *t)
{
	const char *s = lx->text;
	size_t p = t->off;
	unsigned base = 10;
	if (s[p] == '0' && p + 1 < lx->eol && (s[p + 1] == 'x' || s[p + 1] == 'X')) {
		base = 16;
		p += 2;
		t->hex = 1;
	}
	size_t first = p;
	uint64_t v = 0;
	for (; p < lx->eol && is_ident_char((unsigned char)s[p]); p++) {
		unsigned d = (unsigned)digit_value((unsigned char)s[p]);
		if (d >= base)
			t->bad = 1;
		else if (v > (UINT64_MAX - d) / base)
			t->bad = t->bad ? t->bad : 2;
		else
			v = v * base + d;
	}
	if (p == first)
		t->bad = 1;
	t->num = v;
	t->len = (int)(p - t->off);
}

/* Scans "%r<N>"; anything else after '%' is a malformed register. */
static void scan_register(const struct lexer *lx, struct tok *t)
{
	const char *s = lx->text;
	size_t p = t->off + 1;
	while (p < lx->eol && is_ident_char((unsigned char)s[p]))
		p++;
	t->len = (int)(p - t->off);
	t->bad = 1;
	if (t->len < 3 || to_lower((unsigned char)s[t->off + 1]) != 'r')
		return;
	int v = 0;
	for (size_t q = t->off + 2; q < p; q++) {
		if (!is_digit((unsigned char)s[q]))
			return;
		if (v < 1000)
			v = v * 10 + (s[q] - '0');
	}
	t->reg = v;
	t->bad = v < SBPF_NREGS ? 0 : 2;
}

/* Scans the token at lx->pos into *t without consuming it. */
static void scan(const struct lexer *lx, size_t pos, struct tok *t)
{
	const char *s = lx->text;
	while (pos < lx->eol && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\r' ||
				 s[pos] == '\f' || s[pos] == '\v'))
		pos++;
	memset(t, 0, sizeof(*t));
	t->off = pos;
	if (pos >= lx->eol || s[pos] == '#') {
		t->kind = T_END;
		return;
	}
	unsigned char c = (unsigned char)s[pos];
	if (is_ident_start(c)) {
		size_t p = pos;
		while (p < lx->eol && is_ident_char((unsigned char)s[p]))
			p++;
		t->kind = T_IDENT;
		t->len = (int)(p - pos);
	} else if (is_digit(c)) {
		t->kind = T_NUM;
		scan_number(lx, t);
	} else if (c == '%') {
		t->kind = T_REG;
		scan_register(lx, t);
	} else {
		t->kind = T_PUNCT;
		t->ch = (char)c;
		t->len = 1;
	}
}

static void advance(struct lexer *lx)
{
	if (lx->cur.kind != T_END)
		lx->prev_end = lx->cur.off + (size_t)lx->cur.len;
	lx->pos = lx->cur.off + (size_t)lx->cur.len;
	scan(lx, lx->pos, &lx->cur);
}

/* The token after the current one. */
static struct tok peek(const struct lexer *lx)
{
	struct tok t;
	scan(lx, lx->cur.off + (size_t)lx->cur.len, &t);
	return t;
}

static int is_punct(const struct tok *t, char c)
{
	return t->kind == T_PUNCT && t->ch == c;
}

/* ------------------------------------------------------------- the context */

struct label {
	size_t off;         /* where the name is defined (byte offset) */
	int len;            /* name length */
	size_t slot;        /* instruction slot it names */
};

enum { FIX_OFF, FIX_IMM };

struct fixup {
	size_t slot;        /* slot whose offset or immediate gets the distance */
	size_t off;         /* the label reference in the text */
	int len;            /* its length */
	int field;          /* FIX_OFF (16-bit off) or FIX_IMM (32-bit imm) */
};

struct srcpos {
	size_t off;         /* start of the instruction's text */
	int len;            /* its length up to the last operand */
};

struct asm_ctx {
	const char *text;       /* the source */
	const char *file;       /* its name for diagnostics */
	struct sbpf_diags *diags; /* where problems go */
	int nerr;               /* problems reported so far */
	int oom;                /* an allocation failed */
	struct sbpf_insn *insns; /* slots assembled so far */
	struct srcpos *pos;     /* source span per slot (parallel to insns) */
	size_t n, cap;          /* slots used / allocated */
	struct label *labels;   /* label definitions, in source order */
	size_t nlabels, label_cap; /* labels used / allocated */
	struct fixup *fix;      /* label references to resolve */
	size_t nfix, fix_cap;   /* fixups used / allocated */
	long first_exit;        /* slot of the first exit instruction, -1 if none */
	struct lexer lx;        /* scanner over the current line */
};

/* Reports a problem at [@off, @off+@len) of the source. */
__attribute__((format(printf, 5, 6)))
static void error_at(struct asm_ctx *a, size_t off, int len, const char *hint, const char *fmt, ...)
{
	if (a->nerr > MAX_ERRORS)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	a->nerr++;
	if (a->nerr > MAX_ERRORS) {
		snprintf(msg, sizeof(msg), "too many errors (%d); stopping here", MAX_ERRORS);
		hint = NULL;
	}
	if (sbpf_diags__add(a->diags, a->file, a->text, off, len, hint, "%s", msg))
		a->oom = 1;
}

static void error_tok(struct asm_ctx *a, const struct tok *t, const char *hint, const char *what)
{
	if (t->kind == T_END)
		error_at(a, t->off, 1, hint, "expected %s at end of line", what);
	else
		error_at(a, t->off, t->len, hint, "expected %s, found '%.*s'", what, t->len,
			 a->text + t->off);
}

/* Grows an array to hold @need elements of @sz bytes. */
static int grow(struct asm_ctx *a, void **p, size_t *cap, size_t need, size_t sz)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 8; /* small: ASan sees writes past the used part sooner */
	while (ncap < need)
		ncap *= 2;
	void *np = realloc(*p, ncap * sz);
	if (!np) {
		a->oom = 1;
		return -1;
	}
	*p = np;
	*cap = ncap;
	return 0;
}

/* Appends one slot whose text spans [@off, @off+@len). */
static int emit(struct asm_ctx *a, struct sbpf_insn in, size_t off, int len)
{
	if (a->n >= SBPF_MAX_INSNS) {
		if (a->n == SBPF_MAX_INSNS)
			error_at(a, off, len, NULL, "program too long (limit %u instruction slots)",
				 SBPF_MAX_INSNS);
		a->n++; /* report only once */
		return -1;
	}
	size_t cap = a->cap;
	if (grow(a, (void **)&a->insns, &cap, a->n + 1, sizeof(*a->insns)))
		return -1;
	cap = a->cap;
	if (grow(a, (void **)&a->pos, &cap, a->n + 1, sizeof(*a->pos)))
		return -1;
	a->cap = cap;
	a->insns[a->n] = in;
	a->pos[a->n] = (struct srcpos){ off, len };
	a->n++;
	return 0;
}

/* ------------------------------------------------------------- mnemonics */

/* Whether some table mnemonic equals @mn or continues it with a space. */
static int mnemonic_prefix(const char *mn, int *exact)
{
	size_t l = strlen(mn);
	int found = 0;
	*exact = 0;
	for (int op = 1; op < SBPF_OP__COUNT; op++) {
		const char *m = sbpf_op_info((enum sbpf_op)op)->mnemonic;
		if (strncmp(m, mn, l))
			continue;
		if (m[l] == '\0')
			*exact = found = 1;
		else if (m[l] == ' ')
			found = 1;
	}
	return found;
}

/* Fills @forms with the forms named @mn; returns how many. */
static int find_forms(const char *mn, enum sbpf_op *forms, int max)
{
	int k = 0;
	for (int op = 1; op < SBPF_OP__COUNT && k < max; op++)
		if (!strcmp(sbpf_op_info((enum sbpf_op)op)->mnemonic, mn))
			forms[k++] = (enum sbpf_op)op;
	return k;
}

/* Aliases: "add64" for "add" (64-bit ALU forms only), "swap16" for "bswap16". */
static int find_alias(const char *mn, enum sbpf_op *forms, int max)
{
	char buf[MAX_MNEMONIC + 2];
	size_t l = strlen(mn);
	if (!strncmp(mn, "swap", 4)) {
		snprintf(buf, sizeof(buf), "b%s", mn);
		return find_forms(buf, forms, max);
	}
	if (l > 2 && !strcmp(mn + l - 2, "64")) {
		snprintf(buf, sizeof(buf), "%.*s", (int)(l - 2), mn);
		int k = find_forms(buf, forms, max);
		for (int i = 0; i < k; i++)
			if (SBPF_CLASS(sbpf_op_info(forms[i])->code) != SBPF_ALU64)
				return 0;
		return k;
	}
	return 0;
}

/* Distinct mnemonics (and aliases), for "did you mean". */
static size_t mnemonic_candidates(const char **cands, size_t max)
{
	static const char *const aliases[] = { "add64", "sub64", "mul64", "div64", "mov64",
					       "swap16", "swap32", "swap64" };
	size_t k = 0;
	for (int op = 1; op < SBPF_OP__COUNT && k < max; op++) {
		const char *m = sbpf_op_info((enum sbpf_op)op)->mnemonic;
		if (k == 0 || strcmp(cands[k - 1], m))
			cands[k++] = m;
	}
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]) && k < max; i++)
		cands[k++] = aliases[i];
	return k;
}

/* ------------------------------------------------------------- operands */

enum opnd_kind { O_REG, O_NUM, O_MEM, O_IDENT, O_PSEUDO };

struct num {
	uint64_t mag;       /* magnitude */
	int neg;            /* written with '-' */
	int hex;            /* written as 0x... */
	size_t off;         /* span in the text (sign included) */
	int len;
};

struct operand {
	enum opnd_kind kind; /* which shape was written */
	size_t off;          /* span of the whole operand */
	int len;
	int reg;             /* O_REG; O_MEM base register */
	struct num n;        /* O_NUM; O_MEM offset; O_PSEUDO low word */
	struct num hi;       /* O_PSEUDO: "+ N" high word */
	int has_hi;          /* O_PSEUDO: hi was written */
	size_t name_off;     /* O_IDENT name; O_PSEUDO keyword */
	int name_len;
	size_t label_off;    /* O_PSEUDO: a label instead of the low word */
	int label_len;       /* 0 when the low word is a number */
};

/* Takes a register token (checked) into *@reg. */
static int take_reg(struct asm_ctx *a, int *reg)
{
	struct tok *t = &a->lx.cur;
	if (t->kind == T_REG && t->bad == 2) {
		error_at(a, t->off, t->len, "eBPF has eleven registers, %r0 to %r10",
			 "register '%.*s' does not exist", t->len, a->text + t->off);
		return -1;
	}
	if (t->kind == T_REG && t->bad) {
		error_at(a, t->off, t->len, "registers are written %r0 to %r10",
			 "'%.*s' is not a register", t->len, a->text + t->off);
		return -1;
	}
	if (t->kind != T_REG) {
		const char *hint = NULL;
		if (t->kind == T_IDENT && t->len >= 2 && t->len <= 3 &&
		    (to_lower((unsigned char)a->text[t->off]) == 'r' ||
		     to_lower((unsigned char)a->text[t->off]) == 'w') &&
		    is_digit((unsigned char)a->text[t->off + 1]))
			hint = "registers are written with a percent sign, like %r1";
		error_tok(a, t, hint, "a register like %r1");
		return -1;
	}
	*reg = t->reg;
	advance(&a->lx);
	return 0;
}

/* number: ['+' | '-'] (decimal | 0x hex) */
static int take_number(struct asm_ctx *a, struct num *n, const char *what)
{
	struct lexer *lx = &a->lx;
	memset(n, 0, sizeof(*n));
	n->off = lx->cur.off;
	if (is_punct(&lx->cur, '-') || is_punct(&lx->cur, '+')) {
		n->neg = a->text[lx->cur.off] == '-';
		advance(lx);
	}
	struct tok *t = &lx->cur;
	if (t->kind != T_NUM) {
		error_tok(a, t, NULL, what);
		return -1;
	}
	if (t->bad == 1) {
		error_at(a, t->off, t->len, "numbers are decimal (42, -8) or hexadecimal (0x2a)",
			 "malformed number '%.*s'", t->len, a->text + t->off);
		return -1;
	}
	if (t->bad == 2) {
		error_at(a, t->off, t->len, NULL, "number '%.*s' does not fit in 64 bits", t->len,
			 a->text + t->off);
		return -1;
	}
	n->mag = t->num;
	n->hex = t->hex;
	n->len = (int)(t->off + (size_t)t->len - n->off);
	advance(lx);
	return 0;
}

/* mem: '[' register [('+' | '-') number] ']' */
static int take_mem(struct asm_ctx *a, struct operand *o)
{
	struct lexer *lx = &a->lx;
	advance(lx); /* '[' */
	if (take_reg(a, &o->reg))
		return -1;
	memset(&o->n, 0, sizeof(o->n));
	o->n.off = lx->cur.off;
	if (is_punct(&lx->cur, '+') || is_punct(&lx->cur, '-')) {
		if (take_number(a, &o->n, "an offset"))
			return -1;
	}
	if (!is_punct(&lx->cur, ']')) {
		error_tok(a, &lx->cur, "memory operands look like [%r1+8], [%r10-4] or [%r1]",
			  "'+', '-' or ']'");
		return -1;
	}
	advance(lx);
	return 0;
}

/* operand: register | number | mem | label | pseudo
 * pseudo:  keyword (number | label) ['+' number]      (lddw map_value 3 + 8) */
static int take_operand(struct asm_ctx *a, struct operand *o)
{
	struct lexer *lx = &a->lx;
	struct tok *t = &lx->cur;
	memset(o, 0, sizeof(*o));
	o->off = t->off;
	int rc;
	if (t->kind == T_REG) {
		o->kind = O_REG;
		rc = take_reg(a, &o->reg);
	} else if (is_punct(t, '[')) {
		o->kind = O_MEM;
		rc = take_mem(a, o);
	} else if (t->kind == T_NUM || is_punct(t, '+') || is_punct(t, '-')) {
		o->kind = O_NUM;
		rc = take_number(a, &o->n, "a number");
	} else if (t->kind == T_IDENT) {
		o->name_off = t->off;
		o->name_len = t->len;
		struct tok nx = peek(lx);
		advance(lx);
		if (nx.kind == T_END || is_punct(&nx, ',')) {
			o->kind = O_IDENT;
			rc = 0;
		} else {
			o->kind = O_PSEUDO;
			if (lx->cur.kind == T_IDENT) {
				o->label_off = lx->cur.off;
				o->label_len = lx->cur.len;
				advance(lx);
				rc = 0;
			} else {
				rc = take_number(a, &o->n, "a number or label");
			}
			if (!rc && is_punct(&lx->cur, '+')) {
				advance(lx);
				o->has_hi = 1;
				rc = take_number(a, &o->hi, "a number");
			}
		}
	} else {
		error_tok(a, t, NULL, "an operand");
		return -1;
	}
	o->len = (int)(lx->prev_end - o->off);
	return rc;
}

/* --------------------------------------------------------- number ranges */

static void num_text(const struct asm_ctx *a, const struct num *n, char *buf, size_t sz)
{
	snprintf(buf, sz, "%.*s", n->len, a->text + n->off);
}

/* A 32-bit immediate: decimal -2147483648..2147483647, hex up to
 * 0xffffffff (the bit pattern), or a negated hex down to -0x80000000. */
static int imm32(struct asm_ctx *a, const struct num *n, int32_t *out)
{
	char txt[64], hint[96];
	num_text(a, n, txt, sizeof(txt));
	if (n->neg) {
		if (n->mag > 0x80000000ull) {
			error_at(a, n->off, n->len, "use lddw to load a 64-bit constant",
				 "immediate %s is below -2147483648 and does not fit in 32 bits", txt);
			return -1;
		}
		*out = (int32_t)(uint32_t)(0u - (uint32_t)n->mag);
		return 0;
	}
	if (n->hex ? n->mag > 0xffffffffull : n->mag > INT32_MAX) {
		if (!n->hex && n->mag <= 0xffffffffull)
			snprintf(hint, sizeof(hint),
				 "write 0x%llx for this 32-bit pattern, or use lddw for a 64-bit constant",
				 (unsigned long long)n->mag);
		else
			snprintf(hint, sizeof(hint), "use lddw to load a 64-bit constant");
		error_at(a, n->off, n->len, hint, "immediate %s does not fit in 32 bits (%s)", txt,
			 n->hex ? "0x0..0xffffffff" : "-2147483648..2147483647");
		return -1;
	}
	*out = (int32_t)(uint32_t)n->mag;
	return 0;
}

/* A signed offset of @bits bits (16 or 32), whatever the base. */
static int soff(struct asm_ctx *a, const struct num *n, int bits, const char *what,
		const char *hint, long long *out)
{
	uint64_t lim = 1ull << (bits - 1);
	if (n->neg ? n->mag > lim : n->mag > lim - 1) {
		char txt[64];
		num_text(a, n, txt, sizeof(txt));
		error_at(a, n->off, n->len, hint, "%s %s does not fit in %d bits (%lld..%lld)", what,
			 txt, bits, -(long long)lim, (long long)lim - 1);
		return -1;
	}
	*out = n->neg ? -(long long)n->mag : (long long)n->mag;
	return 0;
}

/* A 64-bit immediate: any unsigned value, or a negative one down to -2^63. */
static int imm64(struct asm_ctx *a, const struct num *n, uint64_t *out)
{
	if (n->neg && n->mag > (1ull << 63)) {
		char txt[64];
		num_text(a, n, txt, sizeof(txt));
		error_at(a, n->off, n->len, NULL, "immediate %s is below -2^63", txt);
		return -1;
	}
	*out = n->neg ? 0 - n->mag : n->mag;
	return 0;
}

/* ------------------------------------------------------- operand layouts */

/* Operand layout of a form: R register, I number, M memory, T jump target
 * (label or relative offset), P lddw pseudo source; lower case = optional. */
static const char *layout(const struct sbpf_op_info *f)
{
	switch (f->fmt) {
	case SBPF_FMT_ALU_K: return "RI";
	case SBPF_FMT_ALU_X: return "RR";
	case SBPF_FMT_MOVSX: return "RR";
	case SBPF_FMT_NEG: return "R";
	case SBPF_FMT_END: return "R";
	case SBPF_FMT_LDX: return "RM";
	case SBPF_FMT_ST: return "MI";
	case SBPF_FMT_STX: return "MR";
	case SBPF_FMT_ATOMIC: return "MR";
	case SBPF_FMT_LDDW: return f->key_value ? "RP" : "RI";
	case SBPF_FMT_JA: return "T";
	case SBPF_FMT_JA32: return "T";
	case SBPF_FMT_JCOND_K: return "RIT";
	case SBPF_FMT_JCOND_X: return "RRT";
	case SBPF_FMT_CALL: return f->key_value == SBPF_PSEUDO_KFUNC_CALL ? "Ii" : "I";
	case SBPF_FMT_CALL_LOCAL: return "T";
	default: return "";
	}
}

/* Operand template for messages, e.g. "%rD, [%rS+OFF]". */
static const char *layout_text(const struct sbpf_op_info *f)
{
	switch (f->fmt) {
	case SBPF_FMT_ALU_K: return "%rD, IMM";
	case SBPF_FMT_ALU_X: return "%rD, %rS";
	case SBPF_FMT_MOVSX: return "%rD, %rS";
	case SBPF_FMT_NEG: return "%rD";
	case SBPF_FMT_END: return "%rD";
	case SBPF_FMT_LDX: return "%rD, [%rS+OFF]";
	case SBPF_FMT_ST: return "[%rD+OFF], IMM";
	case SBPF_FMT_STX: return "[%rD+OFF], %rS";
	case SBPF_FMT_ATOMIC: return "[%rD+OFF], %rS";
	case SBPF_FMT_LDDW: return f->key_value ? "%rD, KIND N [+ N]" : "%rD, IMM64";
	case SBPF_FMT_JA: return "LABEL|+OFF";
	case SBPF_FMT_JA32: return "LABEL|+OFF";
	case SBPF_FMT_JCOND_K: return "%rD, IMM, LABEL|+OFF";
	case SBPF_FMT_JCOND_X: return "%rD, %rS, LABEL|+OFF";
	case SBPF_FMT_CALL:
		return f->key_value == SBPF_PSEUDO_KFUNC_CALL ? "BTF_ID[, BTF_OBJ]" : "HELPER_ID";
	case SBPF_FMT_CALL_LOCAL: return "LABEL|+OFF";
	default: return "";
	}
}

static int layout_min(const char *l)
{
	int k = 0;
	for (; *l; l++)
		k += *l >= 'A' && *l <= 'Z';
	return k;
}

static int keyword_is(const struct asm_ctx *a, const struct operand *o, const char *kw)
{
	return (int)strlen(kw) == o->name_len && !strncmp(a->text + o->name_off, kw, strlen(kw));
}

static int accepts(const struct asm_ctx *a, char want, const struct sbpf_op_info *f,
		   const struct operand *o)
{
	switch (want) {
	case 'R': return o->kind == O_REG;
	case 'I': case 'i': return o->kind == O_NUM;
	case 'M': return o->kind == O_MEM;
	case 'T': return o->kind == O_NUM || o->kind == O_IDENT;
	case 'P': return o->kind == O_PSEUDO && keyword_is(a, o, f->symbol);
	default: return 0;
	}
}

/* Index of the first operand @f rejects, @nops if all fit, -1 on a count mismatch. */
static int first_mismatch(const struct asm_ctx *a, const struct sbpf_op_info *f,
			  const struct operand *ops, int nops)
{
	const char *l = layout(f);
	if (nops < layout_min(l) || nops > (int)strlen(l))
		return -1;
	for (int i = 0; i < nops; i++)
		if (!accepts(a, l[i], f, &ops[i]))
			return i;
	return nops;
}

static const char *want_text(char w)
{
	switch (w) {
	case 'R': return "a register like %r1";
	case 'I': case 'i': return "a number";
	case 'M': return "a memory operand like [%r1+8]";
	case 'T': return "a label or an offset like +3";
	case 'P': return "a source like 'map_fd 3'";
	default: return "nothing";
	}
}

/* "expected: mov %rD, IMM  or  mov %rD, %rS" into @buf. */
static void forms_hint(const char *mn, const enum sbpf_op *forms, int nforms, char *buf, size_t sz)
{
	size_t used = (size_t)snprintf(buf, sz, "expected:");
	const char *seen[8];
	int nseen = 0;
	for (int i = 0; i < nforms && used < sz; i++) {
		const char *lt = layout_text(sbpf_op_info(forms[i]));
		int dup = 0;
		for (int j = 0; j < nseen; j++)
			dup |= !strcmp(seen[j], lt);
		if (dup || nseen == 8)
			continue;
		seen[nseen++] = lt;
		used += (size_t)snprintf(buf + used, sz - used, "%s '%s%s%s'", nseen > 1 ? " or" : "",
					 mn, *lt ? " " : "", lt);
	}
	if (nforms && sbpf_op_info(forms[0])->fmt == SBPF_FMT_LDDW && used < sz) {
		used += (size_t)snprintf(buf + used, sz - used, " (KIND:");
		for (int i = 0; i < nforms && used < sz; i++)
			if (sbpf_op_info(forms[i])->key_value)
				used += (size_t)snprintf(buf + used, sz - used, " %s",
							 sbpf_op_info(forms[i])->symbol);
		if (used < sz)
			snprintf(buf + used, sz - used, ")");
	}
}

/* Explains why no form of @mn fits the operands written. */
static void report_mismatch(struct asm_ctx *a, const char *mn, size_t mn_off, int mn_len,
			    const enum sbpf_op *forms, int nforms, const struct operand *ops, int nops)
{
	char hint[512];
	forms_hint(mn, forms, nforms, hint, sizeof(hint));
	int best = -1;
	for (int i = 0; i < nforms; i++) {
		int m = first_mismatch(a, sbpf_op_info(forms[i]), ops, nops);
		if (m > best)
			best = m;
	}
	if (best < 0) {
		/* No form takes this many operands. */
		int lo = 99, hi = 0;
		for (int i = 0; i < nforms; i++) {
			const char *l = layout(sbpf_op_info(forms[i]));
			if (layout_min(l) < lo) lo = layout_min(l);
			if ((int)strlen(l) > hi) hi = (int)strlen(l);
		}
		char count[64];
		if (lo == hi)
			snprintf(count, sizeof(count), "%d operand%s", lo, lo == 1 ? "" : "s");
		else
			snprintf(count, sizeof(count), "%d or %d operands", lo, hi);
		size_t off = nops ? ops[0].off : mn_off;
		int len = nops ? (int)(ops[nops - 1].off + (size_t)ops[nops - 1].len - off) : mn_len;
		error_at(a, off, len, hint, "'%s' takes %s, found %d", mn, lo ? count : "no operands",
			 nops);
		return;
	}
	const struct operand *o = &ops[best];
	/* Collect what the forms that got this far wanted here. */
	char want[160] = "";
	size_t used = 0;
	const char *seen[8];
	int nseen = 0;
	for (int i = 0; i < nforms; i++) {
		const struct sbpf_op_info *f = sbpf_op_info(forms[i]);
		if (first_mismatch(a, f, ops, nops) != best)
			continue;
		const char *w = want_text(layout(f)[best]);
		int dup = 0;
		for (int j = 0; j < nseen; j++)
			dup |= seen[j] == w;
		if (dup || nseen == 8)
			continue;
		seen[nseen++] = w;
		used += (size_t)snprintf(want + used, sizeof(want) - used, "%s%s",
					 nseen > 1 ? " or " : "", w);
		if (used >= sizeof(want))
			break;
	}
	/* Better hints for common slips. */
	if (o->kind == O_IDENT && sbpf_op_info(forms[0])->fmt == SBPF_FMT_CALL)
		snprintf(hint, sizeof(hint), "to call the function at label '%.*s', write 'call local %.*s'",
			 o->name_len, a->text + o->name_off, o->name_len, a->text + o->name_off);
	else if (o->kind == O_IDENT && o->name_len >= 2 && o->name_len <= 3 &&
		 (to_lower((unsigned char)a->text[o->off]) == 'r' ||
		  to_lower((unsigned char)a->text[o->off]) == 'w') &&
		 is_digit((unsigned char)a->text[o->off + 1]))
		snprintf(hint, sizeof(hint), "registers are written with a percent sign, like %%r1");
	error_at(a, o->off, o->len, hint, "operand %d of '%s': expected %s, found '%.*s'", best + 1,
		 mn, want, o->len, a->text + o->off);
}

/* For lddw KIND ...: an unknown KIND gets its own message. */
static int check_pseudo_kind(struct asm_ctx *a, const enum sbpf_op *forms, int nforms,
			     const struct operand *o)
{
	const char *kinds[8];
	size_t nk = 0;
	for (int i = 0; i < nforms; i++) {
		const struct sbpf_op_info *f = sbpf_op_info(forms[i]);
		if (f->fmt != SBPF_FMT_LDDW || !f->key_value)
			continue;
		if (keyword_is(a, o, f->symbol))
			return 0;
		if (nk < 8)
			kinds[nk++] = f->symbol;
	}
	if (!nk)
		return 0;
	char word[48], hint[160];
	snprintf(word, sizeof(word), "%.*s", o->name_len, a->text + o->name_off);
	const char *s = sbpf_suggest(word, kinds, nk);
	if (s)
		snprintf(hint, sizeof(hint), "did you mean '%s'?", s);
	else
		snprintf(hint, sizeof(hint), "lddw sources: map_fd, map_value, var_addr, code_addr, "
					     "map_idx, map_idx_value");
	error_at(a, o->name_off, o->name_len, hint, "unknown lddw source '%s'", word);
	return -1;
}

/* ------------------------------------------------------------ encoding */

static void add_fixup(struct asm_ctx *a, size_t slot, size_t off, int len, int field)
{
	if (grow(a, (void **)&a->fix, &a->fix_cap, a->nfix + 1, sizeof(*a->fix)))
		return;
	a->fix[a->nfix++] = (struct fixup){ slot, off, len, field };
}

/* A jump target operand: relative offset now, or a label fixed up later. */
static int target(struct asm_ctx *a, const struct operand *o, int field, struct sbpf_insn *in)
{
	if (o->kind == O_IDENT) {
		add_fixup(a, a->n, o->name_off, o->name_len, field);
		return 0;
	}
	long long v;
	if (soff(a, &o->n, field == FIX_OFF ? 16 : 32, "jump offset",
		 in->code == (SBPF_JMP | SBPF_JA) ? "ja32 takes a 32-bit offset" : NULL, &v))
		return -1;
	if (field == FIX_OFF)
		in->off = (int16_t)v;
	else
		in->imm = (int32_t)v;
	return 0;
}

/* Fills the fields of @in for form @f from the operands (which fit its layout). */
static int encode(struct asm_ctx *a, const struct sbpf_op_info *f, const struct operand *ops,
		  int nops, struct sbpf_insn *in, struct sbpf_insn *hi_slot)
{
	long long v;
	int32_t imm = 0;
	int rc = 0;
	in->code = f->code;
	switch (f->fmt) {
	case SBPF_FMT_ALU_K:
		in->dst_reg = (uint8_t)ops[0].reg;
		rc = imm32(a, &ops[1].n, &imm);
		in->imm = imm;
		break;
	case SBPF_FMT_ALU_X: case SBPF_FMT_MOVSX:
		in->dst_reg = (uint8_t)ops[0].reg;
		in->src_reg = (uint8_t)ops[1].reg;
		break;
	case SBPF_FMT_NEG: case SBPF_FMT_END:
		in->dst_reg = (uint8_t)ops[0].reg;
		break;
	case SBPF_FMT_LDX:
		in->dst_reg = (uint8_t)ops[0].reg;
		in->src_reg = (uint8_t)ops[1].reg;
		rc = soff(a, &ops[1].n, 16, "offset", NULL, &v);
		in->off = (int16_t)v;
		break;
	case SBPF_FMT_ST:
		in->dst_reg = (uint8_t)ops[0].reg;
		rc = soff(a, &ops[0].n, 16, "offset", NULL, &v);
		in->off = (int16_t)v;
		rc |= imm32(a, &ops[1].n, &imm);
		in->imm = imm;
		break;
	case SBPF_FMT_STX: case SBPF_FMT_ATOMIC:
		in->dst_reg = (uint8_t)ops[0].reg;
		in->src_reg = (uint8_t)ops[1].reg;
		rc = soff(a, &ops[0].n, 16, "offset", NULL, &v);
		in->off = (int16_t)v;
		break;
	case SBPF_FMT_LDDW:
		in->dst_reg = (uint8_t)ops[0].reg;
		if (!f->key_value) {
			uint64_t x = 0;
			rc = imm64(a, &ops[1].n, &x);
			in->imm = (int32_t)(uint32_t)x;
			hi_slot->imm = (int32_t)(uint32_t)(x >> 32);
			break;
		}
		if (ops[1].label_len) {
			if (f->key_value != SBPF_PSEUDO_FUNC) {
				error_at(a, ops[1].label_off, ops[1].label_len, NULL,
					 "'%s' takes a number, not a label", f->symbol);
				return -1;
			}
			add_fixup(a, a->n, ops[1].label_off, ops[1].label_len, FIX_IMM);
		} else if (f->key_value == SBPF_PSEUDO_FUNC) {
			rc = soff(a, &ops[1].n, 32, "code offset", NULL, &v);
			in->imm = (int32_t)v;
		} else {
			rc = imm32(a, &ops[1].n, &imm);
			in->imm = imm;
		}
		if (ops[1].has_hi) {
			rc |= imm32(a, &ops[1].hi, &imm);
			hi_slot->imm = imm;
		}
		break;
	case SBPF_FMT_JA: case SBPF_FMT_JCOND_K: case SBPF_FMT_JCOND_X:
		if (f->fmt != SBPF_FMT_JA)
			in->dst_reg = (uint8_t)ops[0].reg;
		if (f->fmt == SBPF_FMT_JCOND_K) {
			rc = imm32(a, &ops[1].n, &imm);
			in->imm = imm;
		}
		if (f->fmt == SBPF_FMT_JCOND_X)
			in->src_reg = (uint8_t)ops[1].reg;
		rc |= target(a, &ops[nops - 1], FIX_OFF, in);
		break;
	case SBPF_FMT_JA32: case SBPF_FMT_CALL_LOCAL:
		rc = target(a, &ops[0], FIX_IMM, in);
		break;
	case SBPF_FMT_CALL:
		rc = imm32(a, &ops[0].n, &imm);
		in->imm = imm;
		if (nops > 1) {
			rc |= soff(a, &ops[1].n, 16, "BTF object index", NULL, &v);
			in->off = (int16_t)v;
		}
		break;
	default:
		break;
	}
	switch (f->key) {
	case SBPF_KEY_OFF: in->off = (int16_t)f->key_value; break;
	case SBPF_KEY_IMM: in->imm = f->key_value; break;
	case SBPF_KEY_SRC: in->src_reg = (uint8_t)f->key_value; break;
	default: break;
	}
	return rc ? -1 : 0;
}

/* ------------------------------------------------------------ statements */

/* mnemonic: word {word}   -- words joined while they still name a form
 * (lock fetch add32, call local); then aliases (add64, swap16). */
static int read_mnemonic(struct asm_ctx *a, char *mn, size_t *off, int *len)
{
	struct lexer *lx = &a->lx;
	*off = lx->cur.off;
	if (lx->cur.len >= MAX_MNEMONIC) {
		error_at(a, lx->cur.off, lx->cur.len, NULL, "unknown mnemonic '%.*s'", lx->cur.len,
			 a->text + lx->cur.off);
		return -1;
	}
	int k = 0;
	for (int i = 0; i < lx->cur.len; i++)
		mn[k++] = (char)to_lower((unsigned char)a->text[lx->cur.off + (size_t)i]);
	mn[k] = '\0';
	advance(lx);
	int exact;
	while (lx->cur.kind == T_IDENT && k + 1 + lx->cur.len < MAX_MNEMONIC) {
		char longer[2 * MAX_MNEMONIC + 2];
		snprintf(longer, sizeof(longer), "%s %.*s", mn, lx->cur.len, a->text + lx->cur.off);
		for (char *p = longer; *p; p++)
			*p = (char)to_lower((unsigned char)*p);
		if (!mnemonic_prefix(longer, &exact))
			break;
		memcpy(mn, longer, MAX_MNEMONIC - 1);
		mn[MAX_MNEMONIC - 1] = '\0';
		k = (int)strlen(mn);
		advance(lx);
	}
	*len = (int)(lx->prev_end - *off);
	return 0;
}

/* "lock" alone: lists the words that may follow, from the table. */
static void incomplete_mnemonic(struct asm_ctx *a, const char *mn, size_t off, int len)
{
	char hint[256], words[16][16];
	int nw = 0, had32 = 0;
	size_t l = strlen(mn);
	for (int op = 1; op < SBPF_OP__COUNT; op++) {
		const char *m = sbpf_op_info((enum sbpf_op)op)->mnemonic;
		if (strncmp(m, mn, l) || m[l] != ' ')
			continue;
		const char *w = m + l + 1, *sp = strchr(w, ' ');
		size_t wl = sp ? (size_t)(sp - w) : strlen(w);
		if (wl > 2 && !strncmp(w + wl - 2, "32", 2)) {
			wl -= 2;
			had32 = 1;
		}
		int dup = 0;
		for (int i = 0; i < nw; i++)
			dup |= strlen(words[i]) == wl && !strncmp(words[i], w, wl);
		if (!dup && nw < 16 && wl < sizeof(words[0]))
			snprintf(words[nw++], sizeof(words[0]), "%.*s", (int)wl, w);
	}
	size_t used = (size_t)snprintf(hint, sizeof(hint), "'%s' continues with one of:", mn);
	for (int i = 0; i < nw && used < sizeof(hint); i++)
		used += (size_t)snprintf(hint + used, sizeof(hint) - used, "%s %s", i ? "," : "",
					 words[i]);
	if (had32 && used < sizeof(hint))
		snprintf(hint + used, sizeof(hint) - used, " (with suffix 32 for 32-bit forms)");
	error_at(a, off, len, hint, "incomplete mnemonic '%s'", mn);
}

/* instruction: mnemonic [operand {',' operand}] */
static void parse_insn(struct asm_ctx *a)
{
	struct lexer *lx = &a->lx;
	char mn[MAX_MNEMONIC];
	size_t mn_off;
	int mn_len;
	if (read_mnemonic(a, mn, &mn_off, &mn_len))
		return;
	enum sbpf_op forms[16];
	int nforms = find_forms(mn, forms, 16);
	if (!nforms)
		nforms = find_alias(mn, forms, 16);
	if (!nforms) {
		int exact;
		char hint[256];
		if (mnemonic_prefix(mn, &exact)) {
			incomplete_mnemonic(a, mn, mn_off, mn_len);
			return;
		}
		const char *cands[256];
		size_t nc = mnemonic_candidates(cands, 256);
		const char *s = sbpf_suggest(mn, cands, nc);
		if (s)
			snprintf(hint, sizeof(hint), "did you mean '%s'?", s);
		error_at(a, mn_off, mn_len, s ? hint : NULL, "unknown mnemonic '%s'", mn);
		return;
	}

	struct operand ops[MAX_OPS];
	int nops = 0;
	while (lx->cur.kind != T_END) {
		if (nops == MAX_OPS) {
			char hint[512];
			forms_hint(mn, forms, nforms, hint, sizeof(hint));
			error_at(a, lx->cur.off, (int)(lx->eol - lx->cur.off), hint,
				 "too many operands for '%s'", mn);
			return;
		}
		if (take_operand(a, &ops[nops]))
			return;
		nops++;
		if (lx->cur.kind == T_END)
			break;
		if (!is_punct(&lx->cur, ',')) {
			error_tok(a, &lx->cur, NULL, "',' or end of line");
			return;
		}
		advance(lx);
		if (lx->cur.kind == T_END) {
			error_tok(a, &lx->cur, NULL, "an operand after ','");
			return;
		}
	}

	const struct sbpf_op_info *f = NULL;
	for (int i = 0; i < nforms && !f; i++)
		if (first_mismatch(a, sbpf_op_info(forms[i]), ops, nops) == nops)
			f = sbpf_op_info(forms[i]);
	if (!f) {
		if (nops == 2 && ops[1].kind == O_PSEUDO && check_pseudo_kind(a, forms, nforms, &ops[1]))
			return;
		report_mismatch(a, mn, mn_off, mn_len, forms, nforms, ops, nops);
		return;
	}
	struct sbpf_insn in = { 0 }, hi = { 0 };
	size_t nfix = a->nfix;
	int len = (int)(lx->prev_end - mn_off);
	if (encode(a, f, ops, nops, &in, &hi) || emit(a, in, mn_off, len) ||
	    (f->fmt == SBPF_FMT_LDDW && emit(a, hi, mn_off, len))) {
		a->nfix = nfix; /* the label references of a dropped line name no slot */
		return;
	}
	if (f->fmt == SBPF_FMT_EXIT && a->first_exit < 0)
		a->first_exit = (long)a->n - 1;
}

/* directive: '.raw' 0x<16 hex digits>   -- 8 bytes in memory order */
static void parse_directive(struct asm_ctx *a)
{
	struct lexer *lx = &a->lx;
	struct tok d = lx->cur;
	if (d.len != 4 || strncmp(a->text + d.off, ".raw", 4)) {
		error_at(a, d.off, d.len, "the only directive is .raw 0x<16 hex digits>",
			 "unknown directive '%.*s'", d.len, a->text + d.off);
		return;
	}
	advance(lx);
	struct tok t = lx->cur;
	if (t.kind != T_NUM || !t.hex || t.bad || t.len != 18) {
		error_tok(a, &t, "write the 8 bytes in memory order, like .raw 0x9500000000000000",
			  "16 hex digits after .raw");
		return;
	}
	advance(lx);
	if (lx->cur.kind != T_END) {
		error_tok(a, &lx->cur, NULL, "end of line");
		return;
	}
	uint8_t bytes[8];
	for (int i = 0; i < 8; i++)
		bytes[i] = (uint8_t)(t.num >> (56 - 8 * i));
	struct sbpf_insn in;
	memcpy(&in, bytes, sizeof(in));
	emit(a, in, d.off, (int)(lx->prev_end - d.off));
}

/* line: {label ':'} [instruction | directive] [comment] */
static void parse_line(struct asm_ctx *a, size_t start, size_t eol)
{
	struct lexer *lx = &a->lx;
	lx->pos = start;
	lx->eol = eol;
	lx->prev_end = start;
	scan(lx, start, &lx->cur);
	while (lx->cur.kind == T_IDENT) {
		struct tok nx = peek(lx);
		if (!is_punct(&nx, ':'))
			break;
		if (!grow(a, (void **)&a->labels, &a->label_cap, a->nlabels + 1, sizeof(*a->labels)))
			a->labels[a->nlabels++] = (struct label){ lx->cur.off, lx->cur.len, a->n };
		advance(lx);
		advance(lx);
	}
	if (lx->cur.kind == T_END)
		return;
	if (lx->cur.kind == T_IDENT && a->text[lx->cur.off] == '.')
		parse_directive(a);
	else if (lx->cur.kind == T_IDENT)
		parse_insn(a);
	else
		error_tok(a, &lx->cur, "a line holds 'label:', an instruction like 'mov %r0, 1', or both",
			  "an instruction or a label");
}

/* ---------------------------------------------------------------- labels */

static int name_cmp(const char *text, size_t ao, int al, size_t bo, int bl)
{
	int m = al < bl ? al : bl;
	int c = memcmp(text + ao, text + bo, (size_t)m);
	return c ? c : al - bl;
}

static int label_cmp(const void *x, const void *y, void *text)
{
	const struct label *a = x, *b = y;
	int c = name_cmp(text, a->off, a->len, b->off, b->len);
	return c ? c : (a->off < b->off ? -1 : a->off > b->off);
}

static size_t line_of(const char *text, size_t off)
{
	size_t line = 1;
	for (size_t i = 0; i < off && text[i]; i++)
		line += text[i] == '\n';
	return line;
}

/* The label named by text[@off, +@len), or NULL. Labels are sorted. */
static const struct label *find_label(const struct asm_ctx *a, size_t off, int len)
{
	size_t lo = 0, hi = a->nlabels;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct label *l = &a->labels[mid];
		int c = name_cmp(a->text, l->off, l->len, off, len);
		if (c == 0)
			return l;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void undefined_label(struct asm_ctx *a, const struct fixup *fx)
{
	char name[64], hint[160];
	snprintf(name, sizeof(name), "%.*s", fx->len, a->text + fx->off);
	const char *cands[512];
	size_t nc = 0;
	char *owned[512];
	for (size_t i = 0; i < a->nlabels && nc < 512; i++) {
		owned[nc] = strndup(a->text + a->labels[i].off, (size_t)a->labels[i].len);
		if (owned[nc])
			cands[nc] = owned[nc], nc++;
	}
	const char *s = sbpf_suggest(name, cands, nc);
	if (s)
		snprintf(hint, sizeof(hint), "did you mean '%s'?", s);
	else
		snprintf(hint, sizeof(hint), "define it with '%s:' before the instruction it names",
			 name);
	error_at(a, fx->off, fx->len, hint, "undefined label '%s'", name);
	for (size_t i = 0; i < nc; i++)
		free(owned[i]);
}

/* Sorts labels, reports duplicates and resolves every reference. */
static void resolve_labels(struct asm_ctx *a)
{
	if (a->nlabels)
		qsort_r(a->labels, a->nlabels, sizeof(*a->labels), label_cmp, (void *)a->text);
	for (size_t i = 1; i < a->nlabels; i++) {
		const struct label *p = &a->labels[i - 1], *l = &a->labels[i];
		if (name_cmp(a->text, p->off, p->len, l->off, l->len))
			continue;
		char hint[64];
		snprintf(hint, sizeof(hint), "first defined on line %zu", line_of(a->text, p->off));
		error_at(a, l->off, l->len, hint, "label '%.*s' defined twice", l->len, a->text + l->off);
	}
	for (size_t i = 0; i < a->nfix; i++) {
		const struct fixup *fx = &a->fix[i];
		if (fx->slot >= a->n)
			continue; /* cannot happen: dropped lines remove their fixups */
		const struct label *l = find_label(a, fx->off, fx->len);
		long long tgt;
		if (l) {
			tgt = (long long)l->slot;
		} else if (fx->len == 4 && !strncmp(a->text + fx->off, "exit", 4) && a->first_exit >= 0) {
			tgt = a->first_exit; /* conformance convention: 'exit' = first exit */
		} else {
			undefined_label(a, fx);
			continue;
		}
		if (tgt >= (long long)a->n) {
			error_at(a, fx->off, fx->len, "put an instruction (e.g. exit) after the label",
				 "label '%.*s' is at the end of the program, not at an instruction",
				 fx->len, a->text + fx->off);
			continue;
		}
		long long delta = tgt - (long long)fx->slot - 1;
		struct sbpf_insn *in = &a->insns[fx->slot];
		if (fx->field == FIX_IMM) {
			in->imm = (int32_t)delta; /* |delta| < 2^20 slots */
		} else if (delta < INT16_MIN || delta > INT16_MAX) {
			error_at(a, fx->off, fx->len,
				 in->code == (SBPF_JMP | SBPF_JA) ? "use ja32 for long jumps"
								  : "jump over a ja32 to reach it",
				 "label '%.*s' is %lld slots away; a 16-bit offset reaches -32768..32767",
				 fx->len, a->text + fx->off, delta);
		} else {
			in->off = (int16_t)delta;
		}
	}
}

/* -------------------------------------------------------------- the API */

static void check_program(struct asm_ctx *a)
{
	if (a->n == 0) {
		error_at(a, strlen(a->text), 1, "a program needs at least one instruction, e.g. 'exit'",
			 "no instructions");
		return;
	}
	struct sbpf_validate_error ve;
	int sites = 0;
	for (size_t i = 0; i < a->n && !sites; i++)
		sites = sbpf_kops_is_site(a->insns, a->n, i);
	int rc;
	if (sites) {
		struct sbpf_kops_lowered l;
		rc = sbpf_kops_lower(a->insns, a->n, &l, &ve);
		sbpf_kops_lowered__free(&l);
	} else {
		rc = sbpf_validate(a->insns, a->n, &ve);
	}
	if (rc == -ENOMEM) {
		a->oom = 1;
	} else if (rc) {
		size_t i = ve.index < a->n ? ve.index : a->n - 1;
		const char *hint = NULL;
		if (strstr(ve.rule, "last instruction"))
			hint = "end the program with 'exit' (or a jump back)";
		else if (strstr(ve.rule, "frame pointer"))
			hint = "%r10 can be read (it points at the stack) but not written";
		else if (strstr(ve.rule, "outside the program") || strstr(ve.rule, "second slot"))
			hint = "jump to a label instead of counting slots (lddw takes two)";
		error_at(a, a->pos[i].off, a->pos[i].len, hint, "invalid program: %s", ve.rule);
	}
}

/* Orders the diagnostics from @from on by position (stable), so that label
 * errors found after parsing appear among the others. */
static void sort_diags(struct sbpf_diags *d, size_t from)
{
	for (size_t i = from + 1; i < d->n; i++) {
		struct sbpf_diag g = d->items[i];
		size_t j = i;
		while (j > from && (d->items[j - 1].line > g.line ||
				    (d->items[j - 1].line == g.line && d->items[j - 1].col > g.col))) {
			d->items[j] = d->items[j - 1];
			j--;
		}
		d->items[j] = g;
	}
}

int sbpf_assemble(const char *text, const char *file, struct sbpf_insn **out, size_t *n,
		  struct sbpf_diags *diags)
{
	if (!text || !out || !n || !diags)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	struct asm_ctx a = { .text = text, .file = file, .diags = diags, .first_exit = -1 };
	size_t first_diag = diags->n;
	a.lx.text = text;
	size_t len = strlen(text), p = 0;
	for (;;) {
		size_t eol = p;
		while (eol < len && text[eol] != '\n')
			eol++;
		parse_line(&a, p, eol);
		if (eol >= len || a.oom || a.nerr > MAX_ERRORS)
			break;
		p = eol + 1;
	}
	if (!a.oom && a.nerr <= MAX_ERRORS)
		resolve_labels(&a);
	if (!a.oom && !a.nerr)
		check_program(&a);
	sort_diags(diags, first_diag);
	int rc = a.oom ? -ENOMEM : a.nerr ? -EINVAL : 0;
	if (!rc) {
		*out = a.insns;
		*n = a.n;
		a.insns = NULL;
	}
	free(a.insns);
	free(a.pos);
	free(a.labels);
	free(a.fix);
	return rc;
}
