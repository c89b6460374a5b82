//! SIGTERM at any moment of a jail's start-up ends it: before ironpen blocks signals it dies of
//! SIGTERM itself; during setup (the program process still has signals blocked) ironpen aborts
//! the jail; afterwards it forwards the signal. Either way: status 143 (or death by SIGTERM) and
//! no process of the jail left behind.

#[path = "common/bin.rs"]
mod bin;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn sigterm_during_startup_ends_everything() {
    let marker = format!("ironpen-sigterm-startup-{}", std::process::id());
    for step in 0..12u64 {
        let mut child = Command::new(bin::ironpen())
            .args([
                "run",
                "--setenv",
                &format!("M={marker}"),
                "--",
                "sleep",
                "30",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ironpen");
        std::thread::sleep(Duration::from_micros(step * 400));
        let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap()).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        let status = child.wait().unwrap();
        assert!(
            status.code() == Some(143) || status.signal() == Some(15),
            "step {step}: {status:?}"
        );
        // The jail's processes (whose environment carries the marker) are gone.
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        loop {
            let left: Vec<String> = std::fs::read_dir("/proc")
                .unwrap()
                .flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .chars()
                        .all(|c| c.is_ascii_digit())
                })
                .filter(|e| {
                    std::fs::read(e.path().join("environ"))
                        .is_ok_and(|env| env.windows(marker.len()).any(|w| w == marker.as_bytes()))
                })
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            if left.is_empty() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "step {step}: left behind: {left:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
