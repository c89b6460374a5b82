//! libseccomp as a test oracle. The library is loaded with `dlopen` at run time, so building the
//! workspace never needs it; tests skip with a message when it is missing, unless
//! `IRONPEN_TEST_REQUIRE` contains `libseccomp`.

use std::ffi::{c_char, c_int, c_uint, c_void, CString};
use std::io::{Read, Seek};
use std::os::fd::AsRawFd;

use ironpen_policy::seccomp::{Action, Arch, Filter, Instruction, Op, Width};

/// `struct scmp_arg_cmp`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ScmpArgCmp {
    pub arg: c_uint,
    pub op: c_uint,
    pub datum_a: u64,
    pub datum_b: u64,
}
const _: () = assert!(std::mem::size_of::<ScmpArgCmp>() == 24);

pub const SCMP_CMP_NE: c_uint = 1;
pub const SCMP_CMP_LT: c_uint = 2;
pub const SCMP_CMP_LE: c_uint = 3;
pub const SCMP_CMP_EQ: c_uint = 4;
pub const SCMP_CMP_GE: c_uint = 5;
pub const SCMP_CMP_GT: c_uint = 6;
pub const SCMP_CMP_MASKED_EQ: c_uint = 7;
pub const SCMP_FLTATR_ACT_BADARCH: c_int = 2;
pub const SCMP_FLTATR_CTL_OPTIMIZE: c_int = 8;
pub const SCMP_ARCH_X86: u32 = 0x4000_0003;
pub const SCMP_ARCH_X32: u32 = 0x4000_003e;

type InitFn = unsafe extern "C" fn(u32) -> *mut c_void;
type ReleaseFn = unsafe extern "C" fn(*mut c_void);
type AttrSetFn = unsafe extern "C" fn(*mut c_void, c_int, u32) -> c_int;
type ArchAddFn = unsafe extern "C" fn(*mut c_void, u32) -> c_int;
type RuleAddArrayFn =
    unsafe extern "C" fn(*mut c_void, u32, c_int, c_uint, *const ScmpArgCmp) -> c_int;
type ExportBpfFn = unsafe extern "C" fn(*mut c_void, c_int) -> c_int;
type ResolveNameArchFn = unsafe extern "C" fn(u32, *const c_char) -> c_int;

/// The libseccomp entry points we use.
pub struct LibSeccomp {
    init: InitFn,
    release: ReleaseFn,
    attr_set: AttrSetFn,
    arch_add: ArchAddFn,
    rule_add_array: RuleAddArrayFn,
    export_bpf: ExportBpfFn,
    resolve_name_arch: ResolveNameArchFn,
}

/// How to build the libseccomp program.
#[derive(Clone, Debug, Default)]
pub struct OracleOpts {
    /// Further architectures (SCMP_ARCH_X86, SCMP_ARCH_X32), as Docker adds them.
    pub extra_arches: Vec<u32>,
    /// SCMP_FLTATR_CTL_OPTIMIZE: 1 = priority order (default), 2 = binary tree.
    pub optimize: Option<u32>,
}

macro_rules! sym {
    ($h:expr, $name:literal, $ty:ty) => {{
        let name = concat!($name, "\0");
        // SAFETY: `$h` is a live dlopen handle and `name` is NUL-terminated.
        let p = unsafe { libc::dlsym($h, name.as_ptr().cast()) };
        if p.is_null() {
            return Err(format!("libseccomp.so.2 lacks {}", $name));
        }
        // SAFETY: the symbol is the libseccomp function of that name; the type matches its C
        // prototype in seccomp.h (2.5).
        unsafe { std::mem::transmute::<*mut c_void, $ty>(p) }
    }};
}

impl LibSeccomp {
    /// Load libseccomp.so.2.
    pub fn load() -> Result<LibSeccomp, String> {
        // SAFETY: dlopen with a constant NUL-terminated name; the handle is never closed, so the
        // function pointers stay valid for the process lifetime.
        let h = unsafe {
            libc::dlopen(
                c"libseccomp.so.2".as_ptr(),
                libc::RTLD_NOW | libc::RTLD_LOCAL,
            )
        };
        if h.is_null() {
            return Err(
                "dlopen(libseccomp.so.2) failed: install libseccomp2 / libseccomp-dev".into(),
            );
        }
        Ok(LibSeccomp {
            init: sym!(h, "seccomp_init", InitFn),
            release: sym!(h, "seccomp_release", ReleaseFn),
            attr_set: sym!(h, "seccomp_attr_set", AttrSetFn),
            arch_add: sym!(h, "seccomp_arch_add", ArchAddFn),
            rule_add_array: sym!(h, "seccomp_rule_add_array", RuleAddArrayFn),
            export_bpf: sym!(h, "seccomp_export_bpf", ExportBpfFn),
            resolve_name_arch: sym!(h, "seccomp_syscall_resolve_name_arch", ResolveNameArchFn),
        })
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
        let c = CString::new(name).ok()?;
        // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
        let nr = unsafe { (self.resolve_name_arch)(arch.audit_arch(), c.as_ptr()) };
        u32::try_from(nr).ok()
    }

