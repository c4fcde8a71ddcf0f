//! A user's workspace xtask with dynox's `policy` command: this file is all it takes.
//!
//! With `xtask = "run --quiet --package user-xtask --"` under `[alias]` in `.cargo/config.toml`,
//! `cargo xtask policy --bin notes --check notes.policy.json` is the gate a CI job runs.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match args.next().as_deref() {
        Some("policy") => dynox_iam::cli::PolicyArgs::parse(args)
            .and_then(|a| dynox_iam::cli::run_policy(&a))
            .map_err(|e| e.to_string()),
        _ => Err(format!(
            "usage: xtask policy ...\n{}",
            dynox_iam::cli::USAGE
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
