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

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn policy_command_builds_scans_and_writes_the_file() {
    let out_file = std::env::temp_dir().join(format!("dynox-policy-{}.json", std::process::id()));
    let out = xtask(&[
        "policy",
        "-p",
        "marker-fixtures",
        "--bin",
        "runtime_if",
        "--region",
        "eu-west-1",
        "--account",
        "123456789012",
        "--output",
        out_file.to_str().unwrap(),
    ]);
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
    let out = xtask(&[
        "policy",
        "-p",
        "marker-fixtures",
        "--bin",
        "get_only",
        "--partition",
        "aws-cn",
    ]);
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
    assert_eq!(by_resource.len(), 4);
}

#[test]
fn check_gate_formats_and_explanations() {
    let dir = std::env::temp_dir().join(format!("dynox-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let committed = dir.join("get_only.json");
    let out = xtask(&[
        "policy",
        "-p",
        "marker-fixtures",
        "--bin",
        "get_only",
        "--output",
        committed.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // The same binary passes the gate...
    let out = xtask(&[
        "policy",
        "-p",
        "marker-fixtures",
        "--bin",
        "get_only",
        "--check",
        committed.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // ... a binary that uses one more operation fails it, with a readable diff.
    let out = xtask(&[
        "policy",
        "-p",
        "marker-fixtures",
        "--bin",
        "everything",
        "--check",
        committed.to_str().unwrap(),
    ]);
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
    let json = text(&xtask(&["policy", "-p", "marker-fixtures", "--bin", "transactions"]).stdout);
    let tf = text(
        &xtask(&[
            "policy",
            "-p",
            "marker-fixtures",
            "--bin",
            "transactions",
            "--format",
            "terraform",
        ])
        .stdout,
    );
    let cf = text(
        &xtask(&[
            "policy",
            "-p",
            "marker-fixtures",
            "--bin",
            "transactions",
            "--format",
            "cloudformation",
        ])
        .stdout,
    );
    let md = text(
        &xtask(&[
            "policy",
            "-p",
            "marker-fixtures",
            "--bin",
            "transactions",
            "--format",
            "markdown",
        ])
        .stdout,
    );
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
    assert!(tf.starts_with("data \"aws_iam_policy_document\""));
    assert!(cf.contains("${AWS::Region}") && cf.contains("${AWS::AccountId}"));

    // --explain names the operations and models behind each action.
    let out = xtask(&[
        "policy",
        "-p",
        "marker-fixtures",
        "--bin",
        "transactions",
        "--explain",
    ]);
    let err = text(&out.stderr);
    assert!(
        err.contains("dynamodb:ConditionCheckItem: transact_write check (Order)"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
