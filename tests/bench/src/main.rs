//! `dynox-bench [--quick] [--only codec|client|engine] [--out DIR]`: runs the harness (or one
//! group of it), prints the table and writes
//! `report.md`, `report.json` and `ratios.svg` into DIR (default `target/bench`).
//! `dynox-bench child CASE ENDPOINT ITEMS` is one engine case, run by the harness itself;
//! `dynox-bench probe OPERATION N` runs one client's operation (`"dynox get"`, ...) N times,
//! for a profiler.

#[global_allocator]
static ALLOCATOR: dynox_bench::alloc::Counting = dynox_bench::alloc::Counting;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        let [_, case, endpoint, items] = args.as_slice() else {
            eprintln!("usage: dynox-bench child CASE ENDPOINT ITEMS");
            return ExitCode::FAILURE;
        };
        let Ok(items) = items.parse() else {
            eprintln!("ITEMS must be a number, not {items:?}");
            return ExitCode::FAILURE;
        };
        let outcome = dynox_bench::engine::child(case, endpoint, items);
        println!("{}", serde_json::to_string(&outcome).expect("serializable"));
        return ExitCode::SUCCESS;
    }
    if args.first().map(String::as_str) == Some("probe") {
        let ops = dynox_bench::client::OPS;
        let (Some(what), Some(Ok(n))) = (args.get(1), args.get(2).map(|n| n.parse())) else {
            eprintln!("usage: dynox-bench probe OPERATION N, the operation one of {ops:?}");
            return ExitCode::FAILURE;
        };
        if !ops.contains(&what.as_str()) {
            eprintln!("no operation {what:?}: one of {ops:?}");
            return ExitCode::FAILURE;
        }
        dynox_bench::client::probe(what, n);
        return ExitCode::SUCCESS;
    }
    let mut options = dynox_bench::Options::full();
    let mut out = PathBuf::from("target/bench");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => {
                options = dynox_bench::Options {
                    only: options.only,
                    ..dynox_bench::Options::quick()
                }
            }
            "--only" => match it.next().map(String::as_str) {
                Some(g @ ("codec" | "client" | "engine")) => {
                    options.only = Some(match g {
                        "codec" => "codec",
                        "client" => "client",
                        _ => "engine",
                    })
                }
                _ => {
                    eprintln!("--only takes codec, client or engine");
                    return ExitCode::FAILURE;
                }
            },
            "--out" => match it.next() {
                Some(dir) => out = PathBuf::from(dir),
                None => {
                    eprintln!("--out needs a directory");
                    return ExitCode::FAILURE;
                }
            },
            other => {
                eprintln!(
                    "unknown argument {other:?}; usage: dynox-bench [--quick] [--only GROUP] [--out DIR]"
                );
                return ExitCode::FAILURE;
            }
        }
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("cannot find this binary to run the engine cases: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = dynox_bench::run(options, &exe);
    print!("{}", report.markdown());
    if let Err(e) = report.write(&out) {
        eprintln!("cannot write the report into {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    println!(
        "\nwritten: {}/report.md, report.json, ratios.svg",
        out.display()
    );
    ExitCode::SUCCESS
}
