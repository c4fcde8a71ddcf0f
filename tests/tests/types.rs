//! Every supported field type, through the derive and a real round trip on the embedded engine,
//! plus the conversion errors a user can hit.

use dynox::attr::Binary;
use dynox::{AttributeValue, Error, FromItem, Item, Model};
use dynox_testing::LocalDynamo;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "everything")]
struct Everything {
    #[dynox(partition_key)]
    id: String,
    #[dynox(sort_key)]
    n: i64,
    s: String,
    empty_s: String,
    i8_: i8,
    i16_: i16,
    i32_: i32,
    i64_: i64,
    i128_: i128,
    isize_: isize,
    u8_: u8,
    u16_: u16,
    u32_: u32,
    u64_: u64,
    u128_: u128,
    usize_: usize,
    f32_: f32,
    f64_: f64,
    flag: bool,
    bytes: Vec<u8>,
    maybe_bytes: Option<Vec<u8>>,
    opt_some: Option<String>,
    opt_none: Option<u32>,
    list: Vec<String>,
    nested_list: Vec<Vec<u32>>,
    list_of_options: Vec<Option<bool>>,
    binaries: Vec<Binary>,
    hmap: HashMap<String, u64>,
    bmap: BTreeMap<String, Vec<String>>,
    deep: BTreeMap<String, BTreeMap<String, BTreeMap<String, i32>>>,
    sset: HashSet<String>,
    nset: BTreeSet<u64>,
    bset: BTreeSet<Vec<u8>>,
    empty_set: BTreeSet<String>,
    #[dynox(rename = "renamed-attr")]
    renamed: String,
    #[dynox(skip)]
    skipped: Vec<String>,
    #[dynox(default)]
    defaulted: u32,
}

fn sample() -> Everything {
    Everything {
        id: "all".into(),
        n: -7,
        s: "héllo ✓".into(),
        empty_s: String::new(),
        i8_: i8::MIN,
        i16_: i16::MIN,
        i32_: i32::MIN,
        i64_: i64::MIN,
        i128_: -9_999_999_999_999_999_999_999_999_999_999_999_999,
        isize_: isize::MAX,
        u8_: u8::MAX,
        u16_: u16::MAX,
        u32_: u32::MAX,
        u64_: u64::MAX,
        u128_: 9_999_999_999_999_999_999_999_999_999_999_999_999,
        usize_: usize::MAX,
        f32_: 1.5e-3,
        f64_: -0.1,
        flag: true,
        bytes: vec![0, 1, 2, 255],
        maybe_bytes: Some(vec![9; 3]),
        opt_some: Some("here".into()),
        opt_none: None,
        list: vec!["a".into(), "".into()],
        nested_list: vec![vec![], vec![1, 2]],
        list_of_options: vec![Some(true), None],
        binaries: vec![Binary(vec![1]), Binary(vec![])],
        hmap: HashMap::from([("x".into(), 1), ("y".into(), 2)]),
        bmap: BTreeMap::from([("k".into(), vec!["v".into()])]),
        deep: BTreeMap::from([(
            "a".into(),
            BTreeMap::from([("b".into(), BTreeMap::from([("c".into(), -1)]))]),
        )]),
        sset: HashSet::from(["x".into(), "y".into()]),
        nset: BTreeSet::from([0, 1, u64::MAX]),
        bset: BTreeSet::from([vec![1], vec![2, 3]]),
        empty_set: BTreeSet::new(),
        renamed: "r".into(),
        skipped: vec![],
        defaulted: 0,
    }
}

#[test]
fn item_encoding_uses_dynamodb_types() {
    let item = sample().to_item().unwrap();
    assert_eq!(
        item["u64_"],
        AttributeValue::N("18446744073709551615".into())
    );
    assert_eq!(
        item["i64_"],
        AttributeValue::N("-9223372036854775808".into())
    );
    assert!(matches!(item["bytes"], AttributeValue::B(_)));
    assert!(matches!(item["maybe_bytes"], AttributeValue::B(_)));
    assert!(matches!(item["binaries"], AttributeValue::L(_)));
    assert!(matches!(item["sset"], AttributeValue::Ss(_)));
    assert!(matches!(item["nset"], AttributeValue::Ns(_)));
    assert!(matches!(item["bset"], AttributeValue::Bs(_)));
    assert!(matches!(item["hmap"], AttributeValue::M(_)));
    assert_eq!(
        item["list_of_options"],
        AttributeValue::L(vec![AttributeValue::Bool(true), AttributeValue::Null(true)])
    );
    assert!(item.contains_key("renamed-attr") && !item.contains_key("renamed"));
    for absent in ["opt_none", "empty_set", "skipped"] {
        assert!(!item.contains_key(absent), "{absent} must be omitted");
    }
    // Owned and borrowed encodings agree (compared decoded: hash sets have no fixed order).
    assert_eq!(
        Everything::from_item(sample().into_item().unwrap()).unwrap(),
        sample()
    );
    assert_eq!(Everything::from_item(item).unwrap(), sample());
}

