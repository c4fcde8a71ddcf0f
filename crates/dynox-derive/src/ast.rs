//! The typed model of a derive's input: what `#[derive(Model)]`, `#[derive(Attribute)]` and
//! `#[derive(Collection)]` were given, read from `syn::DeriveInput` with every `#[dynox(...)]`
//! attribute already parsed into values (see `attr`). Nothing here judges the input as a whole;
//! that is `check`.

use proc_macro2::Span;
use syn::ext::IdentExt as _;
use syn::{
    Data, DeriveInput, Fields, GenericArgument, Generics, Ident, LitInt, LitStr, PathArguments,
    Type, Visibility,
};

use crate::attr;
use crate::errors::Errors;

/// A struct deriving `Model`.
pub(crate) struct Container<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) generics: &'a Generics,
    pub(crate) attrs: ModelAttrs,
    pub(crate) fields: Vec<Field>,
    /// Some `#[dynox(...)]` attribute could not be read: the checks for something missing (a
    /// table, a key, an `extra` field) stay quiet, since the unreadable attribute may be it.
    pub(crate) incomplete: bool,
}

/// The model's own `#[dynox(...)]` attributes.
pub(crate) struct ModelAttrs {
    pub(crate) table: Option<LitStr>,
    pub(crate) indexes: Vec<Index>,
    pub(crate) vectors: Vec<VectorIndex>,
    pub(crate) hooks: bool,
    pub(crate) max_size: Option<LitInt>,
    pub(crate) unknown: Unknown,
    /// `entity = "..."`: the discriminator value of this model in a shared table.
    pub(crate) entity: Option<LitStr>,
    /// `discriminator = "..."`: the attribute holding it.
    pub(crate) discriminator: String,
    /// `tenant = "field"`: the field that isolates tenants, for `dynamodb:LeadingKeys`.
    pub(crate) tenant: Option<LitStr>,
}

/// `unknown = "..."`: what decoding does with attributes no field names.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unknown {
    Ignore,
    Error,
    /// Into the `#[dynox(extra)]` field.
    Keep,
}

/// `global_index(...)` or `local_index(...)`.
pub(crate) struct Index {
    pub(crate) name: LitStr,
    pub(crate) kind: IndexKind,
    pub(crate) rust_name: Option<Ident>,
    pub(crate) partition: Vec<LitStr>,
    pub(crate) sort: Vec<LitStr>,
    pub(crate) projection: Projection,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexKind {
    Global,
    Local,
}

pub(crate) enum Projection {
    All,
    KeysOnly,
    Include(Vec<LitStr>),
}

/// `vector_index(...)`.
pub(crate) struct VectorIndex {
    pub(crate) name: LitStr,
    pub(crate) rust_name: Option<Ident>,
    pub(crate) vector: LitStr,
    pub(crate) dimensions: LitInt,
    pub(crate) distance: Distance,
    pub(crate) partition: Option<LitStr>,
    pub(crate) filters: Vec<LitStr>,
    pub(crate) projection: Projection,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Distance {
    Cosine,
    Euclidean,
    DotProduct,
}

/// A named field of a model, a nested struct or a struct variant.
pub(crate) struct Field {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    /// The attribute name it is stored under.
    pub(crate) stored: String,
    /// How its value is stored: the declared form, or the one its type implies.
    pub(crate) codec: Codec,
    pub(crate) attrs: FieldAttrs,
}

/// A field's `#[dynox(...)]` attributes.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) partition_key: bool,
    pub(crate) sort_key: bool,
    pub(crate) skip: bool,
    pub(crate) default: bool,
    pub(crate) rename: Option<LitStr>,
    /// `timestamp`, `serde`, `json`, `compress` or `encrypted`.
    pub(crate) storage: Option<Storage>,
    pub(crate) ttl: bool,
    pub(crate) version: bool,
    /// `generate = "..."`, `created_at`, `updated_at`.
    pub(crate) generate: Option<Generate>,
    /// `extra`: holds the attributes no field names (`unknown = "keep"`).
    pub(crate) extra: bool,
    /// `template = "USER#{id}"` on a key field: built from other fields.
    pub(crate) template: Option<Template>,
    pub(crate) encrypted: Option<Encryption>,
    /// `s3(bucket = "...", ...)`: the value lives in S3.
    pub(crate) s3: Option<S3Spec>,
}

/// A storage form a field declares.
#[derive(Clone, Copy)]
pub(crate) enum Storage {
    Timestamp(TimestampFormat),
    Serde,
    Json,
    Compressed(Compression),
    Encrypted,
    S3,
}

#[derive(Clone, Copy)]
pub(crate) enum TimestampFormat {
    Iso8601,
    EpochSeconds,
    EpochMillis,
}

/// How a field is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    /// The type's own `Attribute` implementation.
    Native,
    /// `Vec<u8>` / `Option<Vec<u8>>` as binary.
    Bytes,
    /// A UTC timestamp as epoch seconds.
    EpochSeconds,
    /// A UTC timestamp as epoch milliseconds.
    EpochMillis,
    /// Any serde type as native DynamoDB values.
    Serde,
    /// Any serde type as a JSON string.
    Json,
    /// A compressed string.
    Compressed(Compression),
    /// A `Secret<T>` field, encrypted with KMS.
    Encrypted,
    /// An `S3Object` field: the object's metadata map.
    S3,
}

