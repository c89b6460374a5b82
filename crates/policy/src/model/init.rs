//! `ironpen init`: a few questions about what the jail is for, and the commented policy file
//! the answers call for (a built-in profile to include, booleans to flip, paths to grant).
//! Pure: the CLI asks (or reads an answers file) and writes the result.

use serde::Deserialize;

use super::load::toml_error;
use super::PolicyError;

/// One question: its key in an answers file, the prompt, the accepted answers (empty: a
/// comma-separated list) and the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Question {
    pub key: &'static str,
    pub prompt: &'static str,
    pub choices: &'static [&'static str],
    pub default: &'static str,
}

pub const QUESTIONS: &[Question] = &[
    Question {
        key: "purpose",
        prompt: "What is the jail for: a one-off program, a server, a pure computation, or a compiler/test runner in this directory?",
        choices: &["one-off", "server", "compute", "dev-tools"],
        default: "one-off",
    },
    Question {
        key: "network",
        prompt: "Does it need the network: no, as a client (connects out), or as a server (listens)?",
        choices: &["no", "client", "server"],
        default: "no",
    },
    Question {
        key: "ports",
        prompt: "Which TCP ports does it listen on (comma-separated, empty for none)?",
        choices: &[],
        default: "",
    },
    Question {
        key: "writable",
        prompt: "Which host directories must it write (absolute paths, comma-separated, empty for none)?",
        choices: &[],
        default: "",
    },
    Question {
        key: "readable",
        prompt: "Which host directories must it read (absolute paths, comma-separated, empty for none)?",
        choices: &[],
        default: "",
    },
    Question {
        key: "virtualization",
        prompt: "Is it a virtualization workload: none, a host that starts VMs with KVM (qemu -enable-kvm, firecracker), or a guest emulated without KVM (qemu TCG)?",
        choices: &["none", "host", "guest"],
        default: "none",
    },
    Question {
        key: "jit",
        prompt: "Does it run a JIT compiler (node, java, luajit, a browser engine)?",
        choices: &["no", "yes"],
        default: "no",
    },
    Question {
        key: "priority",
        prompt: "Security or compatibility first (security refuses to run without every protection)?",
        choices: &["security", "compatibility"],
        default: "security",
    },
];

/// The answers, from prompts or an answers file (TOML with the question keys; missing keys take
/// the default).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Answers {
    pub purpose: String,
    pub network: String,
    pub ports: Vec<u16>,
    pub writable: Vec<String>,
    pub readable: Vec<String>,
    pub virtualization: String,
    pub jit: bool,
    pub priority: String,
}

impl Default for Answers {
    fn default() -> Self {
        Answers {
            purpose: "one-off".into(),
            network: "no".into(),
            ports: Vec::new(),
            writable: Vec::new(),
            readable: Vec::new(),
            virtualization: "none".into(),
            jit: false,
            priority: "security".into(),
        }
    }
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

impl Answers {
    /// Parse an answers file; errors carry file:line:col like policy files.
    pub fn from_toml(name: &str, text: &str) -> Result<Answers, PolicyError> {
        let a: Answers = toml::from_str(text).map_err(|e| toml_error(name, text, &e))?;
        for q in QUESTIONS {
            a.get(q.key).map_err(|m| {
                PolicyError::new(
                    &super::Origin {
                        file: name.to_string(),
                        ..Default::default()
                    },
                    m,
                )
            })?;
        }
        Ok(a)
    }

