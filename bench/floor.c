/*
 * floor: the least work a jail with ironpen's default protections can do, written as plainly
 * as possible in C, so bench/startup.sh can show in the same run how far any implementation
 * could get below bubblewrap on this machine. It is a measuring stick, not a sandbox: no
 * command line, no error report beyond perror, no policy, no clean-up guarantees.
 *
 * Same kernel work as `ironpen run -- CMD` by default (docs/jail.md):
 *   - clone3 with new user, mount, pid, ipc, uts and cgroup namespaces; the parent writes
 *     setgroups=deny and maps the jail's 0 to the caller's uid/gid (65534 when run as root,
 *     ironpen's default for root);
 *   - the jail's init (pid 1) forks the program's process, then creates the network namespace
 *     (loopback up) and hands it over as an fd, while the program's process builds the root;
 *   - a tmpfs root made read-only: /usr bound read-only, the usrmerge symlinks, /etc with the
 *     binds (ld.so.cache, ld.so.conf.d, alternatives, ssl, ca-certificates) and small files
 *     (passwd, group, hosts, ...) ironpen provides, a minimal /dev (six device binds, devpts,
 *     /dev/shm), proc with subset=pid, tmpfs /tmp and home; pivot_root, old root detached;
 *   - every capability dropped (bounding set too), securebits locked, no_new_privs,
 *     memory-deny-write-execute, Landlock (16 path rules, abstract-unix and signal scoping),
 *     a seccomp filter of ironpen's size (a balanced search, 179 instructions);
 *   - execve CMD; init reaps it and exits with its status; the parent waits for init.
 *
 * Build: cc -O2 -static-pie -o floor bench/floor.c     Run: ./floor /bin/true
 * Works as root and as an unprivileged user (user namespaces enabled).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIE(what)                                                                                  \
    do {                                                                                           \
        perror(what);                                                                              \
        _exit(125);                                                                                \
    } while (0)
#define CHECK(call, what)                                                                          \
    do {                                                                                           \
        if ((call) < 0)                                                                            \
            DIE(what);                                                                             \
    } while (0)

/* Landlock's ABI 6+ ruleset attribute (older uapi headers lack `scoped`). */
struct ll_ruleset_attr {
    uint64_t handled_access_fs, handled_access_net, scoped;
};
struct ll_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));
#define LL_FS_ALL ((1ULL << 16) - 1) /* every file-system right up to IOCTL_DEV (ABI 5) */
#define LL_FS_READ ((1ULL << 0) | (1ULL << 2) | (1ULL << 3)) /* execute, read file, read dir */
#define LL_FS_FILE ((1ULL << 0) | (1ULL << 1) | (1ULL << 2) | (1ULL << 14) | (1ULL << 15))
#define LL_SCOPE_ALL 3ULL /* abstract unix sockets, signals */

static int sync_fds[2]; /* [0]: parent and init's end, [1]: init's child side */
static char **command;

static void write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        DIE(path);
    close(fd);
}

static void touch(const char *path, int dir) {
    if (dir) {
        CHECK(mkdir(path, 0755), path);
    } else {
        int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        CHECK(fd, path);
        close(fd);
    }
}

/* A read-only (and nosuid, nodev; noexec too for device nodes) bind of host SRC at DST. */
static void bind_ro(const char *src, const char *dst, int dir, unsigned long extra) {
    touch(dst, dir);
    CHECK(mount(src, dst, NULL, MS_BIND | MS_REC, NULL), src);
    CHECK(mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | extra | MS_NOSUID, NULL), dst);
}

static void mount_fs(const char *type, const char *dst, unsigned long flags, const char *data) {
    CHECK(mkdir(dst, 0755), dst);
    CHECK(mount(type, dst, type, flags, data), dst);
}

static void landlock_rule(int ruleset, const char *path, uint64_t access) {
    struct ll_path_beneath_attr rule = {.allowed_access = access};
    struct stat st;
    rule.parent_fd = open(path, O_PATH | O_CLOEXEC);
    if (rule.parent_fd < 0)
        return; /* optional paths, as in ironpen */
    CHECK(fstat(rule.parent_fd, &st), path);
    if (!S_ISDIR(st.st_mode))
        rule.allowed_access &= LL_FS_FILE;
    CHECK(syscall(SYS_landlock_add_rule, ruleset, 1 /* PATH_BENEATH */, &rule, 0), path);
    close(rule.parent_fd);
}

/* A balanced search over the sorted syscall numbers nrs[lo, hi): EPERM for those, allow the
 * rest. */
