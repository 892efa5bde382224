/*
 * cmd_policy.c - vapp policy check: is a call policy well formed, and which
 * rule decides a given call? The check-only mode of vappd's policy loader
 * (STYLE.md 7): the same parser, so what passes here loads there.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "policy.h"

extern const struct vapp_cmd vapp_cmd_policy;

/* A SOURCE or TARGET on the command line: NAME[:TAG[,TAG...]]. */
struct cli_peer {
	struct policy_peer peer;
	char *buf;
	const char **tags;
};

static void diag(void *arg, const char *file, unsigned line, bool warning, const char *msg)
{
	const char *kind = warning ? "warning: " : "";

	if (line)
		fprintf(stderr, "%s:%u: %s%s\n", file, line, kind, msg);
	else
		fprintf(stderr, "%s: %s%s\n", file, kind, msg);
}

static void peer_free(struct cli_peer *c)
{
	free(c->buf);
	free(c->tags);
}

static int peer_parse(struct cli_peer *c, const char *arg, const char *what)
{
	size_t n = 1;
	char *colon, *t;

	*c = (struct cli_peer){ 0 };
	c->buf = strdup(arg);
	if (!c->buf)
		goto err_nomem;
	for (const char *s = arg; *s; s++)
		n += *s == ',';
	c->tags = calloc(n, sizeof(*c->tags));
	if (!c->tags)
		goto err_nomem;
	c->peer.name = c->buf;
	colon = strchr(c->buf, ':');
	if (colon) {
		*colon = '\0';
		for (t = strtok(colon + 1, ","); t; t = strtok(NULL, ","))
			c->tags[c->peer.n_tags++] = t;
		c->peer.tags = c->tags;
	}
	if (!policy_name_valid(c->peer.name))
		return cmd_usage_error(&vapp_cmd_policy, "bad %s name '%s'", what, c->peer.name);
	for (size_t i = 0; i < c->peer.n_tags; i++)
		if (!policy_name_valid(c->tags[i]))
			return cmd_usage_error(&vapp_cmd_policy, "bad tag '%s' in %s", c->tags[i],
					       what);
	return 0;
err_nomem:
	cmd_error(&vapp_cmd_policy, "out of memory");
	return 1;
}

static void print_peer(const char *what, const struct policy_peer *p)
{
	printf(" %s %s", what, p->name);
	for (size_t i = 0; i < p->n_tags; i++)
		printf("%s%s", i ? "," : " (tags: ", p->tags[i]);
	if (p->n_tags)
		putchar(')');
}

static void trace(void *arg, const char *file, unsigned line, const char *text, bool matched,
		  const char *why)
{
	printf("  %s:%u: %-5s %s\n      %s\n", file, line, matched ? "MATCH" : "no", text, why);
}

/* argv: CALL SOURCE TARGET. */
static int explain(const struct policy *pol, char **argv)
{
	struct cli_peer src, dst;
	struct policy_decision d;
	const char *method, *why;
	char *service;
	int ret = 1;

	service = malloc(strlen(argv[0]) + 1);
	if (!service) {
		cmd_error(&vapp_cmd_policy, "out of memory");
		return 1;
	}
	if (policy_split_call(argv[0], service, &method, &why) == 0 && !method)
		why = "it names no method (SERVICE.Method or SERVICE/method)";
	if (!method) {
		ret = cmd_usage_error(&vapp_cmd_policy, "--explain: bad call '%s': %s", argv[0],
				      why);
		goto err_service;
	}
	ret = peer_parse(&src, argv[1], "source");
	if (ret)
		goto err_src;
	ret = peer_parse(&dst, argv[2], "target");
	if (ret)
		goto err_dst;
	printf("call %s method %s", service, method);
	print_peer("from", &src.peer);
	print_peer("to", &dst.peer);
	printf(":\n");
	if (policy_explain(pol, service, method, &src.peer, &dst.peer, &d, trace, NULL)) {
		cmd_error(&vapp_cmd_policy, "cannot decide: the policy or the call is invalid");
		ret = 1;
		goto err_dst;
	}
	if (d.line)
		printf("%s, by %s:%u (logged: %s)\n", policy_action_name(d.action), d.file, d.line,
		       d.log ? "yes" : "no");
	else
		printf("deny, by default: no rule matches (logged: yes)\n");
	ret = 0;
err_dst:
	peer_free(&dst);
err_src:
	peer_free(&src);
err_service:
	free(service);
	return ret;
}

