/* deadline_heap.c - a binary min-heap of (deadline, call id). Entries are not
 * removed when a call ends early: the owner checks a popped id still names
 * the same call with the same deadline. */
#include <errno.h>
#include <stdlib.h>

#include "calls.h"

static void swap(struct deadline *a, struct deadline *b)
{
	struct deadline t = *a;

	*a = *b;
	*b = t;
}

int heap_push(struct deadline_heap *h, int64_t at, uint32_t id)
{
	unsigned i;

	if (h->n == h->cap) {
		unsigned cap = h->cap ? h->cap * 2 : 64;
		struct deadline *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	i = h->n++;
	h->v[i] = (struct deadline){ .at = at, .id = id };
	while (i && h->v[(i - 1) / 2].at > h->v[i].at) {
		swap(&h->v[(i - 1) / 2], &h->v[i]);
		i = (i - 1) / 2;
	}
	return 0;
}

bool heap_pop_due(struct deadline_heap *h, int64_t now, struct deadline *out)
{
	unsigned i = 0;

	if (!h->n || h->v[0].at > now)
		return false;
	*out = h->v[0];
	h->v[0] = h->v[--h->n];
	for (;;) {
		unsigned l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->n && h->v[l].at < h->v[m].at)
			m = l;
		if (r < h->n && h->v[r].at < h->v[m].at)
			m = r;
		if (m == i)
			break;
		swap(&h->v[m], &h->v[i]);
		i = m;
	}
	return true;
}

int64_t heap_next(const struct deadline_heap *h)
{
	return h->n ? h->v[0].at : -1;
}

void heap_free(struct deadline_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

int ms_until(int64_t at, int64_t now)
{
	if (at < 0)
		return -1;
	if (at <= now)
		return 0;
	return at - now > 1000000 ? 1000000 : (int)(at - now);
}
