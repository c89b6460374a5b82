//! `explain`: what a filter decides for each syscall of an architecture, for people
//! (`ironpen policy explain`) and for tests.

use std::fmt::Write as _;

use serde::Serialize;

use super::ir::{Action, Cond, Filter};
use super::syscalls::Arch;

/// The decision for one syscall.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Decision {
    Always {
        action: Action,
    },
    /// The first rule whose conditions all hold decides; otherwise `otherwise`.
    Conditional {
        rules: Vec<(Action, Vec<Cond>)>,
        otherwise: Action,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    pub nr: u32,
    pub name: &'static str,
    pub decision: Decision,
    /// Comments of the rules that decide (the reasons from the sets).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
}

/// One line per syscall in `arch`'s table, by number.
pub fn explain(filter: &Filter, arch: Arch) -> Vec<Line> {
    arch.table()
        .iter()
        .map(|(nr, name)| {
            let rules = filter
                .syscalls
                .get(name)
                .map(Vec::as_slice)
                .unwrap_or_default();
            let end = rules
                .iter()
                .position(|r| r.conds.is_empty())
                .map_or(rules.len(), |i| i + 1);
            let rules = &rules[..end];
            let mut why: Vec<String> = rules.iter().filter_map(|r| r.comment.clone()).collect();
            why.dedup();
            let decision = match rules {
                [] => Decision::Always {
                    action: filter.default_action,
                },
                [r, ..] if r.conds.is_empty() => Decision::Always { action: r.action },
                _ => {
                    let last = rules.last().expect("non-empty");
                    let (conditional, otherwise) = if last.conds.is_empty() {
                        (&rules[..rules.len() - 1], last.action)
                    } else {
                        (rules, filter.default_action)
                    };
                    Decision::Conditional {
                        rules: conditional
                            .iter()
                            .map(|r| (r.action, r.conds.clone()))
                            .collect(),
                        otherwise,
                    }
                }
            };
            Line {
                nr,
                name,
                decision,
                why,
            }
        })
        .collect()
}

/// `explain` as text: a header with the catch-all actions, then one line per syscall.
pub fn explain_text(filter: &Filter, arch: Arch) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "seccomp filter for {arch}");
    let _ = writeln!(out, "  other known syscalls:     {}", filter.default_action);
    let _ = writeln!(
        out,
        "  unknown syscall numbers:  {}",
        filter.unknown_action.unwrap_or(filter.default_action)
    );
    let _ = writeln!(
        out,
        "  foreign architecture:     {}",
        filter.bad_arch_action
    );
    if arch == Arch::X86_64 {
        let _ = writeln!(out, "  x32 syscalls:             {}", filter.x32_action);
    }
    for line in explain(filter, arch) {
        let why = if line.why.is_empty() {
            String::new()
        } else {
            format!("  # {}", line.why.join("; "))
        };
        match &line.decision {
            Decision::Always { action } => {
                let _ = writeln!(out, "{:>4} {:<24} {action}{why}", line.nr, line.name);
            }
            Decision::Conditional { rules, otherwise } => {
                let _ = writeln!(out, "{:>4} {:<24} conditional{why}", line.nr, line.name);
                for (action, conds) in rules {
                    let c: Vec<String> = conds.iter().map(ToString::to_string).collect();
                    let _ = writeln!(out, "{:>30} {action} if {}", "", c.join(" && "));
                }
                let _ = writeln!(out, "{:>30} {otherwise} otherwise", "");
            }
        }
    }
    out
}

/// The decision of an [`Action`] list, for callers that want a short word.
pub fn summary(d: &Decision) -> String {
    match d {
        Decision::Always { action } => action.to_string(),
        Decision::Conditional { .. } => "conditional".into(),
    }
}