    /// Check one answer as typed at a prompt and record it (empty: the default).
    pub fn answer(&mut self, q: &Question, input: &str) -> Result<(), String> {
        let v = input.trim();
        let v = if v.is_empty() { q.default } else { v };
        if !q.choices.is_empty() && !q.choices.contains(&v) {
            return Err(format!("answer one of: {}", q.choices.join(", ")));
        }
        match q.key {
            "purpose" => self.purpose = v.into(),
            "network" => self.network = v.into(),
            "priority" => self.priority = v.into(),
            "virtualization" => self.virtualization = v.into(),
            "jit" => self.jit = v == "yes",
            "ports" => {
                self.ports = list(v)
                    .iter()
                    .map(|p| match p.parse::<u16>() {
                        Ok(n) if n > 0 => Ok(n),
                        _ => Err(format!("{p:?} is not a TCP port (1-65535)")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "writable" => self.writable = list(v),
            "readable" => self.readable = list(v),
            _ => return Err(format!("unknown question {}", q.key)),
        }
        self.get(q.key)
    }

    /// Validate the answer to `key` (choices and absolute paths).
    fn get(&self, key: &str) -> Result<(), String> {
        let q = QUESTIONS.iter().find(|q| q.key == key).expect("known key");
        let v = match key {
            "purpose" => &self.purpose,
            "network" => &self.network,
            "priority" => &self.priority,
            "virtualization" => &self.virtualization,
            "writable" | "readable" => {
                let paths = if key == "writable" {
                    &self.writable
                } else {
                    &self.readable
                };
                for p in paths {
                    if !p.starts_with('/') || p.split('/').any(|c| c == "..") {
                        return Err(format!(
                            "{key}: {p:?} must be an absolute path without `..`"
                        ));
                    }
                    if key == "writable" && p.trim_end_matches('/').is_empty() {
                        return Err("writable: \"/\" would make the whole host writable".into());
                    }
                }
                return Ok(());
            }
            _ => return Ok(()),
        };
        if q.choices.contains(&v.as_str()) {
            Ok(())
        } else {
            Err(format!(
                "{key}: answer one of {}, not {v:?}",
                q.choices.join(", ")
            ))
        }
    }
}

fn quoted(v: &[String]) -> String {
    let q: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", q.join(", "))
}

/// The commented policy file for `a`. Paths are written as given (`${PWD}` stays a variable).
pub fn generate(a: &Answers) -> String {
    let mut t = String::new();
    t.push_str("# Written by `ironpen init`. Check it with `ironpen policy check FILE`, see the\n");
    t.push_str("# merged result with `ironpen policy show FILE`, rate it with `ironpen policy score FILE`.\n");
    t.push_str(&format!(
        "# Answers: purpose={}, network={}, ports={:?}, virtualization={}, jit={}, priority={}\n\n",
        a.purpose, a.network, a.ports, a.virtualization, a.jit, a.priority
    ));
    let profile = match a.purpose.as_str() {
        "server" => "@server",
        "compute" => "@compute",
        "dev-tools" => "@dev-tools",
        _ => "@default",
    };
    t.push_str(&format!(
        "# {profile}: {}\ninclude = [\"{profile}\"]\n",
        match profile {
            "@server" => "host network, may bind ports below 1024, many open files",
            "@compute" => "no host writes, no network, no sockets or IPC",
            "@dev-tools" => "the current directory writable and the working directory",
            _ => "nothing of the host writable, no network, no capabilities",
        }
    ));
    let net = a.network != "no";
    t.push_str("\n[set]\n");
    t.push_str(&format!(
        "# The host's network (false: a private network with only loopback).\nnetwork = {net}\n"
    ));
    if a.virtualization == "guest" {
        t.push_str(
            "# An emulated guest (qemu TCG) translates its code at run time, like a JIT.\njit = true\n",
        );
    } else {
        t.push_str(&format!(
            "# JIT compilers need memory-deny-write-execute off.\njit = {}\n",
            a.jit
        ));
    }
    let kvm = a.virtualization == "host";
    t.push_str(&format!(
        "# Starts VMs with KVM: /dev/kvm with device access (refuses to start without it).\n\
         kvm = {kvm}\n"
    ));
    let low_port = a.ports.iter().any(|p| *p < 1024);
    if low_port && profile != "@server" {
        t.push_str("\n[capabilities]\n# Ports below 1024 need this one capability.\n");
        t.push_str("add = [\"net_bind_service\"]\n");
    }
    if !a.ports.is_empty() && net {
        let ports: Vec<String> = a.ports.iter().map(u16::to_string).collect();
        t.push_str(&format!(
            "\n[network]\n# Listens on these TCP ports and binds no other (Landlock, Linux 6.7+).\n\
             tcp_bind = [{}]\n",
            ports.join(", ")
        ));
    }
    if profile == "@compute" && net {
        t.push_str(
            "\n[seccomp]\n# @compute refuses sockets; the network was asked for, so allow them.\n\
             add_sets = [\"@network-io\"]\n",
        );
    }
    if !a.writable.is_empty() || !a.readable.is_empty() {
        t.push_str("\n[filesystem]\n");
        if !a.writable.is_empty() {
            t.push_str("# Writable host directories, at the same place in the jail.\n");
            t.push_str(&format!("rw = {}\n", quoted(&a.writable)));
        }
        if !a.readable.is_empty() {
            t.push_str("# Read-only host directories, at the same place in the jail.\n");
            t.push_str(&format!("ro = {}\n", quoted(&a.readable)));
        }
    }
    if a.priority == "security" {
        t.push_str(
            "\n[landlock]\n# Security first: refuse to run where Landlock is not fully available.\n\
             mode = \"required\"\n\n[limits.rlimits]\n# No core dumps (they can leak memory contents).\ncore = 0\n",
        );
    } else {
        t.push_str(
            "\n# Compatibility first: protections the kernel lacks are skipped and reported\n\
             # (`ironpen run --report`), not required.\n",
        );
    }
    t
}
