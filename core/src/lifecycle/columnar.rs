//! Lifecycle stages over a columnar batch ([`crate::columnar`]): the stage rules
//! are evaluated for all users at once by
//! [`CompiledRuleSet::evaluate_columns`](crate::CompiledRuleSet::evaluate_columns),
//! then each user's stage is decided by the same steps as
//! [`CompiledLifecycle::classify`].

use super::{CompiledLifecycle, StageOutcome, StageState};
use crate::error::{Error, ErrorKind, Result};
use crate::rules::ColumnarInput;

impl CompiledLifecycle {
    /// The stage of every user of a columnar batch at `input.now`, in user
    /// order: `result[u]` equals [`CompiledLifecycle::classify`] on user `u`'s
    /// profile and events with `previous[u]` as the previous state (no previous
    /// state for anyone when `previous` is `None`). Rules are evaluated on up to
    /// `threads` threads; the result does not depend on the thread count. A bad
    /// previous state is an `INVALID_STATE` error with path `users[u].…`.
    pub fn classify_columns(
        &self,
        input: &ColumnarInput<'_>,
        previous: Option<&[Option<StageState>]>,
        threads: usize,
    ) -> Result<Vec<StageOutcome>> {
        let users = input.profiles.len();
        if let Some(p) = previous {
            if p.len() != users {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!("{} previous stages for {users} users", p.len()),
                ));
            }
        }
        let prev_of = |u: usize| previous.and_then(|p| p[u].as_ref());
        let prev: Vec<Option<usize>> = (0..users)
            .map(|u| {
                self.previous_index(prev_of(u))
                    .map_err(|e| e.prefix_path(&format!("users[{u}]")))
            })
            .collect::<Result<_>>()?;
        let flags = self.rules.evaluate_columns(input, threads)?;
        let mut hits = vec![false; flags.len()];
        Ok((0..users)
            .map(|u| {
                for (h, f) in hits.iter_mut().zip(&flags) {
                    *h = f[u];
                }
                self.decide(&hits, prev[u], prev_of(u), input.now)
            })
            .collect())
    }
}
