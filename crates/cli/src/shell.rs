//! `ironpen shell`: an interactive, login-like shell in the default jail, with every option of
//! `ironpen run`. The shell is `$SHELL` when that exists inside the jail, else `/bin/sh`; the
//! check happens inside (a `/bin/sh` stub), because only the jail knows what its mounts show.

use clap::ArgMatches;

use crate::run::RunArgs;

/// Runs inside the jail as `sh -c STUB ironpen-shell "$SHELL"`: exec the caller's shell if the
/// jail has it, else /bin/sh; `SHELL` inside names the one that runs.
const STUB: &str = r#"if [ -n "$1" ] && [ -x "$1" ] && [ ! -d "$1" ]; then
SHELL=$1; export SHELL; exec "$1" -i -l
fi
SHELL=/bin/sh; export SHELL; exec /bin/sh -i -l"#;

/// Options of `ironpen shell`: those of `ironpen run`, without a command.
#[derive(clap::Args, Debug)]
#[command(
    mut_arg("command", |a| a.required(false).hide(true)),
    after_help = "Starts $SHELL (if the jail has it, else /bin/sh) as an interactive login shell. \
With a terminal on stdin the jail gets its own pseudo-terminal (see --tty): job control and \
Ctrl-C work inside, and nothing inside can reach your terminal.\n\n\
Examples:\n  ironpen shell\n  ironpen shell --bind \"$PWD\" /work --chdir /work"
)]
pub struct ShellArgs {
    #[command(flatten)]
    pub run: RunArgs,
}

/// The jailed argv for the shell named by `shell` (ironpen's `$SHELL`, possibly unset).
fn shell_argv(shell: Option<&str>) -> Vec<String> {
    vec![
        "/bin/sh".into(),
        "-c".into(),
        STUB.into(),
        "ironpen-shell".into(),
        shell.unwrap_or_default().into(),
    ]
}

pub fn run(mut args: ShellArgs, matches: &ArgMatches) -> anyhow::Result<i32> {
    if !args.run.command.is_empty() {
        anyhow::bail!(
            "shell {:?}: takes no command (use `ironpen run -- CMD`)",
            args.run.command.join(" ")
        );
    }
    let shell = std::env::var("SHELL").ok();
    args.run.command = shell_argv(shell.as_deref());
    crate::run::run(args.run, matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_passes_the_shell_as_an_argument_not_as_code() {
        let argv = shell_argv(Some("/bin/bash; touch /x"));
        assert_eq!(argv[0], "/bin/sh");
        assert_eq!(argv[2], STUB);
        assert_eq!(argv[4], "/bin/bash; touch /x");
        assert_eq!(shell_argv(None)[4], "");
    }

    #[test]
    fn stub_falls_back_to_sh_for_a_missing_or_empty_shell() {
        for missing in ["/nonexistent/shell", "", "/tmp"] {
            let out = std::process::Command::new("/bin/sh")
                .args([
                    "-c",
                    &STUB.replace("-i -l", "-c 'echo $SHELL'"),
                    "x",
                    missing,
                ])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "/bin/sh");
        }
        let out = std::process::Command::new("/bin/sh")
            .args([
                "-c",
                &STUB.replace("-i -l", "-c 'echo $SHELL'"),
                "x",
                "/bin/bash",
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "/bin/bash");
    }
}
