//! Kernel feature detection: the single source of truth for what this kernel can enforce.