/// `compress = "..."` or `compress(...)`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Compression {
    pub(crate) algorithm: Algorithm,
    pub(crate) level: i32,
    pub(crate) min_size: usize,
    /// The largest compressed-to-plain ratio worth storing, in percent.
    pub(crate) max_ratio: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Zstd,
    Lz4,
    Gzip,
}

impl Algorithm {
    pub(crate) const ALL: [Self; 3] = [Self::Zstd, Self::Lz4, Self::Gzip];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Zstd => "zstd",
            Self::Lz4 => "lz4",
            Self::Gzip => "gzip",
        }
    }

    /// The number `dynox::attr::Compressed` knows it by.
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Zstd => 0,
            Self::Lz4 => 1,
            Self::Gzip => 2,
        }
    }

    pub(crate) fn default_level(self) -> i32 {
        match self {
            Self::Zstd => 3,
            Self::Lz4 => 0,
            Self::Gzip => 6,
        }
    }
}

/// A generated value: `generate = "..."`, or the current time for `created_at` / `updated_at`.
pub(crate) struct Generate {
    pub(crate) generator: Generator,
    /// Where the generator was named, for errors about the field's type.
    pub(crate) span: Span,
    /// `updated_at`: set at every save, not only when empty.
    pub(crate) refresh: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Generator {
    Uuid4,
    Uuid7,
    Ulid,
    Ksuid,
    EpochSeconds,
    EpochMillis,
    Iso8601,
    Now,
}

impl Generator {
    /// The generators `generate = "..."` names (`Now` comes from `created_at` / `updated_at`).
    pub(crate) const NAMED: [(&'static str, Self); 7] = [
        ("uuid4", Self::Uuid4),
        ("uuid7", Self::Uuid7),
        ("ulid", Self::Ulid),
        ("ksuid", Self::Ksuid),
        ("epoch_seconds", Self::EpochSeconds),
        ("epoch_millis", Self::EpochMillis),
        ("iso8601", Self::Iso8601),
    ];

    /// Its type in `dynox::generate`.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            Self::Uuid4 => "Uuid4",
            Self::Uuid7 => "Uuid7",
            Self::Ulid => "Ulid",
            Self::Ksuid => "Ksuid",
            Self::EpochSeconds => "EpochSeconds",
            Self::EpochMillis => "EpochMillis",
            Self::Iso8601 => "Iso8601",
            Self::Now => "Now",
        }
    }
}

/// A key template, with its text read into parts (`None` when the text is malformed, which is
/// reported where it was read).
pub(crate) struct Template {
    pub(crate) lit: LitStr,
    pub(crate) parts: Option<Vec<Part>>,
}

