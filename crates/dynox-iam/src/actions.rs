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
];
