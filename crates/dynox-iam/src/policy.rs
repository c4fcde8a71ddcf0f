//! From a set of [`Requirement`]s to a least-privilege IAM policy document.
//!
//! Resources that need the same set of actions share a statement; statements come in a fixed
//! order with Sids derived from their content, so the same binary always yields the same text.

use crate::marker::{Requirement, Resource};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

/// Where the policy's ARNs point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyOptions {
    /// The AWS partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// The region; `None` writes the literal placeholder `REGION`.
    pub region: Option<String>,
    /// The account id; `None` writes the literal placeholder `ACCOUNT`.
    pub account: Option<String>,
    /// Accept operations whose table is only known at run time, granting them `table/*`.
    pub allow_wildcard: bool,
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            partition: "aws".to_owned(),
            region: None,
            account: None,
            allow_wildcard: false,
        }
    }
}

impl PolicyOptions {
    /// Whether the ARNs will carry `REGION` / `ACCOUNT` placeholders.
    pub fn uses_placeholders(&self) -> bool {
        self.region.is_none() || self.account.is_none()
    }

    fn region(&self) -> &str {
        self.region.as_deref().unwrap_or("REGION")
    }

    fn account(&self) -> &str {
        self.account.as_deref().unwrap_or("ACCOUNT")
    }
}

/// Why no policy could be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyError {
    /// Some operations name their table only at run time, and wildcards were not allowed.
    RuntimeTables {
        /// The operations, as `action (operation)`.
        operations: Vec<String>,
    },
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyError::RuntimeTables { operations } => write!(
                f,
                "these operations name their table only at run time, so no exact resource can be \
                 given: {}; use typed models, or allow `table/*` explicitly with --allow-wildcard",
                operations.join(", ")
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

/// One `Statement` of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// Stable statement id.
    pub sid: String,
    /// The actions, sorted.
    pub actions: Vec<String>,
    /// The resource ARNs (or `*`), sorted.
    pub resources: Vec<String>,
    /// `operator -> key -> values`, empty when unconditional.
    pub conditions: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// For each action, the `operation (detail)` entries that need it (for explanations).
    pub reasons: BTreeMap<String, BTreeSet<String>>,
}

/// An IAM policy document (`Version 2012-10-17`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Policy {
    /// The statements, in their fixed order.
    pub statements: Vec<Statement>,
    /// Things the reader must know (wildcards that were allowed).
    pub warnings: Vec<String>,
}

type Conditions = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// A resource as it appears in a policy: an ARN and the conditions that narrow it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Target {
    arn: String,
    conditions: Conditions,
}