static int emit_search(struct sock_filter *f, int n, const int *nrs, int lo, int hi) {
    if (hi - lo <= 3) {
        for (int i = lo; i < hi; i++) {
            f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nrs[i], 0, 1);
            f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1);
        }
        f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        return n;
    }
    int mid = (lo + hi) / 2, branch = n++;
    n = emit_search(f, n, nrs, lo, mid);
    int right = n;
    n = emit_search(f, n, nrs, mid, hi);
    f[branch] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, nrs[mid], right - branch - 1, 0);
    return n;
}

/* Sixty x86_64 system calls that ordinary programs do not need (ptrace, mount, kexec, bpf, ...):
 * with the arch check, 179 instructions, about the size of ironpen's default profile. */
static const int denied[] = {101, 103, 134, 139, 153, 154, 155, 156, 163, 165, 166, 167, 168, 169, 170,
                             171, 172, 173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185,
                             212, 236, 246, 248, 249, 250, 256, 272, 279, 298, 300, 303, 304, 308, 310,
                             311, 312, 313, 320, 321, 323, 425, 426, 427, 428, 429, 430, 431, 432, 433};
#define N_DENIED ((int)(sizeof denied / sizeof denied[0]))

static void load_seccomp(void) {
    struct sock_filter f[512];
    int n = 0;
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4); /* arch */
    f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xc000003e /* x86_64 */, 1, 0);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0); /* nr */
    n = emit_search(f, n, denied, 0, N_DENIED);
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = f};
    CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog), "seccomp");
}

static int receive_fd(int sock) {
    char byte, control[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1 || !CMSG_FIRSTHDR(&msg))
        DIE("receive the network namespace");
    int fd;
    memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof fd);
    return fd;
}