    /// Build `filter` (x86_64, 64-bit comparisons) with libseccomp and export its BPF.
    /// Every rule becomes one `seccomp_rule_add_array`; `Width` is ignored (libseccomp always
    /// compares 64 bits), so give it filters with 64-bit conditions only.
    pub fn compile(&self, filter: &Filter, opts: &OracleOpts) -> Result<Vec<Instruction>, String> {
        // SAFETY: plain constructor; returns NULL on failure, checked below.
        let ctx = unsafe { (self.init)(filter.default_action.to_ret()) };
        if ctx.is_null() {
            return Err("seccomp_init failed".into());
        }
        let result = self.fill(ctx, filter, opts);
        // SAFETY: `ctx` came from seccomp_init and is released exactly once.
        unsafe { (self.release)(ctx) };
        result
    }

    fn fill(
        &self,
        ctx: *mut c_void,
        filter: &Filter,
        opts: &OracleOpts,
    ) -> Result<Vec<Instruction>, String> {
        let check = |what: &str, rc: c_int| {
            if rc < 0 {
                Err(format!(
                    "{what} => {}",
                    std::io::Error::from_raw_os_error(-rc)
                ))
            } else {
                Ok(())
            }
        };
        // SAFETY: `ctx` is a live filter context for all calls below.
        check("seccomp_attr_set(ACT_BADARCH)", unsafe {
            (self.attr_set)(
                ctx,
                SCMP_FLTATR_ACT_BADARCH,
                filter.bad_arch_action.to_ret(),
            )
        })?;
        if let Some(o) = opts.optimize {
            // SAFETY: as above.
            check("seccomp_attr_set(CTL_OPTIMIZE)", unsafe {
                (self.attr_set)(ctx, SCMP_FLTATR_CTL_OPTIMIZE, o)
            })?;
        }
        for a in &opts.extra_arches {
            // SAFETY: as above.
            check("seccomp_arch_add", unsafe { (self.arch_add)(ctx, *a) })?;
        }
        let table = Arch::X86_64.table();
        for (name, rules) in &filter.syscalls {
            let Some(nr) = table.nr(name) else { continue };
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
                            arg: c_uint::from(c.arg),
                            op,
                            datum_a: a,
                            datum_b: b,
                        }
                    })
                    .collect();
                let n = c_uint::try_from(conds.len()).expect("few conditions");
                let nr = c_int::try_from(nr).expect("syscall number");
                // SAFETY: `conds` holds `n` initialized comparisons and outlives the call.
                let rc = unsafe {
                    (self.rule_add_array)(ctx, rule.action.to_ret(), nr, n, conds.as_ptr())
                };
                check(
                    &format!("seccomp_rule_add_array({name}, {})", rule.action),
                    rc,
                )?;
            }
        }
        let mut file = tempfile::tempfile().map_err(|e| format!("tempfile: {e}"))?;
        // SAFETY: `ctx` is live and the fd is open for writing for the duration of the call.
        check("seccomp_export_bpf", unsafe {
            (self.export_bpf)(ctx, file.as_raw_fd())
        })?;
        let mut bytes = Vec::new();
        file.rewind()
            .and_then(|()| file.read_to_end(&mut bytes))
            .map_err(|e| format!("reading exported BPF: {e}"))?;
        Ok(bytes
            .chunks_exact(8)
            .map(|c| {
                Instruction::new(
                    u16::from_ne_bytes([c[0], c[1]]),
                    c[2],
                    c[3],
                    u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
                )
            })
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

/// Make a raw syscall; returns the result or the errno.
///
/// # Safety
/// The caller must pass arguments that cannot corrupt this process's memory (no pointers into
/// live objects the kernel would write, no unmapping); probes use null or bogus pointers.
pub unsafe fn raw_syscall(nr: i64, args: [u64; 6]) -> Result<i64, i32> {
    // SAFETY: forwarded to the caller's contract above.
    let r = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3], args[4], args[5]) };
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        Ok(r)
    }
}

/// `personality(0xffffffff)`: a query that changes nothing. Filters that check personality's
/// argument must run their program for it, so it measures a forced filter run.
pub fn personality_query() -> i64 {
    // SAFETY: personality takes an integer; 0xffffffff only reads the current persona.
    unsafe { libc::syscall(libc::SYS_personality, 0xffff_ffff_u64) }
}
