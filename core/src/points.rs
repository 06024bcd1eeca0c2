//! (module filled by its issue)
