//! Trigger metadata checks of `prescale validate` beyond what the scalers reject: keys the
//! trigger type does not read (known keys come from the scalers' own parsers, see
//! `prescale_scalers::known_keys`), credentials written inline, and Prometheus addresses that
//! are not http(s). No message quotes a value that may be secret.

use super::Problem;
use prescale_scalers::TriggerInput;
use prescale_scalers::known_keys::unknown_keys as unread;
use std::collections::BTreeSet;

/// Keys whose value is a credential whatever it looks like (compared case-insensitively).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "token",
    "bearertoken",
    "apikey",
    "secret",
    "clientsecret",
    "accesskey",
    "secretkey",
    "customauthvalue",
];

/// Keys holding an address or connection string, where `user:password@` may hide.
fn is_address_key(key: &str) -> bool {
    let k = key.to_lowercase();
    [
        "address",
        "addresses",
        "host",
        "hosts",
        "url",
        "dsn",
        "connection",
    ]
    .contains(&k.as_str())
        || k.ends_with("address")
        || k.ends_with("url")
        || k.starts_with("connectionstring")
}

/// `spec.triggers[i].metadata.KEY: unknown metadata key for TYPE[; did you mean "K"?]`.
pub fn unknown_keys(input: &TriggerInput, known: &BTreeSet<String>) -> Vec<Problem> {
    unread(input, known)
        .into_iter()
        .map(|u| {
            let hint = u
                .suggestion
                .map(|s| format!("; did you mean {s:?}?"))
                .unwrap_or_default();
            let message = format!(
                "unknown metadata key for {} (not read by this trigger type){hint}",
                input.trigger_type
            );
            Problem::trigger(input.index, &format!("metadata.{}", u.key), message)
        })
        .collect()
}

/// Whether an address or DSN carries a password: `scheme://user:pass@host`,
/// `user:pass@tcp(host)/db`, or `Password=…` pairs.
fn carries_password(value: &str) -> bool {
    let lower = value.to_lowercase();
    if lower.contains("password=") || lower.contains("pwd=") {
        return true;
    }
    value.split(',').any(|one| {
        let userinfo = match one.trim().split_once("://") {
            // a URL: the user part is within the authority, before the first `/`, `?`, `#`
            Some((_, rest)) => rest
                .split(['/', '?', '#'])
                .next()
                .and_then(|authority| authority.rsplit_once('@'))
                .map(|(u, _)| u),
            // a DSN (`user:pass@tcp(host)/db`): the user part comes first
            None => one.trim().split_once('@').map(|(u, _)| u),
        };
        userinfo
            .and_then(|u| u.split_once(':'))
            .is_some_and(|(_, pass)| !pass.is_empty())
    })
}

/// Warnings about credentials in the metadata and addresses a scaler cannot use.
pub fn warnings(input: &TriggerInput) -> Vec<String> {
    let mut out = Vec::new();
    let at = |key: &str| format!("spec.triggers[{}].metadata.{key}", input.index);
    for (key, value) in &input.metadata {
        if value.trim().is_empty() || key.ends_with("FromEnv") {
            continue;
        }
        let lower = key.to_lowercase();
        if SECRET_KEYS.contains(&lower.as_str()) {
            out.push(format!("{}: a credential is written inline in the trigger metadata; keep it in a Secret and refer to it with a TriggerAuthentication or {key}FromEnv", at(key)));
        } else if is_address_key(key) && carries_password(value) {
            out.push(format!("{}: the value carries a password inline; keep it in a Secret and refer to it with a TriggerAuthentication", at(key)));
        }
    }
    if input.trigger_type.starts_with("prometheus")
        && let Some(address) = input.metadata.get("serverAddress").map(|a| a.trim())
        && !address.is_empty()
    {
        match address.split_once("://").map(|(s, _)| s.to_lowercase()) {
            Some(s) if s == "http" || s == "https" => {}
            Some(s) => out.push(format!(
                "{}: scheme {s:?} is not http or https; Prometheus is only read over HTTP",
                at("serverAddress")
            )),
            None => out.push(format!(
                "{}: has no http:// or https:// scheme",
                at("serverAddress")
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_addresses() {
        for yes in [
            "redis://user:hunter2@redis:6379",
            "user:hunter2@tcp(db:3306)/shop",
            "http://admin:hunter2@prom:9090/",
            "Server=db;User Id=a;Password=hunter2",
            "a:6379, redis://u:p@b:6379",
        ] {
            assert!(carries_password(yes), "{yes}");
        }
        for no in [
            "redis:6379",
            "http://prom:9090/api",
            "root@tcp(db:3306)/shop",
            "http://user@prom:9090",
            "http://prom:9090/q?a=b@c:d",
        ] {
            assert!(!carries_password(no), "{no}");
        }
    }

    #[test]
    fn warnings_never_quote_the_secret() {
        let input = TriggerInput::new(
            "prometheus",
            2,
            &[
                ("serverAddress", "ftp://u:hunter2@prom/"),
                ("password", "hunter2"),
                ("passwordFromEnv", "PASS"),
                ("query", "up"),
            ],
        );
        let w = warnings(&input);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].starts_with("spec.triggers[2].metadata.password: a credential"));
        assert!(
            w[1].starts_with(
                "spec.triggers[2].metadata.serverAddress: the value carries a password"
            )
        );
        assert!(
            w[2].contains("scheme \"ftp\" is not http or https"),
            "{w:?}"
        );
        assert!(w.iter().all(|w| !w.contains("hunter2")), "{w:?}");
        let file = TriggerInput::new("prometheus", 0, &[("serverAddress", "file:///etc/passwd")]);
        assert!(warnings(&file)[0].contains("scheme \"file\""));
        let fine = TriggerInput::new("prometheus", 0, &[("serverAddress", "https://prom:9090")]);
        assert!(warnings(&fine).is_empty());
    }
}
