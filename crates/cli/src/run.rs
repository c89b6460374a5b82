//! `ironpen run`: turn command-line options into a `JailSpec` and run it.

use clap::ArgMatches;
use ironpen_jail::plan::{Request, UserMount};
use ironpen_jail::report::Level;
use ironpen_jail::spawn::Outcome;
use ironpen_jail::spec::{BindMode, Protection};

fn parse_protection(s: &str) -> Result<Protection, String> {
    match s {
        "best-effort" => Ok(Protection::BestEffort),
        "required" => Ok(Protection::Required),
        "off" => Ok(Protection::Off),
        _ => Err("expected best-effort, required or off".into()),
    }
}

/// Options of `ironpen run`. Without options the jail is already hardened: new user, mount, pid,
/// ipc, uts, cgroup and network namespaces (loopback only), read-only host /usr and a few /etc
/// entries, private /tmp and home, minimal /dev, no capabilities, no_new_privs.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "Exit status: the program's own; 128+N when it was killed by signal N; \
126 when it cannot be executed, 127 when it is not found; 125 when ironpen itself failed.\n\n\
Examples:\n  ironpen run -- sh -c 'id; ls /'\n  ironpen run --bind \"$PWD\" /work --chdir /work -- make test\n  \
ironpen run --cap-add net_bind_service -- python3 -m http.server 80"
)]
pub struct RunArgs {
    /// Bind host path SRC read-write at DST in the jail (nosuid, nodev).
    #[arg(long, num_args = 2, value_names = ["SRC", "DST"], action = clap::ArgAction::Append)]
    pub bind: Vec<String>,
    /// Bind host path SRC read-only at DST (read-only, nosuid, nodev on every submount).
    #[arg(long = "ro-bind", num_args = 2, value_names = ["SRC", "DST"], action = clap::ArgAction::Append)]
    pub ro_bind: Vec<String>,
    /// Bind SRC read-write at DST with device nodes usable (nosuid only).
    #[arg(long = "dev-bind", num_args = 2, value_names = ["SRC", "DST"], action = clap::ArgAction::Append)]
    pub dev_bind: Vec<String>,
    /// Mount a fresh, empty tmpfs at DST.
    #[arg(long, value_name = "DST", action = clap::ArgAction::Append)]
    pub tmpfs: Vec<String>,
    /// Create a symbolic link LINK pointing to TARGET.
    #[arg(long, num_args = 2, value_names = ["TARGET", "LINK"], action = clap::ArgAction::Append)]
    pub symlink: Vec<String>,
    /// Working directory inside the jail (default: the jail user's private home).
    #[arg(long, value_name = "DIR")]
    pub chdir: Option<String>,
    /// Host name inside the jail (default: ironpen).
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Use the host's network instead of a private one with only loopback.
    #[arg(long = "share-net")]
    pub share_net: bool,
    /// User id inside the jail (default: the caller's; 0 when started as root).
    #[arg(long, value_name = "UID")]
    pub uid: Option<u32>,
    /// Group id inside the jail (default: the caller's; 0 when started as root).
    #[arg(long, value_name = "GID")]
    pub gid: Option<u32>,
    /// Grant the program this capability (as an ambient capability; repeatable), e.g.
    /// net_bind_service. It holds exactly these and nothing else.
    #[arg(long = "cap-add", value_name = "CAP", action = clap::ArgAction::Append)]
    pub cap_add: Vec<String>,
    /// Set a resource limit: NAME=VALUE or NAME=SOFT:HARD (VALUE a number or "unlimited"),
    /// e.g. nofile=256, core=0. Limits can only be lowered.
    #[arg(long, value_name = "NAME=VALUE", action = clap::ArgAction::Append)]
    pub rlimit: Vec<String>,
    /// Set an environment variable in the jail (the environment is otherwise PATH, HOME, TERM,
    /// LANG).
    #[arg(long, value_name = "NAME=VALUE", action = clap::ArgAction::Append)]
    pub setenv: Vec<String>,
    /// Copy this variable from ironpen's environment into the jail, if set.
    #[arg(long = "keep-env", value_name = "NAME", action = clap::ArgAction::Append)]
    pub keep_env: Vec<String>,
    /// Keep file descriptor N open in the jail (0, 1 and 2 always are; every other is closed).
    #[arg(long = "pass-fd", value_name = "N", action = clap::ArgAction::Append)]
    pub pass_fd: Vec<i32>,
    /// Seccomp filter: "default" (ironpen's profile), "none", or a profile FILE (OCI/Docker
    /// seccomp JSON, or ironpen's own JSON form).
    #[arg(long, value_name = "default|none|FILE")]
    pub seccomp: Option<String>,
    /// Landlock file-system rules and scoping: "best-effort" (default: what the kernel offers,
    /// reported), "required" (refuse to start without all of it), or "off".
    #[arg(long, value_name = "best-effort|required|off", value_parser = parse_protection)]
    pub landlock: Option<Protection>,
    /// Run without memory-deny-write-execute, for JIT compilers (node, java, luajit, ...).
    /// Narrower: mark just the binary with `ironpen pax set BINARY m`.
    #[arg(long = "allow-jit")]
    pub allow_jit: bool,
    /// Also allow executing files beneath DIR (inside the jail), e.g. /tmp. By default only the
    /// read-only and read-write binds (/usr, work directories) are executable.
    #[arg(long = "allow-exec", value_name = "DIR", action = clap::ArgAction::Append)]
    pub allow_exec: Vec<String>,
    /// Allow TCP connections only to this port (repeatable; "none": no TCP connections).
    /// Without it TCP connects are not restricted. Needs Landlock ABI 4 (Linux 6.7).
    #[arg(long = "allow-connect", value_name = "PORT|none", action = clap::ArgAction::Append)]
    pub allow_connect: Vec<String>,
    /// Allow binding TCP sockets only to this port (repeatable; 0 = the ephemeral range;
    /// "none": no TCP binds). Without it TCP binds are not restricted.
    #[arg(long = "allow-bind", value_name = "PORT|none", action = clap::ArgAction::Append)]
    pub allow_bind: Vec<String>,
    /// Limit the jail's memory (swap included where possible) to SIZE bytes, or with a suffix
    /// K, M, G, T, e.g. 512M. Enforced with a cgroup; see docs/limits.md.
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// Limit the jail to N processes and threads at once, its init included (cgroup pids.max).
    #[arg(long, value_name = "N")]
    pub pids: Option<String>,
    /// Limit the jail's CPU time to N percent of one CPU (1 to 100 per CPU; cgroup quota).
    #[arg(long = "cpu-percent", value_name = "N")]
    pub cpu_percent: Option<String>,
    /// Create the jail's cgroups in DIR, a directory below ironpen's own cgroup (in each
    /// hierarchy) delegated to the caller; needed to use limits without root. See
    /// docs/limits.md.
    #[arg(long = "cgroup-parent", value_name = "DIR")]
    pub cgroup_parent: Option<String>,
    /// Print what the jail enforces (protection by protection) to stderr before the program
    /// starts.
    #[arg(long)]
    pub report: bool,
    /// Refuse to start on a machine known to be unfit for isolation (a kernel advisory that
    /// matches, a vulnerable CPU, or a signal that cannot be read): see `ironpen check`.
    #[arg(long = "require-fit")]
    pub require_fit: bool,
    /// With --require-fit: accept one known risk knowingly (a CVE id, cpu:NAME, ...; repeatable).
    #[arg(long = "accept-risk", value_name = "ID", action = clap::ArgAction::Append)]
    pub accept_risk: Vec<String>,
    /// With --require-fit: advisory database to use instead of the built-in one.
    #[arg(long = "advisory-db", value_name = "FILE")]
    pub advisory_db: Option<std::path::PathBuf>,
    /// With --require-fit: require an advisory database with at least this sequence number.
    #[arg(long = "min-sequence", value_name = "N")]
    pub min_sequence: Option<u64>,
    /// Policy to run under: a FILE or a built-in profile (@default, @strict, @compute,
    /// @network-client, @server, @dev-tools). Command-line options are applied on top of it.
    #[arg(short = 'p', long, value_name = "FILE|@NAME")]
    pub policy: Option<String>,
    /// Set a boolean the policy declares (repeatable), e.g. --set network=true.
    #[arg(long, value_name = "NAME=true|false", action = clap::ArgAction::Append)]
    pub set: Vec<String>,
    /// Give the jail its own pseudo-terminal: "auto" (when stdin is a terminal), "always" or
    /// "never". With it, ironpen relays between your terminal (raw mode, always restored) and
    /// the jail's; the program cannot reach your terminal (TIOCSTI injection, other ptys).
    #[arg(long, value_name = "auto|always|never")]
    pub tty: Option<String>,
    /// Print the plan (JSON) and exit without running anything.
    #[arg(long = "print-plan")]
    pub print_plan: bool,
    /// Refuse to start if any requested protection cannot be fully enforced.
    #[arg(long)]
    pub strict: bool,
    // --- workspaces (docs/workspaces.md) ---
    /// Run in the copy-on-write workspace NAME: each --base directory (default: the current
    /// one) is seen at its own path, read-write, but writes land in the workspace, never in the
    /// base. Runs with the same NAME continue where the last one stopped.
    #[arg(long, value_name = "NAME")]
    pub workspace: Option<String>,
    /// With --workspace: a host directory to overlay (repeatable; default: the current directory).
    #[arg(long, value_name = "PATH", requires = "workspace", action = clap::ArgAction::Append)]
    pub base: Vec<std::path::PathBuf>,
    /// With --workspace: keep the workspace in DIR instead of the default place.
    #[arg(long = "workspace-dir", value_name = "DIR", requires = "workspace")]
    pub workspace_dir: Option<std::path::PathBuf>,
    /// With --workspace: wait for a busy workspace instead of failing.
    #[arg(long, requires = "workspace")]
    pub wait: bool,
    /// With --workspace: who implements the overlay. "auto" (default): the kernel's overlayfs
    /// in the jail's user namespace when the kernel can, else fuse-overlayfs if installed, else
    /// an error; "kernel"; "fuse" (fuse-overlayfs, run by ironpen outside the jail).
    #[arg(
        long = "overlay-driver",
        value_name = "auto|kernel|fuse",
        requires = "workspace"
    )]
    pub overlay_driver: Option<String>,
    /// The command to run inside the jail, and its arguments.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// File system options in command-line order (the order matters: later mounts cover earlier).
