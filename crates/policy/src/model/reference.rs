//! docs/policy.md, generated from this table and the built-in profiles. A test checks that the
//! table names exactly the keys the model accepts (from the parser's own list of valid keys) and
//! that every example parses, and another that docs/policy.md is current.

use super::BUILTINS;

/// One key of the schema: (section, key, type, default, meaning, example line).
pub type KeyDoc = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// Every key of a policy file. Section "" is the top level.
pub const KEYS: &[KeyDoc] = &[
    ("", "include", "list of strings", "[]", "Layers merged before this file, in order: `@name` for a built-in profile, or a path relative to this file.", r#"include = ["@default", "./base.toml"]"#),
    ("", "description", "string", "none", "What the policy is for.", r#"description = "nightly report builder""#),
    ("filesystem", "ro", "list of strings", "[]", "Host paths bound read-only (nosuid, nodev): `\"PATH\"` (same place in the jail) or `\"HOST:JAIL\"`.", r#"ro = ["/srv/data:/data"]"#),
    ("filesystem", "rw", "list of strings", "[]", "Host paths bound read-write (nosuid, nodev), same forms as `ro`.", r#"rw = ["${PWD}"]"#),
    ("filesystem", "dev", "list of strings", "[]", "Host devices (under /dev) bound with their device nodes usable (nosuid only, as `run --dev-bind`): `\"PATH\"` or `\"HOST:JAIL\"`. Outside the known-safe devices (/dev/kvm, /dev/dri, /dev/nvidia*, /dev/net/tun, /dev/fuse, /dev/snd, /dev/vhost-net, /dev/vhost-vsock) it needs `allow_dangerous_devices`.", r#"dev = ["/dev/kvm"]"#),
    ("filesystem", "allow_dangerous_devices", "\"yes-i-understand\"", "none", "Required to bind a device outside the known-safe list (a disk, /dev/mem, a console gives the program the host).", r#"allow_dangerous_devices = "yes-i-understand""#),
    ("filesystem", "optional", "list of strings", "[]", "Host sources of `ro`, `rw` and `dev` binds that may be missing: on a host without the path the bind is skipped with a note on stderr (and in `policy check`) instead of refusing to start.", r#"optional = ["/dev/nvidia0"]"#),
    ("filesystem", "tmpfs", "list of strings", "[]", "Fresh, empty tmpfs mounts at these jail paths.", r#"tmpfs = ["/var/cache/app"]"#),
    ("filesystem", "symlinks", "list of tables {target, link}", "[]", "Symbolic links created in the jail.", r#"symlinks = [{ target = "/usr/bin/python3", link = "/usr/local/bin/python" }]"#),
    ("filesystem", "masks", "list of strings", "[]", "Jail directories hidden under an empty tmpfs (mounted after every bind, so they can hide part of one).", r#"masks = ["/data/secrets"]"#),
    ("filesystem", "remove", "list of strings", "[]", "Takes back earlier layers' ro, rw, dev, tmpfs, mask and symlink grants at these jail paths (applied before this layer's own grants).", r#"remove = ["/data"]"#),
    ("filesystem", "chdir", "string", "the jail user's home", "Working directory in the jail.", r#"chdir = "/data""#),
    ("network", "mode", "\"none\" | \"host\"", "\"none\"", "`none`: a private network namespace with only loopback; `host`: the host's network.", r#"mode = "host""#),
    ("network", "tcp_connect", "list of integers", "not restricted", "TCP ports the program may connect to (Landlock, Linux 6.7+); `[]`: none. Layers add ports; `remove_tcp_connect` takes them back.", r#"tcp_connect = [443]"#),
    ("network", "tcp_bind", "list of integers", "not restricted", "TCP ports the program may bind (0: the ephemeral range); `[]`: none. Layers add ports; `remove_tcp_bind` takes them back.", r#"tcp_bind = [80, 443]"#),
    ("network", "remove_tcp_connect", "list of integers", "[]", "Takes back ports earlier layers put in `tcp_connect` (the list stays a restriction: removing its last port leaves `[]`, no connects). An error when no earlier layer restricts `tcp_connect`.", r#"remove_tcp_connect = [80]"#),
    ("network", "remove_tcp_bind", "list of integers", "[]", "Takes back ports earlier layers put in `tcp_bind`, as `remove_tcp_connect`.", r#"remove_tcp_bind = [8080]"#),
    ("identity", "uid", "integer", "the caller's (0 when started as root)", "User id inside the jail.", r#"uid = 1000"#),
    ("identity", "gid", "integer", "the caller's (0 when started as root)", "Group id inside the jail.", r#"gid = 1000"#),
    ("identity", "hostname", "string", "\"ironpen\"", "Host name inside the jail.", r#"hostname = "builder""#),
    ("capabilities", "add", "list of strings", "[]", "Capabilities the program holds (ambient), capabilities(7) names without `CAP_`.", r#"add = ["net_bind_service"]"#),
    ("capabilities", "remove", "list of strings", "[]", "Takes back capabilities granted by earlier layers.", r#"remove = ["net_bind_service"]"#),
    ("capabilities", "allow_dangerous", "\"yes-i-understand\"", "none", "Required to add a capability that weakens the jail itself (sys_admin, sys_ptrace, net_admin, dac_override, bpf, ...).", r#"allow_dangerous = "yes-i-understand""#),
    ("seccomp", "profile", "string", "\"default\"", "`default` (ironpen's profile), `none`, or a profile FILE (OCI/Docker JSON or ironpen's JSON).", r#"profile = "default""#),
    ("seccomp", "add_sets", "list of strings", "[]", "Named syscall sets (see docs/seccomp.md) allowed on top of the profile; rules the profile already has for allowed members (clone's flags, ioctl's requests) stay.", r#"add_sets = ["@aio"]"#),
    ("seccomp", "remove_sets", "list of strings", "[]", "Named syscall sets refused with EPERM; also takes back earlier layers' `add_sets`.", r#"remove_sets = ["@network-io"]"#),
    ("seccomp", "allow_dangerous", "\"yes-i-understand\"", "none", "Required to add a dangerous set (@debug, @mount, @namespaces, @bpf, @io-uring, ...).", r#"allow_dangerous = "yes-i-understand""#),
    ("landlock", "mode", "\"best-effort\" | \"required\" | \"off\"", "\"best-effort\"", "Landlock file-system rules: what the kernel offers, all of it or refuse to start, or none.", r#"mode = "required""#),
    ("landlock", "allow_exec", "list of strings", "[]", "Extra jail directories where executing files is allowed (binds are executable already).", r#"allow_exec = ["/tmp"]"#),
    ("limits", "rlimits", "table of NAME = integer | \"unlimited\" | \"SOFT:HARD\"", "{}", "Resource limits (setrlimit(2) names without RLIMIT_, lower case); limits can only be lowered.", r#"rlimits = { nofile = 1024, core = 0 }"#),
    ("limits", "memory", "string", "none", "Memory limit of the whole jail (cgroup; swap included where possible): bytes or a number with K, M, G, T (binary), at least 1M. See docs/limits.md.", r#"memory = "512M""#),
    ("limits", "pids", "integer", "none", "Most processes and threads at once, the jail's init included (cgroup pids.max); at least 1.", r#"pids = 64"#),
    ("limits", "cpu_percent", "integer", "none", "CPU time in percent of one CPU (cgroup CFS quota per 100 ms), 1 to 100 x the number of CPUs.", r#"cpu_percent = 50"#),
    ("environment", "set", "table of strings", "{}", "Variables set in the jail (which otherwise has PATH, HOME, TERM, LANG).", r#"set = { RUST_LOG = "info" }"#),
    ("environment", "keep", "list of strings", "[]", "Variables copied from ironpen's environment, if set.", r#"keep = ["CARGO_HOME"]"#),
    ("environment", "unset", "list of strings", "[]", "Takes back earlier layers' `set` and `keep` entries of these names.", r#"unset = ["CARGO_HOME"]"#),
    ("terminal", "tty", "\"auto\" | \"always\" | \"never\"", "\"auto\"", "`auto`: a private pseudo-terminal relayed to yours when stdin is a terminal; `always`; `never` (the jail shares ironpen's standard streams). As `run --tty`.", r#"tty = "auto""#),
    ("mdwe", "allow_jit", "boolean", "false", "Run without memory-deny-write-execute, for JIT compilers.", r#"allow_jit = true"#),
    ("fitness", "require_fit", "boolean", "false", "Refuse to start on a machine `ironpen check` finds unfit (as `run --require-fit`).", r#"require_fit = true"#),
    ("fitness", "accept_risk", "list of strings", "[]", "Known risks accepted knowingly: CVE ids, `cpu:NAME`, ... (as `--accept-risk`).", r#"accept_risk = ["cpu:spec_store_bypass"]"#),
    ("booleans.NAME", "default", "boolean", "(required)", "Value of the boolean when nothing sets it.", r#"default = false"#),
    ("booleans.NAME", "description", "string", "(required)", "What turning it on grants.", r#"description = "Use the host's network""#),
    ("booleans.NAME", "grants", "table (a policy without include, booleans, set)", "{}", "Merged after every file layer while the boolean is true.", r#"grants.network.mode = "host""#),
    ("set", "NAME", "boolean", "the boolean's default", "Value of a boolean declared in this file or an included one; `--set NAME=true|false` is the last word.", r#"network = true"#),
];

const INTRO: &str = r#"# Policy files

A policy is a TOML file describing one jail: what of the host it sees, its network, identity,
capabilities, syscall filter, Landlock, limits, environment and terminal. It is the same model
as `ironpen run`'s options; the options on the command line are applied last, on top of it.

```sh
ironpen run --policy ./build.toml -- make test       # or -p @dev-tools
ironpen run -p @default --set network=true -- curl -sI https://example.org
ironpen policy show ./build.toml                     # the fully merged policy, as TOML
ironpen policy check ./build.toml                    # validate (exit 0, or 125 and file:line:col)
ironpen policy score ./build.toml [--json]           # exposure 0 (locked down) .. 10
ironpen init -o build.toml                           # a commented policy from a few questions
```

`ironpen init` asks what the jail is for (one-off program, server, computation, compiler in
this directory), whether it needs the network and which ports, which host directories it must
write and read, whether it is a virtualization workload, whether it runs a JIT, and security or
compatibility first; it writes a commented policy that includes the matching built-in profile
and flips the booleans. On a terminal (stdin and stderr) the questions are prompts (dialoguer):
arrow keys and Enter pick from a list, text answers are checked as typed, Ctrl-C cancels
without writing anything. Otherwise answers are
read one per line from stdin (a pipe: `printf 'server\nserver\n80\n' | ironpen init`), from
`--answers FILE` (TOML with the keys purpose, network, ports, writable, readable,
virtualization, jit, priority) or `--yes` (every default). The virtualization answer: `none`;
`host` (starts VMs with KVM: qemu -enable-kvm, firecracker, cloud-hypervisor) sets `kvm = true`;
`guest` (a guest emulated without KVM, qemu TCG, whose translator writes code at run time) sets
`jit = true`.

This page is generated from the model (`ironpen_policy::model::reference`); a test keeps it
current. Unknown keys are errors (with file:line:column and the nearest valid key), and so are
wrong types, a path both read-only and read-write, a destination with `..`, an unknown
capability or syscall set, a dangerous grant without its loud spelling, an include cycle and a
missing include. Nothing runs on an invalid policy. Paths may use `${PWD}`, `${HOME}` and
`${USER}`.

## Layers and merge rules

`include = [...]` lists the layers merged before the file itself, depth first, in order. The
command line's options are the last layer. Merging a layer onto the ones before it:

1. Its removals apply first: `filesystem.remove` (jail paths), `network.remove_tcp_connect` and
   `network.remove_tcp_bind` (ports), `capabilities.remove`, `seccomp.remove_sets`,
   `environment.unset`. A later layer takes back an earlier grant only this way (or by setting a
   boolean to false); then its grants are added. A port list stays a restriction when ports are
   taken back (its last port gone: `[]`, no port); taking a port back from a list no layer
   restricted (unset: every port) is an error, since "every port but one" cannot be enforced.
2. Lists append, skipping entries already present (so the same grant twice is one grant).
3. Scalars (`network.mode`, `identity.uid`, `landlock.mode`, ...) and table entries
   (`environment.set.X`, `limits.rlimits.X`, `booleans.X`, `set.X`) of the later layer override.
4. Each source is merged once: including a file that was already included changes nothing; a
   file that includes itself, directly or not, is an error naming the cycle.
5. Booleans are applied after every file layer and `--set`: each true boolean's `grants` are
   merged as one more layer, in name order.
6. The merged policy is validated as a whole: the same jail path granted twice in different
   ways (read-only here, read-write there) is a conflict naming both places; take one back with
   `filesystem.remove` first.

On the command line, options append to the policy's lists (`--bind`, `--cap-add`, `--setenv`,
...), options with a value override (`--uid`, `--chdir`, `--seccomp`, `--landlock`), and switches
only add (`--share-net`, `--allow-jit`, `--strict`).

## Booleans

A profile declares named toggles; a user flips them in a file (`[set] network = true`) or with
`--set network=true`:

```toml
[booleans.network]
default = false
description = "Use the host's network instead of a private one with only loopback"
[booleans.network.grants.network]
mode = "host"
```

Dangerous grants need a loud spelling: `allow_dangerous = "yes-i-understand"` in
`[capabilities]` (sys_admin, sys_ptrace, net_admin, dac_override, bpf, ...) or `[seccomp]`
(@debug, @mount, @namespaces, @bpf, @io-uring, ...), `allow_dangerous_devices` in
`[filesystem]` for a device outside the known-safe list. A boolean that grants one carries the
spelling in its grants, so the profile's author wrote it once, knowingly.

`@default` declares these booleans, so every built-in profile has them (all off by default):

| boolean | grants exactly | exposure score |
|---|---|---|
| `network` | `network.mode = "host"` | private-network off (3.5), tcp-ports-restricted off unless both port lists are set (0.5) |
| `home_read` | `filesystem.ro = ["${HOME}"]` | no-broad-host-paths off (0.7) |
| `jit` | `mdwe.allow_jit = true` | mdwe off (0.4) |
| `ptrace_children` | `seccomp.add_sets = ["@debug"]` with its loud spelling | seccomp-no-dangerous-sets off (1.0) |
| `x11` | `filesystem.ro` of `/tmp/.X11-unix` and of `${HOME}/.Xauthority` at `/tmp/.Xauthority` (both optional), `environment.keep = ["DISPLAY"]`, `environment.set` `XAUTHORITY = "/tmp/.Xauthority"` | no-display-server off (0.6), no-host-environment off (0.2) |
| `gpu` | `filesystem.dev` of `/dev/dri`, `/dev/nvidiactl`, `/dev/nvidia0`, `/dev/nvidia-uvm`, `/dev/nvidia-modeset` (all optional: those present) | no-devices off (0.8) |
| `kvm` | `filesystem.dev = ["/dev/kvm"]` (not optional: refuses to start on a host without it) | no-devices off (0.8) |

Notes: `x11` reaches the display through the socket in `/tmp/.X11-unix` (the abstract socket is
in the host's network namespace, out of reach). The cookie is taken from `~/.Xauthority`; a
session that keeps it elsewhere (GDM: `/run/user/UID/gdm/Xauthority`) can let the jail in by
uid instead, `xhost +si:localuser:$USER` (a rootless jail keeps your uid on the socket). Mesa and the NVIDIA driver may also want `/sys/dev` and `/sys/devices` to find the
GPU; they are not granted (they describe the host's hardware): add them with `ro` if needed.
A device bind is `nosuid` only (device nodes work), as `run --dev-bind`; opening the device
still needs the jail's uid to have access to it on the host (e.g. the `kvm` group's permission
on /dev/kvm).

## Optional binds

A host path listed in `filesystem.optional` may be missing: the `ro`, `rw` or `dev` bind with
that source is skipped on a host without it, with one note on stderr (`ironpen: note: optional
binds skipped, not on this host: ...`, also from `policy check`), instead of refusing to start.
Every other missing source is an error naming the policy's file and line.
"#;

const SCORE: &str = r#"## Exposure score

`ironpen policy score FILE` rates the merged policy from 0 (locked down) to 10 (no isolation):
each protection has a weight, and the score is the weight of the protections that are off
divided by the total, times 10. Ratings: below 2 locked down, below 4.5 ok, below 7 medium,
else exposed. `@default` scores 0.4; the host network plus `sys_admin` scores above 6.
Turning on `x11` adds 0.6 of the weight, `gpu` or `kvm` 0.8 (the table above).
"#;

/// The policy reference page (Markdown).
pub fn reference() -> String {
    let mut out = String::from(INTRO);
    out.push_str("\n## Keys\n");
    let mut section = "-";
    for (sec, key, ty, default, meaning, example) in KEYS {
        if *sec != section {
            section = sec;
            if sec.is_empty() {
                out.push_str("\n### Top level\n\n");
            } else {
                out.push_str(&format!("\n### [{sec}]\n\n"));
            }
            out.push_str("| key | type | default | meaning | example |\n|---|---|---|---|---|\n");
        }
        out.push_str(&format!(
            "| `{key}` | {} | {} | {} | `{}` |\n",
            ty.replace('|', "\\|"),
            default.replace('|', "\\|"),
            meaning.replace('|', "\\|"),
            example.replace('|', "\\|"),
        ));
    }
    out.push_str("\n## Built-in profiles\n");
    for (name, text) in BUILTINS {
        out.push_str(&format!("\n### @{name}\n\n```toml\n{}```\n", text));
    }
    out.push('\n');
    out.push_str(SCORE);
    out
}
