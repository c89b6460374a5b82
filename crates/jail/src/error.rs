//! The error a jail's setup can end with. The child cannot print (its stderr may be the user's
//! terminal, but after pivot_root nothing of ours should touch it), so it serializes this over
//! the sync socket and the parent prints it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Exit status when ironpen itself failed.
pub const EXIT_SETUP_FAILED: i32 = 125;
/// Exit status when the command exists but cannot be executed (as in shells and docker).
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// Exit status when the command was not found.
pub const EXIT_NOT_FOUND: i32 = 127;

/// A failed setup step: the operation, the object it acted on and the OS error.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, thiserror::Error)]
pub struct SetupError {
    /// The operation, e.g. `mount`, `pivot_root`, `execve`.
    pub step: String,
    /// What it acted on, e.g. `"/usr" -> "/usr" (--ro-bind /usr /usr)`.
    pub object: String,
    /// The OS error number, when the failure came from a syscall.
    pub errno: Option<i32>,
    /// Human explanation (the strerror text or a reason).
    pub message: String,
    /// Exit status ironpen should end with.
    pub exit_code: i32,
}

impl SetupError {
    pub fn os(step: &str, object: impl Into<String>, err: std::io::Error) -> Self {
        let errno = err.raw_os_error();
        let message = match errno {
            Some(n) => {
                let text = std::io::Error::from_raw_os_error(n).to_string();
                let text = text.split(" (os error").next().unwrap_or(&text).to_string();
                format!("{text} (errno {n})")
            }
            None => err.to_string(),
        };
        Self {
            step: step.into(),
            object: object.into(),
            errno,
            message,
            exit_code: EXIT_SETUP_FAILED,
        }
    }

    pub fn other(step: &str, object: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            step: step.into(),
            object: object.into(),
            errno: None,
            message: message.into(),
            exit_code: EXIT_SETUP_FAILED,
        }
    }

    pub fn with_exit_code(mut self, code: i32) -> Self {
        self.exit_code = code;
        self
    }
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.object.is_empty() {
            write!(f, "{}: {}", self.step, self.message)
        } else {
            write!(f, "{} {}: {}", self.step, self.object, self.message)
        }
    }
}

/// Attach the step and object to a failed syscall.
pub(crate) trait Ctx<T> {
    fn ctx(self, step: &str, object: impl FnOnce() -> String) -> Result<T, SetupError>;
}

impl<T> Ctx<T> for std::io::Result<T> {
    fn ctx(self, step: &str, object: impl FnOnce() -> String) -> Result<T, SetupError> {
        self.map_err(|e| SetupError::os(step, object(), e))
    }
}

impl<T> Ctx<T> for rustix::io::Result<T> {
    fn ctx(self, step: &str, object: impl FnOnce() -> String) -> Result<T, SetupError> {
        self.map_err(|e| SetupError::os(step, object(), e.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_step_object_and_errno() {
        let e = SetupError::os(
            "mount",
            "\"/usr\" -> \"/usr\"",
            std::io::Error::from_raw_os_error(1),
        );
        assert_eq!(
            e.to_string(),
            "mount \"/usr\" -> \"/usr\": Operation not permitted (errno 1)"
        );
        assert_eq!(e.exit_code, EXIT_SETUP_FAILED);
    }
}
