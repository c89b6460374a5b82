//! Named syscall sets, in the manner of systemd's `SystemCallFilter=@...`: each member carries
//! the reason it belongs there, so a profile composed from sets explains itself.

/// A named group of syscalls.
#[derive(Debug)]
pub struct SyscallSet {
    pub name: &'static str,
    pub description: &'static str,
    /// (syscall, why it is in this set)
    pub members: &'static [(&'static str, &'static str)],
}

impl SyscallSet {
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.members.iter().map(|(n, _)| *n)
    }
    pub fn reason(&self, syscall: &str) -> Option<&'static str> {
        self.members
            .iter()
            .find(|(n, _)| *n == syscall)
            .map(|(_, r)| *r)
    }
}

/// Look a set up by name (with its leading `@`).
pub fn get(name: &str) -> Option<&'static SyscallSet> {
    SETS.iter().find(|s| s.name == name)
}

/// The sets a syscall belongs to.
pub fn sets_of(syscall: &str) -> impl Iterator<Item = &'static SyscallSet> + '_ {
    SETS.iter().filter(move |s| s.names().any(|n| n == syscall))
}

macro_rules! set {
    ($name:literal, $desc:literal, [$($sc:literal => $why:literal),* $(,)?]) => {
        SyscallSet { name: $name, description: $desc, members: &[$(($sc, $why)),*] }
    };
}