#[tokio::test]
async fn every_type_round_trips_through_dynamodb() {
    let local = LocalDynamo::start().await.unwrap();
    let client = local.client();
    local.create_table::<Everything>(&client).await.unwrap();
    let v = sample();
    client.put(&v).await.unwrap();
    let got = client
        .get::<Everything>(v.primary_key())
        .consistent_read(true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, v);
    // The raw item shows the stored forms.
    let raw: Item = client
        .get::<Everything>(v.primary_key())
        .send_as::<Item>()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        raw["u128_"],
        AttributeValue::N("9999999999999999999999999999999999999".into())
    );
    assert!(!raw.contains_key("empty_set"));
}

#[test]
fn non_finite_floats_are_clear_errors() {
    let mut v = sample();
    v.f64_ = f64::NAN;
    let err = v.to_item().unwrap_err();
    assert!(err.is_conversion());
    assert_eq!(
        err.to_string(),
        "Everything.f64_: NaN cannot be stored: DynamoDB numbers are finite, between 1E-130 and 9.99E+125 in magnitude"
    );
    let mut v = sample();
    v.f32_ = f32::INFINITY;
    assert!(
        v.to_item()
            .unwrap_err()
            .to_string()
            .starts_with("Everything.f32_: inf")
    );
}

#[test]
fn missing_and_mistyped_attributes_name_field_and_model() {
    let mut item = sample().to_item().unwrap();
    item.remove("s");
    let err = Everything::from_item(item).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Everything.s: the required attribute is missing"
    );

    let mut item = sample().to_item().unwrap();
    item.insert("u32_".into(), AttributeValue::S("12".into()));
    let err = Everything::from_item(item).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Everything.u32_: expected a DynamoDB N attribute, found S"
    );

    let mut item = sample().to_item().unwrap();
    item.insert("u8_".into(), AttributeValue::N("256".into()));
    let err = Everything::from_item(item).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Everything.u8_: the number 256 does not fit in u8"
    );

    let mut item = sample().to_item().unwrap();
    item.insert(
        "nested_list".into(),
        AttributeValue::L(vec![AttributeValue::L(vec![AttributeValue::Bool(true)])]),
    );
    let err = Everything::from_item(item).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Everything.nested_list: at [0]: at [0]: expected a DynamoDB N attribute, found BOOL"
    );
    assert!(matches!(
        err,
        Error::Conversion {
            model: "Everything",
            field: "nested_list",
            ..
        }
    ));
    // The value error is the message itself, so it is not also the source (a message never
    // repeats its source).
    assert!(std::error::Error::source(&err).is_none());
}

#[test]
fn absent_optionals_sets_and_defaults_decode() {
    let mut item = sample().to_item().unwrap();
    for k in ["opt_some", "maybe_bytes", "sset", "defaulted"] {
        item.remove(k);
    }
    let v = Everything::from_item(item).unwrap();
    assert_eq!(v.opt_some, None);
    assert_eq!(v.maybe_bytes, None);
    assert!(v.sset.is_empty());
    assert_eq!(v.defaulted, 0);
}

#[test]
fn empty_keys_are_refused() {
    let mut v = sample();
    v.id = String::new();
    let err = v.to_item().unwrap_err();
    assert_eq!(
        err.to_string(),
        "Everything.id: a key attribute cannot be empty"
    );
}

#[test]
fn key_schema_comes_from_field_types() {
    assert_eq!(Everything::PARTITION_KEY.name, "id");
    assert_eq!(Everything::PARTITION_KEY.scalar, dynox::attr::Scalar::S);
    assert_eq!(Everything::SORT_KEY.unwrap().scalar, dynox::attr::Scalar::N);
    assert_eq!(Everything::TABLE, "everything");
    let key = Everything::key("a", -1);
    let item = dynox::ModelKey::to_key_item(&key).unwrap();
    assert_eq!(item.len(), 2);
    assert_eq!(item["n"], AttributeValue::N("-1".into()));
}
