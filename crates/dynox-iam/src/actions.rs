//! The IAM action names dynox can emit, one constant each.
//!
//! Only these names reach a marker, so a test checks each against the published IAM reference data.
//! Transactions and PartiQL have no actions of their own: they are authorized per member and per
//! statement verb, so there is deliberately no `TransactWriteItems` or `ExecuteStatement` here.

/// Amazon DynamoDB actions.
pub mod dynamodb {
    /// `dynamodb:GetItem`.
    pub const GET_ITEM: &str = "dynamodb:GetItem";
    /// `dynamodb:PutItem`.
    pub const PUT_ITEM: &str = "dynamodb:PutItem";
    /// `dynamodb:UpdateItem`.
    pub const UPDATE_ITEM: &str = "dynamodb:UpdateItem";
    /// `dynamodb:DeleteItem`.
    pub const DELETE_ITEM: &str = "dynamodb:DeleteItem";
    /// `dynamodb:ConditionCheckItem`.
    pub const CONDITION_CHECK_ITEM: &str = "dynamodb:ConditionCheckItem";
    /// `dynamodb:BatchGetItem`.
    pub const BATCH_GET_ITEM: &str = "dynamodb:BatchGetItem";
    /// `dynamodb:BatchWriteItem`.
    pub const BATCH_WRITE_ITEM: &str = "dynamodb:BatchWriteItem";
    /// `dynamodb:Query`.
    pub const QUERY: &str = "dynamodb:Query";
    /// `dynamodb:Scan`.
    pub const SCAN: &str = "dynamodb:Scan";
    /// `dynamodb:PartiQLSelect`.
    pub const PARTIQL_SELECT: &str = "dynamodb:PartiQLSelect";
    /// `dynamodb:PartiQLInsert`.
    pub const PARTIQL_INSERT: &str = "dynamodb:PartiQLInsert";
    /// `dynamodb:PartiQLUpdate`.
    pub const PARTIQL_UPDATE: &str = "dynamodb:PartiQLUpdate";
    /// `dynamodb:PartiQLDelete`.
    pub const PARTIQL_DELETE: &str = "dynamodb:PartiQLDelete";
    /// `dynamodb:CreateTable`.
    pub const CREATE_TABLE: &str = "dynamodb:CreateTable";
    /// `dynamodb:DescribeTable`.
    pub const DESCRIBE_TABLE: &str = "dynamodb:DescribeTable";
    /// `dynamodb:UpdateTable`.
    pub const UPDATE_TABLE: &str = "dynamodb:UpdateTable";
    /// `dynamodb:DeleteTable`.
    pub const DELETE_TABLE: &str = "dynamodb:DeleteTable";
    /// `dynamodb:ListTables`.
    pub const LIST_TABLES: &str = "dynamodb:ListTables";
    /// `dynamodb:DescribeTimeToLive`.
    pub const DESCRIBE_TIME_TO_LIVE: &str = "dynamodb:DescribeTimeToLive";
    /// `dynamodb:UpdateTimeToLive`.
    pub const UPDATE_TIME_TO_LIVE: &str = "dynamodb:UpdateTimeToLive";
    /// `dynamodb:TagResource`.
    pub const TAG_RESOURCE: &str = "dynamodb:TagResource";
    /// `dynamodb:UntagResource`.
    pub const UNTAG_RESOURCE: &str = "dynamodb:UntagResource";
    /// `dynamodb:ListTagsOfResource`.
    pub const LIST_TAGS_OF_RESOURCE: &str = "dynamodb:ListTagsOfResource";
    /// `dynamodb:DescribeLimits`.
    pub const DESCRIBE_LIMITS: &str = "dynamodb:DescribeLimits";
    /// `dynamodb:DescribeEndpoints`.
    pub const DESCRIBE_ENDPOINTS: &str = "dynamodb:DescribeEndpoints";
    /// `dynamodb:ListStreams`.
    pub const LIST_STREAMS: &str = "dynamodb:ListStreams";
    /// `dynamodb:DescribeStream`.
    pub const DESCRIBE_STREAM: &str = "dynamodb:DescribeStream";
    /// `dynamodb:GetRecords`.
    pub const GET_RECORDS: &str = "dynamodb:GetRecords";
    /// `dynamodb:GetShardIterator`.
    pub const GET_SHARD_ITERATOR: &str = "dynamodb:GetShardIterator";
    /// `dynamodb:SearchVectors`.
    pub const SEARCH_VECTORS: &str = "dynamodb:SearchVectors";
    /// `dynamodb:CreateBackup`.
    pub const CREATE_BACKUP: &str = "dynamodb:CreateBackup";
    /// `dynamodb:DescribeBackup`.
    pub const DESCRIBE_BACKUP: &str = "dynamodb:DescribeBackup";
    /// `dynamodb:DeleteBackup`.
    pub const DELETE_BACKUP: &str = "dynamodb:DeleteBackup";
    /// `dynamodb:ListBackups`.
    pub const LIST_BACKUPS: &str = "dynamodb:ListBackups";
    /// `dynamodb:RestoreTableFromBackup`.
    pub const RESTORE_TABLE_FROM_BACKUP: &str = "dynamodb:RestoreTableFromBackup";
    /// `dynamodb:DescribeContinuousBackups`.
    pub const DESCRIBE_CONTINUOUS_BACKUPS: &str = "dynamodb:DescribeContinuousBackups";
    /// `dynamodb:UpdateContinuousBackups`.
    pub const UPDATE_CONTINUOUS_BACKUPS: &str = "dynamodb:UpdateContinuousBackups";
    /// `dynamodb:RestoreTableToPointInTime`.
    pub const RESTORE_TABLE_TO_POINT_IN_TIME: &str = "dynamodb:RestoreTableToPointInTime";
    /// `dynamodb:ExportTableToPointInTime`.
    pub const EXPORT_TABLE_TO_POINT_IN_TIME: &str = "dynamodb:ExportTableToPointInTime";
    /// `dynamodb:DescribeExport`.
    pub const DESCRIBE_EXPORT: &str = "dynamodb:DescribeExport";
    /// `dynamodb:ListExports`.
    pub const LIST_EXPORTS: &str = "dynamodb:ListExports";
    /// `dynamodb:ImportTable`.
    pub const IMPORT_TABLE: &str = "dynamodb:ImportTable";
    /// `dynamodb:DescribeImport`.
    pub const DESCRIBE_IMPORT: &str = "dynamodb:DescribeImport";
    /// `dynamodb:ListImports`.
    pub const LIST_IMPORTS: &str = "dynamodb:ListImports";
    /// `dynamodb:DescribeContributorInsights`.
    pub const DESCRIBE_CONTRIBUTOR_INSIGHTS: &str = "dynamodb:DescribeContributorInsights";
    /// `dynamodb:UpdateContributorInsights`.
    pub const UPDATE_CONTRIBUTOR_INSIGHTS: &str = "dynamodb:UpdateContributorInsights";
    /// `dynamodb:ListContributorInsights`.
    pub const LIST_CONTRIBUTOR_INSIGHTS: &str = "dynamodb:ListContributorInsights";
    /// `dynamodb:DescribeKinesisStreamingDestination`.
    pub const DESCRIBE_KINESIS_STREAMING_DESTINATION: &str =
        "dynamodb:DescribeKinesisStreamingDestination";
    /// `dynamodb:EnableKinesisStreamingDestination`.
    pub const ENABLE_KINESIS_STREAMING_DESTINATION: &str =
        "dynamodb:EnableKinesisStreamingDestination";
    /// `dynamodb:DisableKinesisStreamingDestination`.
    pub const DISABLE_KINESIS_STREAMING_DESTINATION: &str =
        "dynamodb:DisableKinesisStreamingDestination";
    /// `dynamodb:UpdateKinesisStreamingDestination`.
    pub const UPDATE_KINESIS_STREAMING_DESTINATION: &str =
        "dynamodb:UpdateKinesisStreamingDestination";
    /// `dynamodb:GetResourcePolicy`.
    pub const GET_RESOURCE_POLICY: &str = "dynamodb:GetResourcePolicy";
    /// `dynamodb:PutResourcePolicy`.
    pub const PUT_RESOURCE_POLICY: &str = "dynamodb:PutResourcePolicy";
    /// `dynamodb:DeleteResourcePolicy`.
    pub const DELETE_RESOURCE_POLICY: &str = "dynamodb:DeleteResourcePolicy";
    /// `dynamodb:DescribeGlobalTable`.
    pub const DESCRIBE_GLOBAL_TABLE: &str = "dynamodb:DescribeGlobalTable";
    /// `dynamodb:DescribeGlobalTableSettings`.
    pub const DESCRIBE_GLOBAL_TABLE_SETTINGS: &str = "dynamodb:DescribeGlobalTableSettings";
    /// `dynamodb:ListGlobalTables`.
    pub const LIST_GLOBAL_TABLES: &str = "dynamodb:ListGlobalTables";
    /// `dynamodb:CreateGlobalTable`.
    pub const CREATE_GLOBAL_TABLE: &str = "dynamodb:CreateGlobalTable";
    /// `dynamodb:UpdateGlobalTable`.
    pub const UPDATE_GLOBAL_TABLE: &str = "dynamodb:UpdateGlobalTable";
    /// `dynamodb:UpdateGlobalTableSettings`.
    pub const UPDATE_GLOBAL_TABLE_SETTINGS: &str = "dynamodb:UpdateGlobalTableSettings";
    /// `dynamodb:DescribeTableReplicaAutoScaling`.
    pub const DESCRIBE_TABLE_REPLICA_AUTO_SCALING: &str =
        "dynamodb:DescribeTableReplicaAutoScaling";
    /// `dynamodb:UpdateTableReplicaAutoScaling`.
    pub const UPDATE_TABLE_REPLICA_AUTO_SCALING: &str = "dynamodb:UpdateTableReplicaAutoScaling";
}

