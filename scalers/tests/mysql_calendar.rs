//! The mysql-calendar trigger against a real mariadbd with a classes table the test fills:
//! floors from overlapping classes with lead time, bound `:from`/`:to` (never spliced), the
//! horizon, a broken query and a server that goes away keeping the floor in force.

use chrono::{DateTime, TimeZone, Utc};
use prescale_scalers::{Context, ManualClock, Scaler, TriggerInput, registry};
use prescale_testkit::mariadb::{MariaDb, PASSWORD};
use std::sync::Arc;
use std::time::Duration;

fn at(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, d, h, mi, 0).unwrap()
}

const CLASSES: &str = "SELECT starts_at, ends_at, students FROM classes \
     WHERE ends_at > :from AND starts_at < :to AND title <> 'x'' OR 1=1 --'";

async fn classes_db() -> MariaDb {
    let db = MariaDb::start();
    db.sql(&[
        "CREATE TABLE classes (id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(64), \
             starts_at DATETIME NOT NULL, ends_at DATETIME NOT NULL, students INT NOT NULL)",
        // 19:00 (Berlin local time in the table): 100 + 30 students; 20:00: 45; next day 9:00: 400
        "INSERT INTO classes (title, starts_at, ends_at, students) VALUES \
             ('maths', '2030-01-10 19:00:00', '2030-01-10 20:00:00', 100), \
             ('O''Brien''s poetry', '2030-01-10 19:00:00', '2030-01-10 19:45:00', 30), \
             ('physics', '2030-01-10 20:00:00', '2030-01-10 21:00:00', 45), \
             ('exam', '2030-01-11 09:00:00', '2030-01-11 11:00:00', 400)",
    ])
    .await;
    db
}

fn trigger(db: &MariaDb, query: &str, extra: &[(&str, &str)]) -> TriggerInput {
    let mut meta = vec![
        ("query", query),
        ("loadPerReplica", "40"),
        ("timezone", "Europe/Berlin"),
        ("leadTime", "10m"),
        ("horizon", "6h"),
    ];
    meta.extend_from_slice(extra);
    TriggerInput::new("mysql-calendar", 0, &meta).with_auth(&[("connectionString", &db.go_dsn(""))])
}

async fn connect(input: TriggerInput, clock: &ManualClock) -> Arc<dyn Scaler> {
    let ctx = Context {
        clock: Arc::new(clock.clone()),
        default_timeout: Duration::from_secs(3),
        ..Context::default()
    };
    registry::parse(&input)
        .unwrap()
        .connect(&ctx)
        .await
        .unwrap()
}

const LEAD: Duration = Duration::from_secs(600);

#[tokio::test]
async fn floors_follow_the_classes_with_lead_time() {
    let db = classes_db().await;
    // Berlin is UTC+1 in January: 19:00 local = 18:00Z
    let clock = ManualClock::new(at(10, 17, 0));
    let s = connect(trigger(&db, CLASSES, &[]), &clock).await;
    assert_eq!(
        s.lead_time(),
        Some(prescale_scalers::prescale::LeadTime::Fixed(LEAD))
    );
    let v = s.sample().await.unwrap();
    assert_eq!((v.value, v.active), (0.0, false));
    assert_eq!(
        s.bounds_at(at(10, 17, 49), LEAD).floor,
        0,
        "before start − lead"
    );
    let b = s.bounds_at(at(10, 17, 50), LEAD);
    assert_eq!(b.floor, 4, "ceil((100 + 30) / 40) from 18:50 local");
    assert_eq!(
        b.floor_rule.as_deref(),
        Some("mysql-calendar: 2 event(s) with load 130 at 40 per replica")
    );
    assert_eq!(s.bounds_at(at(10, 18, 45), LEAD).floor, 3);
    assert_eq!(
        s.bounds_at(at(10, 18, 50), LEAD).floor,
        4,
        "the 20:00 class is 10 min ahead"
    );
    assert_eq!(s.bounds_at(at(10, 19, 30), LEAD).floor, 2);
    assert_eq!(s.bounds_at(at(10, 20, 0), LEAD).floor, 0);
    // the exam is beyond the 6 h horizon of a 17:00Z query: not read yet
    assert_eq!(s.bounds_at(at(11, 7, 55), LEAD).floor, 0);
    let times = s.change_times(at(10, 17, 0), at(10, 23, 0), LEAD);
    assert_eq!(
        times,
        vec![
            at(10, 17, 50),
            at(10, 18, 45),
            at(10, 18, 50),
            at(10, 19, 0),
            at(10, 20, 0)
        ]
    );
    // at 18:50Z the served metric is the floor now
    clock.set(at(10, 17, 50));
    let v = s.sample().await.unwrap();
    assert_eq!((v.value, v.active), (4.0, true));
    // the next morning the exam is inside the horizon: ceil(400 / 40)
    clock.set(at(11, 7, 0));
    s.sample().await.unwrap();
    assert_eq!(s.bounds_at(at(11, 7, 50), LEAD).floor, 10);
}

