#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CLinuxShims.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <sched.h>

_Static_assert(sizeof(struct CLinuxShims_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");

int CLinuxShims_tun_open(const char *name, short flags, char *out_name) {
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = flags;
    if (name) strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (out_name) memcpy(out_name, ifr.ifr_name, IFNAMSIZ);
    return fd;
}

int CLinuxShims_tun_set_offload(int fd, unsigned int offloads) {
    return ioctl(fd, TUNSETOFFLOAD, (unsigned long)offloads) < 0 ? -errno : 0;
}

int CLinuxShims_tun_set_vnet_hdr_size(int fd, int size) {
    return ioctl(fd, TUNSETVNETHDRSZ, &size) < 0 ? -errno : 0;
}

int CLinuxShims_tun_set_persist(int fd, int persist) {
    return ioctl(fd, TUNSETPERSIST, (unsigned long)persist) < 0 ? -errno : 0;
}

int CLinuxShims_sendmmsg(int fd, struct CLinuxShims_mmsghdr *vec, unsigned int count, int flags) {
    int r = sendmmsg(fd, (struct mmsghdr *)vec, count, flags);
    return r < 0 ? -errno : r;
}

int CLinuxShims_recvmmsg(int fd, struct CLinuxShims_mmsghdr *vec, unsigned int count, int flags) {
    int r = recvmmsg(fd, (struct mmsghdr *)vec, count, flags, NULL);
    return r < 0 ? -errno : r;
}

struct cmsghdr *CLinuxShims_cmsg_firsthdr(struct msghdr *msg) { return CMSG_FIRSTHDR(msg); }
struct cmsghdr *CLinuxShims_cmsg_nxthdr(struct msghdr *msg, struct cmsghdr *cmsg) { return CMSG_NXTHDR(msg, cmsg); }
unsigned char *CLinuxShims_cmsg_data(struct cmsghdr *cmsg) { return CMSG_DATA(cmsg); }
size_t CLinuxShims_cmsg_space(size_t length) { return CMSG_SPACE(length); }
size_t CLinuxShims_cmsg_len(size_t length) { return CMSG_LEN(length); }

uint64_t CLinuxShims_boottime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void CLinuxShims_realtime(int64_t *seconds, int64_t *nanoseconds) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *seconds = ts.tv_sec;
    *nanoseconds = ts.tv_nsec;
}

int CLinuxShims_eventfd(void) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

void CLinuxShims_set_thread_name(const char *name) {
    char buf[16];
    strncpy(buf, name, sizeof buf - 1);
    buf[sizeof buf - 1] = 0;
    pthread_setname_np(pthread_self(), buf);
}

int CLinuxShims_set_thread_nice(int nice) {
    // On Linux, PRIO_PROCESS with a thread id sets that one thread's nice value.
    return setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), nice) < 0 ? -errno : 0;
}

static int CLinuxShims_mtu_ioctl(const char *name, unsigned long request, int *mtu) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    ifr.ifr_mtu = *mtu;
    int r = ioctl(fd, request, &ifr);
    int e = errno;
    close(fd);
    if (r < 0) return -e;
    *mtu = ifr.ifr_mtu;
    return 0;
}

int CLinuxShims_get_mtu(const char *name) {
    int mtu = 0;
    int r = CLinuxShims_mtu_ioctl(name, SIOCGIFMTU, &mtu);
    return r < 0 ? r : mtu;
}

int CLinuxShims_set_mtu(const char *name, int mtu) {
    return CLinuxShims_mtu_ioctl(name, SIOCSIFMTU, &mtu);
}

int CLinuxShims_accept_cloexec(int fd) {
    int r = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    return r < 0 ? -errno : r;
}

int CLinuxShims_setns_net(int fd) { return setns(fd, CLONE_NEWNET); }

int CLinuxShims_set_dumpable(int dumpable) {
    return prctl(PR_SET_DUMPABLE, (unsigned long)dumpable, 0, 0, 0) == 0 ? 0 : -errno;
}

int CLinuxShims_get_dumpable(void) {
    int value = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    return value >= 0 ? value : -errno;
}

int CLinuxShims_spawn_close_from(posix_spawn_file_actions_t *actions, int low) {
    return posix_spawn_file_actions_addclosefrom_np(actions, low);
}
