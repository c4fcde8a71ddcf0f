//! Interleaved measurement: the variants of a comparison take turns, one operation each, in an
//! order that changes every time, so that a machine's drift (another process, a thermal step, a
//! frequency change) touches all of them alike. A comparison's result is the ratio of two
//! variants *within* each round; its min and median over the rounds are what the report shows.

use crate::alloc;
use std::time::{Duration, Instant};

/// What one batch of operations cost, per operation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sample {
    /// Nanoseconds per operation (wall time or CPU time, as the comparison measures).
    pub nanos: f64,
    /// Heap allocations per operation on the measuring thread.
    pub allocs: f64,
}

/// One way of doing the measured job: runs it `iters` times and says what that cost in total.
pub struct Variant<'a> {
    /// Short name, as the report prints it.
    pub name: &'static str,
    run: Box<dyn FnMut(u64) -> (Duration, u64) + 'a>,
}

impl std::fmt::Debug for Variant<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Variant").field("name", &self.name).finish()
    }
}

impl<'a> Variant<'a> {
    /// A variant timed by the wall clock around `op`, run `iters` times back to back.
    pub fn wall(name: &'static str, mut op: impl FnMut() + 'a) -> Self {
        Variant {
            name,
            run: Box::new(move |iters| {
                let allocs = alloc::thread_allocations();
                let start = Instant::now();
                for _ in 0..iters {
                    op();
                }
                (start.elapsed(), alloc::thread_allocations() - allocs)
            }),
        }
    }

    /// A variant that measures itself (CPU time of a thread, say): `run(iters)` returns the
    /// cost of `iters` operations and the allocations they made.
    pub fn custom(name: &'static str, run: impl FnMut(u64) -> (Duration, u64) + 'a) -> Self {
        Variant {
            name,
            run: Box::new(run),
        }
    }
}

/// How long one variant's batch should take, and how many rounds to run.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Rounds: every variant runs once per round.
    pub rounds: usize,
    /// The wall time each variant's share of a round aims at (the operation count per round is
    /// calibrated to it).
    pub batch: Duration,
}

/// Per variant, one sample per round.
#[derive(Debug)]
pub struct Measured {
    /// Variant names, in the order given.
    pub names: Vec<&'static str>,
    /// `samples[v][round]`.
    pub samples: Vec<Vec<Sample>>,
}

impl Measured {
    /// The samples of a variant, by name.
    pub fn of(&self, name: &str) -> &[Sample] {
        let i = self
            .names
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("no variant {name}"));
        &self.samples[i]
    }

    /// Round by round, `subject`'s cost over `baseline`'s.
    pub fn ratios(&self, subject: &str, baseline: &str) -> Vec<f64> {
        self.of(subject)
            .iter()
            .zip(self.of(baseline))
            .map(|(s, b)| s.nanos / b.nanos)
            .collect()
    }
}

/// Runs the variants interleaved at the finest grain: within a round, every variant runs one
/// operation in turn (in a shuffled order every time), `iters` times, and each operation is
/// timed by itself. On a noisy machine a disturbance then falls on all variants alike, and the
/// ratio of a round stays steady (batches of 60 ms in a fixed order varied 0.74-1.23x here).
pub fn alternate(plan: Plan, variants: &mut [Variant<'_>]) -> Measured {
    let n = variants.len();
    // Warm-up, and the cost of one pass over every variant, as the variants measure it.
    let mut pass = Duration::ZERO;
    for _ in 0..3 {
        for v in variants.iter_mut() {
            pass += (v.run)(1).0;
        }
    }
    let pass = pass / 3;
    let iters =
        ((plan.batch.as_secs_f64() * n as f64 / pass.as_secs_f64().max(1e-9)) as u64).max(1);
    let mut samples = vec![Vec::with_capacity(plan.rounds); n];
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    for _ in 0..plan.rounds {
        let mut total = vec![(Duration::ZERO, 0u64); n];
        let mut order: Vec<usize> = (0..n).collect();
        for _ in 0..iters {
            // A fresh order every pass: no variant always follows the same one (what ran just
            // before, and what it left in caches and the allocator, is part of the cost).
            rng.shuffle(&mut order);
            for &i in &order {
                let (d, a) = (variants[i].run)(1);
                total[i].0 += d;
                total[i].1 += a;
            }
        }
        for (i, (d, a)) in total.into_iter().enumerate() {
            samples[i].push(Sample {
                nanos: d.as_nanos() as f64 / iters as f64,
                allocs: a as f64 / iters as f64,
            });
        }
    }
    Measured {
        names: variants.iter().map(|v| v.name).collect(),
        samples,
    }
}

/// The smallest value.
pub fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

/// The median (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_take_turns_in_changing_orders_and_each_op_is_timed() {
        let log = std::cell::RefCell::new(Vec::new());
        let mut vs: Vec<Variant<'_>> = ["a", "b", "c"]
            .into_iter()
            .zip([1u32, 2, 4])
            .map(|(name, ms)| {
                let log = &log;
                Variant::custom(name, move |iters| {
                    log.borrow_mut().push(name);
                    (
                        Duration::from_millis(u64::from(ms)) * iters as u32,
                        3 * iters,
                    )
                })
            })
            .collect();
        let m = alternate(
            Plan {
                rounds: 4,
                batch: Duration::from_millis(1),
            },
            &mut vs,
        );
        drop(vs);
        let log = log.into_inner();
        // After the warm-up, every pass runs each variant once.
        let passes: Vec<&[&str]> = log[9..].chunks(3).collect();
        assert!(passes.len() >= 4 && log[9..].len() % 3 == 0);
        for p in &passes {
            let mut names = p.to_vec();
            names.sort();
            assert_eq!(names, ["a", "b", "c"]);
        }
        assert!(
            passes.windows(2).any(|w| w[0] != w[1]),
            "the order never changed"
        );
        assert_eq!(
            m.samples.iter().map(Vec::len).collect::<Vec<_>>(),
            [4, 4, 4]
        );
        assert_eq!(m.of("b")[0].nanos, 2e6);
        assert_eq!(m.of("c")[3].allocs, 3.0);
        assert_eq!(m.ratios("c", "a"), [4.0; 4]);
    }

    #[test]
    fn min_and_median() {
        assert_eq!(min(&[3.0, 1.0, 2.0]), 1.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
