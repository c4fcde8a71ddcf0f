//! From a set of [`Requirement`]s to a least-privilege IAM policy document.
//!
//! Resources that need the same set of actions share a statement; statements come in a fixed
//! order with Sids derived from their content, so the same binary always yields the same text.

use crate::actions::carries_condition_key;
use crate::marker::{Requirement, Resource};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

/// Where the policy's ARNs point, and how narrow its statements are.
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
    /// Logical to deployed names: tables, table ARNs, KMS keys, run-time tables.
    pub mapping: crate::mapping::Mapping,
    /// Optional conditions that narrow statements further where the code proves them.
    pub conditions: FineGrained,
}

/// Conditions a user can switch on; each is added only where every use in the binary allows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FineGrained {
    /// `dynamodb:EnclosingOperation` on item actions the binary uses only inside transactions.
    pub enclosing_operation: bool,
    /// `kms:EncryptionContext:*` on KMS keys, from the encrypted fields' declared contexts.
    pub encryption_context: bool,
    /// `dynamodb:LeadingKeys` on tables of models that declare a tenant key: the IAM policy
    /// variable that holds the caller's tenant, e.g. `${aws:PrincipalTag/tenant}`.
    pub leading_keys: Option<String>,
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            partition: "aws".to_owned(),
            region: None,
            account: None,
            allow_wildcard: false,
            mapping: crate::mapping::Mapping::default(),
            conditions: FineGrained::default(),
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
    /// The mapping sends two of the binary's tables to one deployed table.
    TableClash {
        /// The logical tables.
        tables: Vec<String>,
        /// The table they would share.
        physical: String,
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
            PolicyError::TableClash { tables, physical } => write!(
                f,
                "the mapping sends the tables {} to one table, `{physical}`: give each its own",
                tables.join(" and ")
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

impl Target {
    /// Narrows the grant of `action` with a condition on `key`, if requests for `action` carry
    /// that key (AWS's reference data): a condition on a key the request never has would deny
    /// every use of the action instead of narrowing it.
    fn add(&mut self, action: &str, op: &str, key: &str, values: Vec<String>) {
        if carries_condition_key(action, key) {
            self.conditions
                .entry(op.to_owned())
                .or_default()
                .insert(key.to_owned(), values);
        }
    }
}

impl Policy {
    /// Builds the least-privilege policy for `requirements`.
    pub fn build<'a>(
        requirements: impl IntoIterator<Item = &'a Requirement>,
        options: &PolicyOptions,
    ) -> Result<Policy, PolicyError> {
        // First every (resource, action) with the requirements that need it, so conditions that
        // must hold for every use (the enclosing operation) can be decided per action.
        let mut uses: BTreeMap<(Target, String), Vec<&Requirement>> = BTreeMap::new();
        let mut runtime = BTreeSet::new();
        let mut warnings = Vec::new();
        // Run-time tables are covered only by the mapping's explicit list; otherwise they need
        // consent for a wildcard (narrowed to the mapping's prefix and suffix, if any).
        let listed = !options.mapping.runtime_tables.is_empty();
        let requirements: Vec<&Requirement> = requirements.into_iter().collect();
        check_clashes(&requirements, &options.mapping)?;
        for req in requirements {
            if req.resource == Resource::RuntimeTable {
                runtime.insert(format!("{} ({})", req.action, req.operation));
            }
            for mut target in targets(&req.resource, options) {
                if options.conditions.encryption_context
                    && carries_condition_key(&req.action, "kms:EncryptionContextKeys")
                {
                    // Each field's exact context: one statement per context, so fields sharing
                    // a key do not allow each other's (or crossed) contexts; a field without
                    // one is granted only requests without a context.
                    let facts = crate::marker::facts(&req.detail);
                    if facts.is_empty() {
                        target.add(
                            &req.action,
                            "Null",
                            "kms:EncryptionContextKeys",
                            vec!["true".to_owned()],
                        );
                    }
                    for (k, v) in facts {
                        target.add(
                            &req.action,
                            "StringEquals",
                            &format!("kms:EncryptionContext:{k}"),
                            vec![v.to_owned()],
                        );
                    }
                }
                uses.entry((target, req.action.clone()))
                    .or_default()
                    .push(req);
            }
        }
        if !runtime.is_empty() && !listed {
            let operations: Vec<String> = runtime.into_iter().collect();
            if !options.allow_wildcard {
                return Err(PolicyError::RuntimeTables { operations });
            }
            warnings.push(format!(
                "granted on every table matching table/{} because the table is named at run \
                 time: {}",
                options.mapping.name_pattern(),
                operations.join(", ")
            ));
        }
        // Tables of tenant models: reads the leading-key condition cannot limit are told.
        let tenant_tables: BTreeSet<&str> = if options.conditions.leading_keys.is_some() {
            uses.values()
                .flatten()
                .filter(|r| crate::marker::facts(&r.detail).contains_key(LEADING_KEY_FACT))
                .filter_map(|r| match &r.resource {
                    Resource::Table(t) => Some(t.as_str()),
                    _ => None,
                })
                .collect()
        } else {
            BTreeSet::new()
        };
        for ((target, action), reqs) in &uses {
            // Unlimited: a data action on a tenant table (or its index) that names no partition
            // key, or a use that does not carry the tenant (a global index, a PartiQL
            // statement, a table named at run time that may be a tenant table).
            let data = LEADING_KEY_ACTIONS.contains(&action.as_str())
                || action.starts_with("dynamodb:PartiQL")
                || matches!(
                    action.as_str(),
                    "dynamodb:Scan" | "dynamodb:GetRecords" | "dynamodb:SearchVectors"
                );
            let unlimited = data
                && reqs.iter().any(|r| {
                    let reaches_tenant = match &r.resource {
                        Resource::Index { table, .. }
                        | Resource::Table(table)
                        | Resource::Stream(table) => tenant_tables.contains(table.as_str()),
                        Resource::RuntimeTable => !tenant_tables.is_empty(),
                        _ => false,
                    };
                    reaches_tenant
                        && (!LEADING_KEY_ACTIONS.contains(&action.as_str())
                            || !crate::marker::facts(&r.detail).contains_key(LEADING_KEY_FACT))
                });
            if unlimited {
                warnings.push(format!(
                    "{action} on {} can reach every tenant's items: dynamodb:LeadingKeys \
                     cannot limit it",
                    target.arn
                ));
            }
        }

        let mut per_target: BTreeMap<Target, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for ((mut target, action), reqs) in uses {
            narrow(&mut target, &action, &reqs, &options.conditions);
            let reasons = per_target
                .entry(target)
                .or_default()
                .entry(action)
                .or_default();
            for req in reqs {
                reasons.insert(if req.detail.is_empty() {
                    req.operation.clone()
                } else {
                    format!("{} ({})", req.operation, describe(&req.detail))
                });
            }
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

fn targets(resource: &Resource, o: &PolicyOptions) -> Vec<Target> {
    let (p, r, a) = (&o.partition, o.region(), o.account());
    let m = &o.mapping;
    let plain = |arn: String| Target {
        arn,
        conditions: BTreeMap::new(),
    };
    let one = |t: Target| vec![t];
    match resource {
        Resource::Table(t) => one(plain(m.table_arn(t, p, r, a))),
        Resource::Index { table, index } => one(plain(format!(
            "{}/index/{index}",
            m.table_arn(table, p, r, a)
        ))),
        Resource::Stream(t) => one(plain(format!("{}/stream/*", m.table_arn(t, p, r, a)))),
        Resource::RuntimeTable if !m.runtime_tables.is_empty() => m
            .runtime_tables
            .iter()
            .map(|t| plain(m.table_arn(t, p, r, a)))
            .collect(),
        Resource::RuntimeTable => one(plain(m.arn_for_physical(&m.name_pattern(), p, r, a))),
        Resource::Any => one(plain("*".to_owned())),
        Resource::S3Prefix { bucket, prefix } => one(plain(format!(
            "arn:{p}:s3:::{}/{prefix}*",
            m.bucket(bucket)
        ))),
        Resource::KmsKey(declared) => {
            // The mapping may name the key the client will really call KMS with.
            let key = m.kms_key(declared);
            // Crypto actions are authorized on the key ARN; an alias ARN grants nothing for them,
            // so a key declared by alias is granted as "any key, when requested by this alias".
            // An alias ARN names its own partition, region and account; keep them.
            let alias = if let Some(rest) = key.strip_prefix("arn:") {
                rest.split_once(":alias/")
                    .map(|(head, name)| (format!("arn:{head}:key/*"), format!("alias/{name}")))
            } else {
                key.starts_with("alias/")
                    .then(|| (format!("arn:{p}:kms:{r}:{a}:key/*"), key.to_owned()))
            };
            one(match alias {
                Some((arn, alias)) => Target {
                    arn,
                    conditions: BTreeMap::from([(
                        "StringEquals".to_owned(),
                        BTreeMap::from([("kms:RequestAlias".to_owned(), vec![alias])]),
                    )]),
                },
                None if key.starts_with("arn:") => plain(key.to_owned()),
                None => plain(format!("arn:{p}:kms:{r}:{a}:key/{key}")),
            })
        }
    }
}

/// Two of the binary's logical tables that the mapping sends to one physical table would share
/// its grants (and a batch would mix their items): refused.
fn check_clashes(
    requirements: &[&Requirement],
    mapping: &crate::mapping::Mapping,
) -> Result<(), PolicyError> {
    let mut by_physical: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for r in requirements {
        let logical = match &r.resource {
            Resource::Table(t) | Resource::Stream(t) | Resource::Index { table: t, .. } => t,
            _ => continue,
        };
        by_physical
            .entry(mapping.table(logical).into_owned())
            .or_default()
            .insert(logical);
    }
    match by_physical.into_iter().find(|(_, l)| l.len() > 1) {
        Some((physical, tables)) => Err(PolicyError::TableClash {
            tables: tables.into_iter().map(str::to_owned).collect(),
            physical,
        }),
        None => Ok(()),
    }
}

/// The item actions that can run inside a transaction, and the operation name for each kind.
const TRANSACTION_MEMBERS: [&str; 5] = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
];

/// A marker's detail for people: the facts after the model and field, spelled out.
fn describe(detail: &str) -> String {
    let facts = crate::marker::facts(detail);
    if facts.is_empty() {
        return detail.to_owned();
    }
    let head = detail.rsplit_once(" {").map_or(detail, |(h, _)| h);
    let mut parts = Vec::new();
    let mut context = Vec::new();
    for (k, v) in &facts {
        if *k == LEADING_KEY_FACT {
            parts.push(format!("partition key {}", v.replacen('|', "<tenant>", 1)));
        } else {
            context.push(format!("{k}={v}"));
        }
    }
    if !context.is_empty() {
        parts.push(format!("encryption context {}", context.join(", ")));
    }
    format!("{head}; {}", parts.join("; "))
}

/// The actions whose requests name partition keys, so `dynamodb:LeadingKeys` is always present.
/// (Scan has none: `ForAllValues` over an absent key is true, so a Scan is never narrowed.)
const LEADING_KEY_ACTIONS: [&str; 8] = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
];

/// The fact a tenant model's item markers carry: its partition key as `PREFIX|SUFFIX` around
/// the tenant (see `dynox::Model::TENANT_KEY`).
const LEADING_KEY_FACT: &str = "dynox:leading-key";

/// Adds the switched-on conditions that every requirement of `action` on `target` allows.
fn narrow(target: &mut Target, action: &str, reqs: &[&Requirement], on: &FineGrained) {
    if let Some(variable) = &on.leading_keys
        && LEADING_KEY_ACTIONS.contains(&action)
    {
        let shapes: Option<BTreeSet<&str>> = reqs
            .iter()
            .map(|r| {
                crate::marker::facts(&r.detail)
                    .get(LEADING_KEY_FACT)
                    .copied()
            })
            .collect();
        if let Some(shapes) = shapes {
            let values: Vec<String> = shapes
                .iter()
                .map(|s| s.replacen('|', variable, 1))
                .collect();
            let op = if shapes.iter().any(|s| s.contains('*')) {
                "ForAllValues:StringLike"
            } else {
                "ForAllValues:StringEquals"
            };
            target.add(action, op, "dynamodb:LeadingKeys", values);
        }
    }
    if on.enclosing_operation && TRANSACTION_MEMBERS.contains(&action) {
        let enclosing: BTreeSet<Option<&str>> = reqs
            .iter()
            .map(|r| {
                if r.operation.starts_with("transact_write") {
                    Some("TransactWriteItems")
                } else if r.operation.starts_with("transact_get") {
                    Some("TransactGetItems")
                } else {
                    None
                }
            })
            .collect();
        if !enclosing.contains(&None) {
            target.add(
                action,
                "StringEquals",
                "dynamodb:EnclosingOperation",
                enclosing.into_iter().flatten().map(str::to_owned).collect(),
            );
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
    fn s3_objects_are_granted_under_the_mapped_bucket_and_prefix() {
        use crate::marker::{ResourceRef, decode, encode};
        // From the marker record an S3-backed field's upload leaves in a binary.
        let record = |action| {
            let bytes = encode(
                action,
                ResourceRef::S3Prefix {
                    bucket: "attachments",
                    prefix: "docs/",
                },
                "save",
                "Doc.body",
            );
            decode(&bytes).unwrap()
        };
        let reqs = [
            record(crate::actions::s3::PUT_OBJECT),
            record(crate::actions::s3::GET_OBJECT),
            record(crate::actions::s3::DELETE_OBJECT),
            req("dynamodb:PutItem", Resource::Table("docs".into())),
        ];
        let mut opts = PolicyOptions {
            partition: "aws-cn".into(),
            region: Some("cn-north-1".into()),
            account: Some("111122223333".into()),
            conditions: FineGrained {
                enclosing_operation: true,
                encryption_context: true,
                leading_keys: Some("${aws:PrincipalTag/tenant}".into()),
            },
            ..PolicyOptions::default()
        };
        opts.mapping
            .buckets
            .insert("attachments".into(), "prod-attachments".into());
        let p = Policy::build(&reqs, &opts).unwrap();
        let s3 = p
            .statements
            .iter()
            .find(|s| s.actions[0].starts_with("s3:"))
            .expect("an S3 statement");
        // Object ARNs name no region and no account; the bucket is the deployed one.
        assert_eq!(s3.resources, ["arn:aws-cn:s3:::prod-attachments/docs/*"]);
        assert_eq!(
            s3.actions,
            ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
        );
        assert!(s3.conditions.is_empty(), "{:?}", s3.conditions);
        assert!(s3.sid.starts_with("S3"), "{}", s3.sid);
        let json: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        let statement = json["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == s3.sid.as_str())
            .unwrap();
        assert_eq!(
            statement["Resource"],
            serde_json::json!(["arn:aws-cn:s3:::prod-attachments/docs/*"])
        );
        // Unmapped, the declared bucket is the deployed one.
        let p = Policy::build(&reqs[..1], &PolicyOptions::default()).unwrap();
        assert_eq!(
            p.statements[0].resources,
            ["arn:aws:s3:::attachments/docs/*"]
        );
    }

    fn with_op(action: &str, resource: Resource, operation: &str, detail: &str) -> Requirement {
        Requirement {
            action: action.into(),
            resource,
            operation: operation.into(),
            detail: detail.into(),
        }
    }

    #[test]
    fn mapping_renames_tables_keys_and_covers_runtime_tables() {
        let reqs = [
            req("dynamodb:GetItem", Resource::Table("users".into())),
            req(
                "dynamodb:Query",
                Resource::Index {
                    table: "users".into(),
                    index: "by-email".into(),
                },
            ),
            req("dynamodb:DeleteTable", Resource::RuntimeTable),
            req("kms:Decrypt", Resource::KmsKey("alias/app".into())),
        ];
        let mut opts = PolicyOptions {
            region: Some("eu-west-1".into()),
            account: Some("111122223333".into()),
            ..PolicyOptions::default()
        };
        opts.mapping.prefix = "prod-".into();
        opts.mapping.kms_keys.insert(
            "alias/app".into(),
            "arn:aws:kms:eu-west-1:111122223333:key/k1".into(),
        );
        // The prefix alone does not cover a run-time table: that needs consent...
        assert!(Policy::build(&reqs, &opts).is_err());
        opts.allow_wildcard = true;
        let p = Policy::build(&reqs, &opts).unwrap();
        let all: Vec<&str> = p
            .statements
            .iter()
            .flat_map(|s| s.resources.iter().map(String::as_str))
            .collect();
        assert_eq!(
            all,
            [
                "arn:aws:dynamodb:eu-west-1:111122223333:table/prod-*",
                "arn:aws:dynamodb:eu-west-1:111122223333:table/prod-users",
                "arn:aws:dynamodb:eu-west-1:111122223333:table/prod-users/index/by-email",
                "arn:aws:kms:eu-west-1:111122223333:key/k1",
            ]
        );
        assert!(p.statements.iter().all(|s| s.conditions.is_empty()));
        // ... and says so, with the narrowed pattern.
        assert!(p.warnings[0].contains("table/prod-*"), "{:?}", p.warnings);
        // A listed run-time table is exact, renamed like every other table.
        opts.allow_wildcard = false;
        opts.mapping.runtime_tables = vec!["imports".into()];
        let p = Policy::build(&reqs, &opts).unwrap();
        assert_eq!(
            p.statements[0].resources,
            ["arn:aws:dynamodb:eu-west-1:111122223333:table/prod-imports"]
        );
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn enclosing_operation_only_where_every_use_is_transactional() {
        let users = || Resource::Table("users".into());
        let reqs = [
            with_op("dynamodb:PutItem", users(), "transact_write put", "User"),
            with_op(
                "dynamodb:UpdateItem",
                users(),
                "transact_write update",
                "User",
            ),
            with_op("dynamodb:UpdateItem", users(), "update", "User"),
            with_op("dynamodb:GetItem", users(), "transact_get", "User"),
            with_op(
                "dynamodb:ConditionCheckItem",
                users(),
                "transact_write check",
                "User",
            ),
        ];
        let mut opts = PolicyOptions::default();
        opts.conditions.enclosing_operation = true;
        let p = Policy::build(&reqs, &opts).unwrap();
        let cond = |action: &str| {
            let s = p
                .statements
                .iter()
                .find(|s| s.actions.iter().any(|a| a == action))
                .unwrap();
            s.conditions
                .get("StringEquals")
                .and_then(|c| c.get("dynamodb:EnclosingOperation"))
                .cloned()
        };
        assert_eq!(cond("dynamodb:PutItem").unwrap(), ["TransactWriteItems"]);
        assert_eq!(cond("dynamodb:GetItem").unwrap(), ["TransactGetItems"]);
        assert_eq!(cond("dynamodb:UpdateItem"), None);
        // AWS does not put EnclosingOperation in a ConditionCheckItem's request context.
        assert_eq!(cond("dynamodb:ConditionCheckItem"), None);
    }

    #[test]
    fn encryption_context_gives_each_field_its_exact_context() {
        let key = || Resource::KmsKey("alias/app".into());
        let phone = "users.phone {dynox:table=users, dynox:attribute=phone, app=shop}";
        let notes = "users.notes {dynox:table=users, dynox:attribute=notes}";
        let reqs = [
            with_op("kms:Decrypt", key(), "decrypt", phone),
            with_op("kms:GenerateDataKey", key(), "encrypt", phone),
            with_op("kms:Decrypt", key(), "decrypt", notes),
        ];
        let mut opts = PolicyOptions::default();
        opts.conditions.encryption_context = true;
        let p = Policy::build(&reqs, &opts).unwrap();
        assert_eq!(p.statements.len(), 2);
        let by_attribute = |a: &str| {
            p.statements
                .iter()
                .find(|s| {
                    s.conditions["StringEquals"]["kms:EncryptionContext:dynox:attribute"] == [a]
                })
                .unwrap()
        };
        let phone = by_attribute("phone");
        assert_eq!(phone.actions, ["kms:Decrypt", "kms:GenerateDataKey"]);
        let eq = &phone.conditions["StringEquals"];
        assert_eq!(eq["kms:RequestAlias"], ["alias/app"]);
        assert_eq!(eq["kms:EncryptionContext:app"], ["shop"]);
        assert_eq!(eq["kms:EncryptionContext:dynox:table"], ["users"]);
        let notes = by_attribute("notes");
        assert_eq!(notes.actions, ["kms:Decrypt"]);
        assert!(!notes.conditions["StringEquals"].contains_key("kms:EncryptionContext:app"));
        assert_ne!(phone.sid, notes.sid);
    }

    #[test]
    fn leading_keys_narrow_item_actions_of_tenant_models_only() {
        let docs = || Resource::Table("docs".into());
        let tenant = "Doc {dynox:leading-key=ORG#|#DOC#*}";
        let reqs = [
            with_op("dynamodb:GetItem", docs(), "get", tenant),
            with_op("dynamodb:Query", docs(), "query", tenant),
            with_op("dynamodb:Scan", docs(), "scan", tenant),
            with_op(
                "dynamodb:GetItem",
                Resource::Table("plain".into()),
                "get",
                "Plain",
            ),
        ];
        let mut opts = PolicyOptions::default();
        opts.conditions.leading_keys = Some("${aws:PrincipalTag/org}".into());
        let p = Policy::build(&reqs, &opts).unwrap();
        let narrowed: Vec<&Statement> = p
            .statements
            .iter()
            .filter(|s| !s.conditions.is_empty())
            .collect();
        assert_eq!(narrowed.len(), 1);
        assert_eq!(narrowed[0].actions, ["dynamodb:GetItem", "dynamodb:Query"]);
        assert_eq!(
            narrowed[0].conditions["ForAllValues:StringLike"]["dynamodb:LeadingKeys"],
            ["ORG#${aws:PrincipalTag/org}#DOC#*"]
        );
        assert!(
            p.warnings.iter().any(|w| w.contains("Scan")),
            "{:?}",
            p.warnings
        );
        let tf = crate::render::terraform(&p, "t", &opts);
        assert!(tf.contains("ORG#$${aws:PrincipalTag/org}#DOC#*"), "{tf}");
    }

    #[test]
    fn tables_the_mapping_merges_are_refused() {
        let reqs = [
            req("dynamodb:GetItem", Resource::Table("users".into())),
            req("dynamodb:GetItem", Resource::Table("audit".into())),
        ];
        let mut opts = PolicyOptions::default();
        opts.mapping.prefix = "prod-".into();
        opts.mapping
            .tables
            .insert("audit".into(), "prod-users".into());
        let err = Policy::build(&reqs, &opts).unwrap_err();
        assert!(err.to_string().contains("`prod-users`"), "{err}");
    }

    #[test]
    fn a_field_without_context_is_granted_only_requests_without_one() {
        let reqs = [with_op(
            "kms:Decrypt",
            Resource::KmsKey("alias/app".into()),
            "decrypt",
            "users.legacy",
        )];
        let mut opts = PolicyOptions::default();
        opts.conditions.encryption_context = true;
        let p = Policy::build(&reqs, &opts).unwrap();
        assert_eq!(
            p.statements[0].conditions["Null"]["kms:EncryptionContextKeys"],
            ["true"]
        );
    }

    #[test]
    fn empty_policy_is_valid_json() {
        let p = Policy::build([], &PolicyOptions::default()).unwrap();
        let json: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        assert_eq!(json["Statement"].as_array().unwrap().len(), 0);
    }
}
