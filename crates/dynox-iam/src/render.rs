//! The policy in other forms: Terraform, CloudFormation, a Markdown table, an explanation; and
//! the comparison a CI gate runs against a committed policy.

use crate::policy::{Policy, PolicyOptions, Statement};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// AWS's limit on a managed policy, counted without whitespace.
pub const MANAGED_POLICY_LIMIT: usize = 6144;

/// The policy's size as AWS counts it: its JSON without whitespace.
pub fn policy_size(policy: &Policy) -> usize {
    policy
        .to_json()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// Splits a policy into parts that each fit AWS's managed policy limit, keeping statements whole.
pub fn split(policy: &Policy, limit: usize) -> Vec<Policy> {
    let mut parts: Vec<Policy> = Vec::new();
    let mut current = Policy {
        statements: Vec::new(),
        warnings: policy.warnings.clone(),
    };
    for s in &policy.statements {
        let mut trial = current.clone();
        trial.statements.push(s.clone());
        if !current.statements.is_empty() && policy_size(&trial) > limit {
            parts.push(std::mem::replace(
                &mut current,
                Policy {
                    statements: vec![s.clone()],
                    warnings: Vec::new(),
                },
            ));
        } else {
            current = trial;
        }
    }
    parts.push(current);
    parts
}

/// An HCL string: `${` and `%{` are escaped, so IAM policy variables stay literal.
fn hcl_str(s: &str) -> String {
    format!("{s:?}").replace("${", "$${").replace("%{", "%%{")
}

fn hcl_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| hcl_str(i)).collect();
    format!("[{}]", quoted.join(", "))
}

/// A Terraform `aws_iam_policy_document` data source named `name`. Region and account the
/// options do not give come from the `aws_region` / `aws_caller_identity` data sources, which are
/// declared alongside.
pub fn terraform(policy: &Policy, name: &str, options: &PolicyOptions) -> String {
    let region = options.region.is_none()
        && policy
            .statements
            .iter()
            .any(|s| s.resources.iter().any(|r| r.contains(":REGION:")));
    let account = options.account.is_none()
        && policy
            .statements
            .iter()
            .any(|s| s.resources.iter().any(|r| r.contains(":ACCOUNT:")));
    // Named after the document, so they never clash with a module's own `current` ones.
    let mut out = String::new();
    if region {
        let _ = writeln!(out, "data \"aws_region\" \"{name}\" {{}}\n");
    }
    if account {
        let _ = writeln!(out, "data \"aws_caller_identity\" \"{name}\" {{}}\n");
    }
    let resource = |arn: &str| {
        let mut quoted = hcl_str(arn);
        if region {
            quoted = quoted.replace(":REGION:", &format!(":{}:", terraform_region(name)));
        }
        if account {
            quoted = quoted.replace(":ACCOUNT:", &format!(":{}:", terraform_account(name)));
        }
        quoted
    };
    let _ = writeln!(out, "data \"aws_iam_policy_document\" \"{name}\" {{");
    for s in &policy.statements {
        let _ = writeln!(out, "  statement {{");
        let _ = writeln!(out, "    sid       = {:?}", s.sid);
        let _ = writeln!(out, "    effect    = \"Allow\"");
        let _ = writeln!(out, "    actions   = {}", hcl_list(&s.actions));
        let resources: Vec<String> = s.resources.iter().map(|r| resource(r)).collect();
        let _ = writeln!(out, "    resources = [{}]", resources.join(", "));
        for (op, keys) in &s.conditions {
            for (key, values) in keys {
                let _ = writeln!(out, "    condition {{");
                let _ = writeln!(out, "      test     = {op:?}");
                let _ = writeln!(out, "      variable = {}", hcl_str(key));
                let _ = writeln!(out, "      values   = {}", hcl_list(values));
                let _ = writeln!(out, "    }}");
            }
        }
        let _ = writeln!(out, "  }}");
    }
    out.push_str("}\n");
    out
}

/// The Terraform interpolation that stands for `REGION` in the document `name` (AWS provider
/// 5 and 6: `name` is the region attribute both accept).
pub fn terraform_region(name: &str) -> String {
    format!("${{data.aws_region.{name}.name}}")
}

/// The Terraform interpolation that stands for `ACCOUNT` in the document `name`.
pub fn terraform_account(name: &str) -> String {
    format!("${{data.aws_caller_identity.{name}.account_id}}")
}

