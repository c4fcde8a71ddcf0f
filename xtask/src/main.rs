//! `cargo xtask`: the workspace's own commands.
//!
//! - `policy ...`: build a target, scan the linked binary, print its least-privilege IAM policy.
//! - `demo`: run the example service on the embedded backend, then print its exact policy.
//! - `test`: install what the tests need and run the whole test suite.
//! - `bench`: the large runs the suite has small versions of, with their figures.

mod images;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const HELP: &str = "usage: cargo xtask <command>

commands:
  policy (--bin NAME | --example NAME | --binary PATH) [-p PACKAGE] [--profile P]
         [--region R] [--account A] [--partition P] [--output FILE] [--allow-wildcard]
         [--format json|terraform|cloudformation|markdown] [--explain] [--check FILE] [--split]
         [--config FILE] [--env NAME] [--table-prefix P] [--table-suffix S]
         [--table LOGICAL=PHYSICAL] [--table-arn PATTERN] [--kms-key DECLARED=KEY]
         [--runtime-table NAME] [--enclosing-operation] [--encryption-context]
         [--leading-keys VARIABLE]
                 print the exact IAM policy of a linked binary
  demo           run the example service on the embedded backend and print its policy
  test           run the whole test suite (cargo-nextest when installed, cargo test otherwise),
                 and build the documentation with rustdoc's warnings denied
  bench          the large runs behind the documented figures (release profile): 100,000 items
                 through the batch writer and write_stream at 15% faults, a 10,000-key batch
                 get, 5,000 counter increments and conditional puts, 2,000 transactions
  setup          install what the tests need: a Python virtual environment under target/ with
                 the pinned local KMS (moto's server)
  images         build the container images of the containers backend from docker/, offline
                 (skipping those already built); their tags go to target/dynox-images.env";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match args.next().as_deref() {
        Some("policy") => policy(args.collect()),
        Some("demo") => demo(),
        Some("test") => test(),
        Some("bench") => bench(),
        Some("setup") => setup().map(|_| ()),
        Some("images") => images::build_all().map(|_| ()),
        Some("-h" | "--help" | "help") | None => {
            println!("{HELP}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn policy(args: Vec<String>) -> Result<(), String> {
    let args = dynox_iam::cli::PolicyArgs::parse(args).map_err(|e| e.to_string())?;
    dynox_iam::cli::run_policy(&args).map_err(|e| e.to_string())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed with {status}"))
    }
}

/// The pinned Python requirements of the test backends.
const REQUIREMENTS: &str = include_str!("../python/requirements.txt");

/// Creates `target/dynox-venv` and installs the pinned requirements into it, once per version
/// of the requirements file. Returns the path of `moto_server`.
fn setup() -> Result<PathBuf, String> {
    let venv = workspace_root().join("target").join("dynox-venv");
    let server = venv.join("bin").join("moto_server");
    let stamp = venv.join("requirements.installed");
    if server.exists() && std::fs::read_to_string(&stamp).is_ok_and(|s| s == REQUIREMENTS) {
        return Ok(server);
    }
    eprintln!(
        "xtask: installing the local KMS (moto's server) into {}",
        venv.display()
    );
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    run(Command::new(&python).arg("-m").arg("venv").arg(&venv))
        .map_err(|e| format!("{e}\nxtask: a Python 3 with the venv module is needed"))?;
    let requirements = workspace_root()
        .join("xtask")
        .join("python")
        .join("requirements.txt");
    run(Command::new(venv.join("bin").join("pip"))
        .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
        .arg(&requirements))?;
    if !server.exists() {
        return Err(format!("{} was not installed", server.display()));
    }
    std::fs::write(&stamp, REQUIREMENTS).map_err(|e| e.to_string())?;
    Ok(server)
}

/// The example service's exact policy, read from its binary; the service run end to end on the
/// embedded backend under that very policy, enforced on every request; then the policy.
fn demo() -> Result<(), String> {
    let moto = setup()?;
    let target = dynox_iam::cli::Target::Example("service".into());
    let binary =
        dynox_iam::cli::build_target(&target, Some("dynox"), None).map_err(|e| e.to_string())?;
    let options = dynox_iam::PolicyOptions::default();
    let (policy, report) = dynox_iam::cli::export(&binary, &options).map_err(|e| e.to_string())?;
    let policy_file = workspace_root()
        .join("target")
        .join("dynox-demo-policy.json");
    std::fs::write(&policy_file, policy.to_json()).map_err(|e| e.to_string())?;
    println!(
        "== running the example service ({}) under its own policy, enforced ==",
        binary.display()
    );
    run(Command::new(&binary)
        .current_dir(workspace_root())
        .env("DYNOX_MOTO_SERVER", &moto)
        .env("DYNOX_IAM_POLICY", &policy_file))?;
    println!();
    println!("== why each action is needed ==");
    print!("{}", dynox_iam::render::explain(&policy));
    println!();
    println!("== its exact IAM policy, read from the linked binary ==");
    print!("{}", policy.to_json());
    eprintln!(
        "dynox-iam: {} permission(s) from {} marker record(s); ARNs carry the placeholders REGION \
         and ACCOUNT (see `cargo xtask policy --help`)",
        report.requirements.len(),
        report.records
    );
    Ok(())
}

/// The fault-injection suite at full size, in the release profile, printing its figures.
fn bench() -> Result<(), String> {
    // The harness: ratios against serde_dynamo, hand-written conversion and the raw SDK, with
    // the report and plot under target/bench/.
    let out = workspace_root().join("target").join("bench");
    run(cargo()
        .args(["run", "--release", "-p", "dynox-bench", "--", "--out"])
        .arg(&out))?;
    // Then the full-size runs of the resilience and encryption suites (10,000 KMS values), and
    // the marker check of every fixture in release (the suite checks a sample).
    let moto = setup()?;
    let mut c = cargo();
    c.env("DYNOX_MOTO_SERVER", &moto)
        .env("DYNOX_FULL_RUNS", "1");
    if has_nextest() {
        run(c.args([
            "nextest",
            "run",
            "-p",
            "dynox-tests",
            "--test",
            "resilience",
            "--test",
            "encryption",
            "--test",
            "markers",
            "--cargo-profile",
            "release",
            "--no-capture",
            "--test-threads",
            "1",
        ]))
    } else {
        run(c.args([
            "test",
            "-p",
            "dynox-tests",
            "--test",
            "resilience",
            "--test",
            "encryption",
            "--test",
            "markers",
            "--release",
            "--",
            "--nocapture",
            "--test-threads",
            "1",
        ]))
    }
}

fn has_nextest() -> bool {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The integration tests that run a second time on the containers backend, beside the fault
/// tests that only it can run.
const CONTAINER_TESTS: [&str; 6] = [
    "containers",
    "items",
    "batch",
    "transactions",
    "encryption",
    "enforcement",
];

/// The whole suite: doc tests and the documentation (rustdoc warnings denied) first, then unit,
/// integration, compile-fail and marker-exactness tests on the embedded backend, then the
/// container pass, so the runner's summary is the last thing printed.
fn test() -> Result<(), String> {
    // The local KMS the encryption tests start; its path reaches them through the environment.
    let moto = setup()?;
    let cargo = || {
        let mut c = cargo();
        c.env("DYNOX_MOTO_SERVER", &moto);
        c
    };
    // The images build beside the first runs (the engine's is a link of what the suite compiles
    // anyway, the other mostly downloads and packaging); the container pass waits for them.
    let images = std::thread::spawn(images::build_all);
    // The tests enable dynox's `opentelemetry` feature; the library must build without it too.
    run(cargo().args(["check", "-p", "dynox", "--lib"]))?;
    // nextest does not run doctests; cargo test --doc does.
    run(cargo().args(["test", "--workspace", "--doc"]))?;
    // The documentation builds without a warning: a broken link or a bad code block fails.
    run(&mut rustdoc_strict(cargo()))?;
    let nextest = has_nextest();
    let (embedded, images) = if nextest {
        let embedded = run(cargo().args([
            "nextest",
            "run",
            "--workspace",
            "--all-targets",
            "--no-fail-fast",
            "-E",
            "not binary(containers)",
        ]));
        (embedded, images.join())
    } else {
        eprintln!("xtask: cargo-nextest not found; using cargo test");
        // Without nextest's filters the container tests run here too: they need their images.
        let images = images.join();
        let all = run(cargo().args(["test", "--workspace", "--all-targets", "--no-fail-fast"]));
        (all, images)
    };
    let containers = match images {
        Ok(Ok(_)) => container_pass(&cargo, nextest),
        Ok(Err(e)) => docker_missing(e),
        Err(_) => Err("the image build panicked".into()),
    };
    embedded.and(containers)
}

/// `cargo doc --workspace --no-deps` with rustdoc's warnings denied (on top of any
/// `RUSTDOCFLAGS` already set).
fn rustdoc_strict(mut cargo: Command) -> Command {
    let mut flags = std::env::var("RUSTDOCFLAGS").unwrap_or_default();
    if !flags.is_empty() {
        flags.push(' ');
    }
    flags.push_str("-D warnings");
    cargo
        .args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", flags);
    cargo
}

/// No images: under `CI=true` that fails the suite; elsewhere the container pass is skipped with
/// the reason, when the reason is that no Docker Engine answers.
fn docker_missing(error: String) -> Result<(), String> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    if !ci && error.contains("no Docker Engine answers") {
        eprintln!("xtask: container tests skipped: {error}");
        Ok(())
    } else {
        Err(error)
    }
}

/// The container pass: the fault tests and the tests that run on both backends.
fn container_pass(cargo: &dyn Fn() -> Command, nextest: bool) -> Result<(), String> {
    let mut c = cargo();
    c.env("DYNOX_BACKEND", "containers");
    if nextest {
        c.args(["nextest", "run", "-p", "dynox-tests", "--no-fail-fast"]);
    } else {
        c.args(["test", "-p", "dynox-tests", "--no-fail-fast"]);
    }
    for t in CONTAINER_TESTS {
        c.args(["--test", t]);
    }
    eprintln!("xtask: the container pass (DYNOX_BACKEND=containers): {CONTAINER_TESTS:?}");
    run(&mut c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documentation_step_denies_rustdoc_warnings() {
        let c = rustdoc_strict(Command::new("cargo"));
        let args: Vec<_> = c.get_args().collect();
        assert_eq!(args, ["doc", "--workspace", "--no-deps"]);
        let flags = c
            .get_envs()
            .find(|(k, _)| *k == "RUSTDOCFLAGS")
            .and_then(|(_, v)| v)
            .expect("RUSTDOCFLAGS is set")
            .to_string_lossy()
            .into_owned();
        assert!(flags.ends_with("-D warnings"), "{flags}");
    }
}
