//! The `cargo xtask policy` and `cargo xtask demo` commands, run as a user runs them.

use std::path::PathBuf;
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn xtask(args: &[&str]) -> Output {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    Command::new(cargo)
        .current_dir(workspace())
        .args(["run", "--quiet", "--package", "xtask", "--"])
        .args(args)
        .output()
        .expect("cargo runs")
}

/// `cargo xtask policy -p marker-fixtures --bin BIN ARGS...`
fn fixture_policy(bin: &str, args: &[&str]) -> Output {
    xtask(&[&["policy", "-p", "marker-fixtures", "--bin", bin][..], args].concat())
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn policy_command_builds_scans_and_writes_the_file() {
    let out_file = std::env::temp_dir().join(format!("dynox-policy-{}.json", std::process::id()));
    let out = fixture_policy(
        "runtime_if",
        &[
            "--region",
            "eu-west-1",
            "--account",
            "123456789012",
            "--output",
            out_file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        out.stdout.is_empty(),
        "the policy goes to the file, not stdout"
    );
    assert!(!text(&out.stderr).contains("placeholders"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    std::fs::remove_file(&out_file).unwrap();
    assert_eq!(
        json["Statement"][0]["Action"],
        serde_json::json!(["dynamodb:GetItem", "dynamodb:UpdateItem"])
    );
    assert_eq!(
        json["Statement"][0]["Resource"],
        serde_json::json!(["arn:aws:dynamodb:eu-west-1:123456789012:table/fixture-orders"])
    );
}

#[test]
fn policy_command_says_when_arns_have_placeholders() {
    let out = fixture_policy("get_only", &["--partition", "aws-cn"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("placeholders REGION and ACCOUNT"));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        json["Statement"][0]["Resource"][0],
        "arn:aws-cn:dynamodb:REGION:ACCOUNT:table/fixture-users"
    );
}

#[test]
fn policy_command_refuses_bad_input_clearly() {
    let out = xtask(&["policy", "--bin", "x", "--example", "y"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("exactly one of --bin, --example, --binary"));

    let not_a_binary = workspace().join("Cargo.toml");
    let out = xtask(&["policy", "--binary", not_a_binary.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not an executable"),
        "{}",
        text(&out.stderr)
    );

    let out = xtask(&["policy", "--binary", "/nonexistent/binary"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("cannot read /nonexistent/binary"));
}

#[test]
fn demo_runs_the_service_and_prints_its_policy() {
    let out = xtask(&["demo"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("done"), "the service ran to the end");
    let (_, policy) = stdout
        .split_once("== its exact IAM policy, read from the linked binary ==\n")
        .expect("the demo prints the policy");
    let json: serde_json::Value = serde_json::from_str(policy).unwrap();
    let statements = json["Statement"].as_array().unwrap();
    let by_resource: std::collections::BTreeMap<String, Vec<String>> = statements
        .iter()
        .flat_map(|s| {
            let actions: Vec<String> = s["Action"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect();
            s["Resource"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |r| (r.as_str().unwrap().to_owned(), actions.clone()))
        })
        .collect();
    let arn = |t: &str| format!("arn:aws:dynamodb:REGION:ACCOUNT:table/{t}");
    let items = [
        "CreateTable",
        "DeleteItem",
        "DescribeTable",
        "GetItem",
        "PutItem",
        "UpdateItem",
    ];
    let with = |extra: &str| {
        let mut v: Vec<String> = items
            .iter()
            .chain([&extra])
            .map(|a| format!("dynamodb:{a}"))
            .collect();
        v.sort();
        v
    };
    assert_eq!(by_resource[&arn("customers")], with("BatchGetItem"));
    assert_eq!(by_resource[&arn("orders")], with("Query"));
    assert_eq!(
        by_resource[&arn("orders/index/by-status")],
        ["dynamodb:Query"]
    );
    // The encrypted field: exactly its two KMS actions, on any key requested by its alias.
    let kms = statements
        .iter()
        .find(|s| s["Resource"][0] == "arn:aws:kms:REGION:ACCOUNT:key/*")
        .expect("a KMS statement");
    assert_eq!(
        kms["Action"],
        serde_json::json!(["kms:Decrypt", "kms:GenerateDataKey"])
    );
    assert_eq!(
        kms["Condition"]["StringEquals"]["kms:RequestAlias"],
        serde_json::json!(["alias/dynox-demo"])
    );
    // The nightly report's lease table, and the orders' stream (no more on the table).
    assert_eq!(
        by_resource[&arn("locks")],
        [
            "dynamodb:ConditionCheckItem",
            "dynamodb:CreateTable",
            "dynamodb:DescribeTable",
            "dynamodb:UpdateItem"
        ]
    );
    assert_eq!(
        by_resource[&arn("orders/stream/*")],
        [
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator"
        ]
    );
    assert_eq!(by_resource["*"], ["dynamodb:ListStreams"]);
    // The receipts and their PDFs in S3: the objects under the field's prefix, no multipart.
    assert_eq!(
        by_resource[&arn("receipts")],
        [
            "dynamodb:CreateTable",
            "dynamodb:DeleteItem",
            "dynamodb:DescribeTable",
            "dynamodb:GetItem",
            "dynamodb:PutItem"
        ]
    );
    assert_eq!(
        by_resource["arn:aws:s3:::dynox-demo-receipts/receipts/*"],
        ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    );
    assert_eq!(by_resource.len(), 9);
}

#[test]
fn check_gate_formats_and_explanations() {
    let dir = std::env::temp_dir().join(format!("dynox-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let committed = dir.join("get_only.json");
    let out = fixture_policy("get_only", &["--output", committed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // The same binary passes the gate...
    let out = fixture_policy("get_only", &["--check", committed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // ... a binary that uses one more operation fails it, with a readable diff.
    let out = fixture_policy("everything", &["--check", committed.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("+ dynamodb:PutItem on arn:aws:dynamodb:REGION:ACCOUNT:table/fixture-users"),
        "{err}"
    );
    assert!(
        !err.lines().any(|l| l.starts_with("- ")),
        "nothing granted is unneeded: {err}"
    );

    // The formats carry the same grants.
    let json = text(&fixture_policy("transactions", &[]).stdout);
    let tf = text(&fixture_policy("transactions", &["--format", "terraform"]).stdout);
    let cf = text(&fixture_policy("transactions", &["--format", "cloudformation"]).stdout);
    let md = text(&fixture_policy("transactions", &["--format", "markdown"]).stdout);
    for action in [
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:GetItem",
    ] {
        for (name, out) in [
            ("json", &json),
            ("terraform", &tf),
            ("cloudformation", &cf),
            ("markdown", &md),
        ] {
            assert!(out.contains(action), "{name} lacks {action}:\n{out}");
        }
    }
    assert!(tf.contains("data \"aws_iam_policy_document\""));
    assert!(tf.contains("data \"aws_region\" \"dynox\" {}"));
    assert!(tf.contains(":${data.aws_caller_identity.dynox.account_id}:table/"));
    assert!(cf.contains("${AWS::Region}") && cf.contains("${AWS::AccountId}"));

    // --explain names the operations and models behind each action.
    let out = fixture_policy("transactions", &["--explain"]);
    let err = text(&out.stderr);
    assert!(
        err.contains("dynamodb:ConditionCheckItem: transact_write check (Order)"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The grants of a Terraform `aws_iam_policy_document` as this tool writes it:
/// `action on resource [conditions]`, one per line, sorted.
fn terraform_grants(tf: &str) -> std::collections::BTreeSet<String> {
    let list = |line: &str| -> Vec<String> {
        let inner = line.split_once('[').unwrap().1.rsplit_once(']').unwrap().0;
        serde_json::from_str::<Vec<String>>(&format!("[{inner}]")).unwrap()
    };
    let value = |line: &str| {
        serde_json::from_str::<String>(line.split_once('=').unwrap().1.trim()).unwrap()
    };
    let mut out = std::collections::BTreeSet::new();
    // Placeholders come from the region and caller-identity data sources.
    let tf = tf
        .replace(&dynox_iam::render::terraform_region("dynox"), "REGION")
        .replace(&dynox_iam::render::terraform_account("dynox"), "ACCOUNT")
        .replace("$${", "${");
    for block in tf.split("  statement {").skip(1) {
        let (mut actions, mut resources, mut conditions) = (vec![], vec![], vec![]);
        let mut test = String::new();
        let mut variable = String::new();
        for line in block.lines().map(str::trim) {
            if line.starts_with("actions") {
                actions = list(line);
            } else if line.starts_with("resources") {
                resources = list(line);
            } else if line.starts_with("test") {
                test = value(line);
            } else if line.starts_with("variable") {
                variable = value(line);
            } else if line.starts_with("values") {
                conditions.push(format!("{test} {variable} {:?}", list(line)));
            }
        }
        conditions.sort();
        for a in &actions {
            for r in &resources {
                out.insert(format!("{a} on {r} {conditions:?}"));
            }
        }
    }
    out
}

/// The same, from the CloudFormation YAML, with `${AWS::Region}` / `${AWS::AccountId}` read back
/// as the placeholders.
fn cloudformation_grants(cf: &str) -> std::collections::BTreeSet<String> {
    let unquote = |s: &str| {
        let s = s.trim().trim_start_matches("!Sub ").trim();
        s.trim_matches('\'').replace("''", "'")
    };
    let mut out = std::collections::BTreeSet::new();
    for block in cf.split("    - Sid: ").skip(1) {
        let (mut actions, mut resources, mut conditions) = (vec![], vec![], vec![]);
        let mut section = "";
        let (mut op, mut key) = (String::new(), String::new());
        let mut values: Vec<String> = vec![];
        for line in block.lines().skip(1) {
            let indent = line.len() - line.trim_start().len();
            let t = line.trim();
            match (indent, t) {
                (6, "Action:") => section = "action",
                (6, "Resource:") => section = "resource",
                (6, "Condition:") => section = "condition",
                (8, item) if item.starts_with("- ") && section == "action" => {
                    actions.push(unquote(&item[2..]))
                }
                (8, item) if item.starts_with("- ") && section == "resource" => resources.push(
                    unquote(&item[2..])
                        .replace("${AWS::Region}", "REGION")
                        .replace("${AWS::AccountId}", "ACCOUNT"),
                ),
                (8, o) => op = o.trim_end_matches(':').to_owned(),
                (10, k) => {
                    if !values.is_empty() {
                        conditions.push(format!("{op} {key} {values:?}"));
                        values.clear();
                    }
                    key = unquote(k.trim_end_matches(':'));
                }
                (12, v) => values.push(unquote(&v[2..])),
                _ => {}
            }
        }
        if !values.is_empty() {
            conditions.push(format!("{op} {key} {values:?}"));
        }
        conditions.sort();
        for a in &actions {
            for r in &resources {
                out.insert(format!("{a} on {r} {conditions:?}"));
            }
        }
    }
    out
}

fn json_grants(json: &str) -> std::collections::BTreeSet<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let strings = |x: &serde_json::Value| -> Vec<String> {
        x.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    };
    let mut out = std::collections::BTreeSet::new();
    for s in v["Statement"].as_array().unwrap() {
        let mut conditions = vec![];
        if let Some(ops) = s["Condition"].as_object() {
            for (op, keys) in ops {
                for (k, vals) in keys.as_object().unwrap() {
                    conditions.push(format!("{op} {k} {:?}", strings(vals)));
                }
            }
        }
        conditions.sort();
        for a in strings(&s["Action"]) {
            for r in strings(&s["Resource"]) {
                out.insert(format!("{a} on {r} {conditions:?}"));
            }
        }
    }
    out
}

#[test]
fn example_service_outputs_agree_and_the_check_gate_holds() {
    let service = ["policy", "-p", "dynox", "--example", "service"];
    let run = |extra: &[&str]| {
        let out = xtask(&[&service[..], extra].concat());
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    for flags in [
        &[][..],
        &["--encryption-context", "--table-prefix", "prod-"][..],
    ] {
        let json = json_grants(&run(flags));
        let tf = terraform_grants(&run(&[flags, &["--format", "terraform"]].concat()));
        let cf = cloudformation_grants(&run(&[flags, &["--format", "cloudformation"]].concat()));
        assert!(json.len() >= 17, "{json:#?}");
        assert_eq!(tf, json, "Terraform and JSON grant the same ({flags:?})");
        assert_eq!(
            cf, json,
            "CloudFormation and JSON grant the same ({flags:?})"
        );
    }

    // The committed policy is what the service needs...
    let committed = "crates/dynox/examples/service.policy.json";
    let out = xtask(&[&service[..], &["--check", committed]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("grants exactly what the binary needs"));
    // ... and the same service using one more operation fails the gate, naming it.
    let out = fixture_policy("service_plus", &["--check", committed]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    let diff: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("+ ") || l.starts_with("- "))
        .collect();
    assert_eq!(
        diff,
        ["+ dynamodb:Scan on arn:aws:dynamodb:REGION:ACCOUNT:table/orders"],
        "{err}"
    );
}

#[test]
fn mapping_file_and_flags_reach_the_export() {
    let dir = std::env::temp_dir().join(format!("dynox-mapping-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("dynox-iam.toml");
    std::fs::write(
        &config,
        "prefix = \"dev-\"\n[env.prod]\nprefix = \"prod-\"\nregion = \"eu-west-1\"\naccount = \"111122223333\"\n[env.prod.tables]\norders = \"orders-v2\"\n[env.prod.kms]\n\"alias/dynox-demo\" = \"arn:aws:kms:eu-west-1:111122223333:key/k-1\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let base = [
        "policy",
        "-p",
        "dynox",
        "--example",
        "service",
        "--config",
        config,
    ];
    let out = xtask(&[&base[..], &["--env", "prod"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json = text(&out.stdout);
    for arn in [
        "arn:aws:dynamodb:eu-west-1:111122223333:table/prod-customers",
        "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-v2",
        "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-v2/index/by-status",
        "arn:aws:kms:eu-west-1:111122223333:key/k-1",
    ] {
        assert!(
            json.contains(&format!("\"{arn}\"")),
            "{arn} missing:\n{json}"
        );
    }
    assert!(
        !json.contains("kms:RequestAlias"),
        "a mapped key needs no alias condition"
    );
    // Flags win over the file.
    let out = xtask(&[&base[..], &["--table-prefix", "qa-"]].concat());
    assert!(text(&out.stdout).contains("table/qa-customers"));
    // Bad mappings are refused with the reason, and nothing is written.
    let written = dir.join("never.json");
    let never = written.to_str().unwrap();
    for (bad, reason) in [
        (&["--env", "staging"][..], "no [env.staging] section"),
        (&["--table", "orders"][..], "--table takes NAME=VALUE"),
        (&["--kms-key", "alias/dynox-demo=*"][..], "not a key id"),
    ] {
        let out = xtask(&[&base[..], bad, &["--output", never]].concat());
        assert!(!out.status.success(), "{bad:?}");
        assert!(text(&out.stderr).contains(reason), "{}", text(&out.stderr));
        assert!(!written.exists(), "{bad:?} wrote a policy");
    }
    // A run-time table is refused unless the mapping covers it.
    let out = fixture_policy("partiql_dynamic", &[]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--allow-wildcard"));
    let out = fixture_policy("partiql_dynamic", &["--runtime-table", "imports"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("table/imports\""));
    assert!(!text(&out.stdout).contains("table/*"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_users_own_xtask_runs_the_same_gate() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(workspace())
        .args(["run", "--quiet", "--package", "user-xtask", "--", "policy"])
        .args(["-p", "user-service", "--bin", "notes"])
        .args(["--check", "tests/user-service/notes.policy.json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("grants exactly what the binary needs"));
}
