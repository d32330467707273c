#ifndef MESHGATE_CLIBNFTNL_SHIM_H
#define MESHGATE_CLIBNFTNL_SHIM_H
/* netinet/in.h and sys/socket.h first: linux/ headers would otherwise redefine in_addr for Swift. */
#include <netinet/in.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/object.h>
#include <libnftnl/expr.h>
#include <libnftnl/batch.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#endif
