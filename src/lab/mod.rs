//! The built-in simulated mail network: personas on loopback addresses, used by `lab`, `demo` and the tests.
