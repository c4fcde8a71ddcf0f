//! The `policy` command, as library calls, so any workspace's xtask can offer it in a few lines:
//!
//! ```no_run
//! // xtask/src/main.rs of your workspace
//! fn main() -> std::process::ExitCode {
//!     let args = std::env::args().skip(2); // skip "xtask" and "policy"
//!     match dynox_iam::cli::PolicyArgs::parse(args).and_then(|a| dynox_iam::cli::run_policy(&a)) {
//!         Ok(()) => std::process::ExitCode::SUCCESS,
//!         Err(e) => {
//!             eprintln!("error: {e}");
//!             std::process::ExitCode::FAILURE
//!         }
//!     }
//! }
//! ```

use crate::mapping::Mapping;
use crate::policy::{Policy, PolicyOptions};
use crate::scan::{ScanReport, scan_file};
use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The usage line of the `policy` command.
pub const USAGE: &str = "usage: policy (--bin NAME | --example NAME | --binary PATH) [-p PACKAGE] \
[--profile P] [--region R] [--account A] [--partition P] [--output FILE] [--allow-wildcard] \
[--format json|terraform|cloudformation|markdown] [--explain] [--check FILE] [--split] \
[--config FILE] [--env NAME] [--table-prefix P] [--table-suffix S] [--table LOGICAL=PHYSICAL] \
[--table-arn PATTERN] [--kms-key DECLARED=KEY] [--runtime-table NAME] [--enclosing-operation] \
[--encryption-context] [--leading-keys VARIABLE]";

/// The output form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// IAM policy JSON.
    Json,
    /// A Terraform `aws_iam_policy_document` data source.
    Terraform,
    /// A CloudFormation / SAM `PolicyDocument` (YAML).
    CloudFormation,
    /// A Markdown table.
    Markdown,
}

/// What to scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A binary target, built with cargo.
    Bin(String),
    /// An example target, built with cargo.
    Example(String),
    /// An executable that is already linked.
    Binary(PathBuf),
}

/// Parsed arguments of the `policy` command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyArgs {
    /// What to scan.
    pub target: Target,
    /// `-p PACKAGE`: the package that owns the target.
    pub package: Option<String>,
    /// `--profile P`: the cargo profile to build with (default `dev`).
    pub profile: Option<String>,
    /// Region, account, partition and wildcard consent for the ARNs.
    pub options: PolicyOptions,
    /// `--output FILE`: write the policy there instead of stdout.
    pub output: Option<PathBuf>,
    /// `--format`: the output form (JSON by default).
    pub format: Format,
    /// `--explain`: also tell, on stderr, which operations need each action.
    pub explain: bool,
    /// `--check FILE`: compare with a committed policy JSON; fail with a diff when they differ.
    pub check: Option<PathBuf>,
    /// `--split`: when over AWS's managed policy size, write several documents.
    pub split: bool,
    /// Whether `--partition` was given (it then wins over the mapping file's).
    pub partition_given: bool,
    /// `--config FILE`: the mapping file (default: `dynox-iam.toml` here or in a parent).
    pub config: Option<PathBuf>,
    /// `--env NAME`: the `[env.NAME]` section of the mapping file.
    pub env: Option<String>,
    /// Mapping flags, applied over the file: prefix, suffix, tables, keys, run-time tables.
    pub mapping: MappingFlags,
}

/// Mapping given on the command line; each flag overrides the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MappingFlags {
    /// `--table-prefix`.
    pub prefix: Option<String>,
    /// `--table-suffix`.
    pub suffix: Option<String>,
    /// `--table-arn`.
    pub table_arn: Option<String>,
    /// `--table LOGICAL=PHYSICAL`, repeatable.
    pub tables: Vec<(String, String)>,
    /// `--kms-key DECLARED=KEY`, repeatable.
    pub kms_keys: Vec<(String, String)>,
    /// `--runtime-table NAME`, repeatable.
    pub runtime_tables: Vec<String>,
}

/// Why the command failed.
#[derive(Debug)]
pub enum CliError {
    /// Bad command-line arguments.
    Usage(String),
    /// Building the target failed.
    Build(String),
    /// Scanning the binary failed.
    Scan(crate::scan::ScanError),
    /// No exact policy can be given.
    Policy(crate::policy::PolicyError),
    /// Writing the output failed.
    Io(std::io::Error),
    /// `--check`: the committed policy grants more or less than the binary needs.
    Drift(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) => write!(f, "{m}\n{USAGE}"),
            CliError::Build(m) => write!(f, "build failed: {m}"),
            CliError::Scan(e) => write!(f, "scan failed: {e}"),
            CliError::Policy(e) => write!(f, "{e}"),
            CliError::Io(e) => write!(f, "cannot read or write the policy: {e}"),
            CliError::Drift(d) => f.write_str(d),
        }
    }
}

