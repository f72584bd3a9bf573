//! What the suites in tests/ share: laptops (a data directory and its state directory, running
//! the real `repxp-cli`), the Twenty they run against (the fake, or the real server of
//! `make test-twenty`), and that real server's other writers.
#![allow(dead_code)]

pub mod laptops;
pub mod real;
pub mod server;
