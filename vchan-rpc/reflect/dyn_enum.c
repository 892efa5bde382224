/*
 * dyn_enum.c - enum descriptors as protoc-c writes them (c_enum.cc), its
 * number ranges (c_helpers.cc WriteIntRanges) and C names.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dyn_priv.h"

static char ascii_case(char c, bool up)
{
	if (up && c >= 'a' && c <= 'z')
		return (char)(c - 'a' + 'A');
	if (!up && c >= 'A' && c <= 'Z')
		return (char)(c - 'A' + 'a');
	return c;
}

char *vrpc_dyn_c_name(const char *full, enum vrpc_dyn_case how)
{
	char *out = malloc(strlen(full) * 2 + 1), *o = out;
	bool start = true, was_upper = true;

	if (!out)
		return NULL;
	for (; *full; full++) {
		char c = *full;
		bool is_upper = c >= 'A' && c <= 'Z';

		if (c == '.') {
			*o++ = '_';
			*o++ = '_';
			start = was_upper = true;
		} else if (how == VRPC_DYN_CAMEL) {
			if (c == '_') {
				start = true;
				continue;
			}
			*o++ = start ? ascii_case(c, true) : c;
			start = false;
		} else {
			if (is_upper && !was_upper)
				*o++ = '_';
			*o++ = ascii_case(c, how == VRPC_DYN_UPPER);
			was_upper = is_upper;
		}
	}
	*o = '\0';
	return out;
}

/* vrpc_dyn_c_name(), kept in the set's arena. */
static char *in_arena(struct vrpc_dyn *d, char *s)
{
	char *kept = s ? dyn_strdup(d, s) : NULL;

	free(s);
	return kept;
}

char *dyn_c_name(struct vrpc_dyn *d, const char *full)
{
	return in_arena(d, vrpc_dyn_c_name(full, VRPC_DYN_CAMEL));
}

char *dyn_c_upper(struct vrpc_dyn *d, const char *full)
{
	return in_arena(d, vrpc_dyn_c_name(full, VRPC_DYN_UPPER));
}

/*
 * Runs of consecutive values, each {first value, index of it}, then the
 * sentinel {0, n}: protobuf-c's int_range_lookup() reads the next entry's
 * orig_index as the end of a run, the sentinel's for the last one.
 */
int dyn_int_ranges(struct vrpc_dyn *d, const int *values, unsigned n,
		   const ProtobufCIntRange **out, unsigned *n_ranges)
{
	ProtobufCIntRange *r;
	unsigned i, k = 0, runs = n ? 1 : 0;

	*out = NULL;
	*n_ranges = 0;
	if (n == 0)
		return 0;
	for (i = 1; i < n; i++)
		if ((int64_t)values[i - 1] + 1 != values[i])
			runs++;
	r = dyn_calloc(d, runs + 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r[k++] = (ProtobufCIntRange){ values[0], 0 };
	for (i = 1; i < n; i++)
		if ((int64_t)values[i - 1] + 1 != values[i])
			r[k++] = (ProtobufCIntRange){ values[i], i };
	r[k] = (ProtobufCIntRange){ 0, n };
	*out = r;
	*n_ranges = runs;
	return 0;
}

struct value_index {
	int value;
	unsigned index;      /* declaration order */
	unsigned final_index; /* in the unique-by-number array */
	const char *name;
};

static int by_value_then_index(const void *a, const void *b)
{
	const struct value_index *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct value_index *)a)->name,
		      ((const struct value_index *)b)->name);
}

/*
 * values: one per distinct number, sorted, the first declared of aliases
 * (allow_alias); values_by_name: every name, sorted, pointing into values.
 */
int dyn_enum_build(struct vrpc_dyn *d, struct dyn_enum *e)
{
	const DynEnumProto *p = e->proto;
	unsigned n = (unsigned)p->n_value, i, n_unique = 0;
	ProtobufCEnumValueIndex *by_nm;
	ProtobufCEnumValue *vals;
	struct value_index *vi;
	const char *upper;
	int *nums, err = -ENOMEM;

	if (n == 0 || p->n_value > 65536)
		return dyn_fail(d, -EINVAL, "enum %s: %zu values", e->d.name, p->n_value);
	vi = calloc(n, sizeof(*vi));
	nums = calloc(n, sizeof(*nums));
	vals = dyn_calloc(d, n, sizeof(*vals));
	by_nm = dyn_calloc(d, n, sizeof(*by_nm));
	upper = dyn_c_upper(d, e->d.name);
	if (!vi || !nums || !vals || !by_nm || !upper)
		goto out;
	for (i = 0; i < n; i++) {
		if (!p->value[i]->name) {
			err = dyn_fail(d, -EINVAL, "enum %s: a value without a name", e->d.name);
			goto out;
		}
		vi[i] = (struct value_index){ p->value[i]->number, i, 0, p->value[i]->name };
	}
	e->first_value = p->value[0]->number;
	qsort(vi, n, sizeof(*vi), by_value_then_index);
	for (i = 0; i < n; i++) {
		if (i == 0 || vi[i - 1].value != vi[i].value) {
			vals[n_unique].name = dyn_strdup(d, vi[i].name);
			vals[n_unique].c_name = dyn_printf(d, "%s__%s", upper, vi[i].name);
			vals[n_unique].value = vi[i].value;
			if (!vals[n_unique].name || !vals[n_unique].c_name)
				goto out;
			nums[n_unique++] = vi[i].value;
		}
		vi[i].final_index = n_unique - 1;
	}
	qsort(vi, n, sizeof(*vi), by_name);
	for (i = 0; i < n; i++) {
		by_nm[i].name = dyn_strdup(d, vi[i].name);
		by_nm[i].index = vi[i].final_index;
		if (!by_nm[i].name)
			goto out;
	}
	err = dyn_int_ranges(d, nums, n_unique, &e->d.value_ranges, &e->d.n_value_ranges);
	if (err)
		goto out;
	e->d.magic = PROTOBUF_C__ENUM_DESCRIPTOR_MAGIC;
	e->d.n_values = n_unique;
	e->d.values = vals;
	e->d.n_value_names = n;
	e->d.values_by_name = by_nm;
	err = 0;
out:
	free(vi);
	free(nums);
	if (err == -ENOMEM)
		return dyn_fail(d, err, "out of memory");
	return err;
}
