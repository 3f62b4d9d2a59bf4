//! Seasonal forecasting of a metric from its own history: pure functions, no I/O. Used by the
//! `prometheus-forecast` trigger and measured by `benches/forecast.rs`.
//!
//! # Data
//! A [`Series`] is a regular grid of samples (`step` seconds apart, timestamps in Unix seconds);
//! missing samples are NaN and every statistic skips them, so gaps in the history only thin the
//! data out.
//!
//! # Model
//! For the target time `T = now + horizon`, with `w` = [`Model::half_window`] (default
//! `max(2·step, 150 s)`, so at least a 5-minute window):
//!
//! 1. **Profiles.** The daily profile `D_q(T)` is the `q`-quantile (linear interpolation) of all
//!    samples within `±w` of `T − k·1d`, `k = 1..K_days`; the weekly profile `W_q(T)` is the same
//!    around `T − k·7d`, `k = 1..K_weeks`. Only samples at or before `now` are used. A profile
//!    with no samples is unavailable.
//! 2. **Combination.** The seasonal value `S_q(T)` is the weighted mean of the available enabled
//!    profiles. Each profile's weight is `1 / (L + ε)²`, where `L` is the mean pinball loss of
//!    its own `q`-quantile forecasts against the actual values of the last 24 hours (at most 96
//!    evenly spaced points; the loss of forecasting `f` when `a` happened is `q·(a − f)` when
//!    under, `(1 − q)·(f − a)` when over) and `ε` is 0.1% of the mean actual level. A profile
//!    that has described the recent past well dominates: on a Sunday the daily profile (mostly
//!    weekdays) is far off and the weekly one takes over, so Monday's rise is forecast from last
//!    Monday; on weekdays of a shop whose weekends are busier, the daily profile's high quantile
//!    is pulled up by the weekend and the weekly one takes over again. Without enough recent
//!    actuals (fewer than 4 points where both profiles exist) the weights are equal. The
//!    weights need the history to reach `1d` (plus the window) beyond the longest lag.
//! 3. **Trend.** `r = mean(actual over the last hour) / mean(S_0.5 over the same times)`, on the
//!    times where both exist, clamped to `[0.5, 2]`; `r = 1` when fewer than a quarter of the
//!    last hour's samples exist or the baseline is not positive. This carries growth (and a
//!    day that runs above or below its usual level) into the forecast.
//! 4. **Forecast** `= S_q(T) · r`.
//!
//! The quantile (`q`, default 0.9) makes the profile lean to the high side of the repeat, so
//! the forecast covers a peak that does not come back exactly to the minute or the unit; the
//! trigger then serves `max(actual, forecast)`.

#[cfg(test)]
mod tests;

use std::collections::VecDeque;

/// Seconds in a day.
pub const DAY: i64 = 86_400;
/// Seconds in a week.
pub const WEEK: i64 = 7 * DAY;

/// Samples on a regular grid of `step` seconds; NaN marks a missing sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    step: i64,
    start: i64,
    values: VecDeque<f64>,
}

impl Series {
    /// An empty series with `step` seconds between samples (at least 1).
    pub fn new(step: i64) -> Self {
        Self {
            step: step.max(1),
            start: 0,
            values: VecDeque::new(),
        }
    }

    /// A series from `(timestamp, value)` points, in any order.
    pub fn from_points(step: i64, points: &[(i64, f64)]) -> Self {
        let mut s = Self::new(step);
        for &(t, v) in points {
            s.insert(t, v);
        }
        s
    }

    pub fn step(&self) -> i64 {
        self.step
    }

    /// Grid slots held (missing samples included).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// How many slots hold a finite value.
    pub fn count_finite(&self) -> usize {
        self.values.iter().filter(|v| v.is_finite()).count()
    }

    /// Timestamp of the first slot.
    pub fn first_ts(&self) -> Option<i64> {
        (!self.is_empty()).then_some(self.start)
    }

    /// Timestamp of the last slot.
    pub fn last_ts(&self) -> Option<i64> {
        (!self.is_empty()).then(|| self.start + (self.values.len() as i64 - 1) * self.step)
    }

    /// The grid time nearest to `ts` (grid anchored at multiples of `step`).
    pub fn align(&self, ts: i64) -> i64 {
        (ts + self.step / 2).div_euclid(self.step) * self.step
    }

    /// Stores `v` at the grid slot nearest to `ts`, growing the series with missing samples as
    /// needed; an existing value there is replaced.
    pub fn insert(&mut self, ts: i64, v: f64) {
        let ts = self.align(ts);
        if self.values.is_empty() {
            self.start = ts;
            self.values.push_back(v);
            return;
        }
        if ts < self.start {
            let n = ((self.start - ts) / self.step) as usize;
            for _ in 0..n {
                self.values.push_front(f64::NAN);
            }
            self.start = ts;
        }
        let idx = ((ts - self.start) / self.step) as usize;
        while self.values.len() <= idx {
            self.values.push_back(f64::NAN);
        }
        self.values[idx] = v;
    }

