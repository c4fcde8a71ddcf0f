//! The report: one row per measured figure with its min and median over the rounds and the goal
//! it is held to, as a Markdown table, as JSON, and as an SVG plot of the ratios.

use crate::harness::{median, min};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// What a row's values are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Unit {
    /// dynox's figure over the baseline's, round by round (below 1: dynox costs less).
    CostRatio,
    /// dynox's throughput over the baseline's, round by round (above 1: dynox is faster).
    SpeedRatio,
    /// Megabytes.
    Megabytes,
    /// Heap allocations per operation.
    Allocations,
}

/// How a goal compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Cmp {
    /// At most.
    AtMost,
    /// Below.
    Below,
    /// At least.
    AtLeast,
}

/// The value a row's median must meet.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Goal {
    /// The comparison.
    pub cmp: Cmp,
    /// The bound.
    pub value: f64,
}

impl Goal {
    /// `≤ value`.
    pub fn at_most(value: f64) -> Goal {
        Goal {
            cmp: Cmp::AtMost,
            value,
        }
    }
    /// `< value`.
    pub fn below(value: f64) -> Goal {
        Goal {
            cmp: Cmp::Below,
            value,
        }
    }
    /// `≥ value`.
    pub fn at_least(value: f64) -> Goal {
        Goal {
            cmp: Cmp::AtLeast,
            value,
        }
    }

    fn met(&self, v: f64) -> bool {
        match self.cmp {
            Cmp::AtMost => v <= self.value,
            Cmp::Below => v < self.value,
            Cmp::AtLeast => v >= self.value,
        }
    }

    fn text(&self) -> String {
        let op = match self.cmp {
            Cmp::AtMost => "≤",
            Cmp::Below => "<",
            Cmp::AtLeast => "≥",
        };
        format!("{op} {}", self.value)
    }
}

/// One measured figure.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The group (`codec`, `client`, `engine`).
    pub group: &'static str,
    /// What is measured, against what.
    pub measure: String,
    /// The unit of `values`.
    pub unit: Unit,
    /// One value per round.
    pub values: Vec<f64>,
    /// The goal, when there is one.
    pub goal: Option<Goal>,
}

impl Row {
    /// A row without a goal.
    pub fn new(
        group: &'static str,
        measure: impl Into<String>,
        unit: Unit,
        values: Vec<f64>,
    ) -> Row {
        Row {
            group,
            measure: measure.into(),
            unit,
            values,
            goal: None,
        }
    }

    /// The same row, held to `goal`.
    pub fn goal(mut self, goal: Goal) -> Row {
        self.goal = Some(goal);
        self
    }

    /// The median over the rounds.
    pub fn median(&self) -> f64 {
        median(&self.values)
    }

    /// The best round: the smallest cost, or the largest speed.
    pub fn best(&self) -> f64 {
        match self.unit {
            Unit::SpeedRatio => self
                .values
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max),
            _ => min(&self.values),
        }
    }

    /// Whether the median meets the goal (`None` without a goal).
    pub fn met(&self) -> Option<bool> {
        self.goal.map(|g| g.met(self.median()))
    }
}

/// Everything one run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// `quick` or `full`.
    pub mode: &'static str,
    /// Rounds per comparison.
    pub rounds: usize,
    /// Items of the engine runs.
    pub items: u64,
    /// The rows, in the order measured.
    pub rows: Vec<Row>,
}

fn unit_text(u: Unit) -> &'static str {
    match u {
        Unit::CostRatio => "× cost",
        Unit::SpeedRatio => "× speed",
        Unit::Megabytes => "MB",
        Unit::Allocations => "allocs/op",
    }
}

fn fmt_value(u: Unit, v: f64) -> String {
    match u {
        Unit::CostRatio | Unit::SpeedRatio => format!("{v:.3}"),
        Unit::Megabytes => format!("{v:.1}"),
        Unit::Allocations => format!("{v:.1}"),
    }
}

