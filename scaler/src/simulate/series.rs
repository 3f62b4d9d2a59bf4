//! Recorded inputs of a simulation, read from files: a trigger's values over time (CSV
//! `timestamp,value` or JSON `[{"timestamp": …, "value": …}]`) or a calendar's events (CSV
//! `starts_at,ends_at,load` or JSON `[{"starts_at": …, "ends_at": …, "load": …}]`). Timestamps
//! are RFC 3339 (with an offset) or unix seconds.
//!
//! Bad rows are errors that name the file and the line (JSON: the entry): a timestamp or value
//! that does not parse, rows out of order or repeated. A series is a step function — the value
//! at `t` is the last row at or before `t`, which is what a poll at `t` would have read — so a
//! gap in the rows (more than twice the usual spacing, or NaN values, as Prometheus reports
//! missing samples) is not an error: the value is held, and the simulation says so in its
//! output ([`Series::gaps`]). A series that starts after the simulated range starts has no
//! value to hold and is an error.

use chrono::{DateTime, Utc};
use prescale_scalers::replay::Event;
use std::path::Path;

/// One trigger's values, sorted by time.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Where the values came from (a file, or `prometheus range query`).
    pub source: String,
    /// `(instant in ms, value)`; NaN = missing.
    pub points: Vec<(i64, f64)>,
}

/// What a file holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    Values(Series),
    Events(Vec<Event>),
}

/// A stretch without data, held at the last value.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub held: f64,
}

/// Reads a series or calendar file (`.json` by its extension, CSV otherwise).
pub fn read(path: &Path) -> Result<Recorded, String> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    let is_json = path
        .extension()
        .is_some_and(|x| x.eq_ignore_ascii_case("json"));
    if is_json {
        super::series_json::parse(&shown, &text)
    } else {
        parse_csv(&shown, &text)
    }
}

/// An instant as RFC 3339 (`2026-12-12T00:00:00+08:00`, seconds optional) or unix seconds.
pub fn instant(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        let ms = (secs * 1000.0).round();
        return (ms.is_finite() && ms.abs() < 1e15)
            .then(|| DateTime::from_timestamp_millis(ms as i64))
            .flatten();
    }
    DateTime::parse_from_rfc3339(t)
        .or_else(|_| DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M%:z"))
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

fn parse_csv(file: &str, text: &str) -> Result<Recorded, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows: Vec<(usize, Vec<String>)> = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| format!("{file}: {e}"))?;
        let line = r.position().map_or(0, |p| p.line() as usize);
        if r.iter().all(str::is_empty) {
            continue;
        }
        rows.push((line, r.iter().map(str::to_string).collect()));
    }
    // a first row whose first cell is not an instant is the header
    if rows.first().is_some_and(|(_, r)| instant(&r[0]).is_none()) {
        rows.remove(0);
    }
    let width = rows.first().map_or(2, |(_, r)| r.len());
    match width {
        2 => values(
            file,
            rows.into_iter().map(|(l, r)| (format!("line {l}"), r)),
        )
        .map(Recorded::Values),
        3 => events(
            file,
            rows.into_iter().map(|(l, r)| (format!("line {l}"), r)),
        )
        .map(Recorded::Events),
        n => Err(format!(
            "{file}: rows have {n} columns; expected timestamp,value or starts_at,ends_at,load"
        )),
    }
}

/// Values from rows `[timestamp, value]`, each with its place (`line 3`, `entry 2`).
pub fn values(
    file: &str,
    rows: impl Iterator<Item = (String, Vec<String>)>,
) -> Result<Series, String> {
    let mut points: Vec<(i64, f64)> = Vec::new();
    for (at, row) in rows {
        let [ts, value] = row.as_slice() else {
            return Err(format!(
                "{file}: {at}: expected 2 columns (timestamp,value), got {}",
                row.len()
            ));
        };
        let t = instant(ts).ok_or_else(|| {
            format!("{file}: {at}: timestamp {ts:?} is neither RFC 3339 nor unix seconds")
        })?;
        let v = number(value)
            .ok_or_else(|| format!("{file}: {at}: value {value:?} is not a number"))?;
        let ms = t.timestamp_millis();
        if let Some(&(prev, _)) = points.last()
            && ms <= prev
        {
            return Err(format!(
                "{file}: {at}: timestamp {ts} is not after the row before it ({}): rows must be sorted by time, without repeats",
                show(prev)
            ));
        }
        points.push((ms, v));
    }
    if points.is_empty() {
        return Err(format!("{file}: no rows"));
    }
    Ok(Series {
        source: file.to_string(),
        points,
    })
}

