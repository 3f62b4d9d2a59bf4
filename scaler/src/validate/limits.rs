//! Input limits checked before YAML parsing: a file's size, and how deep its collections nest.
//! The YAML parser's time grows with the square of the flow nesting depth (`[[[[…`), so a
//! few hundred kilobytes of brackets would take minutes; one linear pass refuses them first.

/// The limits `prescale validate` reads its inputs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes per file (or standard input).
    pub max_file_size: u64,
    /// Nesting depth of flow collections and of `- - -` block sequences on one line.
    pub max_depth: usize,
}

pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;
pub const DEFAULT_MAX_DEPTH: usize = 64;

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }
}

/// Parses a size: bytes, or a number with `Ki`, `Mi` or `Gi` (`16Mi`).
pub fn parse_size(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let (digits, unit) = match raw.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => raw.split_at(i),
        None => (raw, ""),
    };
    let factor: u64 = match unit {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        _ => {
            return Err(format!(
                "{raw:?}: expected bytes or a number with Ki, Mi or Gi"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .ok_or_else(|| format!("{raw:?} is not a size"))
}

/// Whether a `[`, `{` or quote at byte `i` starts a node: first on its line or after a space
/// or an indicator (`a[5m]` and `don't` are plain text).
fn starts_node(bytes: &[u8], i: usize) -> bool {
    i == 0
        || matches!(
            bytes[i - 1],
            b' ' | b'\t' | b'\n' | b'\r' | b':' | b'-' | b',' | b'[' | b'{'
        )
}

/// The 1-based line of the first point where nesting exceeds `max`, if any. Quoted scalars and
/// comments are skipped; the depth restarts at each `---`.
pub fn too_deep(text: &str, max: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut flow, mut line, mut i) = (0usize, 1usize, 0usize);
    let mut line_start = true;
    while i < bytes.len() {
        let c = bytes[i];
        if line_start {
            line_start = false;
            if bytes[i..].starts_with(b"---") {
                flow = 0;
            }
            // `- - - x`: each `- ` opens a block sequence
            let mut j = i;
            let mut dashes = 0;
            while j + 1 < bytes.len() && matches!(bytes[j], b' ' | b'-') {
                if bytes[j] == b'-' {
                    if !matches!(bytes[j + 1], b' ' | b'\n') {
                        break;
                    }
                    dashes += 1;
                }
                j += 1;
            }
            if dashes > max {
                return Some(line);
            }
        }
        match c {
            b'\n' => {
                line += 1;
                line_start = true;
            }
            b'#' if i == 0 || matches!(bytes[i - 1], b' ' | b'\t' | b'\n') => {
                while i + 1 < bytes.len() && bytes[i + 1] != b'\n' {
                    i += 1;
                }
            }
            b'"' | b'\'' if flow > 0 || starts_node(bytes, i) => {
                i = skip_quoted(bytes, i, &mut line);
            }
            b'[' | b'{' if flow > 0 || starts_node(bytes, i) => {
                flow += 1;
                if flow > max {
                    return Some(line);
                }
            }
            b']' | b'}' => flow = flow.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index of the closing quote of the scalar opened at `start` (counting its lines).
fn skip_quoted(bytes: &[u8], start: usize, line: &mut usize) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 1,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 1,
            b'\n' => *line += 1,
            c if c == quote => return i,
            _ => {}
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_brackets_and_dashes_are_found_in_linear_time() {
        let brackets = "a: ".to_string() + &"[".repeat(200_000);
        let t = std::time::Instant::now();
        assert_eq!(too_deep(&brackets, 64), Some(1));
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        let nested = format!("x: 1\ny: {}1{}\n", "{a: ".repeat(65), "}".repeat(65));
        assert_eq!(too_deep(&nested, 64), Some(2));
        assert_eq!(too_deep(&nested, 65), None);
        let dashes = format!("{}x\n", "- ".repeat(65));
        assert_eq!(too_deep(&dashes, 64), Some(1));
        assert_eq!(too_deep(&dashes, 65), None);
    }

    #[test]
    fn brackets_in_text_quotes_and_comments_do_not_count() {
        let ok = "query: sum(rate(x[5m])) by (a)\nre: \"[[[[\"\nq: '{{{{ it''s'\n# [[[[[[\nnote: don't [ stop\n---\nb: [[1]]\n";
        assert_eq!(too_deep(ok, 2), None);
        assert_eq!(too_deep("a: [[[1]]]\n", 2), Some(1));
        assert_eq!(too_deep("a: \"x\\\"[\"\nb: [[[1]]]\n", 2), Some(2));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16Mi"), Ok(16 << 20));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("2Ki"), Ok(2048));
        assert!(parse_size("16MB").is_err());
        assert!(parse_size("").is_err());
    }
}