impl std::error::Error for CliError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CliError::Scan(e) => Some(e),
            CliError::Policy(e) => Some(e),
            CliError::Io(e) => Some(e),
            CliError::Usage(_) | CliError::Build(_) | CliError::Drift(_) => None,
        }
    }
}

/// Region and partition names: lowercase letters, digits and `-` (they go into ARNs verbatim).
fn arn_part(flag: &str, v: String) -> Result<String, CliError> {
    if !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(v)
    } else {
        Err(CliError::Usage(format!(
            "{flag} takes a name like `eu-west-1` or `aws`, not `{v}`"
        )))
    }
}

impl PolicyArgs {
    /// Parses the arguments that follow `policy`.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<PolicyArgs, CliError> {
        let mut target = None;
        let mut package = None;
        let mut profile = None;
        let mut options = PolicyOptions::default();
        let mut output = None;
        let mut format = Format::Json;
        let mut explain = false;
        let mut check = None;
        let mut split = false;
        let mut config = None;
        let mut env = None;
        let mut partition_given = false;
        let mut mapping = MappingFlags::default();
        let pair = |flag: &str, v: String| {
            v.split_once('=')
                .filter(|(a, b)| !a.is_empty() && !b.is_empty())
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| CliError::Usage(format!("{flag} takes NAME=VALUE, not `{v}`")))
        };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .filter(|v| !v.starts_with("--"))
                    .ok_or_else(|| CliError::Usage(format!("{name} needs a value")))
            };
            let new_target = match flag.as_str() {
                "--bin" => Some(Target::Bin(value("--bin")?)),
                "--example" => Some(Target::Example(value("--example")?)),
                "--binary" => Some(Target::Binary(PathBuf::from(value("--binary")?))),
                "-p" | "--package" => {
                    package = Some(value("-p")?);
                    None
                }
                "--profile" => {
                    profile = Some(value("--profile")?);
                    None
                }
                "--region" => {
                    options.region = Some(arn_part("--region", value("--region")?)?);
                    None
                }
                "--account" => {
                    let a = value("--account")?;
                    if a.len() != 12 || !a.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(CliError::Usage(format!(
                            "--account takes a 12-digit AWS account id, not `{a}`"
                        )));
                    }
                    options.account = Some(a);
                    None
                }
                "--partition" => {
                    options.partition = arn_part("--partition", value("--partition")?)?;
                    partition_given = true;
                    None
                }
                "--output" | "-o" => {
                    output = Some(PathBuf::from(value("--output")?));
                    None
                }
                "--allow-wildcard" => {
                    options.allow_wildcard = true;
                    None
                }
                "--format" => {
                    format = match value("--format")?.as_str() {
                        "json" => Format::Json,
                        "terraform" => Format::Terraform,
                        "cloudformation" | "sam" => Format::CloudFormation,
                        "markdown" => Format::Markdown,
                        other => {
                            return Err(CliError::Usage(format!(
                                "--format is json, terraform, cloudformation or markdown, not `{other}`"
                            )));
                        }
                    };
                    None
                }
                "--explain" => {
                    explain = true;
                    None
                }
                "--check" => {
                    check = Some(PathBuf::from(value("--check")?));
                    None
                }
                "--split" => {
                    split = true;
                    None
                }
                "--config" => {
                    config = Some(PathBuf::from(value("--config")?));
                    None
                }
                "--env" => {
                    env = Some(value("--env")?);
                    None
                }
                "--table-prefix" => {
                    mapping.prefix = Some(value("--table-prefix")?);
                    None
                }
                "--table-suffix" => {
                    mapping.suffix = Some(value("--table-suffix")?);
                    None
                }
                "--table-arn" => {
                    mapping.table_arn = Some(value("--table-arn")?);
                    None
                }
                "--table" => {
                    mapping.tables.push(pair("--table", value("--table")?)?);
                    None
                }
                "--kms-key" => {
                    mapping
                        .kms_keys
                        .push(pair("--kms-key", value("--kms-key")?)?);
                    None
                }
                "--runtime-table" => {
                    mapping.runtime_tables.push(value("--runtime-table")?);
                    None
                }
                "--enclosing-operation" => {
                    options.conditions.enclosing_operation = true;
                    None
                }
                "--encryption-context" => {
                    options.conditions.encryption_context = true;
                    None
                }
                "--leading-keys" => {
                    let v = value("--leading-keys")?;
                    if !(v.starts_with("${") && v.ends_with('}')) || v.contains(['*', '?', '|']) {
                        return Err(CliError::Usage(format!(
                            "--leading-keys takes the policy variable that holds the caller's \
                             tenant, like `${{aws:PrincipalTag/tenant}}`, not `{v}`"
                        )));
                    }
                    options.conditions.leading_keys = Some(v);
                    None
                }
                other => return Err(CliError::Usage(format!("unknown argument `{other}`"))),
            };
            if let Some(t) = new_target {
                if target.is_some() {
                    return Err(CliError::Usage(
                        "give exactly one of --bin, --example, --binary".into(),
                    ));
                }
                target = Some(t);
            }
        }
        let target = target.ok_or_else(|| {
            CliError::Usage("give exactly one of --bin, --example, --binary".into())
        })?;
        if matches!(target, Target::Binary(_)) && (package.is_some() || profile.is_some()) {
            return Err(CliError::Usage(
                "-p and --profile build a target; --binary is already built".into(),
            ));
        }
        if split && (output.is_none() || format != Format::Json) {
            return Err(CliError::Usage(
                "--split writes JSON documents next to --output FILE".into(),
            ));
        }
        Ok(PolicyArgs {
            target,
            package,
            profile,
            options,
            output,
            format,
            explain,
            check,
            split,
            partition_given,
            config,
            env,
            mapping,
        })
    }

    /// The options with the mapping resolved as the client resolves it ([`Mapping::load`]:
    /// `--config` or `DYNOX_IAM_CONFIG` or a `dynox-iam.toml` found from the current directory up to
    /// the workspace root; `--env` or `DYNOX_ENV`; `DYNOX_TABLE_PREFIX` / `_SUFFIX`), then the
    /// mapping flags; region, account and partition flags win over the file's. Returns the file
    /// used, if any.
    pub fn resolve(&self) -> Result<(PolicyOptions, Option<PathBuf>), CliError> {
        let here = std::env::current_dir().ok();
        let (mut mapping, file) =
            Mapping::load(self.config.as_deref(), self.env.as_deref(), here.as_deref())
                .map_err(|e| CliError::Usage(e.to_string()))?;
        let f = &self.mapping;
        if let Some(p) = &f.prefix {
            mapping.prefix = p.clone();
        }
        if let Some(s) = &f.suffix {
            mapping.suffix = s.clone();
        }
        if f.table_arn.is_some() {
            mapping.table_arn = f.table_arn.clone();
        }
        mapping.tables.extend(f.tables.iter().cloned());
        mapping.kms_keys.extend(f.kms_keys.iter().cloned());
        if !f.runtime_tables.is_empty() {
            mapping.runtime_tables = f.runtime_tables.clone();
        }
        mapping
            .validate()
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let mut options = self.options.clone();
        if options.region.is_none() {
            options.region = mapping.region.clone();
        }
        if options.account.is_none() {
            options.account = mapping.account.clone();
        }
        if !self.partition_given
            && let Some(p) = &mapping.partition
        {
            options.partition = p.clone();
        }
        options.mapping = mapping;
        Ok((options, file))
    }
}

