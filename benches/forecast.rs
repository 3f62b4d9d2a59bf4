//! Forecast quality of the `prometheus-forecast` trigger's model on held-out days, against
//! naive baselines, on (a) generated series and (b) a generated series replayed through a
//! real Prometheus (backfilled with `promtool`) and read back by the trigger's own fetch path
//! (first read in chunks, then one incremental range query a minute).
//!
//! Each series has 21 days of one-minute points; the first 14 days are history only, and on
//! the last 7 days a forecast for `t + 15m` is made at every minute `t` from the points up to
//! `t`. Prints Markdown tables: MAPE, the share of points under-forecast by more than 10%
//! (all points, and the 5% highest actual values), and the mean excess over the actual value
//! (the cost of over-forecasting).
//!
//! Run: `cargo bench -p prescale-benches --bench forecast` (prometheus and promtool from
//! `scripts/setup.sh`).

use chrono::{TimeZone, Utc};
use prescale_scalers::forecast::{self, DAY, Model, Seasonality, Series, WEEK};
use prescale_scalers::prometheus_forecast::PrometheusForecastDefinition;
use prescale_scalers::{Context, ManualClock, Scaler, TriggerInput};
use prescale_testkit::prometheus::PrometheusServer;
use std::sync::Arc;
use std::time::{Duration, Instant};

const STEP: i64 = 60;
const HORIZON: i64 = 900;
/// Monday 2026-01-05 00:00 UTC.
const MONDAY: i64 = 1_767_571_200;

