//! The quick run as a smoke test: every comparison runs and reports, with the binary itself as
//! the engine cases' child. No timing is asserted: only that everything was measured.

#[test]
fn the_quick_run_measures_every_row_and_writes_the_report() {
    let dir = std::env::temp_dir().join(format!("dynox-bench-{}", std::process::id()));
    let exe = env!("CARGO_BIN_EXE_dynox-bench");
    let out = std::process::Command::new(exe)
        .args(["--quick", "--out"])
        .arg(&dir)
        .output()
        .expect("the harness runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    let rows = json["rows"].as_array().unwrap();
    let groups: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r["group"].as_str().unwrap()).collect();
    assert_eq!(groups, ["client", "codec", "engine"].into_iter().collect());
    for r in rows {
        let values = r["values"].as_array().unwrap();
        assert!(!values.is_empty(), "{r}");
        for v in values {
            let v = v.as_f64().unwrap_or(f64::NAN);
            assert!(
                v.is_finite() && v >= 0.0,
                "a figure that was not measured: {r}"
            );
        }
    }
    // Every goal of the issues has its row: 11 for the codec, the client against the raw SDK
    // and the engine, 4 for what default observability costs over none.
    let goals = rows.iter().filter(|r| !r["goal"].is_null()).count();
    assert_eq!(goals, 15, "{json}");
    let observability = rows
        .iter()
        .filter(|r| r["measure"].as_str().unwrap().contains("observability"))
        .count();
    assert_eq!(observability, 4 * 5, "{json}");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert_eq!(
        md.lines().filter(|l| l.starts_with("| ")).count(),
        rows.len() + 1
    );
    let svg = std::fs::read_to_string(dir.join("ratios.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    let _ = std::fs::remove_dir_all(&dir);
}
