//! What a simulation records of one ScaledObject: a [`Row`] whenever the replicas, the bounds,
//! the decision or the HPA's answer change or an Event is published (the table and the JSON
//! timeline), and, for the chart, a [`Point`] at every instant the simulation looked at.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The state after one instant of the simulation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub time: DateTime<Utc>,
    /// Each trigger's value (in trigger order; `None` = no value).
    pub values: Vec<Option<f64>>,
    /// The HPA model's desired replicas at its last sync.
    pub desired: Option<i32>,
    /// The target's `spec.replicas`.
    pub replicas: i32,
    pub ready: i32,
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// The poll step's decision at the last poll.
    pub decision: String,
    /// Events published at this instant (`Reason: text`), the operator's and the HPA's.
    pub events: Vec<String>,
}

impl Row {
    /// Whether `self` says something `prev` did not (values alone do not count).
    pub fn differs(&self, prev: &Row) -> bool {
        !self.events.is_empty()
            || (
                self.desired,
                self.replicas,
                self.ready,
                self.min_replicas,
                self.max_replicas,
            ) != (
                prev.desired,
                prev.replicas,
                prev.ready,
                prev.min_replicas,
                prev.max_replicas,
            )
            || self.decision != prev.decision
    }
}

/// One instant for the chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t: i64,
    pub replicas: i32,
    pub ready: i32,
    pub desired: Option<i32>,
    pub min: i32,
    pub max: i32,
}

/// A trigger as shown: name, type, target and (for the chart) its values over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerTrack {
    pub index: usize,
    pub name: String,
    #[serde(rename = "type")]
    pub trigger_type: String,
    /// The HPA target (`AverageValue`/`Value` number, or utilization percent).
    pub target: f64,
    pub target_type: String,
    #[serde(skip)]
    pub values: Vec<(i64, f64)>,
}

/// A pre-scaling window and the floor it raised, with the lead used.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub start: i64,
    pub end: i64,
    /// The HPA minimum the window asks for (floor, within the ScaledObject's bounds).
    pub wanted: i32,
    /// When the floor went up for it (`start − lead`), if it did within the run.
    pub raised_at: Option<i64>,
}

/// Everything recorded of one ScaledObject.
#[derive(Debug, Clone, Default)]
pub struct Track {
    pub rows: Vec<Row>,
    pub points: Vec<Point>,
    pub triggers: Vec<TriggerTrack>,
    pub windows: Vec<Window>,
}

impl Track {
    /// Adds the state at one instant: a point always, a row when something changed.
    pub fn push(&mut self, row: Row, point: Point, keep_points: bool) {
        if keep_points {
            self.points.push(point);
        }
        if self.rows.last().is_none_or(|prev| row.differs(prev)) {
            self.rows.push(row);
        }
    }
}
