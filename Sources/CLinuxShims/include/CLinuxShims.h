/*
 * CLinuxShims: the few Linux calls and constants Swift cannot reach by itself.
 *
 * Every symbol carries the CLinuxShims_ prefix and says why it exists. Swift's Glibc module is built
 * without _GNU_SOURCE, so sendmmsg/recvmmsg/struct mmsghdr are invisible to it; <linux/if_tun.h> ioctl
 * numbers are _IOW() function-like macros; CMSG_* are macros. When Swift's Glibc overlay exposes these,
 * the matching shim can go.
 */
#ifndef CLINUXSHIMS_H
#define CLINUXSHIMS_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <netinet/udp.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <stdint.h>
#include <time.h>

/* Mirrors struct mmsghdr, which glibc hides behind _GNU_SOURCE. A static assert in the .c checks the layout. */
struct CLinuxShims_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

/* Opens /dev/net/tun and attaches it to interface `name` (TUNSETIFF is an _IOW macro). Returns fd or -errno.
 * `out_name` (IFNAMSIZ bytes) receives the kernel's name for the device. */
int CLinuxShims_tun_open(const char *name, short flags, char *out_name);
/* TUNSETOFFLOAD, an _IOW macro. Returns 0 or -errno. */
int CLinuxShims_tun_set_offload(int fd, unsigned int offloads);
/* TUNSETVNETHDRSZ, an _IOW macro. Returns 0 or -errno. */
int CLinuxShims_tun_set_vnet_hdr_size(int fd, int size);
/* TUNSETPERSIST, an _IOW macro. Returns 0 or -errno. */
int CLinuxShims_tun_set_persist(int fd, int persist);

/* sendmmsg/recvmmsg are _GNU_SOURCE-only. Return the message count or -errno. */
int CLinuxShims_sendmmsg(int fd, struct CLinuxShims_mmsghdr *vec, unsigned int count, int flags);
int CLinuxShims_recvmmsg(int fd, struct CLinuxShims_mmsghdr *vec, unsigned int count, int flags);

/* CMSG_* are macros. */
struct cmsghdr *CLinuxShims_cmsg_firsthdr(struct msghdr *msg);
struct cmsghdr *CLinuxShims_cmsg_nxthdr(struct msghdr *msg, struct cmsghdr *cmsg);
unsigned char *CLinuxShims_cmsg_data(struct cmsghdr *cmsg);
size_t CLinuxShims_cmsg_space(size_t length);
size_t CLinuxShims_cmsg_len(size_t length);

/* UDP_SEGMENT / UDP_GRO live in <netinet/udp.h>, which is not part of Swift's Glibc module. */
static const int CLinuxShims_UDP_SEGMENT = UDP_SEGMENT;
static const int CLinuxShims_UDP_GRO = UDP_GRO;

/* Monotonic time including suspend (CLOCK_BOOTTIME), so protocol timers survive a VM pause. Nanoseconds. */
uint64_t CLinuxShims_boottime_ns(void);
/* Wall-clock time for TAI64N and `wg show` handshake timestamps. */
void CLinuxShims_realtime(int64_t *seconds, int64_t *nanoseconds);

/* prctl is variadic, which Swift cannot call: PR_SET_DUMPABLE with `dumpable` (0 or 1). 0 or -errno. */
int CLinuxShims_set_dumpable(int dumpable);
/* PR_GET_DUMPABLE: 0, 1 or 2, or -errno. */
int CLinuxShims_get_dumpable(void);

/* eventfd lives in <sys/eventfd.h>, outside Swift's Glibc module. Non-blocking, close-on-exec. fd or -errno. */
int CLinuxShims_eventfd(void);
/* pthread_setname_np is _GNU_SOURCE-only. Names the calling thread (15 characters kept). */
void CLinuxShims_set_thread_name(const char *name);
/// Sets the calling thread's nice value (Linux: per thread); 0 or -errno.
int CLinuxShims_set_thread_nice(int nice);
/* SIOCGIFMTU / SIOCSIFMTU take a struct ifreq whose fields are union macros. Return the MTU / 0, or -errno. */
int CLinuxShims_get_mtu(const char *name);
int CLinuxShims_set_mtu(const char *name, int mtu);
/* Socket type flags are an enum in glibc's headers that Swift imports awkwardly; export the combinations we use. */
static const int CLinuxShims_SOCK_STREAM_CLOEXEC = SOCK_STREAM | SOCK_CLOEXEC;
static const int CLinuxShims_SOCK_DGRAM_CLOEXEC_NONBLOCK = SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK;
static const int CLinuxShims_SOCK_CLOEXEC = SOCK_CLOEXEC;
/* accept4 is _GNU_SOURCE-only. fd or -errno. */
int CLinuxShims_accept_cloexec(int fd);
/* setns is _GNU_SOURCE-only. Moves the calling thread into the network namespace `fd`; 0 or -1 (errno). */
int CLinuxShims_setns_net(int fd);

/* posix_spawn_file_actions_addclosefrom_np (glibc 2.34) is not visible to Swift: closes every descriptor
   from `low` up in the child, so a command we start inherits none of ours. 0 or an errno value. */
#include <spawn.h>
int CLinuxShims_spawn_close_from(posix_spawn_file_actions_t *actions, int low);

#endif
