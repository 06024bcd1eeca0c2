//! Identity merge and erasure (right to be forgotten).
