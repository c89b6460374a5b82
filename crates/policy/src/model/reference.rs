//! docs/policy.md, generated: the reference of every key (placeholder replaced below).

/// The policy reference page (Markdown).
pub fn reference() -> String {
    String::new()
}