/// A piece of a key template: literal text, or a placeholder naming a field.
#[derive(Clone)]
pub(crate) enum Part {
    Text(String),
    Value(String),
}

impl Template {
    /// The field names of the placeholders, in order.
    pub(crate) fn placeholders(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().flatten().filter_map(|p| match p {
            Part::Value(v) => Some(v.as_str()),
            Part::Text(_) => None,
        })
    }
}

/// `s3(...)` on a field.
pub(crate) struct S3Spec {
    /// The bucket as declared (empty when it was not given, which is reported).
    pub(crate) bucket: LitStr,
    pub(crate) prefix: String,
    pub(crate) content_type: Option<String>,
    /// Files larger than this go up in parts.
    pub(crate) multipart_threshold: Option<u64>,
    pub(crate) part_size: Option<u64>,
    /// The object goes when the item goes.
    pub(crate) delete_with_item: bool,
}

/// `encrypted(...)` on a field.
pub(crate) struct Encryption {
    /// The KMS key (empty when it was not given, which is reported).
    pub(crate) key: LitStr,
    pub(crate) mode: EncryptionMode,
    pub(crate) version: EnvelopeVersion,
    pub(crate) context: Vec<(String, String)>,
    /// Version 2 binds the item's primary key unless `allow_copy_between_items` is given.
    pub(crate) bind_item_key: bool,
    /// What reading a write-only field gives.
    pub(crate) on_read: OnRead,
    /// Compress before encrypting.
    pub(crate) compress: Option<Algorithm>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum EncryptionMode {
    ReadWrite,
    WriteOnly,
    ReadOnly,
}

/// The envelope format of an encrypted field.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum EnvelopeVersion {
    /// pydynox's format, bound to nothing.
    V1,
    /// Bound to its context (the default).
    V2,
}

impl EnvelopeVersion {
    pub(crate) fn number(self) -> u8 {
        match self {
            Self::V1 => 1,
            Self::V2 => 2,
        }
    }
}

/// `on_read = "..."` of a write-only field.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnRead {
    /// The stored ciphertext, undecrypted.
    Ciphertext,
    /// A refused read.
    Error,
}

impl<'a> Container<'a> {
    /// Reads a model; `None` (with the error recorded) when the input is no struct with named
    /// fields, the one mistake after which nothing else can be read.
    pub(crate) fn from_ast(input: &'a DeriveInput, errors: &Errors) -> Option<Self> {
        let Data::Struct(data) = &input.data else {
            errors.push(syn::Error::new(
                Span::call_site(),
                "#[derive(Model)] needs a struct with named fields",
            ));
            return None;
        };
        let Fields::Named(named) = &data.fields else {
            errors.at(
                &data.fields,
                "#[derive(Model)] needs a struct with named fields",
            );
            return None;
        };
        let before = errors.len();
        let attrs = attr::model_attrs(&input.attrs, errors);
        let fields = named
            .named
            .iter()
            .map(|f| Field::from_ast(f, errors))
            .collect();
        Some(Container {
            ident: &input.ident,
            vis: &input.vis,
            generics: &input.generics,
            attrs,
            fields,
            incomplete: errors.len() > before,
        })
    }

