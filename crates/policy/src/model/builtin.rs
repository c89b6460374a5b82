//! Built-in profiles, shipped in the binary from data/profiles/*.toml.

/// `(name without @, TOML text)` of every built-in profile.
pub const BUILTINS: &[(&str, &str)] = &[
    (
        "default",
        include_str!("../../../../data/profiles/default.toml"),
    ),
    (
        "strict",
        include_str!("../../../../data/profiles/strict.toml"),
    ),
    (
        "compute",
        include_str!("../../../../data/profiles/compute.toml"),
    ),
    (
        "network-client",
        include_str!("../../../../data/profiles/network-client.toml"),
    ),
    (
        "server",
        include_str!("../../../../data/profiles/server.toml"),
    ),
    (
        "dev-tools",
        include_str!("../../../../data/profiles/dev-tools.toml"),
    ),
];

/// The text of built-in profile `name` (without the `@`).
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTINS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