/// Builds `target` with cargo (unless it is already a binary) and returns the executable's path.
pub fn build_target(
    target: &Target,
    package: Option<&str>,
    profile: Option<&str>,
) -> Result<PathBuf, CliError> {
    let (flag, name) = match target {
        Target::Binary(path) => return Ok(path.clone()),
        Target::Bin(n) => ("--bin", n),
        Target::Example(n) => ("--example", n),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "--message-format=json-render-diagnostics",
        flag,
        name,
    ]);
    if let Some(p) = package {
        cmd.args(["-p", p]);
    }
    if let Some(p) = profile {
        cmd.args(["--profile", p]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| CliError::Build(format!("cannot run cargo: {e}")))?;
    let mut executable = None;
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| CliError::Build(e.to_string()))?;
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact" && msg["target"]["name"] == name.as_str() {
            executable = msg["executable"].as_str().map(PathBuf::from).or(executable);
        }
    }
    let status = child.wait().map_err(|e| CliError::Build(e.to_string()))?;
    if !status.success() {
        return Err(CliError::Build(format!("cargo exited with {status}")));
    }
    executable.ok_or_else(|| CliError::Build(format!("cargo produced no executable for {name}")))
}

/// Scans `binary` and builds its policy.
pub fn export(binary: &Path, options: &PolicyOptions) -> Result<(Policy, ScanReport), CliError> {
    let report = scan_file(binary).map_err(CliError::Scan)?;
    if !report.unreadable.is_empty() {
        return Err(CliError::Build(format!(
            "{} holds {} permission record(s) this dynox-iam cannot read ({}); it was probably \
             built with a newer dynox: update the policy tool",
            binary.display(),
            report.unreadable.len(),
            report.unreadable[0]
        )));
    }
    let policy = Policy::build(&report.requirements, options).map_err(CliError::Policy)?;
    Ok((policy, report))
}

