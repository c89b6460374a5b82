//! libseccomp, loaded with `dlopen` at run time, behind a safe API. It is a test oracle and a
//! benchmark baseline for ironpen's own seccomp compiler, never used to build a jail: building
//! the workspace does not need the library, and [`Libseccomp::open`] reports its absence as an
//! error.

use std::ffi::{c_char, c_int, c_uint, c_void, CString};
use std::io::{self, Read, Seek};
use std::os::fd::AsRawFd;
use std::ptr::NonNull;

use crate::seccomp::SockFilter;

/// `struct scmp_arg_cmp`: one argument comparison of a rule.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScmpArgCmp {
    pub arg: c_uint,
    pub op: c_uint,
    pub datum_a: u64,
    pub datum_b: u64,
}
const _: () = assert!(std::mem::size_of::<ScmpArgCmp>() == 24);

/// `enum scmp_compare`.
pub const SCMP_CMP_NE: c_uint = 1;
pub const SCMP_CMP_LT: c_uint = 2;
pub const SCMP_CMP_LE: c_uint = 3;
pub const SCMP_CMP_EQ: c_uint = 4;
pub const SCMP_CMP_GE: c_uint = 5;
pub const SCMP_CMP_GT: c_uint = 6;
/// `(arg & datum_a) == datum_b`.
pub const SCMP_CMP_MASKED_EQ: c_uint = 7;

/// `enum scmp_filter_attr` values we use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attr {
    /// SCMP_FLTATR_ACT_BADARCH: the action for a foreign architecture.
    ActBadArch,
    /// SCMP_FLTATR_CTL_OPTIMIZE: 1 = priority order (default), 2 = binary tree.
    CtlOptimize,
}

impl Attr {
    fn raw(self) -> c_int {
        match self {
            Attr::ActBadArch => 2,
            Attr::CtlOptimize => 8,
        }
    }
}

/// `SCMP_ARCH_*` values (the kernel's `AUDIT_ARCH_*`) for the sub-architectures Docker adds.
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

/// The libseccomp entry points we use, resolved once. The library handle is never closed, so
/// the function pointers stay valid for the life of the process.
pub struct Libseccomp {
    init: InitFn,
    release: ReleaseFn,
    attr_set: AttrSetFn,
    arch_add: ArchAddFn,
    rule_add_array: RuleAddArrayFn,
    export_bpf: ExportBpfFn,
    resolve_name_arch: ResolveNameArchFn,
}

impl std::fmt::Debug for Libseccomp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Libseccomp(libseccomp.so.2)")
    }
}

/// Look up one symbol's address.
fn sym(handle: NonNull<c_void>, name: &std::ffi::CStr) -> io::Result<*mut c_void> {
    // SAFETY: `handle` is a live dlopen handle and `name` is NUL-terminated.
    let p = unsafe { libc::dlsym(handle.as_ptr(), name.as_ptr()) };
    if p.is_null() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "dlsym(libseccomp.so.2, {}) => not found",
                name.to_string_lossy()
            ),
        ));
    }
    Ok(p)
}

macro_rules! fn_ptr {
    ($h:expr, $name:literal, $ty:ty) => {{
        let p = sym($h, $name)?;
        // SAFETY: `p` is the non-null address of the libseccomp function named `$name`, and `$ty`
        // matches its prototype in seccomp.h (stable since 2.4).
        unsafe { std::mem::transmute::<*mut c_void, $ty>(p) }
    }};
}

fn rc_check(what: &str, rc: c_int) -> io::Result<()> {
    if rc < 0 {
        let e = io::Error::from_raw_os_error(-rc);
        Err(io::Error::new(e.kind(), format!("{what} => {e}")))
    } else {
        Ok(())
    }
}

