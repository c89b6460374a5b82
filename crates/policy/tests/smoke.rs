use ironpen_policy::seccomp::*;

#[test]
fn print_default() {
    let f = default_profile();
    for arch in Arch::ALL {
        let p = compile(&f, arch).unwrap();
        verify(&p).unwrap();
        eprintln!("{arch}: {} instructions", p.len());
    }
    eprintln!("{}", explain_text(&f, Arch::X86_64));
}