fn ordered_mounts(m: &ArgMatches) -> Vec<UserMount> {
    let mut out: Vec<(usize, UserMount)> = Vec::new();
    let mut collect = |id: &str, per: usize, make: &dyn Fn(&[String]) -> UserMount| {
        let (Some(idx), Some(vals)) = (m.indices_of(id), m.get_many::<String>(id)) else {
            return;
        };
        let idx: Vec<usize> = idx.collect();
        let vals: Vec<String> = vals.cloned().collect();
        for (i, chunk) in vals.chunks(per).enumerate() {
            if chunk.len() == per {
                out.push((idx[i * per], make(chunk)));
            }
        }
    };
    let bind = |mode: BindMode| {
        move |v: &[String]| UserMount::Bind {
            src: v[0].clone(),
            dst: v[1].clone(),
            mode,
        }
    };
    collect("bind", 2, &bind(BindMode::ReadWrite));
    collect("ro_bind", 2, &bind(BindMode::ReadOnly));
    collect("dev_bind", 2, &bind(BindMode::Device));
    collect("tmpfs", 1, &|v| UserMount::Tmpfs { dst: v[0].clone() });
    collect("symlink", 2, &|v| UserMount::Symlink {
        target: v[0].clone(),
        link: v[1].clone(),
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, m)| m).collect()
}

/// SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGSEGV: how JITs die when W^X refuses them.
const JIT_CRASH_SIGNALS: [i32; 5] = [4, 5, 6, 7, 11];

pub fn run(args: RunArgs, matches: &ArgMatches) -> anyhow::Result<i32> {
    let request = Request {
        argv: args.command,
        mounts: ordered_mounts(matches),
        chdir: args.chdir,
        hostname: args.hostname,
        share_net: args.share_net,
        uid: args.uid,
        gid: args.gid,
        caps: args.cap_add,
        rlimits: args.rlimit,
        setenv: args.setenv,
        keep_env: args.keep_env,
        pass_fds: args.pass_fd,
        strict: args.strict,
        require_fit: args.require_fit,
        accept_risk: args.accept_risk.clone(),
        seccomp: args.seccomp,
        landlock: args.landlock,
        allow_jit: args.allow_jit,
        allow_exec: args.allow_exec,
        tty: args.tty,
        allow_connect: args.allow_connect,
        allow_bind: args.allow_bind,
        memory: args.memory,
        pids: args.pids,
        cpu_percent: args.cpu_percent,
        cgroup_parent: args.cgroup_parent,
        ..Request::default()
    };
    let request = crate::policy_run::with_policy(args.policy.as_deref(), &args.set, request)?;
    // Before anything is created (workspaces, jails): the machine's fitness, when asked for by a
    // flag or by the policy's [fitness] section.
    if request.require_fit {
        let opts = ironpen_audit::GateOptions {
            accept: request.accept_risk.clone(),
            db: args.advisory_db.clone(),
            min_sequence: args.min_sequence,
            ..Default::default()
        };
        if let Err(e) = ironpen_audit::gate(&opts) {
            anyhow::bail!("{e}");
        }
    } else if !request.accept_risk.is_empty()
        || args.advisory_db.is_some()
        || args.min_sequence.is_some()
    {
        anyhow::bail!(
            "--accept-risk, --advisory-db and --min-sequence need --require-fit \
             (or a policy with [fitness] require_fit = true)"
        );
    }
    let chdir_given = request.chdir.is_some();
    let mut spec = request.plan()?;
    // Workspace: held locked until the jail has ended.
    // (--print-plan only plans it: nothing is created.)
    let _ws_lock = match &args.workspace {
        Some(name) => crate::ws::attach_to_run(
            &mut spec,
            &crate::ws::RunWorkspace {
                name,
                dir: args.workspace_dir.as_deref(),
                bases: &args.base,
                driver: args.overlay_driver.as_deref(),
                wait: args.wait,
                chdir_given,
                preview: args.print_plan,
            },
        )?,
        None => None,
    };
    if args.print_plan {
        println!("{}", serde_json::to_string_pretty(&spec)?);
        return Ok(0);
    }
    let show = args.report;
    let mut mdwe_on = false;
    let on_report = |r: &ironpen_jail::report::Report| {
        mdwe_on = r
            .entries
            .iter()
            .any(|e| e.feature == "mdwe" && e.level == Level::Full);
        if show {
            eprint!("ironpen: enforced:\n{r}");
        }
    };
    match ironpen_jail::spawn::run_then_exit(&spec, on_report) {
        Ok(outcome) => {
            // Killed by the signal, or a shell reporting it as 128+N.
            let crash = match outcome {
                Outcome::Signaled(sig) => Some(sig),
                Outcome::Exited(code) => Some(code - 128),
            };
            if let (true, Some(sig)) = (mdwe_on, crash) {
                if JIT_CRASH_SIGNALS.contains(&sig) {
                    // A JIT refused writable+executable memory typically dies like this.
                    eprintln!(
                        "ironpen: the program died of signal {sig} with memory-deny-write-execute on; \
                         if a JIT (node, java, ...) was started by another program: \
                         `ironpen pax set PROGRAM m` or --allow-jit"
                    );
                }
            }
            Ok(outcome.exit_code())
        }
        Err(e) => {
            eprintln!("ironpen: {e}");
            Ok(e.exit_code)
        }
    }
}