impl Libseccomp {
    /// Load `libseccomp.so.2`. Fails with `NotFound` when the library (or one of its symbols) is
    /// absent.
    pub fn open() -> io::Result<Libseccomp> {
        // SAFETY: dlopen with a constant NUL-terminated name. libseccomp's initializers have no
        // preconditions; the handle is deliberately never closed (see the type's docs).
        let h = unsafe {
            libc::dlopen(
                c"libseccomp.so.2".as_ptr(),
                libc::RTLD_NOW | libc::RTLD_LOCAL,
            )
        };
        let h = NonNull::new(h).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "dlopen(libseccomp.so.2) => not found (install libseccomp2)",
            )
        })?;
        Ok(Libseccomp {
            init: fn_ptr!(h, c"seccomp_init", InitFn),
            release: fn_ptr!(h, c"seccomp_release", ReleaseFn),
            attr_set: fn_ptr!(h, c"seccomp_attr_set", AttrSetFn),
            arch_add: fn_ptr!(h, c"seccomp_arch_add", ArchAddFn),
            rule_add_array: fn_ptr!(h, c"seccomp_rule_add_array", RuleAddArrayFn),
            export_bpf: fn_ptr!(h, c"seccomp_export_bpf", ExportBpfFn),
            resolve_name_arch: fn_ptr!(h, c"seccomp_syscall_resolve_name_arch", ResolveNameArchFn),
        })
    }

    /// libseccomp's number for syscall `name` on `arch` (an `AUDIT_ARCH_*` value), if it knows
    /// one.
    pub fn resolve_name(&self, name: &str, arch: u32) -> Option<u32> {
        let c = CString::new(name).ok()?;
        // SAFETY: `c` is NUL-terminated and outlives the call; the function only reads it.
        let nr = unsafe { (self.resolve_name_arch)(arch, c.as_ptr()) };
        u32::try_from(nr).ok()
    }

    /// A new filter context for the native architecture with `default_action` (a
    /// `SECCOMP_RET_*` value).
    pub fn new_filter(&self, default_action: u32) -> io::Result<ScmpFilter<'_>> {
        // SAFETY: plain constructor taking an integer; returns NULL on failure.
        let ctx = unsafe { (self.init)(default_action) };
        let ctx = NonNull::new(ctx).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("seccomp_init({default_action:#x}) => NULL"),
            )
        })?;
        Ok(ScmpFilter { lib: self, ctx })
    }
}

/// A libseccomp filter context (`scmp_filter_ctx`), released on drop. Not `Send`: libseccomp
/// contexts are not meant to be shared between threads.
pub struct ScmpFilter<'l> {
    lib: &'l Libseccomp,
    ctx: NonNull<c_void>,
}

impl std::fmt::Debug for ScmpFilter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ScmpFilter({:p})", self.ctx)
    }
}

impl ScmpFilter<'_> {
    /// `seccomp_attr_set`.
    pub fn set_attr(&mut self, attr: Attr, value: u32) -> io::Result<()> {
        // SAFETY: `ctx` is a live context owned by `self`; the call takes integers only.
        let rc = unsafe { (self.lib.attr_set)(self.ctx.as_ptr(), attr.raw(), value) };
        rc_check(&format!("seccomp_attr_set({attr:?}, {value:#x})"), rc)
    }

    /// `seccomp_arch_add`: also filter for `arch` (an `AUDIT_ARCH_*` value).
    pub fn add_arch(&mut self, arch: u32) -> io::Result<()> {
        // SAFETY: `ctx` is a live context owned by `self`; the call takes integers only.
        let rc = unsafe { (self.lib.arch_add)(self.ctx.as_ptr(), arch) };
        rc_check(&format!("seccomp_arch_add({arch:#x})"), rc)
    }

    /// `seccomp_rule_add_array`: `action` (a `SECCOMP_RET_*` value) for syscall `nr` when all
    /// `conds` hold. libseccomp refuses a rule whose action equals the default action.
    pub fn add_rule(&mut self, action: u32, nr: i32, conds: &[ScmpArgCmp]) -> io::Result<()> {
        let what = || {
            format!(
                "seccomp_rule_add_array(nr {nr}, action {action:#x}, {} conds)",
                conds.len()
            )
        };
        let n = c_uint::try_from(conds.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, what()))?;
        // SAFETY: `ctx` is live and owned by `self`; `conds` holds `n` initialized comparisons
        // and outlives the call, which copies them.
        let rc =
            unsafe { (self.lib.rule_add_array)(self.ctx.as_ptr(), action, nr, n, conds.as_ptr()) };
        rc_check(&what(), rc)
    }

    /// `seccomp_export_bpf`: the generated program, read back through an anonymous temp file.
    pub fn export_bpf(&self) -> io::Result<Vec<SockFilter>> {
        let mut file = anonymous_file()?;
        // SAFETY: `ctx` is live and owned by `self`; the fd is open for writing for the whole
        // call (it belongs to `file`, which outlives it).
        let rc = unsafe { (self.lib.export_bpf)(self.ctx.as_ptr(), file.as_raw_fd()) };
        rc_check("seccomp_export_bpf", rc)?;
        let mut bytes = Vec::new();
        file.rewind()
            .and_then(|()| file.read_to_end(&mut bytes))
            .map_err(|e| io::Error::new(e.kind(), format!("reading exported BPF: {e}")))?;
        if bytes.len() % 8 != 0 {
            return Err(io::Error::other(format!(
                "seccomp_export_bpf wrote {} bytes, not a whole number of instructions",
                bytes.len()
            )));
        }
        Ok(bytes
            .chunks_exact(8)
            .map(|c| SockFilter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect())
    }
}

