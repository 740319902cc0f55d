//! The scheduler: concurrency cap, global rate, deadlines, cancellation, progress.
