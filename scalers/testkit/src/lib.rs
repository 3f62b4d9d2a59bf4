//! Real backends for tests. Each server runs from Debian's package binaries on a free loopback
//! port inside its own temp dir, and is killed (and its dir removed) when its guard drops.

pub mod faults;
pub mod mariadb;
pub mod process;
pub mod prometheus;
pub mod redis;
pub mod series;
pub mod tls;

pub use process::{ServerProcess, free_port, wait_for_port};