impl Policy {
    /// Builds the least-privilege policy for `requirements`.
    pub fn build<'a>(
        requirements: impl IntoIterator<Item = &'a Requirement>,
        options: &PolicyOptions,
    ) -> Result<Policy, PolicyError> {
        let mut per_target: BTreeMap<Target, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        let mut runtime = BTreeSet::new();
        let mut warnings = Vec::new();
        for req in requirements {
            if req.resource == Resource::RuntimeTable {
                runtime.insert(format!("{} ({})", req.action, req.operation));
            }
            let target = target(&req.resource, options);
            let reason = if req.detail.is_empty() {
                req.operation.clone()
            } else {
                format!("{} ({})", req.operation, req.detail)
            };
            per_target
                .entry(target)
                .or_default()
                .entry(req.action.clone())
                .or_default()
                .insert(reason);
        }
        if !runtime.is_empty() {
            let operations: Vec<String> = runtime.into_iter().collect();
            if !options.allow_wildcard {
                return Err(PolicyError::RuntimeTables { operations });
            }
            warnings.push(format!(
                "granted on every table (table/*) because the table is named at run time: {}",
                operations.join(", ")
            ));
        }

        // Group targets that need exactly the same actions under the same conditions.
        let mut groups: BTreeMap<(BTreeSet<String>, Conditions), Statement> = BTreeMap::new();
        for (target, actions) in per_target {
            let key: BTreeSet<String> = actions.keys().cloned().collect();
            let stmt = groups
                .entry((key.clone(), target.conditions.clone()))
                .or_insert_with(|| Statement {
                    sid: String::new(),
                    actions: key.into_iter().collect(),
                    resources: Vec::new(),
                    conditions: target.conditions.clone(),
                    reasons: BTreeMap::new(),
                });
            stmt.resources.push(target.arn);
            for (action, why) in actions {
                stmt.reasons.entry(action).or_default().extend(why);
            }
        }
        let mut statements: Vec<Statement> = groups.into_values().collect();
        for s in &mut statements {
            s.resources.sort();
        }
        statements.sort_by(|a, b| {
            (service(&a.actions[0]), &a.resources, &a.actions).cmp(&(
                service(&b.actions[0]),
                &b.resources,
                &b.actions,
            ))
        });
        let mut used = BTreeSet::new();
        for s in &mut statements {
            let base = sid_for(s);
            let mut sid = base.clone();
            let mut n = 2;
            while !used.insert(sid.clone()) {
                sid = format!("{base}{n}");
                n += 1;
            }
            s.sid = sid;
        }
        Ok(Policy {
            statements,
            warnings,
        })
    }

    /// Every action the policy grants, sorted.
    pub fn actions(&self) -> BTreeSet<&str> {
        self.statements
            .iter()
            .flat_map(|s| s.actions.iter().map(String::as_str))
            .collect()
    }

    /// The policy as pretty-printed IAM JSON, `Version` first.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [");
        for (i, s) in self.statements.iter().enumerate() {
            out.push_str(if i == 0 { "\n" } else { ",\n" });
            out.push_str("    {\n");
            let _ = writeln!(out, "      \"Sid\": {},", json_str(&s.sid));
            out.push_str("      \"Effect\": \"Allow\",\n");
            let _ = writeln!(out, "      \"Action\": {},", json_list(&s.actions, 6));
            let _ = write!(out, "      \"Resource\": {}", json_list(&s.resources, 6));
            if !s.conditions.is_empty() {
                out.push_str(",\n      \"Condition\": {");
                for (j, (op, keys)) in s.conditions.iter().enumerate() {
                    out.push_str(if j == 0 { "\n" } else { ",\n" });
                    let _ = write!(out, "        {}: {{", json_str(op));
                    for (k, (key, values)) in keys.iter().enumerate() {
                        out.push_str(if k == 0 { "\n" } else { ",\n" });
                        let _ = write!(
                            out,
                            "          {}: {}",
                            json_str(key),
                            json_list(values, 10)
                        );
                    }
                    out.push_str("\n        }");
                }
                out.push_str("\n      }");
            }
            out.push_str("\n    }");
        }
        out.push_str(if self.statements.is_empty() {
            "]\n}\n"
        } else {
            "\n  ]\n}\n"
        });
        out
    }
}

fn service(action: &str) -> &str {
    action.split(':').next().unwrap_or(action)
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn json_list(items: &[String], indent: usize) -> String {
    let pad = " ".repeat(indent + 2);
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        out.push_str(if i == 0 { "\n" } else { ",\n" });
        out.push_str(&pad);
        out.push_str(&json_str(item));
    }
    out.push('\n');
    out.push_str(&" ".repeat(indent));
    out.push(']');
    out
}

fn target(resource: &Resource, o: &PolicyOptions) -> Target {
    let (p, r, a) = (&o.partition, o.region(), o.account());
    let plain = |arn: String| Target {
        arn,
        conditions: BTreeMap::new(),
    };
    match resource {
        Resource::Table(t) => plain(format!("arn:{p}:dynamodb:{r}:{a}:table/{t}")),
        Resource::Index { table, index } => plain(format!(
            "arn:{p}:dynamodb:{r}:{a}:table/{table}/index/{index}"
        )),
        Resource::Stream(t) => plain(format!("arn:{p}:dynamodb:{r}:{a}:table/{t}/stream/*")),
        Resource::RuntimeTable => plain(format!("arn:{p}:dynamodb:{r}:{a}:table/*")),
        Resource::Any => plain("*".to_owned()),
        Resource::S3Prefix { bucket, prefix } => plain(format!("arn:{p}:s3:::{bucket}/{prefix}*")),
        Resource::KmsKey(key) => {
            // Crypto actions are authorized on the key ARN; an alias ARN grants nothing for them,
            // so a key declared by alias is granted as "any key, when requested by this alias".
            // An alias ARN names its own partition, region and account; keep them.
            let alias = if let Some(rest) = key.strip_prefix("arn:") {
                rest.split_once(":alias/")
                    .map(|(head, name)| (format!("arn:{head}:key/*"), format!("alias/{name}")))
            } else {
                key.starts_with("alias/")
                    .then(|| (format!("arn:{p}:kms:{r}:{a}:key/*"), key.clone()))
            };
            match alias {
                Some((arn, alias)) => Target {
                    arn,
                    conditions: BTreeMap::from([(
                        "StringEquals".to_owned(),
                        BTreeMap::from([("kms:RequestAlias".to_owned(), vec![alias])]),
                    )]),
                },
                None if key.starts_with("arn:") => plain(key.clone()),
                None => plain(format!("arn:{p}:kms:{r}:{a}:key/{key}")),
            }
        }
    }
}

