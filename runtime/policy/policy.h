/*
 * policy.h - vappd's call policy: may this guest call this RPC method of
 * this appliance? In the spirit of Qubes qrexec policy: one rule a line,
 * first match wins, no match is a deny.
 *
 * Format (one rule a line; '#' at a line's start or after blanks begins a
 * comment; blank lines are ignored; fields are separated by spaces or tabs;
 * a trailing CR is dropped, so CRLF files read the same):
 *
 *   SERVICE[.METHOD]  SOURCE  TARGET  allow|deny  [key=value ...]
 *
 * SERVICE[.METHOD], the calls the rule is about:
 *   *                                     any method of any service
 *   vapp.firewall.v1.Firewall             any method of that service
 *   vapp.firewall.v1.Firewall.ListRules   that one method
 *   vapp.firewall.v1.Firewall/ListRules   the same, spelled unambiguously
 *   vapp.firewall.v1.Firewall/\*          any method, spelled unambiguously
 *                                         (with no backslash: C comments)
 * The parser knows no services, so the dotted form follows protobuf's style
 * guide: package components start lower-case (or '_'), the service and the
 * method start upper-case. Reading left to right, the first component that
 * starts upper-case is the service; at most one more may follow, the
 * method, and it must start upper-case too. Anything else is an error, never
 * a guess, because a misread name would be a rule that silently never
 * matches. Names outside that style are written SERVICE/METHOD or SERVICE/\*,
 * where SERVICE is any dotted protobuf name and METHOD any identifier.
 *
 * SOURCE (the calling guest) and TARGET (the appliance called):
 *   NAME        that guest or appliance: [A-Za-z0-9][A-Za-z0-9_.-]*, at
 *               most POLICY_NAME_MAX bytes, case-sensitive
 *   @tag:TAG    any guest or appliance that vappd has given tag TAG (same
 *               syntax as a name)
 *   @anyvm      any guest or appliance
 * ('*' is only for services: a rule that means "anyone" says @anyvm.)
 *
 * Options: log=yes|no, whether vappd logs the calls this rule decides
 * (default: denies are logged, allows are not); direct=yes|no (default
 * no), on a rule that allows a whole service only: SOURCE may call that
 * service on a channel of its own, straight to the appliance, where the
 * broker sees none of its calls; the methods that rules before it deny
 * SOURCE are refused by the appliance itself (policy_direct()).
 *
 * Several files may make one policy: they are read in the order given and
 * their rules are tried in that order (like qrexec's policy.d/).
 *
 * A policy with any error must not be used, and policy_eval() refuses to:
 * dropping the bad line would change what the others mean (a deny skipped
 * lets a later allow decide). Warnings (a rule that an earlier one shadows
 * completely, so it can never match) do not stop a policy.
 *
 * Every input is untrusted: file contents (any bytes, any line length), and
 * the names given to policy_eval().
 */
#ifndef VAPP_POLICY_H
#define VAPP_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#define POLICY_LINE_MAX 4096   /* bytes in a line, without its newline */
#define POLICY_RULES_MAX 10000 /* rules in a policy (the shadow check is quadratic) */
#define POLICY_NAME_MAX 63     /* bytes in a guest, appliance or tag name */

struct policy;

enum policy_action {
	POLICY_DENY = 0,
	POLICY_ALLOW = 1,
};

/* A guest or appliance as vappd knows it: the identity of the channel a call
 * arrived on, never a claim from inside a message. */
struct policy_peer {
	const char *name;
	const char *const *tags; /* n_tags tag names */
	size_t n_tags;
};

struct policy_decision {
	enum policy_action action;
	bool log;         /* the rule's log=, or its default */
	const char *file; /* the deciding rule's file; NULL when no rule matched */
	unsigned line;    /* its line; 0 when no rule matched (a deny) */
};

/*
 * Receives each problem found while loading: @p line 0 means the file as a
 * whole (it could not be read). @p msg is one line of printable ASCII: bytes
 * from the input are escaped. The policy owns @p file.
 */
typedef void policy_diag_fn(void *arg, const char *file, unsigned line, bool warning,
			    const char *msg);

/*
 * Receives each rule that policy_explain() tries, in order: @p text is the
 * rule (fields joined by one space), @p matched whether it decides, @p why
 * the reason in words.
 */
typedef void policy_trace_fn(void *arg, const char *file, unsigned line, const char *text,
			     bool matched, const char *why);