    /// The field an attribute of the model names: a stored (not skipped) field of that name.
    pub(crate) fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| !f.attrs.skip && f.ident.unraw() == name)
    }

    /// The field a template placeholder names, stored or not.
    pub(crate) fn placeholder(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.ident.unraw() == name)
    }

    pub(crate) fn partition_key(&self) -> Option<&Field> {
        self.fields.iter().find(|f| f.attrs.partition_key)
    }

    pub(crate) fn sort_key(&self) -> Option<&Field> {
        self.fields.iter().find(|f| f.attrs.sort_key)
    }

    pub(crate) fn extra(&self) -> Option<&Field> {
        self.fields.iter().find(|f| f.attrs.extra)
    }

    /// The partition key's shape around the tenant field `tenant`, as `PREFIX|SUFFIX` (other
    /// placeholders as `*`), for the export's `dynamodb:LeadingKeys` condition; or why there is
    /// none. `Ok(None)` when it cannot be known (no partition key, an unreadable template).
    pub(crate) fn tenant_pattern(&self, tenant: &str) -> Result<Option<String>, &'static str> {
        let Some(pk) = self.partition_key() else {
            return Ok(None);
        };
        let Some(template) = &pk.attrs.template else {
            return if pk.ident.unraw() == tenant {
                Ok(Some("|".to_owned()))
            } else {
                Err(TENANT_NOT_IN_KEY)
            };
        };
        let Some(parts) = &template.parts else {
            return Ok(None);
        };
        if !template.placeholders().any(|v| v == tenant) {
            return Err(TENANT_NOT_IN_KEY);
        }
        let mut pattern = String::new();
        let mut seen = false;
        for p in parts {
            match p {
                Part::Text(text) => {
                    if text.contains(['*', '?', '|', '=', ',', '{', '}', '$']) {
                        return Err(
                            "a tenant's key template may not hold `*`, `?`, `|`, `=`, `,`, `$` or \
                             braces in its text: they would be read as a policy pattern",
                        );
                    }
                    pattern.push_str(text);
                }
                Part::Value(v) if v == tenant && !seen => {
                    pattern.push('|');
                    seen = true;
                }
                // A wildcard before the tenant would let `ORG#acme` match a key ending in `#acme`
                // whatever tenant wrote it; after the tenant, the separating text bounds it (key
                // values never contain the text that follows them).
                Part::Value(_) if !seen => {
                    return Err(
                        "the tenant must be the first placeholder of the partition key's template",
                    );
                }
                Part::Value(_) => pattern.push('*'),
            }
        }
        Ok(Some(pattern))
    }
}

const TENANT_NOT_IN_KEY: &str =
    "the tenant must be the partition key, or a placeholder of the partition key's template";

impl Field {
    pub(crate) fn from_ast(field: &syn::Field, errors: &Errors) -> Self {
        let ident = field.ident.clone().expect("a named field");
        let attrs = attr::field_attrs(&field.attrs, errors);
        let stored = match &attrs.rename {
            Some(lit) => lit.value(),
            None => ident.unraw().to_string(),
        };
        let codec = match attrs.storage {
            Some(storage) => storage.codec(),
            None if is_bytes(option_inner(&field.ty).unwrap_or(&field.ty)) => Codec::Bytes,
            None => Codec::Native,
        };
        Field {
            ident,
            ty: field.ty.clone(),
            stored,
            codec,
            attrs,
        }
    }

    /// The field's name in messages: its identifier without `r#`.
    pub(crate) fn name(&self) -> String {
        self.ident.unraw().to_string()
    }

    pub(crate) fn is_key(&self) -> bool {
        self.attrs.partition_key || self.attrs.sort_key
    }

    /// Stored as an attribute of its own (not skipped, not the `extra` map).
    pub(crate) fn is_stored(&self) -> bool {
        !self.attrs.skip && !self.attrs.extra
    }
}

impl Storage {
    fn codec(self) -> Codec {
        match self {
            Storage::Timestamp(TimestampFormat::Iso8601) => Codec::Native,
            Storage::Timestamp(TimestampFormat::EpochSeconds) => Codec::EpochSeconds,
            Storage::Timestamp(TimestampFormat::EpochMillis) => Codec::EpochMillis,
            Storage::Serde => Codec::Serde,
            Storage::Json => Codec::Json,
            Storage::Compressed(c) => Codec::Compressed(c),
            Storage::Encrypted => Codec::Encrypted,
            Storage::S3 => Codec::S3,
        }
    }
}

/// A type deriving `Attribute`.
pub(crate) struct Nested<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    pub(crate) generics: &'a Generics,
    pub(crate) body: NestedBody,
}

