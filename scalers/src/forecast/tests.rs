use super::*;
use prescale_testkit::series::noise;

const STEP: i64 = 60;
/// A Monday 00:00 UTC (2026-01-05), so weekdays are easy to place.
const MONDAY: i64 = 1_767_571_200;

fn series(from: i64, to: i64, f: impl Fn(i64) -> f64) -> Series {
    let mut s = Series::new(STEP);
    let mut t = from;
    while t <= to {
        s.insert(t, f(t));
        t += STEP;
    }
    s
}

fn model(s: Seasonality) -> Model {
    Model::new(0.9, s, STEP, 7 * DAY)
}

const BOTH: Seasonality = Seasonality {
    daily: true,
    weekly: true,
};
const DAILY: Seasonality = Seasonality {
    daily: true,
    weekly: false,
};

#[test]
fn series_grid_gaps_and_trim() {
    let mut s = Series::new(60);
    assert_eq!(s.last_ts(), None);
    s.insert(120, 1.0);
    s.insert(300, 2.0); // two missing slots between
    s.insert(61, 0.5); // before the start, snapped to 60
    assert_eq!(s.first_ts(), Some(60));
    assert_eq!(s.last_ts(), Some(300));
    assert_eq!(s.len(), 5);
    assert_eq!(s.count_finite(), 3);
    assert_eq!(s.get(180), None);
    assert_eq!(s.get(119), Some(1.0));
    assert_eq!(
        s.range(0, 1000).collect::<Vec<_>>(),
        vec![(60, 0.5), (120, 1.0), (300, 2.0)]
    );
    assert_eq!(s.range(121, 299).count(), 0);
    s.insert(200, f64::NAN);
    assert_eq!(s.count_finite(), 3);
    s.trim_before(150);
    assert_eq!(s.first_ts(), Some(180));
    assert_eq!(s.range(0, 1000).collect::<Vec<_>>(), vec![(300, 2.0)]);
    s.trim_before(10_000);
    assert!(s.is_empty());
}

#[test]
fn quantiles_interpolate() {
    assert_eq!(quantile(&mut [], 0.5), None);
    assert_eq!(quantile(&mut [3.0, 1.0, 2.0], 0.5), Some(2.0));
    assert_eq!(quantile(&mut [3.0, 1.0, 2.0], 1.0), Some(3.0));
    assert_eq!(quantile(&mut [0.0, 10.0], 0.9), Some(9.0));
}

#[test]
fn empty_history_gives_none() {
    let s = Series::new(STEP);
    assert_eq!(forecast(&s, MONDAY, MONDAY + 900, &model(BOTH)), None);
    // history shorter than a day: no lag reaches it
    let s = series(MONDAY, MONDAY + 3 * 3600, |_| 5.0);
    let now = MONDAY + 3 * 3600;
    assert_eq!(forecast(&s, now, now + 900, &model(BOTH)), None);
}

#[test]
fn flat_series_forecasts_its_level() {
    let now = MONDAY + 14 * DAY + 3600 * 13;
    let s = series(now - 14 * DAY, now, |_| 42.0);
    let f = forecast(&s, now, now + 900, &model(BOTH)).unwrap();
    assert!((f.value - 42.0).abs() < 1e-9, "{f:?}");
    assert_eq!(f.trend, 1.0);
}

#[test]
fn daily_sine_is_tracked() {
    let v = |t: i64| 100.0 + 50.0 * (2.0 * std::f64::consts::PI * t as f64 / DAY as f64).sin();
    let start = MONDAY;
    let s_all = series(start, start + 9 * DAY, v);
    // forecast every 37 minutes over the last two days, 15 minutes ahead
    let mut worst: f64 = 0.0;
    let mut now = start + 7 * DAY;
    while now < start + 9 * DAY - 900 {
        let f = forecast(&s_all, now, now + 900, &model(DAILY)).unwrap();
        worst = worst.max((f.value - v(now + 900)).abs() / v(now + 900));
        now += 37 * 60;
    }
    assert!(worst < 0.03, "worst relative error {worst}");
}

#[test]
fn data_after_now_is_never_used() {
    // a series that jumps at `now`: the forecast must not see the jump
    let now = MONDAY + 8 * DAY;
    let s = series(
        MONDAY,
        now + 2 * DAY,
        |t| if t > now { 1000.0 } else { 10.0 },
    );
    let f = forecast(&s, now, now + 900, &model(BOTH)).unwrap();
    assert!((f.value - 10.0).abs() < 1e-9, "{f:?}");
}

#[test]
fn gaps_and_nan_are_skipped() {
    let now = MONDAY + 8 * DAY + 12 * 3600;
    let mut s = series(MONDAY, now, |t| 20.0 + noise(t));
    // a whole missing day and NaN samples sprinkled in
    s.trim_before(MONDAY + DAY);
    let mut holes = s.clone();
    let mut t = MONDAY + 2 * DAY;
    while t < MONDAY + 3 * DAY {
        holes.insert(t, f64::NAN);
        t += STEP;
    }
    let mut t = MONDAY + DAY;
    while t <= now {
        if t % 7 == 0 {
            holes.insert(t, f64::NAN);
        }
        t += STEP;
    }
    let f = forecast(&holes, now, now + 900, &model(BOTH)).unwrap();
    assert!(f.value.is_finite());
    assert!((f.value - 20.9).abs() < 0.6, "{f:?}");
}

