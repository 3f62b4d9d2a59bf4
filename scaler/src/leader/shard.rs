//! The shard of an object: FNV-1a (64-bit) over the UTF-8 bytes of `namespace/name`, modulo
//! the shard count. Every replica computes it the same way, across restarts and versions (not
//! Rust's randomly seeded `DefaultHasher`).

use std::hash::Hasher;

/// FNV-1a 64 of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h = fnv::FnvHasher::default();
    h.write(bytes);
    h.finish()
}

/// The shard (0..shards) of the object `namespace/name`.
pub fn shard_of(namespace: &str, name: &str, shards: u32) -> u32 {
    if shards <= 1 {
        return 0;
    }
    let mut h = fnv::FnvHasher::default();
    h.write(namespace.as_bytes());
    h.write(b"/");
    h.write(name.as_bytes());
    (h.finish() % u64::from(shards)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_specs_test_vectors() {
        // from the FNV reference test suite (draft-eastlake-fnv, test vectors for FNV-1a 64)
        for (input, want) in [
            ("", 0xcbf29ce484222325u64),
            ("a", 0xaf63dc4c8601ec8c),
            ("foobar", 0x85944171f73967e8),
        ] {
            assert_eq!(fnv1a64(input.as_bytes()), want, "{input:?}");
        }
    }

    #[test]
    fn the_shard_is_the_hash_of_namespace_slash_name_mod_n() {
        // expected values computed independently (Python: a 10-line FNV-1a 64 over the UTF-8
        // bytes, then % n)
        for (ns, name, n, want) in [
            ("default", "worker", 6, 5),
            ("jobs", "so-0", 6, 5),
            ("jobs", "so-1", 6, 4),
            ("prod", "ünïcode", 7, 5),
            ("a", "b", 1, 0),
            ("a", "b", 0, 0),
        ] {
            assert_eq!(shard_of(ns, name, n), want, "{ns}/{name} mod {n}");
            if n > 1 {
                let whole = fnv1a64(format!("{ns}/{name}").as_bytes());
                assert_eq!(u64::from(want), whole % u64::from(n));
            }
        }
    }
}