/// Amazon S3 actions (objects of S3-backed fields). A multipart upload's create, part and
/// complete requests are authorized as `s3:PutObject`; only its abort has an action of its own.
pub mod s3 {
    /// `s3:PutObject`.
    pub const PUT_OBJECT: &str = "s3:PutObject";
    /// `s3:GetObject`.
    pub const GET_OBJECT: &str = "s3:GetObject";
    /// `s3:DeleteObject`.
    pub const DELETE_OBJECT: &str = "s3:DeleteObject";
    /// `s3:AbortMultipartUpload`.
    pub const ABORT_MULTIPART_UPLOAD: &str = "s3:AbortMultipartUpload";
}

/// AWS KMS actions. `kms:GenerateDataKey*` is never emitted: it would also grant key pairs.
pub mod kms {
    /// `kms:GenerateDataKey`.
    pub const GENERATE_DATA_KEY: &str = "kms:GenerateDataKey";
    /// `kms:Decrypt`.
    pub const DECRYPT: &str = "kms:Decrypt";
    /// `kms:Encrypt`.
    pub const ENCRYPT: &str = "kms:Encrypt";
    /// `kms:DescribeKey`.
    pub const DESCRIBE_KEY: &str = "kms:DescribeKey";
}

/// Every action name above, for the reference-data check.
pub const ALL: &[&str] = &[
    dynamodb::GET_ITEM,
    dynamodb::PUT_ITEM,
    dynamodb::UPDATE_ITEM,
    dynamodb::DELETE_ITEM,
    dynamodb::CONDITION_CHECK_ITEM,
    dynamodb::BATCH_GET_ITEM,
    dynamodb::BATCH_WRITE_ITEM,
    dynamodb::QUERY,
    dynamodb::SCAN,
    dynamodb::PARTIQL_SELECT,
    dynamodb::PARTIQL_INSERT,
    dynamodb::PARTIQL_UPDATE,
    dynamodb::PARTIQL_DELETE,
    dynamodb::CREATE_TABLE,
    dynamodb::DESCRIBE_TABLE,
    dynamodb::UPDATE_TABLE,
    dynamodb::DELETE_TABLE,
    dynamodb::LIST_TABLES,
    dynamodb::DESCRIBE_TIME_TO_LIVE,
    dynamodb::UPDATE_TIME_TO_LIVE,
    dynamodb::TAG_RESOURCE,
    dynamodb::UNTAG_RESOURCE,
    dynamodb::LIST_TAGS_OF_RESOURCE,
    dynamodb::DESCRIBE_LIMITS,
    dynamodb::DESCRIBE_ENDPOINTS,
    dynamodb::LIST_STREAMS,
    dynamodb::DESCRIBE_STREAM,
    dynamodb::GET_RECORDS,
    dynamodb::GET_SHARD_ITERATOR,
    dynamodb::SEARCH_VECTORS,
    dynamodb::CREATE_BACKUP,
    dynamodb::DESCRIBE_BACKUP,
    dynamodb::DELETE_BACKUP,
    dynamodb::LIST_BACKUPS,
    dynamodb::RESTORE_TABLE_FROM_BACKUP,
    dynamodb::DESCRIBE_CONTINUOUS_BACKUPS,
    dynamodb::UPDATE_CONTINUOUS_BACKUPS,
    dynamodb::RESTORE_TABLE_TO_POINT_IN_TIME,
    dynamodb::EXPORT_TABLE_TO_POINT_IN_TIME,
    dynamodb::DESCRIBE_EXPORT,
    dynamodb::LIST_EXPORTS,
    dynamodb::IMPORT_TABLE,
    dynamodb::DESCRIBE_IMPORT,
    dynamodb::LIST_IMPORTS,
    dynamodb::DESCRIBE_CONTRIBUTOR_INSIGHTS,
    dynamodb::UPDATE_CONTRIBUTOR_INSIGHTS,
    dynamodb::LIST_CONTRIBUTOR_INSIGHTS,
    dynamodb::DESCRIBE_KINESIS_STREAMING_DESTINATION,
    dynamodb::ENABLE_KINESIS_STREAMING_DESTINATION,
    dynamodb::DISABLE_KINESIS_STREAMING_DESTINATION,
    dynamodb::UPDATE_KINESIS_STREAMING_DESTINATION,
    dynamodb::GET_RESOURCE_POLICY,
    dynamodb::PUT_RESOURCE_POLICY,
    dynamodb::DELETE_RESOURCE_POLICY,
    dynamodb::DESCRIBE_GLOBAL_TABLE,
    dynamodb::DESCRIBE_GLOBAL_TABLE_SETTINGS,
    dynamodb::LIST_GLOBAL_TABLES,
    dynamodb::CREATE_GLOBAL_TABLE,
    dynamodb::UPDATE_GLOBAL_TABLE,
    dynamodb::UPDATE_GLOBAL_TABLE_SETTINGS,
    dynamodb::DESCRIBE_TABLE_REPLICA_AUTO_SCALING,
    dynamodb::UPDATE_TABLE_REPLICA_AUTO_SCALING,
    kms::GENERATE_DATA_KEY,
    kms::DECRYPT,
    kms::ENCRYPT,
    kms::DESCRIBE_KEY,
    s3::PUT_OBJECT,
    s3::GET_OBJECT,
    s3::DELETE_OBJECT,
    s3::ABORT_MULTIPART_UPLOAD,
];