pub static SETS: &[SyscallSet] = &[
    set!("@default", "what every process needs to start, run and exit", [
        "brk" => "heap growth", "exit" => "end a thread", "exit_group" => "end the process",
        "restart_syscall" => "resumes a syscall interrupted by a signal",
        "rt_sigreturn" => "return from a signal handler", "sigreturn" => "return from a signal handler (32-bit ABIs)",
        "arch_prctl" => "set the FS/GS base for thread-local storage (x86_64)",
        "set_tid_address" => "thread start-up (clear_child_tid)", "set_robust_list" => "futex robust list for thread exit",
        "get_robust_list" => "read back the robust futex list", "rseq" => "restartable sequences, registered by glibc at start",
        "futex" => "all userspace locking", "futex_waitv" => "wait on several futexes",
        "futex_wake" => "futex2 wake", "futex_wait" => "futex2 wait", "futex_requeue" => "futex2 requeue",
        "set_thread_area" => "thread-local storage (32-bit ABIs)", "get_thread_area" => "thread-local storage (32-bit ABIs)",
        "set_tls" => "thread-local storage (arm)", "uretprobe" => "returns from uprobe trampolines the kernel inserted",
        "membarrier" => "memory barriers across threads (JITs, RCU libraries)",
        "getrandom" => "randomness for hashing, stack protectors, TLS",
        "uname" => "libc and tools ask for the kernel release", "sysinfo" => "memory and uptime figures",
        "getcpu" => "current CPU for per-CPU caches", "prctl" => "process attributes: names, no_new_privs, dumpable",
        "capget" => "read own capabilities", "capset" => "drop capabilities (cannot raise them)",
        "umask" => "file creation mask", "getrlimit" => "read resource limits", "ugetrlimit" => "read resource limits (32-bit)",
        "setrlimit" => "lower resource limits", "prlimit64" => "read and lower resource limits",
        "getrusage" => "resource usage", "times" => "process times", "seccomp" => "install further, stricter filters (nested sandboxes)",
        "landlock_create_ruleset" => "self-sandboxing", "landlock_add_rule" => "self-sandboxing",
        "landlock_restrict_self" => "self-sandboxing", "lsm_get_self_attr" => "read own LSM attributes",
        "lsm_list_modules" => "list active LSMs",
    ]),
    set!("@basic-io", "reading and writing open file descriptors", [
        "read" => "the most common syscall", "write" => "the most common syscall", "readv" => "vectored read",
        "writev" => "vectored write", "pread64" => "positional read", "pwrite64" => "positional write",
        "preadv" => "positional vectored read", "pwritev" => "positional vectored write",
        "preadv2" => "positional vectored read with flags", "pwritev2" => "positional vectored write with flags",
        "lseek" => "file position", "_llseek" => "file position (32-bit)", "close" => "release an fd",
        "close_range" => "close many fds at once (exec helpers)", "dup" => "duplicate an fd",
        "dup2" => "duplicate an fd", "dup3" => "duplicate an fd with flags",
        "sendfile" => "copy between fds in the kernel", "sendfile64" => "copy between fds (32-bit)",
        "splice" => "move data through a pipe", "tee" => "duplicate pipe data", "vmsplice" => "map user pages into a pipe",
        "copy_file_range" => "copy between files in the kernel", "pipe" => "anonymous pipe", "pipe2" => "anonymous pipe with flags",
        "fcntl" => "fd flags and locks", "fcntl64" => "fd flags and locks (32-bit)",
        "ioctl" => "device and terminal control (dangerous requests are filtered by argument)",
    ]),
    set!("@file-system", "paths, metadata and directories", [
        "open" => "open a path", "openat" => "open a path relative to a directory fd",
        "openat2" => "open with resolve restrictions", "creat" => "create a file", "access" => "permission check",
        "faccessat" => "permission check", "faccessat2" => "permission check with flags",
        "stat" => "file metadata", "fstat" => "file metadata", "lstat" => "file metadata without following links",
        "newfstatat" => "file metadata", "statx" => "extended file metadata", "stat64" => "file metadata (32-bit)",
        "fstat64" => "file metadata (32-bit)", "lstat64" => "file metadata (32-bit)", "fstatat64" => "file metadata (32-bit)",
        "statfs" => "file system usage", "fstatfs" => "file system usage", "statfs64" => "file system usage (32-bit)",
        "fstatfs64" => "file system usage (32-bit)", "getdents" => "list a directory", "getdents64" => "list a directory",
        "getcwd" => "current directory", "chdir" => "change directory", "fchdir" => "change directory",
        "mkdir" => "create a directory", "mkdirat" => "create a directory", "rmdir" => "remove a directory",
        "rename" => "rename", "renameat" => "rename", "renameat2" => "rename with exchange/noreplace",
        "link" => "hard link", "linkat" => "hard link", "unlink" => "remove a file", "unlinkat" => "remove a file",
        "symlink" => "symbolic link", "symlinkat" => "symbolic link", "readlink" => "read a symbolic link",
        "readlinkat" => "read a symbolic link", "chmod" => "permissions", "fchmod" => "permissions",
        "fchmodat" => "permissions", "fchmodat2" => "permissions with AT_SYMLINK_NOFOLLOW (glibc 2.39 lchmod)",
        "chown" => "ownership (within the user namespace)", "fchown" => "ownership", "lchown" => "ownership",
        "fchownat" => "ownership", "chown32" => "ownership (32-bit)", "fchown32" => "ownership (32-bit)",
        "lchown32" => "ownership (32-bit)", "truncate" => "set file size", "ftruncate" => "set file size",
        "truncate64" => "set file size (32-bit)", "ftruncate64" => "set file size (32-bit)",
        "fallocate" => "preallocate space", "fadvise64" => "access pattern hints", "fadvise64_64" => "access pattern hints (32-bit)",
        "readahead" => "prefetch file data", "utime" => "timestamps", "utimes" => "timestamps", "futimesat" => "timestamps",
        "utimensat" => "timestamps", "mknod" => "create fifos and sockets (devices need capabilities)",
        "mknodat" => "create fifos and sockets", "flock" => "advisory locks", "fsync" => "flush to disk",
        "fdatasync" => "flush data to disk", "sync" => "flush all file systems", "syncfs" => "flush one file system",
        "sync_file_range" => "flush part of a file", "getxattr" => "extended attributes", "lgetxattr" => "extended attributes",
        "fgetxattr" => "extended attributes", "listxattr" => "extended attributes", "llistxattr" => "extended attributes",
        "flistxattr" => "extended attributes", "setxattr" => "extended attributes", "lsetxattr" => "extended attributes",
        "fsetxattr" => "extended attributes", "removexattr" => "extended attributes", "lremovexattr" => "extended attributes",
        "fremovexattr" => "extended attributes", "getxattrat" => "extended attributes", "listxattrat" => "extended attributes",
        "setxattrat" => "extended attributes", "removexattrat" => "extended attributes",
        "file_getattr" => "inode attributes (read)", "file_setattr" => "inode attributes (write, permission-checked)",
        "inotify_init" => "watch files", "inotify_init1" => "watch files", "inotify_add_watch" => "watch files",
        "inotify_rm_watch" => "watch files", "fanotify_mark" => "useless without fanotify_init, harmless",
        "memfd_create" => "anonymous files (shared memory, sealed buffers)", "cachestat" => "page cache statistics of own files",
    ]),
    set!("@io-event", "waiting for events on file descriptors", [
        "poll" => "wait on fds", "ppoll" => "wait on fds", "select" => "wait on fds", "_newselect" => "wait on fds (32-bit)",
        "pselect6" => "wait on fds", "epoll_create" => "epoll", "epoll_create1" => "epoll", "epoll_ctl" => "epoll",
        "epoll_wait" => "epoll", "epoll_pwait" => "epoll", "epoll_pwait2" => "epoll with timespec timeout",
        "epoll_ctl_old" => "unimplemented in the kernel, harmless", "epoll_wait_old" => "unimplemented in the kernel, harmless",
        "eventfd" => "event counter fd", "eventfd2" => "event counter fd",
    ]),
    set!("@aio", "POSIX/Linux asynchronous I/O (not io_uring)", [
        "io_setup" => "Linux AIO (databases)", "io_destroy" => "Linux AIO", "io_submit" => "Linux AIO",
        "io_cancel" => "Linux AIO", "io_getevents" => "Linux AIO", "io_pgetevents" => "Linux AIO",
    ]),
    set!("@network-io", "sockets", [
        "socket" => "create a socket (the network namespace decides what it reaches)", "socketpair" => "connected unix sockets",
        "bind" => "bind a socket", "listen" => "listen", "accept" => "accept", "accept4" => "accept with flags",
        "connect" => "connect", "shutdown" => "half-close", "getsockname" => "socket address", "getpeername" => "peer address",
        "getsockopt" => "socket options", "setsockopt" => "socket options", "sendto" => "send", "recvfrom" => "receive",
        "sendmsg" => "send with ancillary data", "recvmsg" => "receive with ancillary data", "sendmmsg" => "send many",
        "recvmmsg" => "receive many", "send" => "send (some ABIs)", "recv" => "receive (some ABIs)", "socketcall" => "socket multiplexer (32-bit x86)",
    ]),
    set!("@ipc", "System V and POSIX IPC (namespaced per jail)", [
        "shmget" => "SysV shared memory", "shmat" => "SysV shared memory", "shmdt" => "SysV shared memory",
        "shmctl" => "SysV shared memory", "semget" => "SysV semaphores", "semop" => "SysV semaphores",
        "semtimedop" => "SysV semaphores", "semctl" => "SysV semaphores", "msgget" => "SysV messages",
        "msgsnd" => "SysV messages", "msgrcv" => "SysV messages", "msgctl" => "SysV messages", "ipc" => "SysV multiplexer (32-bit)",
        "mq_open" => "POSIX message queues", "mq_unlink" => "POSIX message queues", "mq_timedsend" => "POSIX message queues",
        "mq_timedreceive" => "POSIX message queues", "mq_notify" => "POSIX message queues", "mq_getsetattr" => "POSIX message queues",
    ]),
    set!("@process", "creating, running and waiting for processes", [
        "clone" => "fork and threads (namespace flags are refused by argument)", "fork" => "fork", "vfork" => "posix_spawn",
        "execve" => "run a program", "execveat" => "run a program from an fd", "wait4" => "wait for children",
        "waitid" => "wait for children", "waitpid" => "wait for children (32-bit)", "kill" => "signal processes (in own pid namespace)",
        "tkill" => "signal a thread", "tgkill" => "signal a thread", "getpid" => "own pid", "getppid" => "parent pid",
        "gettid" => "own thread id", "getpgid" => "process group", "getpgrp" => "process group", "setpgid" => "job control",
        "getsid" => "session", "setsid" => "new session (daemons, terminals)", "getpriority" => "nice value",
        "setpriority" => "nice value (lowering priority)", "sched_yield" => "yield the CPU", "sched_getaffinity" => "CPU mask (thread pools size themselves)",
        "sched_setaffinity" => "pin threads", "sched_getparam" => "scheduling", "sched_setparam" => "scheduling",
        "sched_getscheduler" => "scheduling", "sched_setscheduler" => "scheduling", "sched_getattr" => "scheduling",
        "sched_setattr" => "scheduling", "sched_get_priority_max" => "scheduling", "sched_get_priority_min" => "scheduling",
        "sched_rr_get_interval" => "scheduling", "ioprio_get" => "I/O priority", "ioprio_set" => "I/O priority",
        "pidfd_open" => "race-free process handles", "pidfd_send_signal" => "race-free signals", "process_mrelease" => "free a killed process's memory",
        "personality" => "execution domain (only harmless values are allowed by argument)",
    ]),
    set!("@credentials", "reading and changing own ids (within the user namespace)", [
        "getuid" => "own uid", "geteuid" => "own uid", "getgid" => "own gid", "getegid" => "own gid", "getresuid" => "own uids",
        "getresgid" => "own gids", "getgroups" => "own groups", "getuid32" => "own uid (32-bit)", "geteuid32" => "own uid (32-bit)",
        "getgid32" => "own gid (32-bit)", "getegid32" => "own gid (32-bit)", "getresuid32" => "own uids (32-bit)",
        "getresgid32" => "own gids (32-bit)", "getgroups32" => "own groups (32-bit)", "setuid" => "drop privileges",
        "setgid" => "drop privileges", "setreuid" => "drop privileges", "setregid" => "drop privileges",
        "setresuid" => "drop privileges", "setresgid" => "drop privileges", "setgroups" => "drop privileges",
        "setfsuid" => "file system ids", "setfsgid" => "file system ids", "setuid32" => "drop privileges (32-bit)",
        "setgid32" => "drop privileges (32-bit)", "setreuid32" => "drop privileges (32-bit)", "setregid32" => "drop privileges (32-bit)",
        "setresuid32" => "drop privileges (32-bit)", "setresgid32" => "drop privileges (32-bit)", "setgroups32" => "drop privileges (32-bit)",
        "setfsuid32" => "file system ids (32-bit)", "setfsgid32" => "file system ids (32-bit)",
    ]),
    set!("@signal", "signal handling", [
        "rt_sigaction" => "install handlers", "rt_sigprocmask" => "block signals", "rt_sigpending" => "pending signals",
        "rt_sigsuspend" => "wait for a signal", "rt_sigtimedwait" => "wait for a signal", "rt_sigqueueinfo" => "queue a signal",
        "rt_tgsigqueueinfo" => "queue a signal to a thread", "sigaltstack" => "alternate signal stack (stack overflow handlers)",
        "signalfd" => "signals as fd events", "signalfd4" => "signals as fd events", "sigprocmask" => "block signals (32-bit)",
        "pause" => "wait for a signal",
    ]),
    set!("@memory", "managing own memory", [
        "mmap" => "map memory and files", "mmap2" => "map memory (32-bit)", "munmap" => "unmap", "mprotect" => "change protection (MDWE still refuses W->X)",
        "mremap" => "grow mappings", "madvise" => "usage hints", "mincore" => "residency", "msync" => "flush mappings",
        "mlock" => "lock pages (bounded by RLIMIT_MEMLOCK)", "mlock2" => "lock pages", "munlock" => "unlock pages",
        "mlockall" => "lock pages", "munlockall" => "unlock pages", "remap_file_pages" => "deprecated emulation, harmless",
        "mseal" => "seal own mappings (hardening)", "map_shadow_stack" => "CET shadow stacks for threads",
        "memfd_secret" => "secret memory for keys",
    ]),
    set!("@timer", "clocks (read-only) and timers", [
        "clock_gettime" => "read clocks", "clock_getres" => "clock resolution", "clock_nanosleep" => "sleep", "nanosleep" => "sleep",
        "gettimeofday" => "read the time", "time" => "read the time", "alarm" => "SIGALRM timer", "getitimer" => "interval timers",
        "setitimer" => "interval timers", "timer_create" => "POSIX timers", "timer_settime" => "POSIX timers",
        "timer_gettime" => "POSIX timers", "timer_getoverrun" => "POSIX timers", "timer_delete" => "POSIX timers",
        "timerfd_create" => "timers as fds", "timerfd_settime" => "timers as fds", "timerfd_gettime" => "timers as fds",
        "clock_gettime64" => "read clocks (32-bit)", "clock_getres_time64" => "clock resolution (32-bit)",
        "clock_nanosleep_time64" => "sleep (32-bit)",
    ]),
    // ---- sets the default profile denies ----
    set!("@clock", "changing the system clock", [
        "settimeofday" => "sets the system clock", "clock_settime" => "sets the system clock", "stime" => "sets the system clock",
        "adjtimex" => "adjusts the system clock", "clock_adjtime" => "adjusts the system clock", "clock_settime64" => "sets the system clock (32-bit)",
        "clock_adjtime64" => "adjusts the system clock (32-bit)",
    ]),
    set!("@mount", "mounting and the mount API (a jail's mounts are fixed before exec)", [
        "mount" => "changes the mount table", "umount" => "changes the mount table", "umount2" => "changes the mount table",
        "pivot_root" => "changes the root", "chroot" => "changes the root (classic escapes need it)",
        "fsopen" => "new mount API", "fsconfig" => "new mount API", "fsmount" => "new mount API", "fspick" => "new mount API",
        "move_mount" => "new mount API", "open_tree" => "new mount API: clones mounts", "open_tree_attr" => "new mount API",
        "mount_setattr" => "changes mount flags (could drop nosuid/ro)", "statmount" => "reveals the mount table beyond /proc's view",
        "listmount" => "reveals the mount table beyond /proc's view",
    ]),
    set!("@namespaces", "creating and joining namespaces", [
        "unshare" => "new namespaces: user namespaces are the classic kernel attack surface",
        "setns" => "joins other namespaces", "clone3" => "its flags are in memory, so namespace flags cannot be filtered; ENOSYS makes libc fall back to clone",
    ]),
    set!("@module", "kernel modules", [
        "init_module" => "loads kernel code", "finit_module" => "loads kernel code", "delete_module" => "unloads kernel code",
        "create_module" => "obsolete module loading", "query_module" => "obsolete module loading", "get_kernel_syms" => "obsolete module loading",
    ]),
    set!("@reboot", "rebooting and kexec", [
        "reboot" => "reboots the machine", "kexec_load" => "replaces the running kernel", "kexec_file_load" => "replaces the running kernel",
    ]),
    set!("@swap", "swap devices", ["swapon" => "enables swap devices", "swapoff" => "disables swap devices"]),
    set!("@raw-io", "direct hardware access", [
        "iopl" => "raw I/O port access", "ioperm" => "raw I/O port access", "pciconfig_read" => "raw PCI access",
        "pciconfig_write" => "raw PCI access", "pciconfig_iobase" => "raw PCI access",
        "s390_pci_mmio_read" => "raw PCI access", "s390_pci_mmio_write" => "raw PCI access",
    ]),
    set!("@keyring", "kernel keyrings (not namespaced)", [
        "add_key" => "kernel keyrings are shared with the host", "request_key" => "kernel keyrings are shared with the host",
        "keyctl" => "kernel keyrings are shared with the host; frequent CVEs",
    ]),
    set!("@debug", "tracing and inspecting other processes", [
        "ptrace" => "controls other processes; bypasses seccomp on old kernels", "process_vm_readv" => "reads another process's memory",
        "process_vm_writev" => "writes another process's memory", "kcmp" => "compares kernel objects of other processes",
        "pidfd_getfd" => "steals another process's fds", "process_madvise" => "advises on another process's memory",
        "perf_event_open" => "performance counters: side channels and kernel attack surface",
        "lookup_dcookie" => "profiling interface", "syslog" => "reads the kernel log",
    ]),
    set!("@bpf", "eBPF", ["bpf" => "loads eBPF programs: large kernel attack surface"]),
    set!("@io-uring", "io_uring (bypasses seccomp for the operations it performs; many CVEs)", [
        "io_uring_setup" => "io_uring operations are not seen by seccomp", "io_uring_enter" => "io_uring operations are not seen by seccomp",
        "io_uring_register" => "io_uring operations are not seen by seccomp",
    ]),
    set!("@privileged", "system administration", [
        "acct" => "process accounting to a file", "quotactl" => "disk quotas", "quotactl_fd" => "disk quotas",
        "sethostname" => "changes the host name (the UTS namespace is set up by the jail)", "setdomainname" => "changes the domain name",
        "vhangup" => "hangs up the terminal", "open_by_handle_at" => "opens files by handle, escaping bind mounts (the 'shocker' escape)",
        "name_to_handle_at" => "the other half of open_by_handle_at", "nfsservctl" => "the old NFS server interface",
        "fanotify_init" => "watches the whole file system", "userfaultfd" => "makes kernel races reliable (exploitation aid)",
        "mbind" => "NUMA placement", "set_mempolicy" => "NUMA placement", "get_mempolicy" => "NUMA placement",
        "migrate_pages" => "moves another process's pages", "move_pages" => "moves another process's pages",
        "set_mempolicy_home_node" => "NUMA placement", "lsm_set_self_attr" => "changes own LSM labels",
        "pkey_alloc" => "memory protection keys (not in Docker's list)", "pkey_free" => "memory protection keys",
        "pkey_mprotect" => "memory protection keys",
    ]),
    set!("@obsolete", "syscalls nobody should call any more", [
        "_sysctl" => "removed sysctl interface", "uselib" => "a.out shared libraries", "ustat" => "obsolete file system statistics",
        "sysfs" => "obsolete file system type listing", "bdflush" => "obsolete", "afs_syscall" => "unimplemented",
        "getpmsg" => "unimplemented", "putpmsg" => "unimplemented", "security" => "unimplemented",
        "tuxcall" => "unimplemented", "vserver" => "unimplemented", "modify_ldt" => "16-bit segments (old exploits)",
    ]),
    set!("@cpu-emulation", "CPU emulation", [
        "vm86" => "virtual 8086 mode", "vm86old" => "virtual 8086 mode", "modify_ldt" => "16-bit segments for emulators (Wine, dosemu)",
        "subpage_prot" => "ppc sub-page protection", "switch_endian" => "ppc endianness switch",
    ]),
];
