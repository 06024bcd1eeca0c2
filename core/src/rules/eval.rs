//! Evaluation of compiled rules against one profile.