/// Runs the whole command: build, scan, print the policy (stdout or `--output`), notes on stderr.
pub fn run_policy(args: &PolicyArgs) -> Result<(), CliError> {
    let binary = build_target(
        &args.target,
        args.package.as_deref(),
        args.profile.as_deref(),
    )?;
    let (options, mapping_file) = args.resolve()?;
    if let Some(file) = &mapping_file {
        eprintln!("dynox-iam: names mapped by {}", file.display());
        if args.config.is_none() && std::env::var_os(crate::mapping::CONFIG_VARIABLE).is_none() {
            eprintln!(
                "dynox-iam: the file was found in the workspace; the deployed service applies \
                 the same mapping only with {}={}",
                crate::mapping::CONFIG_VARIABLE,
                file.display()
            );
        }
    }
    let (policy, report) = export(&binary, &options)?;
    eprintln!(
        "dynox-iam: {} permission(s) from {} marker record(s) in {}",
        report.requirements.len(),
        report.records,
        binary.display()
    );
    if options.uses_placeholders() {
        eprintln!(
            "dynox-iam: ARNs carry the placeholders REGION and ACCOUNT; pass --region and --account \
             to fill them in"
        );
    }
    for w in &policy.warnings {
        eprintln!("dynox-iam: warning: {w}");
    }
    if args.explain {
        eprint!("{}", crate::render::explain(&policy));
    }
    if let Some(path) = &args.check {
        let committed = std::fs::read_to_string(path).map_err(CliError::Io)?;
        let diff = crate::render::check(&policy, &committed).map_err(CliError::Build)?;
        if !diff.is_empty() {
            return Err(CliError::Drift(format!(
                "{} differs from what {} needs (+ needed, - not needed):\n{}",
                path.display(),
                binary.display(),
                diff.join("\n")
            )));
        }
        eprintln!(
            "dynox-iam: {} grants exactly what the binary needs",
            path.display()
        );
        return Ok(());
    }
    let size = crate::render::policy_size(&policy);
    if size > crate::render::MANAGED_POLICY_LIMIT {
        eprintln!(
            "dynox-iam: warning: the policy is {size} characters without whitespace, over AWS's \
             managed policy limit of {}; --split writes it as several documents",
            crate::render::MANAGED_POLICY_LIMIT
        );
    }
    if args.split {
        let out = args.output.as_ref().expect("checked when parsing");
        let parts = crate::render::split(&policy, crate::render::MANAGED_POLICY_LIMIT);
        for (i, part) in parts.iter().enumerate() {
            let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("policy");
            let path = out.with_file_name(format!("{stem}-{}.json", i + 1));
            write_atomically(&path, &part.to_json()).map_err(CliError::Io)?;
            eprintln!("dynox-iam: wrote {}", path.display());
        }
        return Ok(());
    }
    let text = match args.format {
        Format::Json => policy.to_json(),
        Format::Terraform => crate::render::terraform(&policy, "dynox", &options),
        Format::CloudFormation => crate::render::cloudformation(&policy, &options),
        Format::Markdown => crate::render::markdown(&policy),
    };
    match &args.output {
        Some(path) => write_atomically(path, &text).map_err(CliError::Io)?,
        None => print!("{text}"),
    }
    Ok(())
}

/// Writes via a temporary file and a rename, so a failed run never leaves half a policy behind.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("dynox-iam.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<PolicyArgs, CliError> {
        PolicyArgs::parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn parses_the_documented_interface() {
        let a = parse("--example svc -p dynox --profile release --region eu-west-1 --account 123456789012 --partition aws-cn --output p.json").unwrap();
        assert_eq!(a.target, Target::Example("svc".into()));
        assert_eq!(a.package.as_deref(), Some("dynox"));
        assert_eq!(a.profile.as_deref(), Some("release"));
        assert_eq!(a.options.partition, "aws-cn");
        assert!(!a.options.uses_placeholders());
        assert_eq!(a.output, Some(PathBuf::from("p.json")));
    }

    #[test]
    fn rejects_bad_arguments() {
        for bad in [
            "",
            "--bin a --example b",
            "--bin",
            "--bin a --account 12",
            "--binary x -p y",
            "--bin a --region EU_WEST",
            "--bin a --partition aws:cn",
            "--frobnicate",
        ] {
            assert!(matches!(parse(bad), Err(CliError::Usage(_))), "{bad}");
        }
    }
}
