//! The figures a client keeps: per operation, table, index and model, and each model's last
//! operation.

use super::export::Handles;
use super::{Observability, Sample};
use dynox_encryption::kms::KmsFigures;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Figures summed over requests.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Figures {
    /// Requests sent (each page of a query, each chunk of a batch is one).
    pub requests: u64,
    /// Requests that failed, all kinds.
    pub errors: u64,
    /// Failed requests by [`Error::kind`](crate::Error::kind).
    pub errors_by_kind: BTreeMap<&'static str, u64>,
    /// Attempts sent on the wire (retries included).
    pub attempts: u64,
    /// Attempts after the first.
    pub retries: u64,
    /// Attempts DynamoDB throttled.
    pub throttles: u64,
    /// Read capacity units DynamoDB reported.
    pub read_units: f64,
    /// Write capacity units DynamoDB reported.
    pub write_units: f64,
    /// Items returned.
    pub items_returned: u64,
    /// Items a query or scan read (before its filter).
    pub items_scanned: u64,
    /// Request bytes sent, all attempts.
    pub bytes_sent: u64,
    /// Answer bytes received, all attempts.
    pub bytes_received: u64,
    /// Time spent in requests, waits and retries included.
    pub duration: Duration,
    /// The longest request.
    pub max_duration: Duration,
    /// The encryptor's KMS calls and cache hits (in [`measure`](super::measure) and per
    /// model; not per table).
    pub kms: KmsFigures,
}

impl Figures {
    /// Adds `o` to these figures.
    pub fn add(&mut self, o: &Figures) {
        self.requests += o.requests;
        self.errors += o.errors;
        for (k, n) in &o.errors_by_kind {
            *self.errors_by_kind.entry(k).or_insert(0) += n;
        }
        self.attempts += o.attempts;
        self.retries += o.retries;
        self.throttles += o.throttles;
        self.read_units += o.read_units;
        self.write_units += o.write_units;
        self.items_returned += o.items_returned;
        self.items_scanned += o.items_scanned;
        self.bytes_sent += o.bytes_sent;
        self.bytes_received += o.bytes_received;
        self.duration += o.duration;
        self.max_duration = self.max_duration.max(o.max_duration);
        self.kms.add(&o.kms);
    }

    /// Adds one request, without its capacity (that goes to the tables that consumed it).
    pub(super) fn add_sample(&mut self, s: &Sample<'_>) {
        self.requests += 1;
        self.attempts += u64::from(s.attempts);
        self.retries += u64::from(s.attempts.saturating_sub(1));
        self.throttles += u64::from(s.throttles);
        self.items_returned += s.items_returned;
        self.items_scanned += s.items_scanned;
        self.bytes_sent += s.bytes_sent;
        self.bytes_received += s.bytes_received;
        self.duration += s.duration;
        self.max_duration = self.max_duration.max(s.duration);
        if let Some(kind) = s.error {
            self.errors += 1;
            *self.errors_by_kind.entry(kind).or_insert(0) += 1;
        }
    }
}

/// One series of figures: an operation on a table (and index) for a model.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The DynamoDB operation, e.g. `Query`.
    pub operation: &'static str,
    /// The logical table (empty for requests that name none, e.g. `ListTables`).
    pub table: String,
    /// The index a query or scan read (empty for the table itself).
    pub index: String,
    /// The model whose operation sent the requests (empty for raw requests and batches).
    pub model: &'static str,
    /// What its requests did.
    pub figures: Figures,
}

/// A model's figures: all its requests, and its last operation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelMetrics {
    /// Every request sent for the model.
    pub total: Figures,
    /// The model's last operation (a whole paginated read, a whole batch).
    pub last: Option<Figures>,
}

/// The figures a client (and its clones) recorded. From [`Client::metrics`](crate::Client::metrics).
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Arc<Registry>,
}

impl Metrics {
    /// Every request's figures together (KMS figures are per model and in `measure`).
    pub fn totals(&self) -> Figures {
        self.sum(|_| true)
    }

