/*
 * calls.h - private: a table of calls in flight keyed by call id, and a heap
 * of their deadlines. Ids are chosen so that id & mask is a free slot, which
 * makes lookup one probe; the table has twice as many slots as calls may be
 * in flight, so a free slot is always near.
 */
#ifndef VRPC_CALLS_H
#define VRPC_CALLS_H

#include <stdbool.h>
#include <stdint.h>

struct deadline {
	int64_t at;  /* vrpc_now_ms() */
	uint32_t id;
};

struct deadline_heap {
	struct deadline *v;
	unsigned n, cap;
};

int heap_push(struct deadline_heap *h, int64_t at, uint32_t id);
/* Pops the earliest entry due at or before @p now into @p out. */
bool heap_pop_due(struct deadline_heap *h, int64_t now, struct deadline *out);
/* Earliest deadline, or -1 when empty. */
int64_t heap_next(const struct deadline_heap *h);
void heap_free(struct deadline_heap *h);

/* Timeout in ms from now until @p at (for poll), or -1 for none (at < 0). */
int ms_until(int64_t at, int64_t now);

#endif /* VRPC_CALLS_H */
