//! Landlock: file-system access rules derived from the mount plan (defence in depth under the
//! mounts), plus scoping of abstract unix sockets and signals.

use crate::error::SetupError;
use crate::report::Entry;
use crate::spec::JailSpec;

/// Restrict the calling process (the program, just before execve).
pub(crate) fn restrict(spec: &JailSpec) -> Result<Entry, SetupError> {
    if spec.landlock.required(spec.strict) {
        return Err(SetupError::other(
            "landlock",
            "",
            "Landlock rules are not implemented yet",
        ));
    }
    Ok(Entry::off("landlock", "not implemented yet"))
}
