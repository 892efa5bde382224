/*
 * qubes_rules.h - Qubes' firewall rule lists (`qvm-firewall VM list --raw`,
 * one rule a line) to and from the firewall's typed Ruleset, for
 * `vapp-fw import` and `vapp-fw export` (qubes_rules.c).
 *
 * A line: KEY=VALUE words, blank-separated, in any order but comment=,
 * which takes the rest of the line:
 *   action=accept|drop       required
 *   dst4=A[/N]  dst6=A[/N]   the destination (IPv4, IPv6)
 *   dsthost=A[/N]            the same, either family (a host name is refused:
 *                            the appliance has no resolver yet)
 *   proto=tcp|udp|icmp       absent: any
 *   dstports=N[-M]           tcp or udp only
 *   icmptype=N               icmp only
 *   comment=TEXT             up to 64 printable bytes
 * specialtarget= and expire= are refused (not supported yet), by name.
 * Blank lines and lines starting with '#' are skipped. A last rule that is
 * a bare action=X is the default policy; without one the default is drop.
 */
#ifndef FW_QUBES_RULES_H
#define FW_QUBES_RULES_H

#include <stddef.h>

#include "appliances/firewall/firewall.pb-c.h"

/**
 * Reads @p text (@p len bytes; any bytes) named @p file in messages.
 * @return the ruleset (free with fw_qubes_free), or NULL with every
 * problem in @p err, one "FILE:LINE:COL: what" a line (the first ones, as
 * many as fit): nothing is taken from a list with any error.
 */
Vapp__Firewall__V1__Ruleset *fw_qubes_import(const char *text, size_t len, const char *file,
					     char *err, size_t errlen);
void fw_qubes_free(Vapp__Firewall__V1__Ruleset *rs);

/** The lines for @p rs, ending with the default policy's. malloc'd, or
 * NULL (out of memory). */
char *fw_qubes_export(const Vapp__Firewall__V1__Ruleset *rs);

#endif
