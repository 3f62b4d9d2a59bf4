//! Prescale's benchmarks live in this package's bench targets (`cargo bench -p
//! prescale-benches`); see README.md for the figures and the commands that produced them.