/// Events from rows `[starts_at, ends_at, load]`.
pub fn events(
    file: &str,
    rows: impl Iterator<Item = (String, Vec<String>)>,
) -> Result<Vec<Event>, String> {
    let mut out = Vec::new();
    for (at, row) in rows {
        let [s, e, load] = row.as_slice() else {
            return Err(format!(
                "{file}: {at}: expected 3 columns (starts_at,ends_at,load), got {}",
                row.len()
            ));
        };
        let when = |name: &str, v: &str| {
            instant(v).ok_or_else(|| {
                format!("{file}: {at}: {name} {v:?} is neither RFC 3339 nor unix seconds")
            })
        };
        let (start, end) = (when("starts_at", s)?, when("ends_at", e)?);
        if end <= start {
            return Err(format!(
                "{file}: {at}: ends_at {e} is not after starts_at {s}"
            ));
        }
        let load = number(load)
            .filter(|l| l.is_finite())
            .ok_or_else(|| format!("{file}: {at}: load {load:?} is not a number"))?;
        out.push(Event { start, end, load });
    }
    Ok(out)
}

/// A value cell: a number, or `NaN` (missing, as Prometheus writes it).
fn number(text: &str) -> Option<f64> {
    match text.trim() {
        "NaN" | "nan" => Some(f64::NAN),
        t => t.parse::<f64>().ok().filter(|v| v.is_finite()),
    }
}

fn show(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms).map_or_else(|| ms.to_string(), |t| t.to_rfc3339())
}