/// How a resource type listed for an action in AWS's reference data is used by a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Always authorized on a resource of this type (the reference data marks it required).
    Required,
    /// Authorized on this type when the request names one; for an `index`, the index ARN then
    /// stands in for the table's (a Query on an index is authorized on the index alone).
    Optional,
    /// Marked required, but the request names one ARN of any of these types (tagging takes the
    /// ARN of a table or of a stream): one of them is authorized, not all.
    OneOf,
}

/// What AWS's Service Authorization Reference says of one action dynox can emit: the resource
/// types its requests are authorized on and which of the condition keys dynox uses they carry.
///
/// A test compares every entry with the vendored reference data, so this table is the data, not
/// a reading of it.
#[derive(Clone, Copy, Debug)]
pub struct ActionSpec {
    /// The action, e.g. `dynamodb:SearchVectors`.
    pub action: &'static str,
    /// Resource types by their reference-data names (`table`, `index`, `stream`, `key`, ...).
    /// Empty: the action takes only `"*"`.
    pub resources: &'static [(&'static str, Need)],
    /// The keys of [`MODELLED_CONDITION_KEYS`] present in this action's request context.
    pub condition_keys: &'static [&'static str],
}

/// The condition keys dynox's exports emit or the testing gateway supplies. Each is emitted or
/// supplied only for actions whose [`ActionSpec::condition_keys`] list it: a condition on a key
/// that a request never carries would deny that request.
pub const MODELLED_CONDITION_KEYS: &[&str] = &[
    "dynamodb:EnclosingOperation",
    "dynamodb:LeadingKeys",
    "dynamodb:ReturnConsumedCapacity",
    "dynamodb:ReturnValues",
    "dynamodb:Select",
    "kms:EncryptionContext:${EncryptionContextKey}",
    "kms:EncryptionContextKeys",
    "kms:RequestAlias",
];