/// A Sid from the statement's content: service, then the resource names in CamelCase.
fn sid_for(s: &Statement) -> String {
    let svc = service(&s.actions[0]);
    let mut sid = camel(svc);
    let first = &s.resources[0];
    let name = if first == "*" {
        "AllResources".to_owned()
    } else {
        // The part after the service's `type/`, e.g. `users/index/by-email`.
        let tail = first.splitn(6, ':').nth(5).unwrap_or(first);
        camel(tail)
    };
    sid.push_str(&name);
    if s.resources.len() > 1 {
        let _ = write!(sid, "And{}More", s.resources.len() - 1);
    }
    sid
}

fn camel(s: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if upper {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
            upper = false;
        } else {
            upper = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(action: &str, resource: Resource) -> Requirement {
        Requirement {
            action: action.into(),
            resource,
            operation: "op".into(),
            detail: "M".into(),
        }
    }

    #[test]
    fn groups_identical_action_sets() {
        let reqs = [
            req("dynamodb:GetItem", Resource::Table("users".into())),
            req("dynamodb:PutItem", Resource::Table("users".into())),
            req("dynamodb:GetItem", Resource::Table("orders".into())),
            req("dynamodb:PutItem", Resource::Table("orders".into())),
            req(
                "dynamodb:Query",
                Resource::Index {
                    table: "users".into(),
                    index: "by-email".into(),
                },
            ),
            req("dynamodb:ListTables", Resource::Any),
        ];
        let p = Policy::build(&reqs, &PolicyOptions::default()).unwrap();
        assert_eq!(p.statements.len(), 3);
        assert_eq!(p.statements[0].sid, "DynamodbAllResources");
        assert_eq!(
            p.statements[1].resources,
            [
                "arn:aws:dynamodb:REGION:ACCOUNT:table/orders",
                "arn:aws:dynamodb:REGION:ACCOUNT:table/users"
            ]
        );
        assert_eq!(p.statements[1].sid, "DynamodbTableOrdersAnd1More");
        assert_eq!(
            p.statements[2].resources,
            ["arn:aws:dynamodb:REGION:ACCOUNT:table/users/index/by-email"]
        );
        let json: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(json["Version"], "2012-10-17");
        assert_eq!(json["Statement"][1]["Action"][1], "dynamodb:PutItem");
    }

    #[test]
    fn runtime_tables_need_consent() {
        let reqs = [req("dynamodb:GetItem", Resource::RuntimeTable)];
        let err = Policy::build(&reqs, &PolicyOptions::default()).unwrap_err();
        assert!(err.to_string().contains("--allow-wildcard"));
        let opts = PolicyOptions {
            allow_wildcard: true,
            region: Some("eu-west-1".into()),
            account: Some("123456789012".into()),
            ..PolicyOptions::default()
        };
        let p = Policy::build(&reqs, &opts).unwrap();
        assert_eq!(
            p.statements[0].resources,
            ["arn:aws:dynamodb:eu-west-1:123456789012:table/*"]
        );
        assert_eq!(p.warnings.len(), 1);
    }

    #[test]
    fn kms_alias_is_pinned_by_condition() {
        let reqs = [req("kms:Decrypt", Resource::KmsKey("alias/app".into()))];
        let p = Policy::build(&reqs, &PolicyOptions::default()).unwrap();
        let s = &p.statements[0];
        assert_eq!(s.resources, ["arn:aws:kms:REGION:ACCOUNT:key/*"]);
        assert_eq!(
            s.conditions["StringEquals"]["kms:RequestAlias"],
            ["alias/app"]
        );
        let json: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(
            json["Statement"][0]["Condition"]["StringEquals"]["kms:RequestAlias"][0],
            "alias/app"
        );
    }

    #[test]
    fn kms_alias_arn_keeps_its_account() {
        let reqs = [req(
            "kms:Decrypt",
            Resource::KmsKey("arn:aws:kms:eu-west-1:111122223333:alias/app".into()),
        )];
        let p = Policy::build(&reqs, &PolicyOptions::default()).unwrap();
        assert_eq!(
            p.statements[0].resources,
            ["arn:aws:kms:eu-west-1:111122223333:key/*"]
        );
    }

    #[test]
    fn empty_policy_is_valid_json() {
        let p = Policy::build([], &PolicyOptions::default()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(json["Statement"].as_array().unwrap().len(), 0);
    }
}
