//! Which shards to hold: a pure decision over the shard Leases as this replica saw them and
//! the number of live replicas (presence Leases). A replica's fair share is
//! `ceil(shards / live replicas)`; over it, it releases its highest shards; under it, it takes
//! free or expired shards, lowest first. Two replicas taking the same shard at once is settled
//! by the API (the second write conflicts).

/// One shard Lease as seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardView {
    pub holder: Option<String>,
    /// Unchanged for longer than its duration (or held by nobody).
    pub expired: bool,
}

/// What to do this round.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Decision {
    /// Shards to renew (ours) or take (free or expired), lowest first.
    pub hold: Vec<u32>,
    /// Our shards to give up (after stopping their work), lowest first.
    pub release: Vec<u32>,
}

/// `ceil(shards / live)` (at least one replica lives: this one).
pub fn fair_share(shards: u32, live: usize) -> usize {
    (shards as usize).div_ceil(live.max(1))
}

/// The decision for replica `me`.
pub fn decide(me: &str, shards: &[ShardView], live: usize) -> Decision {
    let share = fair_share(shards.len() as u32, live);
    let mine: Vec<u32> = (0..shards.len() as u32)
        .filter(|i| shards[*i as usize].holder.as_deref() == Some(me))
        .collect();
    if mine.len() > share {
        return Decision {
            hold: mine[..share].to_vec(),
            release: mine[share..].to_vec(),
        };
    }
    let free = (0..shards.len() as u32).filter(|i| {
        let s = &shards[*i as usize];
        s.expired && s.holder.as_deref() != Some(me)
    });
    let mut hold = mine.clone();
    hold.extend(free.take(share - mine.len()));
    hold.sort_unstable();
    Decision {
        hold,
        release: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `"a"`: held by a (live), `"a!"`: held by a but expired, `""`: free.
    fn views(spec: &[&str]) -> Vec<ShardView> {
        spec.iter()
            .map(|s| {
                let (holder, expired) = match s.strip_suffix('!') {
                    Some(h) => (Some(h.to_string()), true),
                    None if s.is_empty() => (None, true),
                    None => (Some(s.to_string()), false),
                };
                ShardView { holder, expired }
            })
            .collect()
    }

    #[test]
    fn fair_share_is_the_ceiling() {
        for (shards, live, want) in [
            (6, 1, 6),
            (6, 2, 3),
            (6, 3, 2),
            (6, 4, 2),
            (6, 7, 1),
            (1, 0, 1),
        ] {
            assert_eq!(fair_share(shards, live), want, "{shards}/{live}");
        }
    }

    /// (me, shard holders, live replicas, hold, release)
    type Case<'a> = (&'a str, &'a [&'a str], usize, &'a [u32], &'a [u32]);

    #[test]
    fn decisions() {
        #[rustfmt::skip]
        let cases: &[Case] = &[
            // (me, shard holders, live replicas, hold, release)
            // alone: take everything free
            ("a", &["", "", "", "", "", ""], 1, &[0, 1, 2, 3, 4, 5], &[]),
            // a second replica appears: keep the lowest half, release the rest
            ("a", &["a", "a", "a", "a", "a", "a"], 2, &[0, 1, 2], &[3, 4, 5]),
            // the newcomer takes nothing while a still holds them, then the released ones
            ("b", &["a", "a", "a", "a", "a", "a"], 2, &[], &[]),
            ("b", &["a", "a", "a", "", "", ""], 2, &[3, 4, 5], &[]),
            // three replicas, balanced: renew own only
            ("c", &["a", "a", "b", "b", "c", "c"], 3, &[4, 5], &[]),
            // a killed replica's shards expire: the survivors take up to their share
            ("a", &["a", "a", "b", "b", "c!", "c!"], 2, &[0, 1, 4], &[]),
            ("b", &["a", "a", "b", "b", "a", "c!"], 2, &[2, 3, 5], &[]),
            // a not yet expired holder is left alone even when we are under our share
            ("a", &["a", "b", "b", "b", "b", "b"], 2, &[0], &[]),
            // our own claim that we could not renew in time is still ours to renew
            ("a", &["a!", "b", "b", "", "", ""], 2, &[0, 3, 4], &[]),
            // a fourth replica: each of three releases down to ceil(6/4) = 2
            ("a", &["a", "a", "a", "b", "b", "b"], 3, &[0, 1], &[2]),
            // more replicas than shards: one each at most
            ("d", &["a", "b", "c", ""], 5, &[3], &[]),
            ("a", &["a", "a", "c", ""], 5, &[0], &[1]),
        ];
        for (me, holders, live, hold, release) in cases {
            let d = decide(me, &views(holders), *live);
            assert_eq!(
                d,
                Decision {
                    hold: hold.to_vec(),
                    release: release.to_vec()
                },
                "{me} with {holders:?}, {live} live"
            );
        }
    }
}
