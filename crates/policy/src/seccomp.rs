//! Seccomp IR, BPF compiler, verifier and interpreter.
