/* arena.c - bump allocator for the SQL front end: the parse tree, the bound
 * query and per-window strings are allocated here and freed all at once.
 */
#include <stdlib.h>
#include <string.h>

#include "sql/sqlInt.h"

struct sql_arena_block {
	struct sql_arena_block *next; /* older block */
	size_t used, cap;             /* bytes used / available in data */
	_Alignas(16) unsigned char data[]; /* storage */
};

void *sql_arena_alloc(struct sql_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct sql_arena_block *b = a->head;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 8192 ? n : 8192;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *sql_arena_strndup(struct sql_arena *a, const char *s, size_t n)
{
	char *p = sql_arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void sql_arena_reset(struct sql_arena *a)
{
	while (a->head) {
		struct sql_arena_block *next = a->head->next;
		free(a->head);
		a->head = next;
	}
}
