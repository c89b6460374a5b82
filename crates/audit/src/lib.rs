//! ironpen-audit: host-side checks (kernel/CPU fitness, advisory database, hardening).