#[test]
fn weekly_pattern_weekend_low_weekday_high() {
    // weekdays 100, weekends 20, small noise; three weeks of history
    let v = |t: i64| {
        let dow = (t - MONDAY).div_euclid(DAY).rem_euclid(7);
        (if dow >= 5 { 20.0 } else { 100.0 }) + noise(t)
    };
    let s = series(MONDAY, MONDAY + 22 * DAY, v);
    let m_both = Model::new(0.9, BOTH, STEP, 21 * DAY);
    let m_daily = Model::new(0.9, DAILY, STEP, 21 * DAY);

    // Sunday 23:50 of week 3, forecasting Monday 00:05: last Monday says high
    let now = MONDAY + 21 * DAY - 600;
    let both = forecast(&s, now, now + 900, &m_both).unwrap();
    let daily = forecast(&s, now, now + 900, &m_daily).unwrap();
    assert!(both.value > 90.0, "weekly: {both:?}");
    assert!(daily.value < 70.0, "daily only misses Monday: {daily:?}");
    assert!(both.daily_weight < 0.1, "{both:?}");

    // Saturday noon: low with the weekly profile
    let now = MONDAY + 19 * DAY + 12 * 3600 - 900;
    let both = forecast(&s, now, now + 900, &m_both).unwrap();
    assert!(both.value < 30.0, "{both:?}");

    // Wednesday noon: high
    let now = MONDAY + 16 * DAY + 12 * 3600 - 900;
    let both = forecast(&s, now, now + 900, &m_both).unwrap();
    assert!(both.value > 95.0 && both.value < 105.0, "{both:?}");

    // Friday 23:50 forecasting Saturday 00:05: the weekly profile pulls it down
    let now = MONDAY + 19 * DAY - 600;
    let both = forecast(&s, now, now + 900, &m_both).unwrap();
    let daily = forecast(&s, now, now + 900, &m_daily).unwrap();
    assert!(both.value < daily.value - 20.0, "{both:?} vs {daily:?}");
}

#[test]
fn growth_lifts_the_forecast_above_last_week() {
    // +3% a day on a daily shape
    let v = |t: i64| {
        let days = (t - MONDAY) as f64 / DAY as f64;
        let shape = 1.0 + 0.5 * (2.0 * std::f64::consts::PI * days).sin();
        100.0 * 1.03f64.powf(days) * shape
    };
    let now = MONDAY + 15 * DAY + 5 * 3600;
    let s = series(MONDAY, now, v);
    let target = now + 900;
    let f = forecast(&s, now, target, &model(BOTH)).unwrap();
    assert!(f.trend > 1.02, "{f:?}");
    assert!(
        f.value > v(target - WEEK) * 1.15,
        "{f:?} vs {}",
        v(target - WEEK)
    );
    assert!(
        (f.value - v(target)).abs() / v(target) < 0.1,
        "{f:?} vs {}",
        v(target)
    );
}

#[test]
fn the_trend_is_clamped_and_neutral_without_recent_data() {
    let now = MONDAY + 8 * DAY;
    // the last hour at 10x the usual level: clamped to 2
    let s = series(MONDAY, now, |t| if t > now - 3600 { 100.0 } else { 10.0 });
    let f = forecast(&s, now, now + 900, &model(BOTH)).unwrap();
    assert_eq!(f.trend, 2.0);
    assert!((f.value - 20.0).abs() < 1e-9, "{f:?}");
    // no data in the last hour: r = 1
    let s = series(MONDAY, now - 2 * 3600, |_| 10.0);
    let f = forecast(&s, now, now + 900, &model(BOTH)).unwrap();
    assert_eq!(f.trend, 1.0);
    // a zero baseline: r = 1
    let s = series(MONDAY, now, |t| if t > now - 3600 { 5.0 } else { 0.0 });
    let f = forecast(&s, now, now + 900, &model(BOTH)).unwrap();
    assert_eq!((f.trend, f.value), (1.0, 0.0));
}

#[test]
fn a_peak_is_forecast_before_it_arrives() {
    // a short evening peak (σ = 7 minutes) every day at 18:00
    let v = |t: i64| {
        let tod = t.rem_euclid(DAY) as f64 / 3600.0;
        10.0 + 90.0 * (-((tod - 18.0) * 60.0 / 7.0).powi(2) / 2.0).exp() + noise(t)
    };
    let now = MONDAY + 7 * DAY + 17 * 3600 + 45 * 60;
    let s = series(MONDAY, now, v);
    let f = forecast(&s, now, now + 900, &model(BOTH)).unwrap();
    let actual_now = s.get(now).unwrap();
    assert!(actual_now < 25.0, "{actual_now}");
    assert!(f.value > 90.0 && f.value < 110.0, "{f:?}");
}
