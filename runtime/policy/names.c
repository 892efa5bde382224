/* names.c - what a service, method, guest and tag name may be, and the
 * quoting that keeps untrusted bytes out of a terminal. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy_private.h"

/* Plain ASCII tests: isalpha() and friends follow the locale, and a policy
 * must mean the same whatever LANG the daemon runs under. */
static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_alnum(char c) { return is_upper(c) || is_lower(c) || is_digit(c); }

/* A protobuf identifier: [A-Za-z_][A-Za-z0-9_]*. */
bool policy_is_ident(const char *s, size_t len)
{
	if (len == 0 || !(is_upper(s[0]) || is_lower(s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '_')
			return false;
	return true;
}

/* Identifiers joined by single dots: a full protobuf name. */
bool policy_is_dotted(const char *s, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (!policy_is_ident(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

bool policy_is_peer_name(const char *s, size_t len)
{
	if (len == 0 || len > POLICY_NAME_MAX || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

bool policy_name_valid(const char *name)
{
	return name && policy_is_peer_name(name, strnlen(name, POLICY_NAME_MAX + 1));
}

static int split_slash(const char *s, size_t len, const char *slash, size_t *svc_len,
		       const char **method, const char **why)
{
	size_t n = (size_t)(slash - s);

	if (memchr(slash + 1, '/', len - n - 1)) {
		*why = "more than one '/'";
		return -EINVAL;
	}
	if (!policy_is_dotted(s, n)) {
		*why = "the service before '/' is not a dotted protobuf name";
		return -EINVAL;
	}
	*svc_len = n;
	/* SERVICE, slash, star: every method of a service whose name the
	 * dotted form cannot spell. */
	if (len - n - 1 == 1 && slash[1] == '*')
		return 0;
	if (!policy_is_ident(slash + 1, len - n - 1)) {
		*why = "the method after '/' is not an identifier (or '*')";
		return -EINVAL;
	}
	*method = slash + 1;
	return 0;
}

/*
 * The dotted form, read by protobuf's naming style (policy.h): lower-case
 * packages, then the Service, then at most one Method. A name that does not
 * fit is refused rather than read one way or the other.
 */
int policy_call_split(const char *s, size_t len, size_t *svc_len, const char **method,
		      const char **why)
{
	const char *slash = memchr(s, '/', len);
	size_t start = 0, svc_end = 0;
	int after = -1; /* components after the service; -1: no service yet */

	*method = NULL;
	if (slash)
		return split_slash(s, len, slash, svc_len, method, why);
	if (!policy_is_dotted(s, len)) {
		*why = "not a dotted protobuf name (identifiers joined by '.')";
		return -EINVAL;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (after >= 0) {
			if (++after > 1) {
				*why = "more than one component after the service";
				return -EINVAL;
			}
			if (!is_upper(s[start])) {
				*why = "a method starts upper-case in the dotted form "
				       "(write SERVICE/method for other names)";
				return -EINVAL;
			}
			*method = s + start;
		} else if (is_upper(s[start])) {
			after = 0;
			svc_end = i;
		}
		start = i + 1;
	}
	if (after < 0) {
		*why = "no component starts upper-case, so it names no service "
		       "(pkg.v1.Service; write SERVICE/method or SERVICE/* for other names)";
		return -EINVAL;
	}
	*svc_len = svc_end;
	return 0;
}

int policy_split_call(const char *name, char *service_out, const char **method_out,
		      const char **why)
{
	size_t len, svc_len;
	int ret;

	*why = "no name";
	if (!name || !service_out || !method_out)
		return -EINVAL;
	*method_out = NULL;
	len = strnlen(name, POLICY_LINE_MAX + 1);
	if (len > POLICY_LINE_MAX) {
		*why = "too long";
		return -EINVAL;
	}
	ret = policy_call_split(name, len, &svc_len, method_out, why);
	if (ret)
		return ret;
	memcpy(service_out, name, svc_len);
	service_out[svc_len] = '\0';
	return 0;
}

void policy_quote(char *out, size_t size, const char *s, size_t len)
{
	/* Enough for any guest, tag or service name that anyone would write. */
	const size_t shown = 80;
	size_t i, o = 0;

	if (size == 0)
		return;
	for (i = 0; i < len && i < shown; i++) {
		unsigned char c = (unsigned char)s[i];
		char tmp[5];
		size_t n;

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			tmp[0] = (char)c;
			n = 1;
		} else {
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", c);
		}
		if (o + n + 4 > size) /* keep room for "..." and the NUL */
			break;
		memcpy(out + o, tmp, n);
		o += n;
	}
	if (i < len && o + 4 <= size) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}