const fn spec(
    action: &'static str,
    resources: &'static [(&'static str, Need)],
    condition_keys: &'static [&'static str],
) -> ActionSpec {
    ActionSpec {
        action,
        resources,
        condition_keys,
    }
}

/// The reference data of every action in [`ALL`].
#[rustfmt::skip]
pub const SPECS: &[ActionSpec] = &[
    spec(dynamodb::GET_ITEM, &[("table", Need::Required)], &["dynamodb:EnclosingOperation", "dynamodb:LeadingKeys", "dynamodb:ReturnConsumedCapacity", "dynamodb:Select"]),
    spec(dynamodb::PUT_ITEM, &[("table", Need::Required)], &["dynamodb:EnclosingOperation", "dynamodb:LeadingKeys", "dynamodb:ReturnConsumedCapacity", "dynamodb:ReturnValues"]),
    spec(dynamodb::UPDATE_ITEM, &[("table", Need::Required)], &["dynamodb:EnclosingOperation", "dynamodb:LeadingKeys", "dynamodb:ReturnConsumedCapacity", "dynamodb:ReturnValues"]),
    spec(dynamodb::DELETE_ITEM, &[("table", Need::Required)], &["dynamodb:EnclosingOperation", "dynamodb:LeadingKeys", "dynamodb:ReturnConsumedCapacity", "dynamodb:ReturnValues"]),
    spec(dynamodb::CONDITION_CHECK_ITEM, &[("table", Need::Required)], &["dynamodb:LeadingKeys", "dynamodb:ReturnConsumedCapacity", "dynamodb:ReturnValues"]),
    spec(dynamodb::BATCH_GET_ITEM, &[("table", Need::Required)], &["dynamodb:LeadingKeys", "dynamodb:ReturnConsumedCapacity", "dynamodb:Select"]),
    spec(dynamodb::BATCH_WRITE_ITEM, &[("table", Need::Required)], &["dynamodb:LeadingKeys", "dynamodb:ReturnConsumedCapacity"]),
    spec(dynamodb::QUERY, &[("index", Need::Optional), ("table", Need::Required)], &["dynamodb:LeadingKeys", "dynamodb:ReturnConsumedCapacity", "dynamodb:ReturnValues", "dynamodb:Select"]),
    spec(dynamodb::SCAN, &[("index", Need::Optional), ("table", Need::Required)], &["dynamodb:ReturnConsumedCapacity", "dynamodb:ReturnValues", "dynamodb:Select"]),
    spec(dynamodb::PARTIQL_SELECT, &[("index", Need::Optional), ("table", Need::Required)], &["dynamodb:EnclosingOperation", "dynamodb:LeadingKeys", "dynamodb:Select"]),
    spec(dynamodb::PARTIQL_INSERT, &[("table", Need::Required)], &["dynamodb:EnclosingOperation", "dynamodb:LeadingKeys"]),
    spec(dynamodb::PARTIQL_UPDATE, &[("table", Need::Required)], &["dynamodb:EnclosingOperation", "dynamodb:LeadingKeys", "dynamodb:ReturnValues"]),
    spec(dynamodb::PARTIQL_DELETE, &[("table", Need::Required)], &["dynamodb:EnclosingOperation", "dynamodb:LeadingKeys", "dynamodb:ReturnValues"]),
    spec(dynamodb::CREATE_TABLE, &[("table", Need::Required)], &[]),
    spec(dynamodb::DESCRIBE_TABLE, &[("table", Need::Required)], &[]),
    spec(dynamodb::UPDATE_TABLE, &[("table", Need::Required)], &[]),
    spec(dynamodb::DELETE_TABLE, &[("table", Need::Required)], &[]),
    spec(dynamodb::LIST_TABLES, &[], &[]),
    spec(dynamodb::DESCRIBE_TIME_TO_LIVE, &[("table", Need::Required)], &[]),
    spec(dynamodb::UPDATE_TIME_TO_LIVE, &[("table", Need::Required)], &[]),
    spec(dynamodb::TAG_RESOURCE, &[("stream", Need::OneOf), ("table", Need::OneOf)], &[]),
    spec(dynamodb::UNTAG_RESOURCE, &[("stream", Need::OneOf), ("table", Need::OneOf)], &[]),
    spec(dynamodb::LIST_TAGS_OF_RESOURCE, &[("stream", Need::OneOf), ("table", Need::OneOf)], &[]),
    spec(dynamodb::DESCRIBE_LIMITS, &[], &[]),
    spec(dynamodb::DESCRIBE_ENDPOINTS, &[], &[]),
    spec(dynamodb::LIST_STREAMS, &[], &[]),
    spec(dynamodb::DESCRIBE_STREAM, &[("stream", Need::Required)], &[]),
    spec(dynamodb::GET_RECORDS, &[("stream", Need::Required)], &[]),
    spec(dynamodb::GET_SHARD_ITERATOR, &[("stream", Need::Required)], &[]),
    spec(dynamodb::SEARCH_VECTORS, &[("index", Need::Required), ("table", Need::Required)], &[]),
    spec(dynamodb::CREATE_BACKUP, &[("table", Need::Required)], &[]),
    spec(dynamodb::DESCRIBE_BACKUP, &[("backup", Need::Required)], &[]),
    spec(dynamodb::DELETE_BACKUP, &[("backup", Need::Required)], &[]),
    spec(dynamodb::LIST_BACKUPS, &[], &[]),
    spec(dynamodb::RESTORE_TABLE_FROM_BACKUP, &[("backup", Need::Required), ("table", Need::Required)], &[]),
    spec(dynamodb::DESCRIBE_CONTINUOUS_BACKUPS, &[("table", Need::Required)], &[]),
    spec(dynamodb::UPDATE_CONTINUOUS_BACKUPS, &[("table", Need::Required)], &[]),
    spec(dynamodb::RESTORE_TABLE_TO_POINT_IN_TIME, &[("table", Need::Required)], &[]),
    spec(dynamodb::EXPORT_TABLE_TO_POINT_IN_TIME, &[("table", Need::Required)], &[]),
    spec(dynamodb::DESCRIBE_EXPORT, &[("export", Need::Required)], &[]),
    spec(dynamodb::LIST_EXPORTS, &[("table", Need::Optional)], &[]),
    spec(dynamodb::IMPORT_TABLE, &[("table", Need::Required)], &[]),
    spec(dynamodb::DESCRIBE_IMPORT, &[("import", Need::Required)], &[]),
    spec(dynamodb::LIST_IMPORTS, &[("table", Need::Optional)], &[]),
    spec(dynamodb::DESCRIBE_CONTRIBUTOR_INSIGHTS, &[("index", Need::Optional), ("table", Need::Required)], &[]),
    spec(dynamodb::UPDATE_CONTRIBUTOR_INSIGHTS, &[("index", Need::Optional), ("table", Need::Required)], &[]),
    spec(dynamodb::LIST_CONTRIBUTOR_INSIGHTS, &[], &[]),
    spec(dynamodb::DESCRIBE_KINESIS_STREAMING_DESTINATION, &[("table", Need::Required)], &[]),
    spec(dynamodb::ENABLE_KINESIS_STREAMING_DESTINATION, &[("table", Need::Required)], &[]),
    spec(dynamodb::DISABLE_KINESIS_STREAMING_DESTINATION, &[("table", Need::Required)], &[]),
    spec(dynamodb::UPDATE_KINESIS_STREAMING_DESTINATION, &[("table", Need::Required)], &[]),
    spec(dynamodb::GET_RESOURCE_POLICY, &[("stream", Need::OneOf), ("table", Need::OneOf)], &[]),
    spec(dynamodb::PUT_RESOURCE_POLICY, &[("stream", Need::OneOf), ("table", Need::OneOf)], &[]),
    spec(dynamodb::DELETE_RESOURCE_POLICY, &[("stream", Need::OneOf), ("table", Need::OneOf)], &[]),
    spec(dynamodb::DESCRIBE_GLOBAL_TABLE, &[("global-table", Need::Required)], &[]),
    spec(dynamodb::DESCRIBE_GLOBAL_TABLE_SETTINGS, &[("global-table", Need::Required)], &[]),
    spec(dynamodb::LIST_GLOBAL_TABLES, &[], &[]),
    spec(dynamodb::CREATE_GLOBAL_TABLE, &[("global-table", Need::Required), ("table", Need::Required)], &[]),
    spec(dynamodb::UPDATE_GLOBAL_TABLE, &[("global-table", Need::Required), ("table", Need::Required)], &[]),
    spec(dynamodb::UPDATE_GLOBAL_TABLE_SETTINGS, &[("global-table", Need::Required), ("table", Need::Required)], &[]),
    spec(dynamodb::DESCRIBE_TABLE_REPLICA_AUTO_SCALING, &[("table", Need::Required)], &[]),
    spec(dynamodb::UPDATE_TABLE_REPLICA_AUTO_SCALING, &[("table", Need::Required)], &[]),
    spec(kms::GENERATE_DATA_KEY, &[("key", Need::Required)], &["kms:EncryptionContext:${EncryptionContextKey}", "kms:EncryptionContextKeys", "kms:RequestAlias"]),
    spec(kms::DECRYPT, &[("key", Need::Required)], &["kms:EncryptionContext:${EncryptionContextKey}", "kms:EncryptionContextKeys", "kms:RequestAlias"]),
    spec(kms::ENCRYPT, &[("key", Need::Required)], &["kms:EncryptionContext:${EncryptionContextKey}", "kms:EncryptionContextKeys", "kms:RequestAlias"]),
    spec(kms::DESCRIBE_KEY, &[("key", Need::Required)], &["kms:RequestAlias"]),
    // The reference data marks neither of S3's object types required (a request names an object
    // or an access point's object); dynox's requests name objects (`arn:aws:s3:::BUCKET/KEY`).
    spec(s3::PUT_OBJECT, &[("accesspointobject", Need::Optional), ("object", Need::Optional)], &[]),
    spec(s3::GET_OBJECT, &[("accesspointobject", Need::Optional), ("object", Need::Optional)], &[]),
    spec(s3::DELETE_OBJECT, &[("accesspointobject", Need::Optional), ("object", Need::Optional)], &[]),
    spec(s3::ABORT_MULTIPART_UPLOAD, &[("accesspointobject", Need::Optional), ("object", Need::Optional)], &[]),
];