/// Deterministic standard normal noise for time `t` (SplitMix64 + Box–Muller).
fn gauss(t: i64, seed: u64) -> f64 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let a = mix(t as u64 ^ seed.rotate_left(17));
    let b = mix(a);
    let u1 = ((a >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let u2 = (b >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// 0 = Monday.
fn weekday(t: i64) -> i64 {
    (t.div_euclid(DAY) + 3).rem_euclid(7)
}

fn hour(t: i64) -> f64 {
    t.rem_euclid(DAY) as f64 / 3600.0
}

fn bump(h: f64, center: f64, width: f64) -> f64 {
    (-((h - center) / width).powi(2) / 2.0).exp()
}

/// The kinds of traffic generated. `days` counts from the series' start (for the trend).
#[derive(Clone, Copy)]
enum Kind {
    /// School-like: a morning rise and a sharp evening peak on weekdays, quiet weekends,
    /// +1%/day, 5% noise.
    School,
    /// Shop-like: lunchtime and after-work bumps on weekdays, a broad and higher weekend
    /// afternoon, +0.5%/day, 8% noise.
    Shop,
    /// A batch job: a flat diurnal load with a 10-minute spike to 10× at 09:00 on weekdays,
    /// 3% noise.
    Batch,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::School => "school (evening peak, quiet weekend)",
            Kind::Shop => "shop (weekend high)",
            Kind::Batch => "batch (09:00 weekday spike)",
        }
    }

    fn value(self, t: i64, start: i64) -> f64 {
        let days = (t - start) as f64 / DAY as f64;
        let h = hour(t);
        let weekend = weekday(t) >= 5;
        match self {
            Kind::School => {
                let shape = if weekend {
                    10.0 * bump(h, 15.0, 3.0)
                } else {
                    40.0 * bump(h, 8.0, 1.0)
                        + 30.0 * bump(h, 13.0, 2.0)
                        + 120.0 * bump(h, 19.0, 1.2)
                };
                (20.0 + shape) * (1.0 + 0.01 * days) * (1.0 + 0.05 * gauss(t, 1))
            }
            Kind::Shop => {
                let shape = if weekend {
                    130.0 * bump(h, 14.0, 3.0)
                } else {
                    50.0 * bump(h, 12.5, 1.5) + 40.0 * bump(h, 18.0, 2.0)
                };
                (15.0 + shape) * (1.0 + 0.005 * days) * (1.0 + 0.08 * gauss(t, 2))
            }
            Kind::Batch => {
                let diurnal = 20.0 + 5.0 * (2.0 * std::f64::consts::PI * (h - 6.0) / 24.0).sin();
                let spike = !weekend && (9.0..9.0 + 10.0 / 60.0).contains(&h);
                diurnal * if spike { 10.0 } else { 1.0 } * (1.0 + 0.03 * gauss(t, 3))
            }
        }
    }

    fn points(self, start: i64, days: i64) -> Vec<(i64, f64)> {
        (0..=days * DAY / STEP)
            .map(|i| {
                let t = start + i * STEP;
                (t, self.value(t, start))
            })
            .collect()
    }
}

/// Errors of one forecaster over the held-out points.
#[derive(Default)]
struct Score {
    n: usize,
    ape: f64,
    under: usize,
    excess: f64,
    peak_n: usize,
    peak_under: usize,
}

impl Score {
    fn add(&mut self, forecast: f64, actual: f64, peak_floor: f64) {
        self.n += 1;
        self.ape += (forecast - actual).abs() / actual;
        self.excess += (forecast - actual).max(0.0) / actual;
        let under = forecast < 0.9 * actual;
        self.under += under as usize;
        if actual >= peak_floor {
            self.peak_n += 1;
            self.peak_under += under as usize;
        }
    }

    fn row(&self, series: &str, name: &str) {
        let pct = |x: f64| format!("{:.1}%", 100.0 * x);
        println!(
            "| {series} | {name} | {} | {} | {} | {} |",
            pct(self.ape / self.n as f64),
            pct(self.under as f64 / self.n as f64),
            pct(self.peak_under as f64 / self.peak_n.max(1) as f64),
            pct(self.excess / self.n as f64),
        );
    }
}

fn header() {
    println!("| series | forecaster | MAPE | under >10% | under >10% at peaks | mean excess |");
    println!("|---|---|---|---|---|---|");
}

/// The actual value at the 95th percentile of the held-out targets ("peaks" are above it).
fn peak_floor(s: &Series, from: i64, to: i64) -> f64 {
    let mut v: Vec<f64> = s.range(from, to).map(|p| p.1).collect();
    forecast::quantile(&mut v, 0.95).unwrap_or(f64::INFINITY)
}

fn model(q: f64, seasonality: Seasonality, history_days: i64) -> Model {
    Model::new(q, seasonality, STEP, history_days * DAY)
}

const BOTH: Seasonality = Seasonality {
    daily: true,
    weekly: true,
};
const DAILY: Seasonality = Seasonality {
    daily: true,
    weekly: false,
};

/// (a) Generated series: every forecaster on the last 7 of 21 days.
fn generated(kind: Kind) {
    let start = MONDAY;
    let s = Series::from_points(STEP, &kind.points(start, 21));
    let eval_from = start + 14 * DAY;
    let eval_to = start + 21 * DAY - HORIZON;
    let floor = peak_floor(&s, eval_from + HORIZON, eval_to + HORIZON);
    let models: Vec<(&str, Model)> = vec![
        (
            "model (defaults: 7d, q 0.9, daily+weekly)",
            model(0.9, BOTH, 7),
        ),
        ("model, 14d history", model(0.9, BOTH, 14)),
        ("model, q 0.5", model(0.5, BOTH, 7)),
        ("model, daily only", model(0.9, DAILY, 7)),
    ];
    let mut scores: Vec<Score> = (0..models.len() + 4).map(|_| Score::default()).collect();
    let started = Instant::now();
    let mut forecasts = 0usize;
    let mut t = eval_from;
    while t <= eval_to {
        let target = t + HORIZON;
        let (Some(actual), Some(now_v)) = (s.get(target), s.get(t)) else {
            t += STEP;
            continue;
        };
        for (i, (_, m)) in models.iter().enumerate() {
            let f = forecast::forecast(&s, t, target, m).map_or(now_v, |f| f.value);
            scores[i].add(f, actual, floor);
            forecasts += 1;
            if i == 0 {
                // what the HPA sees
                scores[models.len()].add(now_v.max(f), actual, floor);
            }
        }
        let n = models.len();
        scores[n + 1].add(now_v, actual, floor);
        scores[n + 2].add(s.get(target - DAY).unwrap_or(now_v), actual, floor);
        scores[n + 3].add(s.get(target - WEEK).unwrap_or(now_v), actual, floor);
        t += STEP;
    }
    let per = started.elapsed() / forecasts.max(1) as u32;
    let name = kind.name();
    for (i, (label, _)) in models.iter().enumerate() {
        scores[i].row(name, label);
    }
    let n = models.len();
    scores[n].row(name, "**served: max(actual now, model)**");
    scores[n + 1].row(name, "naive: last value");
    scores[n + 2].row(name, "naive: same time yesterday");
    scores[n + 3].row(name, "naive: same time last week");
    eprintln!("{name}: {forecasts} forecasts, {per:?} each");
}

/// (b) The school series ending now, backfilled into Prometheus and replayed minute by minute
/// through the trigger (defaults: 7d history, 1m step, 15m horizon).
async fn replayed() {
    let kind = Kind::School;
    let end = Utc::now().timestamp().div_euclid(STEP) * STEP - STEP;
    let start = end - 21 * DAY;
    let points = kind.points(start, 21);
    let truth = Series::from_points(STEP, &points);
    let p = PrometheusServer::start_with_backfill("bench_load", &points, &[]);
    let probe = format!("count_over_time(bench_load[10h] @ {})", start + 10 * 3600);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !p.instant_query(&probe).contains("\"601\"") {
        assert!(
            Instant::now() < deadline,
            "backfill not visible:\n{}",
            p.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    let eval_from = start + 14 * DAY;
    let eval_to = end - HORIZON;
    let clock = ManualClock::new(Utc.timestamp_opt(eval_from + 5, 0).unwrap());
    let ctx = Context {
        clock: Arc::new(clock.clone()),
        default_timeout: Duration::from_secs(10),
        ..Context::default()
    };
    let input = TriggerInput::new(
        "prometheus-forecast",
        0,
        &[
            ("serverAddress", &p.address()),
            ("query", "max(bench_load)"),
            ("threshold", "10"),
        ],
    );
    let def = PrometheusForecastDefinition::parse(&input).expect("parse");
    let m = def.settings.model();
    let s = def.connect_forecast(&ctx).await.expect("connect");
    let floor = peak_floor(&truth, eval_from + HORIZON, eval_to + HORIZON);
    let (mut served, mut fc, mut last, mut yesterday) = Default::default();
    let (served, fc, last, yesterday): (&mut Score, &mut Score, &mut Score, &mut Score) =
        (&mut served, &mut fc, &mut last, &mut yesterday);
    let mut max_diff: f64 = 0.0;
    let started = Instant::now();
    let mut t = eval_from;
    let mut polls = 0u32;
    while t <= eval_to {
        clock.set(Utc.timestamp_opt(t + 5, 0).unwrap());
        let sample = s.sample().await.expect("sample");
        polls += 1;
        let st = s.stats();
        let actual = truth.get(t + HORIZON).expect("truth");
        let now_v = st.last_actual.expect("actual");
        let f = st.last_forecast.map_or(now_v, |f| f.value);
        // the same forecast from the generated points directly: the fetch path loses nothing
        let direct = forecast::forecast(&truth, t, t + HORIZON, &m).map_or(now_v, |f| f.value);
        max_diff = max_diff.max((direct - f).abs() / direct.abs().max(1e-9));
        served.add(sample.value, actual, floor);
        fc.add(f, actual, floor);
        last.add(now_v, actual, floor);
        yesterday.add(truth.get(t + HORIZON - DAY).unwrap_or(now_v), actual, floor);
        t += STEP;
    }
    let elapsed = started.elapsed();
    let name = "school, replayed through Prometheus";
    fc.row(name, "trigger's forecast");
    served.row(name, "**trigger's served value**");
    last.row(name, "naive: last value");
    yesterday.row(name, "naive: same time yesterday");
    let st = s.stats();
    println!();
    println!(
        "Replay: {polls} polls in {:.1} s ({:.2} ms each: instant query, range query, forecast); {} range queries, {} points read (first read {} points in 2 queries, then about one point per poll); largest relative difference from the model run on the generated points: {max_diff:.2e}",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e3 / polls as f64,
        st.range_requests,
        st.points_fetched,
        (m.lookback() + STEP - 1) / STEP + 1,
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("## Generated series (21 days, last 7 held out, forecast for t + 15m every minute)\n");
    header();
    for kind in [Kind::School, Kind::Shop, Kind::Batch] {
        generated(kind);
    }
    println!("\n## Replayed through a real Prometheus\n");
    header();
    replayed().await;
}
