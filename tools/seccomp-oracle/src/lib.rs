//! libseccomp as a test oracle. The library is loaded with `dlopen` at run time, so building the
//! workspace never needs it; tests skip with a message when it is missing, unless
//! `IRONPEN_TEST_REQUIRE` contains `libseccomp`.

use ironpen_policy::seccomp::{Action, Arch, Filter, Instruction, Op, Width};
use ironpen_sys::libseccomp::{
    Attr, Libseccomp, ScmpArgCmp, SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_LE, SCMP_CMP_LT,
    SCMP_CMP_MASKED_EQ, SCMP_CMP_NE,
};
pub use ironpen_sys::libseccomp::{SCMP_ARCH_X32, SCMP_ARCH_X86};

/// libseccomp, driven from ironpen's filter model.
#[derive(Debug)]
pub struct LibSeccomp {
    lib: Libseccomp,
}

/// How to build the libseccomp program.
#[derive(Clone, Debug, Default)]
pub struct OracleOpts {
    /// Further architectures (SCMP_ARCH_X86, SCMP_ARCH_X32), as Docker adds them.
    pub extra_arches: Vec<u32>,
    /// SCMP_FLTATR_CTL_OPTIMIZE: 1 = priority order (default), 2 = binary tree.
    pub optimize: Option<u32>,
}

impl LibSeccomp {
    /// Load libseccomp.so.2.
    pub fn load() -> Result<LibSeccomp, String> {
        Libseccomp::open()
            .map(|lib| LibSeccomp { lib })
            .map_err(|e| e.to_string())
    }

    /// Load it, or decide the test should be skipped (panics if `IRONPEN_TEST_REQUIRE` says
    /// libseccomp is required).
    pub fn for_test() -> Option<LibSeccomp> {
        match LibSeccomp::load() {
            Ok(l) => Some(l),
            Err(e) => {
                let req = std::env::var("IRONPEN_TEST_REQUIRE").unwrap_or_default();
                assert!(
                    !req.contains("libseccomp"),
                    "libseccomp required by IRONPEN_TEST_REQUIRE: {e}"
                );
                eprintln!("SKIP: {e}");
                None
            }
        }
    }

    /// libseccomp's number for `name` on `arch`, if it knows it.
    pub fn resolve(&self, arch: Arch, name: &str) -> Option<u32> {
        self.lib.resolve_name(name, arch.audit_arch())
    }

    /// Build `filter` (x86_64, 64-bit comparisons) with libseccomp and export its BPF.
    /// Every rule becomes one `seccomp_rule_add_array`; `Width` is ignored (libseccomp always
    /// compares 64 bits), so give it filters with 64-bit conditions only.
    pub fn compile(&self, filter: &Filter, opts: &OracleOpts) -> Result<Vec<Instruction>, String> {
        self.build(filter, opts).map_err(|e| e.to_string())
    }

    fn build(&self, filter: &Filter, opts: &OracleOpts) -> std::io::Result<Vec<Instruction>> {
        let mut ctx = self.lib.new_filter(filter.default_action.to_ret())?;
        ctx.set_attr(Attr::ActBadArch, filter.bad_arch_action.to_ret())?;
        if let Some(o) = opts.optimize {
            ctx.set_attr(Attr::CtlOptimize, o)?;
        }
        for a in &opts.extra_arches {
            ctx.add_arch(*a)?;
        }
        let table = Arch::X86_64.table();
        for (name, rules) in &filter.syscalls {
            let Some(nr) = table.nr(name) else { continue };
            let nr = i32::try_from(nr).map_err(|_| {
                std::io::Error::other(format!("{name}: syscall number {nr} out of range"))
            })?;
            for rule in rules {
                if rule.action == filter.default_action {
                    continue; // libseccomp refuses those (runc skips them too)
                }
                let conds: Vec<ScmpArgCmp> = rule
                    .conds
                    .iter()
                    .map(|c| {
                        debug_assert_eq!(c.width, Width::W64);
                        let (op, a, b) = match c.op {
                            Op::Eq => (SCMP_CMP_EQ, c.value, 0),
                            Op::Ne => (SCMP_CMP_NE, c.value, 0),
                            Op::Lt => (SCMP_CMP_LT, c.value, 0),
                            Op::Le => (SCMP_CMP_LE, c.value, 0),
                            Op::Gt => (SCMP_CMP_GT, c.value, 0),
                            Op::Ge => (SCMP_CMP_GE, c.value, 0),
                            Op::MaskedEq { mask } => (SCMP_CMP_MASKED_EQ, mask, c.value),
                        };
                        ScmpArgCmp {
                            arg: u32::from(c.arg),
                            op,
                            datum_a: a,
                            datum_b: b,
                        }
                    })
                    .collect();
                ctx.add_rule(rule.action.to_ret(), nr, &conds)
                    .map_err(|e| {
                        std::io::Error::new(e.kind(), format!("{name}, {}: {e}", rule.action))
                    })?;
            }
        }
        Ok(ctx
            .export_bpf()?
            .into_iter()
            .map(|i| Instruction::new(i.code, i.jt, i.jf, i.k))
            .collect())
    }
}

/// Convert a policy program for the kernel.
pub fn to_kernel(prog: &[Instruction]) -> Vec<ironpen_sys::seccomp::SockFilter> {
    prog.iter()
        .map(|i| ironpen_sys::seccomp::SockFilter::from(i.to_tuple()))
        .collect()
}

/// Decode a filter return value for messages.
pub fn action_name(ret: u32) -> String {
    Action::from_ret(ret).map_or_else(|| format!("{ret:#x}"), |a| a.to_string())
}

/// `personality(0xffffffff)`: a query that changes nothing. Filters that check personality's
/// argument must run their program for it, so it measures a forced filter run.
pub fn personality_query() -> i64 {
    ironpen_sys::raw::personality(0xffff_ffff).unwrap_or_else(|e| -i64::from(e))
}

/// The results `seccomp-probe` printed (one JSON line per syscall, `{"name", "ret"}` or
/// `{"name", "errno"}`): name -> Ok(return value) or Err(errno). Panics on a line that is not
/// the probe's (these are tests).
pub fn probe_results(stdout: &str) -> std::collections::BTreeMap<String, Result<i64, i64>> {
    stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("probe JSON line");
            let name = v["name"].as_str().expect("name").to_string();
            let r = match v.get("ret") {
                Some(r) => Ok(r.as_i64().expect("ret")),
                None => Err(v["errno"].as_i64().expect("errno")),
            };
            (name, r)
        })
        .collect()
}