/// The reference data of `action`, if dynox can emit it.
pub fn spec_of(action: &str) -> Option<&'static ActionSpec> {
    SPECS.iter().find(|s| s.action == action)
}

/// Whether requests for `action` carry condition key `key`. A templated key of the reference
/// data matches its instances: `kms:EncryptionContext:dynox:table` is a
/// `kms:EncryptionContext:${EncryptionContextKey}`.
pub fn carries_condition_key(action: &str, key: &str) -> bool {
    spec_of(action).is_some_and(|s| {
        s.condition_keys.iter().any(|k| match k.split_once("${") {
            Some((prefix, _)) => key.len() > prefix.len() && key.starts_with(prefix),
            None => *k == key,
        })
    })
}

/// Which resources a request for `action` that names a secondary index is authorized on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexAuthorization {
    /// The action takes no index: only the table.
    TableOnly,
    /// The index ARN instead of the table's (Query, Scan, PartiQL SELECT on an index).
    IndexInstead,
    /// Both the table ARN and the index ARN (SearchVectors: the reference data lists both as
    /// required).
    TableAndIndex,
}

/// How `action` is authorized when its request names an index, from its reference data.
pub fn index_authorization(action: &str) -> IndexAuthorization {
    let need = spec_of(action)
        .and_then(|s| s.resources.iter().find(|(t, _)| *t == "index"))
        .map(|(_, n)| *n);
    match need {
        None => IndexAuthorization::TableOnly,
        Some(Need::Optional) => IndexAuthorization::IndexInstead,
        Some(Need::Required | Need::OneOf) => IndexAuthorization::TableAndIndex,
    }
}
