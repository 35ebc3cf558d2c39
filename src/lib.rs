//! gpubench: train the same CNNs on every backend a machine offers, time each phase, price it.

pub mod backend;
pub mod cli;
pub mod error;
pub mod export;
#[cfg(test)]
mod fuzz;
pub mod instance;
pub mod ops;
pub mod peak;
pub mod record;
pub mod report;
pub mod telemetry;
pub mod train;
pub mod workload;
