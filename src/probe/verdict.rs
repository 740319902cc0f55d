//! The verdict: a pure function of a dialogue's facts, with the decisive reason.

pub struct Classification;
pub fn classify() {}
