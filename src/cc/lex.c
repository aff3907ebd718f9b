/* lex.c - the congestion-control DSL's lexer: identifiers, decimal and hex
 * numbers (with k/M/G suffixes: 10M = 10,000,000), operators and
 * punctuation; '#' and '//' comments run to the end of the line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cc/ccInt.h"

/* Operators, longest first so that "<=" wins over "<". */
static const char *const puncts[] = { "&&", "||", "==", "!=", "<=", ">=", "<<", ">>", "+", "-", "*", "/",
				      "%", "<", ">", "=", "!", "(", ")", "{", "}", ",", ";", "&", "|" };

static int push(struct cc_token **v, size_t *n, size_t *cap, struct cc_token t)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct cc_token *nv = realloc(*v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = t;
	return 0;
}

int cc_lex(const char *src, const char *file, struct sbpf_diags *d, struct cc_token **out, size_t *n)
{
	struct cc_token *v = NULL;
	size_t nv = 0, cap = 0, i = 0;
	int err = 0;
	while (!err) {
		while (src[i] && (isspace((unsigned char)src[i]) || src[i] == '#' ||
				  (src[i] == '/' && src[i + 1] == '/'))) {
			if (isspace((unsigned char)src[i]))
				i++;
			else
				while (src[i] && src[i] != '\n')
					i++;
		}
		struct cc_token t = { .off = i };
		if (!src[i]) {
			t.kind = CC_T_EOF;
			err = push(&v, &nv, &cap, t);
			break;
		}
		unsigned char c = (unsigned char)src[i];
		if (isalpha(c) || c == '_') {
			size_t s = i;
			while (isalnum((unsigned char)src[i]) || src[i] == '_')
				i++;
			t.kind = CC_T_IDENT;
			t.len = i - s;
			snprintf(t.text, sizeof(t.text), "%.*s", (int)(t.len < 31 ? t.len : 31), src + s);
			if (t.len > 31) {
				sbpf_diags__add(d, file, src, s, (int)t.len, NULL, "name longer than 31 characters");
				err = -EINVAL;
			}
		} else if (isdigit(c)) {
			size_t s = i;
			char *end;
			errno = 0;
			unsigned long long x = strtoull(src + i, &end, 0);
			i = (size_t)(end - src);
			uint64_t mul = 1;
			if (src[i] == 'k')
				mul = 1000;
			else if (src[i] == 'M')
				mul = 1000000;
			else if (src[i] == 'G')
				mul = 1000000000;
			if (mul > 1)
				i++;
			if (errno || (mul > 1 && x > UINT64_MAX / mul) || isalnum((unsigned char)src[i]) ||
			    src[i] == '_') {
				while (isalnum((unsigned char)src[i]) || src[i] == '_')
					i++;
				sbpf_diags__add(d, file, src, s, (int)(i - s), "numbers are unsigned 64-bit integers, "
						"decimal or 0x hex, with an optional k, M or G suffix",
						"malformed number");
				err = -EINVAL;
			}
			t.kind = CC_T_NUM;
			t.num = (uint64_t)x * mul;
			t.len = i - s;
			snprintf(t.text, sizeof(t.text), "%.*s", (int)(t.len < 31 ? t.len : 31), src + s);
		} else {
			size_t k;
			for (k = 0; k < sizeof(puncts) / sizeof(puncts[0]); k++)
				if (!strncmp(src + i, puncts[k], strlen(puncts[k])))
					break;
			if (k == sizeof(puncts) / sizeof(puncts[0])) {
				sbpf_diags__add(d, file, src, i, 1, NULL, "unexpected character '%c'", c);
				err = -EINVAL;
				break;
			}
			t.kind = CC_T_PUNCT;
			t.len = strlen(puncts[k]);
			snprintf(t.text, sizeof(t.text), "%s", puncts[k]);
			i += t.len;
		}
		if (!err)
			err = push(&v, &nv, &cap, t);
	}
	if (err) {
		free(v);
		return err == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	*out = v;
	*n = nv;
	return 0;
}
