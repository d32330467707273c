#ifndef MESHGATE_CLIBMNL_SHIM_H
#define MESHGATE_CLIBMNL_SHIM_H
/* netinet/in.h and sys/socket.h first: linux/ headers would otherwise redefine in_addr for Swift. */
#include <netinet/in.h>
#include <sys/socket.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/if_link.h>
#include <linux/if_addr.h>
#include <linux/neighbour.h>
#endif