#[tokio::test]
async fn parameters_are_bound_not_spliced() {
    let db = classes_db().await;
    let clock = ManualClock::new(at(10, 17, 50));
    // only :to; and a query without parameters at all
    let s = connect(
        trigger(
            &db,
            "SELECT starts_at, ends_at, students FROM classes WHERE starts_at < :to ORDER BY id",
            &[],
        ),
        &clock,
    )
    .await;
    assert_eq!(s.sample().await.unwrap().value, 4.0);
    let s = connect(
        trigger(
            &db,
            "SELECT starts_at, ends_at, students FROM classes WHERE title = 'maths'",
            &[],
        ),
        &clock,
    )
    .await;
    assert_eq!(s.sample().await.unwrap().value, 3.0, "ceil(100 / 40)");
    // the bound value arrives as data: a comparison with :from as a string literal would fail
    let s = connect(
        trigger(
            &db,
            "SELECT starts_at, ends_at, students FROM classes WHERE :from = '2030-01-10 18:50:00' AND title = 'physics'",
            &[],
        ),
        &clock,
    )
    .await;
    assert_eq!(
        s.sample().await.unwrap().value,
        0.0,
        "physics starts 20:00, lead 10 m"
    );
    assert_eq!(
        s.bounds_at(at(10, 18, 50), LEAD).floor,
        2,
        ":from was 18:50 local, the row was read"
    );
}

#[tokio::test]
async fn failures_are_clear_keep_the_floor_and_leak_no_secret() {
    let mut db = classes_db().await;
    let clock = ManualClock::new(at(10, 17, 55));
    let s = connect(trigger(&db, CLASSES, &[]), &clock).await;
    assert_eq!(s.sample().await.unwrap().value, 4.0);
    // a bad row: ends before it starts
    db.sql(&["INSERT INTO classes (title, starts_at, ends_at, students) VALUES ('oops', '2030-01-10 19:30:00', '2030-01-10 19:00:00', 5)"]).await;
    let e = s.sample().await.unwrap_err().to_string();
    assert!(e.contains("error inspecting MySQL calendar: row 4: ends_at 2030-01-10 18:00:00 UTC is not after starts_at 2030-01-10 18:30:00 UTC"), "{e}");
    assert_eq!(
        s.bounds_at(at(10, 18, 0), LEAD).floor,
        4,
        "the events read last still hold"
    );
    // the server goes away during the class: the sample fails, the floor stays in force
    db.kill();
    clock.set(at(10, 18, 10));
    let e = s.sample().await.unwrap_err().to_string();
    assert!(!e.contains(PASSWORD), "{e}");
    assert_eq!(s.bounds_at(at(10, 18, 10), LEAD).floor, 4);
    assert_eq!(
        s.bounds_at(at(10, 20, 0), LEAD).floor,
        0,
        "and ends with its window"
    );
    // a broken query is reported with the server's words, without the password
    let db = classes_db().await;
    let s = connect(
        trigger(
            &db,
            "SELECT starts_at FROM no_such_table WHERE starts_at < :to",
            &[],
        ),
        &clock,
    )
    .await;
    let e = s.sample().await.unwrap_err().to_string();
    assert!(e.contains("no_such_table") && !e.contains(PASSWORD), "{e}");
    // too few columns
    let s = connect(
        trigger(&db, "SELECT starts_at, ends_at FROM classes", &[]),
        &clock,
    )
    .await;
    let e = s.sample().await.unwrap_err().to_string();
    assert!(
        e.contains("row 1 has 2 columns; expected starts_at, ends_at, load"),
        "{e}"
    );
}