    /// Drops every slot before `ts`.
    pub fn trim_before(&mut self, ts: i64) {
        while !self.values.is_empty() && self.start < ts {
            self.values.pop_front();
            self.start += self.step;
        }
    }

    /// The finite value at the grid slot nearest to `ts`.
    pub fn get(&self, ts: i64) -> Option<f64> {
        let ts = self.align(ts);
        if self.values.is_empty() || ts < self.start {
            return None;
        }
        let idx = ((ts - self.start) / self.step) as usize;
        self.values.get(idx).copied().filter(|v| v.is_finite())
    }

    /// Finite values at grid times in `[from, to]`, with their times.
    pub fn range(&self, from: i64, to: i64) -> impl Iterator<Item = (i64, f64)> + '_ {
        let (first, last) = match self.last_ts() {
            Some(last) => (from.max(self.start), to.min(last)),
            None => (1, 0),
        };
        let lo = if first > last {
            1
        } else {
            (first - self.start + self.step - 1).div_euclid(self.step)
        };
        let hi = if first > last {
            0
        } else {
            (last - self.start).div_euclid(self.step)
        };
        (lo..=hi).filter_map(move |i| {
            let v = self.values[i as usize];
            v.is_finite().then_some((self.start + i * self.step, v))
        })
    }
}

/// Which seasonal profiles the model uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seasonality {
    pub daily: bool,
    pub weekly: bool,
}

impl Default for Seasonality {
    fn default() -> Self {
        Self {
            daily: true,
            weekly: true,
        }
    }
}

/// Parameters of the model (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Quantile of the seasonal profiles, in (0, 1].
    pub quantile: f64,
    pub seasonality: Seasonality,
    /// Samples within ± this many seconds of each lagged time belong to the profile.
    pub half_window: i64,
    /// Daily lags used (`K_days`).
    pub max_days: usize,
    /// Weekly lags used (`K_weeks`).
    pub max_weeks: usize,
    /// Seconds of recent actuals that set the trend ratio.
    pub trend_window: i64,
    /// Bounds of the trend ratio.
    pub trend_clamp: (f64, f64),
    /// Seconds of recent actuals that weigh the profiles against each other.
    pub weight_window: i64,
}

impl Model {
    /// The default model for a history of `history` seconds sampled every `step` seconds:
    /// up to 7 daily lags and up to 4 weekly lags, as far as the history reaches.
    pub fn new(quantile: f64, seasonality: Seasonality, step: i64, history: i64) -> Self {
        Self {
            quantile,
            seasonality,
            half_window: (2 * step).max(150),
            max_days: (history / DAY).clamp(0, 7) as usize,
            max_weeks: (history / WEEK).clamp(0, 4) as usize,
            trend_window: 3600,
            trend_clamp: (0.5, 2.0),
            weight_window: DAY,
        }
    }
}

impl Model {
    /// Seconds of history before `now` that a forecast can read: the longest lag, the window
    /// around it and the day over which the profiles are weighed.
    pub fn lookback(&self) -> i64 {
        let lags = (self.max_days as i64 * DAY).max(self.max_weeks as i64 * WEEK);
        lags + self.half_window + self.weight_window.max(self.trend_window)
    }
}

/// A forecast and its parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forecast {
    /// `seasonal · trend`.
    pub value: f64,
    /// `S_q(T)`.
    pub seasonal: f64,
    /// `r`.
    pub trend: f64,
    /// `D_q(T)`, when enabled and available.
    pub daily: Option<f64>,
    /// `W_q(T)`, when enabled and available.
    pub weekly: Option<f64>,
    /// Weight of the daily profile in `S` (0 when absent).
    pub daily_weight: f64,
}

/// The pinball (quantile) loss of forecasting `f` for the `q`-quantile when `a` happened:
/// under-forecasts cost `q` per unit, over-forecasts `1 − q`.
pub fn pinball(q: f64, a: f64, f: f64) -> f64 {
    if a >= f {
        q * (a - f)
    } else {
        (1.0 - q) * (f - a)
    }
}

/// The `q`-quantile of `v` (linear interpolation between order statistics; sorts `v`).
pub fn quantile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// One seasonal profile: the `q`-quantile of the samples of `s` within `±half_window` of
/// `t − k·period`, `k = 1..=lags`, using only samples at or before `now`.
pub fn profile(s: &Series, t: i64, now: i64, lags: Lags, q: f64) -> Option<f64> {
    profile_into(s, t, now, lags, q, &mut Vec::new())
}

/// Which lagged windows make up a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lags {
    pub period: i64,
    pub count: usize,
    pub half_window: i64,
}