static int check(int argc, char **argv)
{
	char **files, **explain_args = NULL;
	struct policy *pol;
	size_t n_files = 0;
	bool strict = false, opts = true;
	int ret = 0;

	files = calloc((size_t)argc, sizeof(*files));
	if (!files) {
		cmd_error(&vapp_cmd_policy, "out of memory");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (opts && !strcmp(argv[i], "--")) {
			opts = false;
		} else if (opts && !strcmp(argv[i], "--strict")) {
			strict = true;
		} else if (opts && !strcmp(argv[i], "--explain")) {
			if (explain_args || argc - i < 4) {
				free(files);
				return cmd_usage_error(&vapp_cmd_policy,
						       "--explain takes CALL SOURCE TARGET, once");
			}
			explain_args = argv + i + 1;
			i += 3;
		} else if (opts && argv[i][0] == '-' && argv[i][1]) {
			free(files);
			return cmd_usage_error(&vapp_cmd_policy, "unknown option '%s'", argv[i]);
		} else {
			files[n_files++] = argv[i];
		}
	}
	if (!n_files) {
		free(files);
		return cmd_usage_error(&vapp_cmd_policy, "check needs at least one FILE");
	}
	pol = policy_new(diag, NULL);
	if (!pol) {
		free(files);
		cmd_error(&vapp_cmd_policy, "out of memory");
		return 1;
	}
	/* Every file is read, so that one run reports every problem. */
	for (size_t i = 0; i < n_files; i++) {
		if (policy_load_file(pol, files[i]) == -ENOMEM) {
			cmd_error(&vapp_cmd_policy, "out of memory");
			ret = 1;
			goto err_policy;
		}
	}
	if (policy_errors(pol) || (strict && policy_warnings(pol))) {
		ret = 1;
		goto err_policy;
	}
	if (explain_args)
		ret = explain(pol, explain_args);
err_policy:
	policy_free(pol);
	free(files);
	return ret;
}

static int run(int argc, char **argv)
{
	if (argc < 2)
		return cmd_usage_error(&vapp_cmd_policy, "expects a subcommand: check");
	if (!strcmp(argv[1], "check"))
		return check(argc - 1, argv + 1);
	return cmd_usage_error(&vapp_cmd_policy, "unknown subcommand '%s'", argv[1]);
}

const struct vapp_cmd vapp_cmd_policy = {
	.name = "policy",
	.summary = "check a call policy, and show which rule decides a call",
	.usage =
		"Usage: vapp policy check [--strict] FILE... [--explain CALL SOURCE TARGET]\n"
		"\n"
		"Checks the call policy that vappd's broker enforces, with the parser vappd\n"
		"uses. The FILEs make one policy, their rules tried in the order given. Each\n"
		"problem is printed as FILE:LINE: problem, or FILE:LINE: warning: problem for\n"
		"a rule that can never match because an earlier one decides every call it\n"
		"covers. Nothing is printed for a clean policy.\n"
		"\n"
		"One rule a line ('#' starts a comment):\n"
		"\n"
		"  SERVICE[.METHOD] SOURCE TARGET allow|deny [log=yes|no]\n"
		"\n"
		"  SERVICE[.METHOD]  *                                   any call\n"
		"                    vapp.firewall.v1.Firewall           any method of it\n"
		"                    vapp.firewall.v1.Firewall.ListRules one method; in this\n"
		"                      dotted form packages start lower-case, the service and\n"
		"                      the method upper-case; otherwise write SERVICE/method\n"
		"  SOURCE, TARGET    NAME (a guest or appliance), @tag:TAG, or @anyvm\n"
		"  log=              log the calls this rule decides (default: denies only)\n"
		"\n"
		"The first rule that matches a call decides it; no match is a deny.\n"
		"\n"
		"Options:\n"
		"  --strict          warnings fail the check too\n"
		"  --explain CALL SOURCE TARGET\n"
		"                    then decide one call, and show each rule tried and why\n"
		"                    it matched or not. CALL is SERVICE.Method or\n"
		"                    SERVICE/method; SOURCE and TARGET are NAME or\n"
		"                    NAME:TAG,TAG... (the tags vappd gives it)\n"
		"\n"
		"Exit status: 0 the policy loads, 1 it has errors (or warnings, with\n"
		"--strict) or cannot be read, 2 usage error.\n",
	.run = run,
};
