//! Export through the `metrics` facade: counters and histograms per series, labelled by
//! operation, table (logical and deployed), index, model and outcome. Names and labels are
//! bounded by the schema and [`Error::kind`](crate::Error::kind): no keys, no item values.
//!
//! | metric | kind | labels besides the series' |
//! |---|---|---|
//! | `dynox_requests_total` | counter | `outcome` (`ok` or the error kind) |
//! | `dynox_request_duration_seconds` | histogram | `outcome` |
//! | `dynox_attempts_total`, `dynox_retries_total`, `dynox_throttles_total` | counter | |
//! | `dynox_items_returned_total`, `dynox_items_scanned_total` | counter | |
//! | `dynox_bytes_sent_total`, `dynox_bytes_received_total` | counter | |
//! | `dynox_consumed_capacity_units` | histogram (its sum is the total) | `capacity` (`read`/`write`) |

use super::Sample;
use metrics::{Counter, Histogram, Key, Label, Level, Metadata, Recorder};
use std::fmt;

static METADATA: Metadata<'static> = Metadata::new("dynox", Level::INFO, Some(module_path!()));

/// One series' registered handles, cached so that a request costs no registration; made again
/// when another recorder is in force (a test's local recorder, a late global one).
pub(crate) struct Handles {
    recorder: usize,
    deployed: String,
    labels: Vec<Label>,
    outcomes: Vec<(&'static str, Counter, Histogram)>,
    attempts: Counter,
    retries: Counter,
    throttles: Counter,
    items_returned: Counter,
    items_scanned: Counter,
    bytes_sent: Counter,
    bytes_received: Counter,
    read_units: Histogram,
    write_units: Histogram,
}

impl fmt::Debug for Handles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handles")
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

/// The identity of the recorder in force (the no-op recorder has one too).
fn recorder_id() -> usize {
    metrics::with_recorder(|r: &dyn Recorder| r as *const dyn Recorder as *const () as usize)
}

fn key(name: &'static str, labels: &[Label], extra: Option<Label>) -> Key {
    let mut all = labels.to_vec();
    all.extend(extra);
    Key::from_parts(name, all)
}

fn counter(name: &'static str, labels: &[Label]) -> Counter {
    metrics::with_recorder(|r| r.register_counter(&key(name, labels, None), &METADATA))
}

fn histogram(name: &'static str, labels: &[Label], extra: Option<Label>) -> Histogram {
    metrics::with_recorder(|r| r.register_histogram(&key(name, labels, extra), &METADATA))
}

/// The handles of a series for `deployed_table`, registered with the recorder in force. A
/// series has one set per deployed name its clients sent to (usually one).
pub(super) fn handles<'h>(
    slot: &'h mut Vec<Handles>,
    s: &Sample<'_>,
    table: &str,
    deployed_table: &str,
) -> &'h mut Handles {
    let id = recorder_id();
    let at = match slot.iter().position(|h| h.deployed == deployed_table) {
        Some(at) if slot[at].recorder == id => at,
        found => {
            let labels = vec![
                Label::new("operation", s.operation),
                Label::new("table", table.to_owned()),
                Label::new("deployed_table", deployed_table.to_owned()),
                Label::new("index", s.index.to_owned()),
                Label::new("model", s.model),
            ];
            let capacity = |which: &'static str| {
                histogram(
                    "dynox_consumed_capacity_units",
                    &labels,
                    Some(Label::new("capacity", which)),
                )
            };
            let handles = Handles {
                recorder: id,
                deployed: deployed_table.to_owned(),
                outcomes: Vec::new(),
                attempts: counter("dynox_attempts_total", &labels),
                retries: counter("dynox_retries_total", &labels),
                throttles: counter("dynox_throttles_total", &labels),
                items_returned: counter("dynox_items_returned_total", &labels),
                items_scanned: counter("dynox_items_scanned_total", &labels),
                bytes_sent: counter("dynox_bytes_sent_total", &labels),
                bytes_received: counter("dynox_bytes_received_total", &labels),
                read_units: capacity("read"),
                write_units: capacity("write"),
                labels,
            };
            match found {
                Some(at) => {
                    slot[at] = handles;
                    at
                }
                None => {
                    slot.push(handles);
                    slot.len() - 1
                }
            }
        }
    };
    &mut slot[at]
}

impl Handles {
    /// One request (its capacity goes through [`Handles::capacity`], per table).
    pub(super) fn request(&mut self, s: &Sample<'_>) {
        let outcome = s.error.unwrap_or("ok");
        let at = match self.outcomes.iter().position(|(o, ..)| *o == outcome) {
            Some(at) => at,
            None => {
                let label = || Some(Label::new("outcome", outcome));
                let requests = metrics::with_recorder(|r| {
                    r.register_counter(
                        &key("dynox_requests_total", &self.labels, label()),
                        &METADATA,
                    )
                });
                let duration = histogram("dynox_request_duration_seconds", &self.labels, label());
                self.outcomes.push((outcome, requests, duration));
                self.outcomes.len() - 1
            }
        };
        let (_, requests, duration) = &self.outcomes[at];
        requests.increment(1);
        duration.record(s.duration.as_secs_f64());
        let attempts = u64::from(s.attempts);
        self.attempts.increment(attempts);
        self.retries.increment(attempts.saturating_sub(1));
        self.throttles.increment(u64::from(s.throttles));
        self.items_returned.increment(s.items_returned);
        self.items_scanned.increment(s.items_scanned);
        self.bytes_sent.increment(s.bytes_sent);
        self.bytes_received.increment(s.bytes_received);
    }

    /// Capacity DynamoDB reported for this series' table.
    pub(super) fn capacity(&mut self, read: f64, write: f64) {
        if read > 0.0 {
            self.read_units.record(read);
        }
        if write > 0.0 {
            self.write_units.record(write);
        }
    }
}