pub(crate) enum NestedBody {
    /// A struct, stored as a map.
    Struct(Vec<Field>),
    /// An enum: the attribute holding the variant's name, and the variants.
    Enum { tag: String, variants: Vec<Variant> },
}

pub(crate) struct Variant {
    pub(crate) ident: Ident,
    pub(crate) stored: String,
    /// `None` for a unit variant.
    pub(crate) fields: Option<Vec<Field>>,
}

impl<'a> Nested<'a> {
    pub(crate) fn from_ast(input: &'a DeriveInput, errors: &Errors) -> Option<Self> {
        let tag = attr::nested_tag(&input.attrs, errors);
        let body = match &input.data {
            Data::Struct(data) => {
                NestedBody::Struct(nested_fields(&data.fields, "a struct", errors)?)
            }
            // A variant that cannot be stored is reported and left out: the others are checked.
            Data::Enum(data) => NestedBody::Enum {
                tag,
                variants: data
                    .variants
                    .iter()
                    .filter_map(|v| Variant::from_ast(v, errors))
                    .collect(),
            },
            Data::Union(_) => {
                errors.at(
                    &input.ident,
                    "#[derive(Attribute)] works on structs and enums",
                );
                return None;
            }
        };
        Some(Nested {
            ident: &input.ident,
            vis: &input.vis,
            generics: &input.generics,
            body,
        })
    }
}

impl Variant {
    fn from_ast(v: &syn::Variant, errors: &Errors) -> Option<Self> {
        let stored = attr::variant_rename(&v.attrs, errors)
            .map_or_else(|| v.ident.unraw().to_string(), |l| l.value());
        let fields = match &v.fields {
            Fields::Unit => None,
            Fields::Named(_) => Some(nested_fields(&v.fields, "a variant", errors)?),
            Fields::Unnamed(_) => {
                errors.at(
                    &v.fields,
                    "#[derive(Attribute)] stores unit and struct variants; give this variant named fields",
                );
                return None;
            }
        };
        Some(Variant {
            ident: v.ident.clone(),
            stored,
            fields,
        })
    }
}

fn nested_fields(fields: &Fields, what: &str, errors: &Errors) -> Option<Vec<Field>> {
    let Fields::Named(named) = fields else {
        errors.at(
            fields,
            format!("#[derive(Attribute)] needs named fields on {what}"),
        );
        return None;
    };
    Some(
        named
            .named
            .iter()
            .map(|f| Field::from_ast(f, errors))
            .collect(),
    )
}

/// An enum deriving `Collection`: one variant per model.
pub(crate) struct Collection<'a> {
    pub(crate) ident: &'a Ident,
    /// Each variant and the model it holds.
    pub(crate) members: Vec<(&'a Ident, &'a Type)>,
}

impl<'a> Collection<'a> {
    pub(crate) fn from_ast(input: &'a DeriveInput, errors: &Errors) -> Option<Self> {
        let Data::Enum(data) = &input.data else {
            errors.at(
                &input.ident,
                "#[derive(Collection)] needs an enum with one variant per model: `User(User)`",
            );
            return None;
        };
        let mut members = Vec::new();
        for v in &data.variants {
            match &v.fields {
                Fields::Unnamed(f) if f.unnamed.len() == 1 => {
                    members.push((&v.ident, &f.unnamed[0].ty));
                }
                _ => errors.at(v, "each variant holds one model: `User(User)`"),
            }
        }
        Some(Collection {
            ident: &input.ident,
            members,
        })
    }
}

/// `Some(inner)` when `ty` is `Option<inner>`.
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    generic_arg(ty, "Option")
}

/// The one type argument of `ty` when its last path segment is `name`: `T` of `Secret<T>`.
pub(crate) fn generic_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(t) if args.args.len() == 1 => Some(t),
        _ => None,
    }
}

/// `Vec<u8>`, stored as binary.
pub(crate) fn is_bytes(ty: &Type) -> bool {
    matches!(generic_arg(ty, "Vec"), Some(Type::Path(p)) if p.path.is_ident("u8"))
}