fn yaml_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A CloudFormation / SAM `PolicyDocument` in YAML. Region and account the options do not give
/// become `${AWS::Region}` / `${AWS::AccountId}` substitutions.
pub fn cloudformation(policy: &Policy, options: &PolicyOptions) -> String {
    let sub = |arn: &str| {
        let mut a = arn.to_owned();
        let mut substituted = false;
        if options.region.is_none() && a.contains(":REGION:") {
            a = a.replace(":REGION:", ":${AWS::Region}:");
            substituted = true;
        }
        if options.account.is_none() && a.contains(":ACCOUNT:") {
            a = a.replace(":ACCOUNT:", ":${AWS::AccountId}:");
            substituted = true;
        }
        if substituted {
            format!("!Sub {}", yaml_str(&a))
        } else {
            yaml_str(&a)
        }
    };
    let mut out = String::from("PolicyDocument:\n  Version: '2012-10-17'\n  Statement:\n");
    for s in &policy.statements {
        let _ = writeln!(out, "    - Sid: {}", s.sid);
        let _ = writeln!(out, "      Effect: Allow");
        let _ = writeln!(out, "      Action:");
        for a in &s.actions {
            let _ = writeln!(out, "        - {}", yaml_str(a));
        }
        let _ = writeln!(out, "      Resource:");
        for r in &s.resources {
            let _ = writeln!(out, "        - {}", sub(r));
        }
        if !s.conditions.is_empty() {
            let _ = writeln!(out, "      Condition:");
            for (op, keys) in &s.conditions {
                let _ = writeln!(out, "        {op}:");
                for (key, values) in keys {
                    let _ = writeln!(out, "          {}:", yaml_str(key));
                    for v in values {
                        let _ = writeln!(out, "            - {}", yaml_str(v));
                    }
                }
            }
        }
    }
    out
}

/// A Markdown table for a service's README: action, resource, the conditions the grant carries
/// (the same as the JSON's), and what needs it.
pub fn markdown(policy: &Policy) -> String {
    let mut out =
        String::from("| Action | Resource | Condition | Needed by |\n|---|---|---|---|\n");
    for s in &policy.statements {
        let conditions: Vec<String> = s
            .conditions
            .iter()
            .flat_map(|(op, keys)| {
                keys.iter().map(move |(key, values)| {
                    let values: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
                    format!("{op} `{key}` = {}", values.join(" or "))
                })
            })
            .collect();
        for a in &s.actions {
            let why: Vec<&str> = s
                .reasons
                .get(a)
                .map(|r| r.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| `{a}` | {} | {} | {} |",
                s.resources
                    .iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join("<br>"),
                conditions.join("<br>"),
                why.join(", ")
            );
        }
    }
    out
}