static void send_fd(int sock, int fd) {
    char control[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {"n", 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof fd);
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    if (sendmsg(sock, &msg, 0) != 1)
        DIE("send the network namespace");
}

static void program(void) {
    static const char *etc_files[] = {"etc/passwd", "etc/group", "etc/hosts", "etc/host.conf", "etc/nsswitch.conf",
                                      "etc/timezone", "etc/protocols", "etc/ld.so.conf", NULL};
    static const char *devices[] = {"null", "zero", "full", "random", "urandom", "tty", NULL};
    static const char *read_paths[] = {"/usr", "/etc", "/dev", "/etc/ld.so.cache", "/etc/ld.so.conf.d", "/etc/alternatives",
                                       "/etc/ssl", "/etc/ca-certificates", "/proc", "/dev/null", "/dev/zero",
                                       "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty", NULL};
    static const char *write_paths[] = {"/tmp", "/root", "/dev/shm", "/dev/pts", NULL};
    char path[64];

    /* The new root, built in a tmpfs mounted over /tmp of this (private) mount namespace. */
    CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make / private");
    CHECK(mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755"), "root tmpfs");
    CHECK(chdir("/tmp"), "chdir");
    bind_ro("/usr", "usr", 1, MS_RDONLY | MS_NODEV);
    CHECK(symlink("usr/bin", "bin"), "bin");
    CHECK(symlink("usr/sbin", "sbin"), "sbin");
    CHECK(symlink("usr/lib", "lib"), "lib");
    CHECK(symlink("usr/lib64", "lib64"), "lib64");
    touch("etc", 1);
    bind_ro("/etc/ld.so.cache", "etc/ld.so.cache", 0, MS_RDONLY | MS_NODEV);
    bind_ro("/etc/ld.so.conf.d", "etc/ld.so.conf.d", 1, MS_RDONLY | MS_NODEV);
    bind_ro("/etc/alternatives", "etc/alternatives", 1, MS_RDONLY | MS_NODEV);
    bind_ro("/etc/ssl", "etc/ssl", 1, MS_RDONLY | MS_NODEV);
    bind_ro("/etc/ca-certificates", "etc/ca-certificates", 1, MS_RDONLY | MS_NODEV);
    for (int i = 0; etc_files[i]; i++) {
        int fd = open(etc_files[i], O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, "root:x:0:0:root:/root:/bin/sh\n", 30) != 30)
            DIE(etc_files[i]);
        close(fd);
    }
    CHECK(symlink("/usr/share/zoneinfo/Etc/UTC", "etc/localtime"), "localtime");
    mount_fs("tmpfs", "dev", MS_NOSUID | MS_NOEXEC, "mode=0755");
    for (int i = 0; devices[i]; i++) {
        char src[32];
        snprintf(src, sizeof src, "/dev/%s", devices[i]);
        snprintf(path, sizeof path, "dev/%s", devices[i]);
        bind_ro(src, path, 0, MS_NOEXEC);
    }
    mount_fs("devpts", "dev/pts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620");
    CHECK(symlink("pts/ptmx", "dev/ptmx"), "ptmx");
    CHECK(symlink("/proc/self/fd", "dev/fd"), "fd");
    mount_fs("tmpfs", "dev/shm", MS_NOSUID | MS_NODEV, "mode=1777");
    mount_fs("proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "subset=pid");
    mount_fs("tmpfs", "tmp", MS_NOSUID | MS_NODEV, "mode=1777");
    mount_fs("tmpfs", "root", MS_NOSUID | MS_NODEV, "mode=0700");
    CHECK(mount(NULL, ".", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL), "read-only root");
    CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root");
    CHECK(umount2(".", MNT_DETACH), "detach the old root");
    CHECK(chdir("/root"), "chdir home");

    int net = receive_fd(sync_fds[1]);
    CHECK(setns(net, CLONE_NEWNET), "join the network namespace");
    close(net);

    struct ll_ruleset_attr attr = {.handled_access_fs = LL_FS_ALL, .scoped = LL_SCOPE_ALL};
    int ruleset = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    CHECK(ruleset, "landlock ruleset");
    for (int i = 0; read_paths[i]; i++)
        landlock_rule(ruleset, read_paths[i], LL_FS_READ);
    for (int i = 0; write_paths[i]; i++)
        landlock_rule(ruleset, write_paths[i], LL_FS_ALL);

    for (int cap = 0; cap <= 40; cap++)
        CHECK(prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "drop bounding capability");
    CHECK(prctl(PR_SET_SECUREBITS, 0x2f /* NOROOT, NO_SETUID_FIXUP, KEEP_CAPS_LOCKED + locks */, 0, 0, 0), "securebits");
    struct __user_cap_header_struct head = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {{0}};
    CHECK(syscall(SYS_capset, &head, data), "capset");
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs");
    CHECK(prctl(65 /* PR_SET_MDWE */, 1 /* REFUSE_EXEC_GAIN */, 0, 0, 0), "mdwe");
    CHECK(syscall(SYS_landlock_restrict_self, ruleset, 0), "landlock");
    close(ruleset);
    load_seccomp();

    char *env[] = {"PATH=/usr/bin:/bin", "HOME=/root", "TERM=xterm", "LANG=C.UTF-8", NULL};
    execve(command[0], command, env);
    DIE(command[0]);
}

static int init(void) {
    char go;
    if (read(sync_fds[0], &go, 1) != 1) /* the id maps are written */
        _exit(125);
    CHECK(setresgid(0, 0, 0), "setresgid");
    CHECK(setresuid(0, 0, 0), "setresuid");
    pid_t child = fork();
    CHECK(child, "fork");
    if (child == 0)
        program();
    CHECK(sethostname("ironpen", 7), "sethostname");
    CHECK(unshare(CLONE_NEWNET), "network namespace");
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    strcpy(ifr.ifr_name, "lo");
    CHECK(ioctl(sock, SIOCGIFFLAGS, &ifr), "lo flags");
    ifr.ifr_flags |= IFF_UP;
    CHECK(ioctl(sock, SIOCSIFFLAGS, &ifr), "lo up");
    close(sock);
    int net = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    CHECK(net, "network namespace fd");
    send_fd(sync_fds[0], net);
    close(net);
    int status;
    if (waitpid(child, &status, 0) != child)
        DIE("waitpid");
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s COMMAND [ARGS...]\n", argv[0]);
        return 125;
    }
    command = argv + 1;
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_fds), "socketpair");
    struct clone_args args = {
        .flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP,
        .exit_signal = SIGCHLD,
    };
    long pid = syscall(SYS_clone3, &args, sizeof args);
    CHECK(pid, "clone3");
    if (pid == 0)
        init();
    char path[64], map[64];
    unsigned uid = getuid() ? getuid() : 65534, gid = getgid() ? getgid() : 65534;
    snprintf(path, sizeof path, "/proc/%ld/setgroups", pid);
    write_file(path, "deny");
    snprintf(path, sizeof path, "/proc/%ld/uid_map", pid);
    snprintf(map, sizeof map, "0 %u 1", uid);
    write_file(path, map);
    snprintf(path, sizeof path, "/proc/%ld/gid_map", pid);
    snprintf(map, sizeof map, "0 %u 1", gid);
    write_file(path, map);
    if (write(sync_fds[1], "g", 1) != 1)
        DIE("start the jail");
    int status;
    if (waitpid(pid, &status, 0) != pid)
        DIE("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 125;
}