    /// The requests on logical table `table`.
    pub fn table(&self, table: &str) -> Figures {
        self.sum(|s| s.table == table)
    }

    /// The requests of one operation, e.g. `"PutItem"`.
    pub fn operation(&self, operation: &str) -> Figures {
        self.sum(|s| s.operation == operation)
    }

    /// The requests of model `M`, and its last operation.
    pub fn model<M: crate::Model>(&self) -> ModelMetrics {
        self.model_named(M::NAME)
    }

    /// The requests of the model named `name` (its `Model::NAME`), and its last operation.
    pub fn model_named(&self, name: &str) -> ModelMetrics {
        let mut total = self.sum(|s| s.model == name);
        let state = self.registry.state.lock().expect("metrics lock");
        if let Some(kms) = state.kms.get(name) {
            total.kms = kms.clone();
        }
        ModelMetrics {
            total,
            last: state.last.get(name).cloned(),
        }
    }

    /// Figures per logical table.
    pub fn by_table(&self) -> BTreeMap<String, Figures> {
        let mut out: BTreeMap<String, Figures> = BTreeMap::new();
        for s in self.series() {
            out.entry(s.table).or_default().add(&s.figures);
        }
        out
    }

    /// Every series, ordered by table, operation, index and model.
    pub fn series(&self) -> Vec<Series> {
        let state = self.registry.state.lock().expect("metrics lock");
        let mut out = Vec::new();
        for (operation, tables) in &state.series {
            for (table, indexes) in tables {
                for (index, models) in indexes {
                    // A series emptied by `reset` keeps its export handles, not its place.
                    for (model, slot) in models
                        .iter()
                        .filter(|(_, s)| s.figures != Figures::default())
                    {
                        out.push(Series {
                            operation,
                            table: table.clone(),
                            index: index.clone(),
                            model,
                            figures: slot.figures.clone(),
                        });
                    }
                }
            }
        }
        out.sort_by(|a, b| {
            (&a.table, a.operation, &a.index, a.model).cmp(&(
                &b.table,
                b.operation,
                &b.index,
                b.model,
            ))
        });
        out
    }

    /// Forgets every figure recorded so far (the export's counters are the recorder's).
    pub fn reset(&self) {
        let mut state = self.registry.state.lock().expect("metrics lock");
        for slot in state.slots_mut() {
            slot.figures = Figures::default();
        }
        state.last.clear();
        state.kms.clear();
    }

    fn sum(&self, pick: impl Fn(&Series) -> bool) -> Figures {
        let mut out = Figures::default();
        for s in self.series().iter().filter(|s| pick(s)) {
            out.add(&s.figures);
        }
        out
    }
}

/// Where a client's figures are kept, shared by its clones.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    config: Observability,
    state: Mutex<State>,
}

/// One series' figures and its export handles.
#[derive(Debug, Default)]
pub(super) struct Slot {
    pub(super) figures: Figures,
    pub(super) handles: Vec<Handles>,
}

type ByModel = HashMap<&'static str, Slot>;

/// Nested by operation, table, index and model, so that a request finds its series by
/// borrowed names (nothing copied unless the series is new).
#[derive(Debug, Default)]
struct State {
    series: HashMap<&'static str, HashMap<String, HashMap<String, ByModel>>>,
    last: HashMap<&'static str, Figures>,
    kms: HashMap<&'static str, KmsFigures>,
}

impl State {
    fn slot(
        &mut self,
        operation: &'static str,
        table: &str,
        index: &str,
        model: &'static str,
    ) -> &mut Slot {
        let tables = self.series.entry(operation).or_default();
        let indexes = by_name(tables, table);
        by_name(indexes, index).entry(model).or_default()
    }

    fn slots_mut(&mut self) -> impl Iterator<Item = &mut Slot> {
        self.series
            .values_mut()
            .flat_map(|t| t.values_mut())
            .flat_map(|i| i.values_mut())
            .flat_map(|m| m.values_mut())
    }
}