/// For each statement, which operations (and models or fields) need each action.
pub fn explain(policy: &Policy) -> String {
    let mut out = String::new();
    for s in &policy.statements {
        let _ = writeln!(out, "{} — {}", s.sid, s.resources.join(", "));
        for (op, keys) in &s.conditions {
            for (key, values) in keys {
                let _ = writeln!(out, "  when {op} {key} = {}", values.join(" | "));
            }
        }
        for a in &s.actions {
            let why = s
                .reasons
                .get(a)
                .map(|r| r.iter().cloned().collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            let _ = writeln!(out, "  {a}: {why}");
        }
    }
    out
}

/// (action, resource, conditions) grants of a policy document, for comparison.
fn grants(statements: &[Statement]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in statements {
        let cond = if s.conditions.is_empty() {
            String::new()
        } else {
            format!(" when {:?}", s.conditions)
        };
        for a in &s.actions {
            for r in &s.resources {
                out.insert(format!("{a} on {r}{cond}"));
            }
        }
    }
    out
}

/// Reads the grants of an IAM policy JSON document (what `--check` compares against).
pub fn parse_grants(json: &str) -> Result<BTreeSet<String>, String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("not a policy document: {e}"))?;
    let list = |x: &serde_json::Value| -> Vec<String> {
        match x {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let statements = match &v["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        serde_json::Value::Object(_) => vec![v["Statement"].clone()],
        _ => return Err("the document has no Statement".into()),
    };
    let mut parsed = Vec::new();
    for s in statements {
        if s["Effect"] != "Allow" {
            return Err("only Allow statements can be compared".into());
        }
        let mut conditions = std::collections::BTreeMap::new();
        if let serde_json::Value::Object(ops) = &s["Condition"] {
            for (op, keys) in ops {
                let mut m = std::collections::BTreeMap::new();
                if let serde_json::Value::Object(keys) = keys {
                    for (k, vals) in keys {
                        m.insert(k.clone(), list(vals));
                    }
                }
                conditions.insert(op.clone(), m);
            }
        }
        parsed.push(Statement {
            sid: String::new(),
            actions: list(&s["Action"]),
            resources: list(&s["Resource"]),
            conditions,
            reasons: Default::default(),
        });
    }
    Ok(grants(&parsed))
}

/// The difference between what the binary needs and what a committed policy grants: lines
/// starting `+` are needed and missing, `-` granted and not needed. Empty when they agree.
pub fn check(policy: &Policy, committed_json: &str) -> Result<Vec<String>, String> {
    let committed = parse_grants(committed_json)?;
    let needed = grants(&policy.statements);
    let mut diff: Vec<String> = needed
        .difference(&committed)
        .map(|g| format!("+ {g}"))
        .collect();
    diff.extend(committed.difference(&needed).map(|g| format!("- {g}")));
    Ok(diff)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marker::{Requirement, Resource};

    fn policy() -> Policy {
        let reqs = [
            Requirement {
                action: "dynamodb:GetItem".into(),
                resource: Resource::Table("users".into()),
                operation: "get".into(),
                detail: "User".into(),
            },
            Requirement {
                action: "kms:Decrypt".into(),
                resource: Resource::KmsKey("alias/app".into()),
                operation: "decrypt".into(),
                detail: "ssn".into(),
            },
        ];
        Policy::build(&reqs, &PolicyOptions::default()).unwrap()
    }

    #[test]
    fn formats_agree_with_the_json() {
        let p = policy();
        let tf = terraform(&p, "service", &PolicyOptions::default());
        assert!(tf.contains("actions   = [\"dynamodb:GetItem\"]"));
        assert!(tf.contains("variable = \"kms:RequestAlias\""));
        assert!(tf.contains(
            "\"arn:aws:dynamodb:${data.aws_region.service.name}:${data.aws_caller_identity.service.account_id}:table/users\""
        ));
        let given = PolicyOptions {
            region: Some("eu-west-1".into()),
            account: Some("111122223333".into()),
            ..PolicyOptions::default()
        };
        // Given region and account: no data sources, the placeholders left as the ARNs have them.
        assert!(!terraform(&p, "service", &given).contains("aws_region"));
        let cf = cloudformation(&p, &PolicyOptions::default());
        assert!(
            cf.contains("!Sub 'arn:aws:dynamodb:${AWS::Region}:${AWS::AccountId}:table/users'")
        );
        assert!(cf.contains("kms:RequestAlias"));
        let md = markdown(&p);
        assert!(md.contains(
            "| `dynamodb:GetItem` | `arn:aws:dynamodb:REGION:ACCOUNT:table/users` |  | get (User) |"
        ));
        // The grant's conditions, as in the JSON.
        let kms = md.lines().find(|l| l.contains("kms:Decrypt")).unwrap();
        assert!(
            kms.contains("StringEquals `kms:RequestAlias` = `alias/app`"),
            "{kms}"
        );
        let ex = explain(&p);
        assert!(ex.contains("kms:Decrypt: decrypt (ssn)"));
    }

    #[test]
    fn check_passes_on_itself_and_reports_drift() {
        let p = policy();
        assert!(check(&p, &p.to_json()).unwrap().is_empty());
        let mut fewer = p.clone();
        fewer
            .statements
            .retain(|s| !s.actions.contains(&"kms:Decrypt".to_string()));
        let diff = check(&p, &fewer.to_json()).unwrap();
        assert_eq!(diff.len(), 1);
        assert!(diff[0].starts_with("+ kms:Decrypt on arn:aws:kms:REGION:ACCOUNT:key/*"));
        let diff = check(&fewer, &p.to_json()).unwrap();
        assert!(diff[0].starts_with("- kms:Decrypt"));
        assert!(check(&p, "not json").is_err());
    }

    #[test]
    fn splits_to_the_managed_policy_limit() {
        let reqs: Vec<Requirement> = (0..200)
            .map(|i| Requirement {
                action: if i % 2 == 0 {
                    "dynamodb:GetItem".into()
                } else {
                    "dynamodb:PutItem".into()
                },
                resource: Resource::Table(format!("table-number-{i:03}-with-a-long-name")),
                operation: "op".into(),
                detail: String::new(),
            })
            .collect();
        // Give each table its own action set so statements cannot merge.
        let mut p = Policy::build(&reqs, &PolicyOptions::default()).unwrap();
        for (i, s) in p.statements.iter_mut().enumerate() {
            s.sid = format!("S{i}");
        }
        let whole = policy_size(&p);
        let parts = split(&p, MANAGED_POLICY_LIMIT);
        if whole > MANAGED_POLICY_LIMIT {
            assert!(parts.len() > 1);
        }
        assert!(
            parts
                .iter()
                .all(|q| policy_size(q) <= MANAGED_POLICY_LIMIT || q.statements.len() == 1)
        );
        let n: usize = parts.iter().map(|q| q.statements.len()).sum();
        assert_eq!(n, p.statements.len());
    }
}