/* @return an empty policy (denies everything), or NULL with errno ENOMEM.
 * @p diag may be NULL: problems are then only counted. */
struct policy *policy_new(policy_diag_fn *diag, void *arg);
void policy_free(struct policy *p); /* NULL is fine */

/*
 * Starts a new file: the lines fed next are its lines 1, 2, ...; @p name
 * (copied) is what diagnostics and decisions call it. Feeding lines without
 * a file first names them "-".
 * @return 0, -ENOMEM, or -EINVAL for a NULL name.
 */
int policy_begin_file(struct policy *p, const char *name);

/*
 * Parses one line, @p len bytes without its '\n' (any bytes, NULs included;
 * a line longer than POLICY_LINE_MAX is refused, so a reader may pass
 * POLICY_LINE_MAX + 1 bytes of an overlong line and drop the rest).
 * Every problem goes to the diag callback.
 * @return 0 (a rule, a comment or a blank line, warnings or not), -EINVAL
 * when the line has an error, -ENOMEM.
 */
int policy_feed_line(struct policy *p, const char *buf, size_t len);

/* Feeds @p text (@p len bytes, not NUL-terminated) a line at a time as file
 * @p name. Reports every error, not just the first.
 * @return 0, -EINVAL when any line had an error, -ENOMEM. */
int policy_load_text(struct policy *p, const char *name, const char *text, size_t len);

/* Reads the file at @p path a line at a time, never holding more than one
 * line of at most POLICY_LINE_MAX + 1 bytes.
 * @return 0, -EINVAL when any line had an error, -errno when it cannot be
 * read (also reported to diag, at line 0), -ENOMEM. */
int policy_load_file(struct policy *p, const char *path);

/* @return how many errors (not warnings) loading has met so far. */
unsigned policy_errors(const struct policy *p);
unsigned policy_warnings(const struct policy *p);
/* @return how many rules the policy holds. */
unsigned policy_rules(const struct policy *p);

/*
 * Decides a call of @p method (an identifier, "ListRules") of @p service (a
 * full protobuf name, "vapp.firewall.v1.Firewall") from @p src to @p dst.
 * @return 0 with @p d filled; -EINVAL, and @p d a default deny, when the
 * policy had errors or an argument is not a valid name (the caller must
 * deny the call either way).
 */
int policy_eval(const struct policy *p, const char *service, const char *method,
		const struct policy_peer *src, const struct policy_peer *dst,
		struct policy_decision *d);

/* policy_eval() that also tells @p trace (may be NULL) about each rule it
 * tries, up to and including the one that decides, leaving out the rules
 * about other services (they cannot explain anything). */
int policy_explain(const struct policy *p, const char *service, const char *method,
		   const struct policy_peer *src, const struct policy_peer *dst,
		   struct policy_decision *d, policy_trace_fn *trace, void *arg);

/*
 * May @p src call @p service of @p dst on a direct channel, past the
 * broker? When the first rule about the whole service (or '*') from @p src
 * to @p dst allows the whole service with direct=yes. Rules about single
 * methods of it before that one still decide those methods: the names of
 * those they deny go to @p denied, blank-separated (@p len bytes; NULL
 * when @p len is 0), for the appliance to refuse, since no broker sees the
 * calls (vappd puts them in the direct channel's grant). A '*' rule or a
 * deny of the whole service first, and the answer is no.
 * @return false too for a policy with errors, an invalid name, or denied
 * methods that do not fit in @p denied.
 */
bool policy_direct(const struct policy *p, const char *service, const struct policy_peer *src,
		   const struct policy_peer *dst, char *denied, size_t len);

/* @return whether @p name (NUL-terminated) may name a guest, an appliance
 * or a tag in a policy. */
bool policy_name_valid(const char *name);

/* @return "allow" or "deny". */
const char *policy_action_name(enum policy_action a);

/*
 * Splits a call name as a rule's first field would be read:
 * "pkg.Service.Method" or "pkg.Service/Method" into its service and method.
 * @p service_out (at least strlen(@p name) + 1 bytes) gets the service,
 * @p method_out points into @p name (or NULL when @p name has no method).
 * @return 0, or -EINVAL with a reason (a static string) in @p why.
 */
int policy_split_call(const char *name, char *service_out, const char **method_out,
		      const char **why);

#endif /* VAPP_POLICY_H */
