//! A reader that counts the bytes read while its meter is on and fails past a budget: for a document read as a stream whose parts are kept or skipped (a JSON report's metadata kept, its records skipped), only the kept parts count.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use super::file::size_label;

/// The switch and the budget, shared by the reader and whoever decides what is kept.
#[derive(Debug, Clone)]
pub struct Meter(Rc<MeterState>);

#[derive(Debug)]
struct MeterState {
    on: Cell<bool>,
    left: Cell<u64>,
    budget: u64,
}

impl Meter {
    /// A meter, off, allowing `budget` bytes while on.
    pub fn new(budget: u64) -> Meter {
        Meter(Rc::new(MeterState {
            on: Cell::new(false),
            left: Cell::new(budget),
            budget,
        }))
    }

    /// Counts what is read from now (`true`) or stops counting (`false`).
    pub fn set(&self, on: bool) {
        self.0.on.set(on);
    }
}

/// `inner`, failing with an error once more than the meter's budget was read while on.
pub struct Metered<R> {
    inner: R,
    meter: Meter,
}

impl<R: Read> Metered<R> {
    pub fn new(inner: R, meter: Meter) -> Metered<R> {
        Metered { inner, meter }
    }
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let state = &self.meter.0;
        if !state.on.get() {
            return self.inner.read(buf);
        }
        // Never more than one byte past the budget is read while on.
        let allowed = usize::try_from(state.left.get().saturating_add(1)).unwrap_or(usize::MAX);
        let len = buf.len().min(allowed);
        let n = self.inner.read(&mut buf[..len])?;
        match state.left.get().checked_sub(n as u64) {
            Some(left) => {
                state.left.set(left);
                Ok(n)
            }
            None => Err(io::Error::other(format!(
                "its kept parts are larger than {}, the cap on them",
                size_label(state.budget)
            ))),
        }
    }
}