impl Drop for ScmpFilter<'_> {
    fn drop(&mut self) {
        // SAFETY: `ctx` came from seccomp_init, is owned by `self`, and is released exactly once.
        unsafe { (self.lib.release)(self.ctx.as_ptr()) };
    }
}

/// An unnamed, read-write file for libseccomp to write into (memfd: no temp dir to clean up).
fn anonymous_file() -> io::Result<std::fs::File> {
    // SAFETY: the name is a constant NUL-terminated string; memfd_create returns a new fd or -1.
    let fd = unsafe { libc::memfd_create(c"libseccomp-bpf".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("memfd_create(libseccomp-bpf) => {e}"),
        ));
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Skip (return None) when the library is absent, unless IRONPEN_TEST_REQUIRE names it.
    fn lib() -> Option<Libseccomp> {
        match Libseccomp::open() {
            Ok(l) => Some(l),
            Err(e) => {
                let req = std::env::var("IRONPEN_TEST_REQUIRE").unwrap_or_default();
                assert!(!req.contains("libseccomp"), "libseccomp required: {e}");
                eprintln!("SKIP: {e}");
                None
            }
        }
    }

    #[test]
    fn resolves_names() {
        let Some(l) = lib() else { return };
        assert_eq!(l.resolve_name("read", 0xc000_003e), Some(0));
        assert_eq!(l.resolve_name("getppid", 0xc000_003e), Some(110));
        assert_eq!(l.resolve_name("no_such_syscall", 0xc000_003e), None);
        assert_eq!(l.resolve_name("bad\0name", 0xc000_003e), None);
    }

    #[test]
    fn exports_a_program_ending_in_the_default_action() {
        let Some(l) = lib() else { return };
        let mut f = l.new_filter(0x7fff_0000).expect("seccomp_init");
        f.set_attr(Attr::ActBadArch, 0x8000_0000).expect("attr");
        f.add_rule(
            0x0005_0001,
            39,
            &[ScmpArgCmp {
                arg: 0,
                op: SCMP_CMP_EQ,
                datum_a: 7,
                datum_b: 0,
            }],
        )
        .expect("rule");
        let prog = f.export_bpf().expect("export");
        assert!(prog.len() > 4, "{prog:?}");
        // Some RET instruction returns our errno action, another the default.
        assert!(
            prog.iter().any(|i| i.code == 0x06 && i.k == 0x0005_0001),
            "{prog:?}"
        );
        assert!(
            prog.iter().any(|i| i.code == 0x06 && i.k == 0x7fff_0000),
            "{prog:?}"
        );
        // Same default action as a rule: refused with an error naming the call.
        let e = f.add_rule(0x7fff_0000, 39, &[]).unwrap_err();
        assert!(e.to_string().contains("seccomp_rule_add_array"), "{e}");
    }
}
