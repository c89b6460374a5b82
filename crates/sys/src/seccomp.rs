//! seccomp(2): filter installation and the user-notify ioctls.