impl Report {
    /// The table, in Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} run: {} rounds, {} items in the engine runs; best and median over the rounds.\n",
            self.mode, self.rounds, self.items
        );
        out.push_str("| group | measure | unit | best | median | goal | met |\n");
        out.push_str("|---|---|---|---:|---:|---|---|\n");
        for r in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.group,
                r.measure,
                unit_text(r.unit),
                fmt_value(r.unit, r.best()),
                fmt_value(r.unit, r.median()),
                r.goal.map(|g| g.text()).unwrap_or_default(),
                match r.met() {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "",
                }
            );
        }
        out
    }

    /// The ratio rows as a horizontal bar chart: the median as a bar, the best round as a tick,
    /// 1.0 (parity) and each goal as lines.
    pub fn svg(&self) -> String {
        let rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| matches!(r.unit, Unit::CostRatio | Unit::SpeedRatio))
            .collect();
        let (label_w, plot_w, row_h, top) = (600.0, 420.0, 26.0, 40.0);
        let max = rows
            .iter()
            .flat_map(|r| r.values.iter().copied().chain(r.goal.map(|g| g.value)))
            .fold(1.5f64, f64::max)
            .min(4.0);
        let x = |v: f64| label_w + plot_w * (v.min(max) / max);
        let height = top + row_h * rows.len() as f64 + 30.0;
        let width = label_w + plot_w + 30.0;
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(
            s,
            r#"<text x="10" y="20" font-size="14">dynox / baseline, median (bar) and best round (tick); cost: lower is better, speed: higher is better</text>"#
        );
        for (i, r) in rows.iter().enumerate() {
            let y = top + row_h * i as f64;
            let med = r.median();
            let colour = match r.met() {
                Some(true) => "#3a7d44",
                Some(false) => "#c0392b",
                None => "#7f8c8d",
            };
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" text-anchor="end">{} ({})</text>"#,
                label_w - 8.0,
                y + 15.0,
                escape(&r.measure),
                unit_text(r.unit)
            );
            let _ = writeln!(
                s,
                r#"<rect x="{label_w}" y="{}" width="{:.1}" height="16" fill="{colour}"/><text x="{:.1}" y="{}">{med:.3}</text>"#,
                y + 3.0,
                x(med) - label_w,
                x(med) + 4.0,
                y + 15.0
            );
            let b = x(r.best());
            let _ = writeln!(
                s,
                r#"<line x1="{b:.1}" x2="{b:.1}" y1="{}" y2="{}" stroke="black" stroke-width="2"/>"#,
                y + 1.0,
                y + 21.0
            );
            if let Some(g) = r.goal {
                let gx = x(g.value);
                let _ = writeln!(
                    s,
                    r##"<line x1="{gx:.1}" x2="{gx:.1}" y1="{}" y2="{}" stroke="#2c3e50" stroke-dasharray="3,2"/>"##,
                    y,
                    y + row_h
                );
            }
        }
        let one = x(1.0);
        let _ = writeln!(
            s,
            r##"<line x1="{one:.1}" x2="{one:.1}" y1="{}" y2="{}" stroke="#555"/><text x="{one:.1}" y="{}" text-anchor="middle">1.0</text>"##,
            top - 4.0,
            top + row_h * rows.len() as f64,
            top + row_h * rows.len() as f64 + 16.0
        );
        s.push_str("</svg>\n");
        s
    }

    /// Writes `report.md`, `report.json` and `ratios.svg` into `dir`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("report.md"), self.markdown())?;
        let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(dir.join("report.json"), json)?;
        std::fs::write(dir.join("ratios.svg"), self.svg())
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goals_are_judged_on_the_median_and_the_best_round_depends_on_the_unit() {
        let cost =
            Row::new("g", "m", Unit::CostRatio, vec![0.9, 1.2, 1.0]).goal(Goal::at_most(1.05));
        assert_eq!(cost.median(), 1.0);
        assert_eq!(cost.best(), 0.9);
        assert_eq!(cost.met(), Some(true));
        let speed =
            Row::new("g", "m", Unit::SpeedRatio, vec![0.9, 1.2, 0.95]).goal(Goal::at_least(1.0));
        assert_eq!(speed.best(), 1.2);
        assert_eq!(speed.met(), Some(false));
        let mb = Row::new("g", "m", Unit::Megabytes, vec![64.0]).goal(Goal::below(64.0));
        assert_eq!(mb.met(), Some(false));
        let report = Report {
            mode: "quick",
            rounds: 3,
            items: 10,
            rows: vec![cost, speed, mb],
        };
        let md = report.markdown();
        assert!(
            md.contains("| g | m | × cost | 0.900 | 1.000 | ≤ 1.05 | yes |"),
            "{md}"
        );
        assert!(md.contains("**no**"));
        let svg = report.svg();
        assert_eq!(
            svg.matches("<rect").count(),
            2,
            "only ratio rows are plotted"
        );
    }
}