/// Capacity units for one slot: into its figures, and its export handles (labelled as `names`
/// gives them).
fn add_capacity<'s>(
    slot: &mut Slot,
    (keep, export): (bool, bool),
    (read, write): (f64, f64),
    names: impl FnOnce() -> (&'s Sample<'s>, &'s str, std::borrow::Cow<'s, str>),
) {
    if keep {
        slot.figures.read_units += read;
        slot.figures.write_units += write;
    }
    if export {
        let (s, table, deployed) = names();
        super::export::handles(&mut slot.handles, s, table, &deployed).capacity(read, write);
    }
}

/// The deployed name of `table` (none for requests that name no table).
pub(super) fn deployed<'a>(
    mapping: &'a dynox_iam::Mapping,
    table: &'a str,
) -> std::borrow::Cow<'a, str> {
    if table.is_empty() {
        std::borrow::Cow::Borrowed("")
    } else {
        mapping.table(table)
    }
}

fn by_name<'m, V: Default>(map: &'m mut HashMap<String, V>, name: &str) -> &'m mut V {
    if !map.contains_key(name) {
        map.insert(name.to_owned(), V::default());
    }
    map.get_mut(name).expect("inserted above")
}

impl Registry {
    pub(crate) fn new(config: Observability) -> Arc<Registry> {
        Arc::new(Registry {
            config,
            state: Mutex::default(),
        })
    }

    pub(crate) fn config(&self) -> &Observability {
        &self.config
    }

    /// Records one request; unless it is part of a logical operation (which sets the model's
    /// last figures as it ends), it is the model's last operation.
    pub(super) fn record(&self, s: &Sample<'_>, in_logical: bool, mapping: &dynox_iam::Mapping) {
        #[cfg(feature = "opentelemetry")]
        if let Some(m) = &self.config.meters {
            m.record(s);
        }
        let (keep, export) = (self.config.metrics, self.config.export);
        if !keep && !export {
            return;
        }
        let mut state = self.state.lock().expect("metrics lock");
        let slot = state.slot(s.operation, s.table, s.index, s.model);
        if keep {
            slot.figures.add_sample(s);
        }
        if export {
            super::export::handles(&mut slot.handles, s, s.table, s.deployed_table).request(s);
        }
        // Capacity goes to the table DynamoDB says consumed it (a batch may name several); the
        // request's own table, the usual case, without a second lookup.
        let own = |t: &Option<String>| t.as_deref().is_none_or(|t| t == s.table);
        for (_, read, write) in s.capacity.iter().filter(|(t, ..)| own(t)) {
            add_capacity(slot, (keep, export), (*read, *write), || {
                (s, s.table, std::borrow::Cow::Borrowed(s.deployed_table))
            });
        }
        for (t, read, write) in s.capacity.iter().filter(|(t, ..)| !own(t)) {
            let table = t.as_deref().unwrap_or(s.table);
            let slot = state.slot(s.operation, table, s.index, s.model);
            add_capacity(slot, (keep, export), (*read, *write), || {
                (s, table, deployed(mapping, table))
            });
        }
        if keep && !in_logical && !s.model.is_empty() {
            state.last.insert(s.model, s.figures());
        }
    }

    /// The last operation of `model` was a logical one with these figures.
    pub(super) fn set_last(&self, model: &'static str, figures: Figures) {
        if self.config.metrics && !model.is_empty() {
            self.state
                .lock()
                .expect("metrics lock")
                .last
                .insert(model, figures);
        }
    }

    /// KMS figures of one of `model`'s operations; they also join its last figures.
    pub(crate) fn add_kms(&self, model: &'static str, kms: &KmsFigures) {
        if !self.config.metrics || model.is_empty() || *kms == KmsFigures::default() {
            return;
        }
        let mut state = self.state.lock().expect("metrics lock");
        state.kms.entry(model).or_default().add(kms);
        if let Some(last) = state.last.get_mut(model) {
            last.kms = kms.clone();
        }
    }

    /// A handle on the figures.
    pub(crate) fn metrics(self: &Arc<Self>) -> Metrics {
        Metrics {
            registry: self.clone(),
        }
    }
}
