/*
 * check.c - every argument a caller sends, before any of it goes near the
 * SIP stack (see voip.h). baresip's commands and account lines are text:
 * a space, quote, ';', ',', '<' or '>' in a caller's value would add
 * parameters or end the URI, so none is let through.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "voip.h"

static bool plain(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("\"'\\;,<>`", c))
			return false;
	}
	return true;
}

int voip_check_uri(const char *field, const char *s, char *why, size_t whylen)
{
	size_t skip = !strncmp(s, "sip:", 4) ? 4 : !strncmp(s, "sips:", 5) ? 5 : 0;

	if (!skip) {
		snprintf(why, whylen, "%s: a SIP URI starts with sip: or sips:", field);
		return -EINVAL;
	}
	if (!s[skip] || !plain(s, VOIP_URI_MAX)) {
		snprintf(why, whylen, "%s: empty, over %d bytes, or holds a space, quote, "
				      "control byte or one of ;,<>", field, VOIP_URI_MAX);
		return -EINVAL;
	}
	return 0;
}

bool voip_is_number(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > VOIP_NUMBER_MAX)
		return false;
	return strspn(s, "0123456789+*#") == n;
}

int voip_check_dtmf(const char *s, char *why, size_t whylen)
{
	size_t n = strlen(s);

	if (!n || n > VOIP_DTMF_MAX || strspn(s, "0123456789*#ABCD") != n) {
		snprintf(why, whylen, "digits: 1 to %d of 0-9 * # A-D", VOIP_DTMF_MAX);
		return -EINVAL;
	}
	return 0;
}

int voip_check_token(const char *field, const char *s, char *why, size_t whylen)
{
	if (!plain(s, VOIP_SECRET_MAX)) {
		snprintf(why, whylen, "%s: over %d bytes, or holds a space, quote, control byte "
				      "or one of ;,<>", field, VOIP_SECRET_MAX);
		return -EINVAL;
	}
	return 0;
}

int voip_dial_target(const char *to, const char *account, char *out, size_t outlen, char *why,
		     size_t whylen)
{
	const char *at;

	if (!strncmp(to, "sip:", 4) || !strncmp(to, "sips:", 5)) {
		if (voip_check_uri("to", to, why, whylen))
			return -EINVAL;
		snprintf(out, outlen, "%s", to);
		return 0;
	}
	if (!voip_is_number(to)) {
		snprintf(why, whylen, "to: neither a SIP URI nor a number (digits, + * #, at most "
				      "%d)", VOIP_NUMBER_MAX);
		return -EINVAL;
	}
	at = account ? strchr(account, '@') : NULL;
	if (!at || !at[1]) {
		snprintf(why, whylen, "to: a number needs an account with a domain");
		return -EINVAL;
	}
	if ((size_t)snprintf(out, outlen, "sip:%s@%s", to, at + 1) >= outlen) {
		snprintf(why, whylen, "to: too long with the account's domain");
		return -EINVAL;
	}
	return 0;
}
