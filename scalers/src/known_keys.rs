//! Which metadata keys a trigger type reads, taken from its own parser: every lookup
//! [`crate::params::Params`] makes is noted while the parser runs, so the list cannot drift
//! from the parameter definitions. A key the parser never asked for is unknown to the type.

use crate::TriggerDefinition;
use crate::error::Result;
use crate::input::TriggerInput;
use crate::params::Source;
use std::cell::RefCell;
use std::collections::BTreeSet;

thread_local! {
    /// The keys noted by the parse running on this thread, when one is being recorded.
    static READ: RefCell<Option<BTreeSet<String>>> = const { RefCell::new(None) };
}

/// Notes that a parser asked for `name` from `source` (only metadata keys are kept).
pub(crate) fn note(name: &str, source: Source) {
    READ.with(|r| {
        if let Some(keys) = r.borrow_mut().as_mut() {
            match source {
                Source::Metadata => keys.insert(name.to_string()),
                Source::Env => keys.insert(format!("{name}FromEnv")),
                Source::Auth => false,
            };
        }
    });
}

/// Parses `input` with its type's parser ([`crate::registry::parse`]) and returns the metadata
/// keys the parser read (empty for an unknown type). The parsers look every parameter up
/// before they report a failure, so the keys are complete even when the parse fails.
pub fn parse_noting_keys(
    input: &TriggerInput,
) -> (Result<Box<dyn TriggerDefinition>>, BTreeSet<String>) {
    let previous = READ.with(|r| r.borrow_mut().replace(BTreeSet::new()));
    let parsed = crate::registry::parse(input);
    let keys = READ.with(|r| std::mem::replace(&mut *r.borrow_mut(), previous));
    (parsed, keys.unwrap_or_default())
}

/// A metadata key the trigger type does not read, with the closest key it does read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub key: String,
    pub suggestion: Option<String>,
}

/// The metadata keys of `input` that are not among `known` (from [`parse_noting_keys`]).
pub fn unknown_keys(input: &TriggerInput, known: &BTreeSet<String>) -> Vec<UnknownKey> {
    input
        .metadata
        .keys()
        .filter(|k| !known.contains(*k))
        .map(|k| UnknownKey {
            key: k.clone(),
            suggestion: suggest(k, known),
        })
        .collect()
}

/// The known key nearest to `key` by edit distance (case ignored), if it is near enough to be
/// a typo: at most a third of the key's length, and at most 3 edits.
pub fn suggest(key: &str, known: &BTreeSet<String>) -> Option<String> {
    let lower = key.to_lowercase();
    let most = (key.chars().count() / 3).clamp(1, 3);
    known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_lowercase()), k))
        .filter(|(d, _)| *d <= most)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.clone())
}

/// Levenshtein distance over characters, one row at a time.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("listLenght", "listLength"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn the_keys_come_from_the_parsers() {
        let input = TriggerInput::new(
            "redis",
            0,
            &[
                ("address", "localhost:6379"),
                ("listName", "jobs"),
                ("listLenght", "10"),
                ("passwordFromEnv", "REDIS_PASSWORD"),
                ("colour", "blue"),
            ],
        );
        let (parsed, keys) = parse_noting_keys(&input);
        assert!(parsed.is_ok());
        for k in [
            "listName",
            "listLength",
            "activationListLength",
            "passwordFromEnv",
        ] {
            assert!(keys.contains(k), "{k} not in {keys:?}");
        }
        assert_eq!(
            unknown_keys(&input, &keys),
            vec![
                UnknownKey {
                    key: "colour".into(),
                    suggestion: None
                },
                UnknownKey {
                    key: "listLenght".into(),
                    suggestion: Some("listLength".into())
                },
            ]
        );
        let prom = TriggerInput::new("prometheus", 0, &[("serverAdress", "http://p:9090")]);
        let (parsed, keys) = parse_noting_keys(&prom);
        assert!(parsed.is_err());
        assert_eq!(
            unknown_keys(&prom, &keys)[0].suggestion.as_deref(),
            Some("serverAddress"),
            "a failing parse still reads every key"
        );
        let (parsed, keys) = parse_noting_keys(&TriggerInput::new("kafka", 0, &[("x", "1")]));
        assert!(parsed.is_err() && keys.is_empty());
    }
}
