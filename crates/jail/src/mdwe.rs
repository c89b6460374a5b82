//! Memory-deny-write-execute (PR_SET_MDWE) with PaX-style per-binary exceptions.

use crate::error::SetupError;
use crate::report::Entry;
use crate::spec::JailSpec;

/// Apply MDWE to the calling process (the program, just before execve).
pub(crate) fn apply(spec: &JailSpec) -> Result<Entry, SetupError> {
    if spec.mdwe.required(spec.strict) {
        return Err(SetupError::other("mdwe", "", "MDWE is not implemented yet"));
    }
    Ok(Entry::off("mdwe", "not implemented yet"))
}
