//! Raw operations used by the in-jail test probe (attacks that must fail inside a jail).