impl Series {
    /// Checks that the series has a value at `from` and finds the stretches of `[from, to]`
    /// it holds at a last value: missing samples, rows further apart than twice the usual
    /// spacing, and the end when the rows stop before `to`.
    pub fn gaps(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Gap>, String> {
        let (from_ms, to_ms) = (from.timestamp_millis(), to.timestamp_millis());
        let first = self.points.iter().find(|(_, v)| !v.is_nan()).map(|p| p.0);
        match first {
            None => return Err(format!("{}: no numeric value at all", self.source)),
            Some(f) if f > from_ms => {
                return Err(format!(
                    "{}: the first value is at {}, after the start of the range {}: no value to start from",
                    self.source,
                    show(f),
                    from.to_rfc3339()
                ));
            }
            _ => {}
        }
        let usual = self.usual_spacing();
        let mut gaps = Vec::new();
        let mut last: Option<(i64, f64)> = None;
        for &(t, v) in self.points.iter().filter(|(_, v)| !v.is_nan()) {
            if let Some((lt, lv)) = last
                && t - lt > 2 * usual
                && t > from_ms
                && lt < to_ms
            {
                gaps.push((lt.max(from_ms), t.min(to_ms), lv));
            }
            last = Some((t, v));
        }
        if let Some((lt, lv)) = last
            && lt + usual < to_ms
        {
            gaps.push((lt.max(from_ms), to_ms, lv));
        }
        Ok(gaps
            .into_iter()
            .filter_map(|(a, b, held)| {
                Some(Gap {
                    from: DateTime::from_timestamp_millis(a)?,
                    to: DateTime::from_timestamp_millis(b)?,
                    held,
                })
            })
            .collect())
    }

    /// The median spacing of the rows (1 s for a single row).
    fn usual_spacing(&self) -> i64 {
        let mut d: Vec<i64> = self.points.windows(2).map(|w| w[1].0 - w[0].0).collect();
        d.sort_unstable();
        d.get(d.len() / 2).copied().unwrap_or(1000).max(1)
    }

    /// The value at `t` (ms): the last numeric row at or before it. `cursor` remembers where
    /// the previous call ended, so a forward walk costs O(1) per call.
    pub fn at(&self, t: i64, cursor: &mut usize) -> Option<f64> {
        let p = &self.points;
        if *cursor >= p.len() || p[*cursor].0 > t {
            *cursor = p.partition_point(|(pt, _)| *pt <= t).saturating_sub(1);
        }
        while *cursor + 1 < p.len() && p[*cursor + 1].0 <= t {
            *cursor += 1;
        }
        if p.first().is_none_or(|(t0, _)| *t0 > t) {
            return None;
        }
        p[..=*cursor]
            .iter()
            .rev()
            .map(|(_, v)| *v)
            .find(|v| !v.is_nan())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn csv(text: &str) -> Result<Recorded, String> {
        parse_csv("f.csv", text)
    }

    fn series(text: &str) -> Series {
        match csv(text).unwrap() {
            Recorded::Values(s) => s,
            other => panic!("{other:?}"),
        }
    }

    fn utc(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 11, h, m, s).unwrap()
    }

    #[test]
    fn csv_values_with_header_comments_and_both_time_forms() {
        let s = series(
            "timestamp,value\n# a comment\n2026-12-11T16:00:00Z,1\n2026-12-12T00:00:15+08:00, 2.5\n1797004830,3\n",
        );
        assert_eq!(
            s.points,
            vec![
                (utc(16, 0, 0).timestamp_millis(), 1.0),
                (utc(16, 0, 15).timestamp_millis(), 2.5),
                (utc(16, 0, 30).timestamp_millis(), 3.0)
            ]
        );
        let mut c = 0;
        assert_eq!(s.at(utc(15, 59, 59).timestamp_millis(), &mut c), None);
        assert_eq!(s.at(utc(16, 0, 14).timestamp_millis(), &mut c), Some(1.0));
        assert_eq!(s.at(utc(16, 0, 15).timestamp_millis(), &mut c), Some(2.5));
        assert_eq!(s.at(utc(17, 0, 0).timestamp_millis(), &mut c), Some(3.0));
        assert_eq!(
            s.at(utc(16, 0, 1).timestamp_millis(), &mut c),
            Some(1.0),
            "backwards"
        );
    }

    #[test]
    fn bad_rows_name_the_file_and_line() {
        let e = csv("timestamp,value\n2026-12-11T16:00:00Z,1\n2026-12-11T16:00:15Z,many\n")
            .unwrap_err();
        assert_eq!(e, "f.csv: line 3: value \"many\" is not a number");
        let e = csv("2026-12-11T16:00:15Z,1\n2026-12-11T16:00:00Z,2\n").unwrap_err();
        assert!(e.starts_with("f.csv: line 2: timestamp 2026-12-11T16:00:00Z is not after the row before it (2026-12-11T16:00:15+00:00)"), "{e}");
        let e = csv("2026-12-11T16:00:00Z,1\n2026-12-11T16:00:00Z,2\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("without repeats"), "{e}");
        let e = csv("timestamp,value\nyesterday,1\n").unwrap_err();
        assert_eq!(
            e,
            "f.csv: line 2: timestamp \"yesterday\" is neither RFC 3339 nor unix seconds"
        );
        let e = csv("timestamp,value\n").unwrap_err();
        assert_eq!(e, "f.csv: no rows");
        let e = csv("2026-12-11T16:00:00Z,1\n2026-12-11T16:00:15Z,1,2\n").unwrap_err();
        assert!(e.starts_with("f.csv: line 2: expected 2 columns"), "{e}");
    }

    #[test]
    fn calendar_rows_are_events() {
        let Recorded::Events(e) = csv(
            "starts_at,ends_at,load\n2026-12-02T19:00:00+08:00,2026-12-02T20:00:00+08:00,130\n",
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].load, 130.0);
        assert_eq!(
            e[0].start,
            Utc.with_ymd_and_hms(2026, 12, 2, 11, 0, 0).unwrap()
        );
        let bad = csv("starts_at,ends_at,load\n2026-12-02T19:00:00Z,2026-12-02T18:00:00Z,1\n")
            .unwrap_err();
        assert_eq!(
            bad,
            "f.csv: line 2: ends_at 2026-12-02T18:00:00Z is not after starts_at 2026-12-02T19:00:00Z"
        );
    }

    #[test]
    fn gaps_are_held_and_a_late_start_is_an_error() {
        let s = series(
            "2026-12-11T16:00:00Z,1\n2026-12-11T16:00:15Z,2\n2026-12-11T16:00:30Z,NaN\n2026-12-11T16:00:45Z,NaN\n2026-12-11T16:01:00Z,5\n2026-12-11T16:01:15Z,6\n",
        );
        let gaps = s.gaps(utc(16, 0, 0), utc(16, 2, 0)).unwrap();
        assert_eq!(
            gaps,
            vec![
                Gap {
                    from: utc(16, 0, 15),
                    to: utc(16, 1, 0),
                    held: 2.0
                },
                Gap {
                    from: utc(16, 1, 15),
                    to: utc(16, 2, 0),
                    held: 6.0
                },
            ]
        );
        let mut c = 0;
        assert_eq!(
            s.at(utc(16, 0, 50).timestamp_millis(), &mut c),
            Some(2.0),
            "NaN is held over"
        );
        assert!(s.gaps(utc(16, 0, 0), utc(16, 1, 15)).unwrap().len() == 1);
        let e = s.gaps(utc(15, 0, 0), utc(16, 1, 0)).unwrap_err();
        assert!(e.contains("after the start of the range"), "{e}");
    }
}
