//! `cargo xtask images`: the container images of the testcontainers backend, built offline.
//!
//! No registry can be reached where the project builds, so no base image can be pulled: each
//! folder under `docker/` holds a `build.sh` that makes a root filesystem from what *is*
//! reachable (crates.io, PyPI, Debian's mirror) and `docker import`s it. This module decides
//! when to run them. An image is tagged by a hash of everything that determines its contents
//! (its folder, the pinned versions, this file), so an unchanged image is found by its tag and
//! reused, and a changed input makes a new tag instead of silently reusing a stale image.
//!
//! The tags reach the tests through `target/dynox-images.env`, one `DYNOX_<NAME>_IMAGE=<tag>`
//! line per image.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One image: its name under `docker/` (and in `dynox/<name>`) and what its build script needs.
struct Image {
    name: &'static str,
    /// Environment for `build.sh`, besides `IMAGE` and `WORK_DIR`.
    env: Vec<(&'static str, String)>,
    /// The inputs outside its folder that decide its contents, for the tag's hash.
    pins: Vec<String>,
}

/// What became of an image in one run.
enum Outcome {
    Reused,
    Built(Duration),
}

/// Builds every image whose tag does not exist yet, writes the tags to
/// `target/dynox-images.env`, and returns `(name, tag)` pairs, e.g.
/// `("dynamodb", "dynox/dynamodb:0123456789ab")`.
pub fn build_all() -> Result<Vec<(String, String)>, String> {
    let started = Instant::now();
    docker_answers()?;
    let root = crate::workspace_root();
    let images = images(&root)?;
    let mut tagged = Vec::new();
    for image in &images {
        let tag = format!("dynox/{}:{}", image.name, input_hash(&root, image)?);
        tagged.push((image, tag));
    }

    // The builds share nothing (one is mostly cargo, the other debootstrap and pip), so they run
    // side by side; each writes its output to a log file, so the two do not interleave.
    let outcomes: Vec<Result<Outcome, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = tagged
            .iter()
            .map(|(image, tag)| s.spawn(|| build_one(&root, image, tag)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("an image build panicked".into()))
            })
            .collect()
    });

    let mut result = Vec::new();
    let mut failures = Vec::new();
    for ((image, tag), outcome) in tagged.iter().zip(outcomes) {
        match outcome {
            Ok(Outcome::Reused) => eprintln!("xtask: {tag} reused (already built)"),
            Ok(Outcome::Built(took)) => {
                eprintln!("xtask: {tag} built in {:.1}s", took.as_secs_f64())
            }
            Err(e) => failures.push(e),
        }
        result.push((image.name.to_string(), tag.clone()));
    }
    if !failures.is_empty() {
        return Err(failures.join("\n"));
    }

    let env: String = result
        .iter()
        .map(|(name, tag)| format!("DYNOX_{}_IMAGE={tag}\n", name.to_uppercase()))
        .collect();
    let env_file = root.join("target").join("dynox-images.env");
    std::fs::write(&env_file, env).map_err(|e| format!("{}: {e}", env_file.display()))?;
    eprintln!(
        "xtask: images ready in {:.1}s; tags in {}",
        started.elapsed().as_secs_f64(),
        env_file.display()
    );
    Ok(result)
}

/// The images and their pins. The versions are read from the files the rest of the workspace
/// uses, so an image always runs the same engine and the same moto as the in-process backends.
fn images(root: &Path) -> Result<Vec<Image>, String> {
    let dynoxide = locked_version(root, "dynoxide-rs")?;
    // The engine binary is compiled here, so the compiler is one of its inputs.
    let rustc = output(Command::new("rustc").arg("-V").current_dir(root))?;
    let requirements = root.join("xtask").join("python").join("requirements.txt");
    let requirements_text = std::fs::read_to_string(&requirements)
        .map_err(|e| format!("{}: {e}", requirements.display()))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Ok(vec![
        Image {
            name: "dynamodb",
            env: vec![
                ("DYNOXIDE_VERSION", dynoxide.clone()),
                ("CARGO", cargo),
                ("WORKSPACE", root.display().to_string()),
            ],
            // The binary is built from the workspace's lock file and its profile settings.
            pins: vec![
                format!("dynoxide-rs {dynoxide}"),
                rustc,
                std::env::consts::ARCH.into(),
                read(&root.join("Cargo.lock"))?,
                read(&root.join("Cargo.toml"))?,
            ],
        },
        Image {
            name: "aws",
            env: vec![("REQUIREMENTS", requirements.display().to_string())],
            pins: vec![requirements_text, std::env::consts::ARCH.into()],
        },
    ])
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reuses the image when its tag exists, or runs its `build.sh`.
fn build_one(root: &Path, image: &Image, tag: &str) -> Result<Outcome, String> {
    if image_exists(tag) {
        return Ok(Outcome::Reused);
    }
    let started = Instant::now();
    let work = root.join("target").join("dynox-images").join(image.name);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let log_path = work.join("build.log");
    let log =
        std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    eprintln!("xtask: building {tag} (log: {})", log_path.display());
    let script = root.join("docker").join(image.name).join("build.sh");
    let status = Command::new("bash")
        .arg(&script)
        .current_dir(script.parent().expect("build.sh is in a folder"))
        .env("IMAGE", tag)
        .env("WORK_DIR", &work)
        .envs(image.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !status.success() || !image_exists(tag) {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        return Err(format!(
            "building {tag} failed ({status}); the end of {}:\n{tail}",
            log_path.display()
        ));
    }
    Ok(Outcome::Built(started.elapsed()))
}

/// Fails with one line when no Docker Engine answers, rather than with the first build's error.
fn docker_answers() -> Result<(), String> {
    let out = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("no Docker Engine: cannot run the docker CLI ({e})"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reason = stderr
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no reason given");
    Err(format!(
        "no Docker Engine answers (`docker version`: {})",
        reason.trim()
    ))
}

fn image_exists(tag: &str) -> bool {
    Command::new("docker")
        .args(["image", "inspect", "--format", "{{.Id}}", tag])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The first 12 hex digits of a hash of the image's folder (every file, by relative path), its
/// pins and this file. FNV-1a rather than a cryptographic hash: the tag is a cache key for our
/// own inputs, not a defence against collisions crafted on purpose, and xtask then needs no
/// hashing dependency.
fn input_hash(root: &Path, image: &Image) -> Result<String, String> {
    let dir = root.join("docker").join(image.name);
    let mut files = Vec::new();
    list_files(&dir, &mut files)?;
    files.sort();
    let mut hash = Fnv::default();
    for file in &files {
        let relative = file.strip_prefix(&dir).expect("listed under dir");
        let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        hash.field(relative.to_string_lossy().as_bytes());
        hash.field(&bytes);
    }
    for pin in &image.pins {
        hash.field(pin.as_bytes());
    }
    hash.field(include_bytes!("images.rs"));
    Ok(format!("{:016x}", hash.0)[..12].to_string())
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            list_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// 64-bit FNV-1a.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    /// Hashes a length-prefixed field, so that moving bytes between fields changes the hash.
    fn field(&mut self, bytes: &[u8]) {
        for &b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// The version of `package` in the workspace's Cargo.lock (the one the workspace builds with).
fn locked_version(root: &Path, package: &str) -> Result<String, String> {
    let path = root.join("Cargo.lock");
    let lock = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let name_line = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == name_line
            && let Some(version) = lines
                .next()
                .and_then(|l| l.strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'))
        {
            return Ok(version.to_string());
        }
    }
    Err(format!("{package} is not in {}", path.display()))
}

fn output(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?} failed with {}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
