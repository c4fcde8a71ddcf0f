use dynox::Model;
use dynox::attr::S3Object;

#[derive(Model)]
#[dynox(table = "docs")]
struct NotAnObject {
    #[dynox(partition_key)]
    id: String,
    #[dynox(s3(bucket = "dynox-docs"))]
    content: String,
}

#[derive(Model)]
#[dynox(table = "docs")]
struct NoBucket {
    #[dynox(partition_key)]
    id: String,
    #[dynox(s3(prefix = "docs/"))]
    content: S3Object,
}

#[derive(Model)]
#[dynox(table = "docs")]
struct BadBucketAndParts {
    #[dynox(partition_key)]
    id: String,
    #[dynox(s3(bucket = "Not_A_Bucket", multipart_threshold = 1024))]
    content: S3Object,
    #[dynox(s3(bucket = "dynox-docs", part_size = 6291456))]
    other: S3Object,
    #[dynox(s3(bucket = "dynox-docs", overwrite))]
    third: S3Object,
}

fn main() {}