fn profile_into(
    s: &Series,
    t: i64,
    now: i64,
    lags: Lags,
    q: f64,
    buf: &mut Vec<f64>,
) -> Option<f64> {
    buf.clear();
    for k in 1..=lags.count as i64 {
        let c = t - k * lags.period;
        buf.extend(
            s.range(c - lags.half_window, (c + lags.half_window).min(now))
                .map(|p| p.1),
        );
    }
    quantile(buf, q)
}

struct Profiles<'a> {
    s: &'a Series,
    m: &'a Model,
    now: i64,
    buf: Vec<f64>,
}

impl Profiles<'_> {
    fn daily(&mut self, t: i64, q: f64) -> Option<f64> {
        if !self.m.seasonality.daily {
            return None;
        }
        let lags = Lags {
            period: DAY,
            count: self.m.max_days,
            half_window: self.m.half_window,
        };
        profile_into(self.s, t, self.now, lags, q, &mut self.buf)
    }

    fn weekly(&mut self, t: i64, q: f64) -> Option<f64> {
        if !self.m.seasonality.weekly {
            return None;
        }
        let lags = Lags {
            period: WEEK,
            count: self.m.max_weeks,
            half_window: self.m.half_window,
        };
        profile_into(self.s, t, self.now, lags, q, &mut self.buf)
    }

    /// The daily profile's weight in `S` (see the module documentation).
    fn daily_weight(&mut self) -> f64 {
        let (s, m, now, q) = (self.s, self.m, self.now, self.m.quantile);
        let from = now - m.weight_window;
        let n = (m.weight_window / s.step()).max(1);
        let stride = (n / 96).max(1) * s.step();
        let (mut loss_d, mut loss_w, mut level, mut count) = (0.0, 0.0, 0.0, 0usize);
        let mut t = s.align(from);
        while t <= now {
            if let Some(a) = s.get(t) {
                // lagged windows lie a day or more before t: no sample at or after t is used
                let d = self.daily(t, q);
                let w = self.weekly(t, q);
                if let (Some(d), Some(w)) = (d, w) {
                    loss_d += pinball(q, a, d);
                    loss_w += pinball(q, a, w);
                    level += a.abs();
                    count += 1;
                }
            }
            t += stride;
        }
        if count < 4 {
            return 0.5;
        }
        let eps = 0.001 * level / count as f64 + 1e-12;
        let wd = 1.0 / (loss_d / count as f64 + eps).powi(2);
        let ww = 1.0 / (loss_w / count as f64 + eps).powi(2);
        wd / (wd + ww)
    }

    /// `S_q(t)` with the daily weight `wd`, and the two profiles.
    fn seasonal(&mut self, t: i64, q: f64, wd: f64) -> (Option<f64>, Option<f64>, Option<f64>) {
        let d = self.daily(t, q);
        let w = self.weekly(t, q);
        let s = match (d, w) {
            (Some(d), Some(w)) => Some(wd * d + (1.0 - wd) * w),
            (d, w) => d.or(w),
        };
        (s, d, w)
    }
}

/// The forecast for time `target`, made at `now` from the samples of `s` at or before `now`.
/// `None` when no enabled profile has data.
pub fn forecast(s: &Series, now: i64, target: i64, m: &Model) -> Option<Forecast> {
    let mut p = Profiles {
        s,
        m,
        now,
        buf: Vec::new(),
    };
    let both = m.seasonality.daily && m.seasonality.weekly;
    let wd = if both { p.daily_weight() } else { 0.5 };
    let (seasonal, daily, weekly) = p.seasonal(target, m.quantile, wd);
    let seasonal = seasonal?;
    let daily_weight = match (daily, weekly) {
        (Some(_), Some(_)) => wd,
        (Some(_), None) => 1.0,
        _ => 0.0,
    };

    // trend: recent actuals against the seasonal median for the same times
    let n = (m.trend_window / s.step()).max(1);
    let stride = (n / 60).max(1) * s.step();
    let (mut sum_a, mut sum_b, mut count) = (0.0, 0.0, 0i64);
    let mut t = s.align(now - m.trend_window + s.step());
    while t <= now {
        if let Some(a) = s.get(t)
            && let (Some(b), _, _) = p.seasonal(t, 0.5, wd)
        {
            sum_a += a;
            sum_b += b;
            count += 1;
        }
        t += stride;
    }
    let expected = (m.trend_window / stride).max(1);
    let trend = if count * 4 < expected || sum_b <= 1e-9 * count as f64 || sum_a < 0.0 {
        1.0
    } else {
        (sum_a / sum_b).clamp(m.trend_clamp.0, m.trend_clamp.1)
    };
    Some(Forecast {
        value: seasonal * trend,
        seasonal,
        trend,
        daily,
        weekly,
        daily_weight,
    })
}
