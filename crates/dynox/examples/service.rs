//! An example service: customers and their orders, on the embedded local DynamoDB.
//!
//! `cargo xtask demo` runs it, then prints the IAM policy read from this very binary: exactly the
//! actions and tables used below, nothing more. Set `DYNOX_ENDPOINT` to run it elsewhere.

use dynox::attr::{S3File, S3Object, Secret};
use dynox::expr::ReturnValues;
use dynox::lease::{LeaseRecord, LeaseTable};
use dynox::query::SortCondition;
use dynox::streams::Change;
use dynox::table::StreamView;
use dynox::transaction::{TxPut, TxUpdate};
use dynox::{Client, Model};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// A customer, keyed by id.
#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "customers")]
struct Customer {
    #[dynox(partition_key)]
    id: String,
    name: String,
    email: Option<String>,
    #[dynox(default)]
    tags: BTreeSet<String>,
    #[dynox(rename = "v")]
    visits: u64,
    #[dynox(default)]
    history: Vec<String>,
    #[dynox(default)]
    preferences: HashMap<String, String>,
    avatar: Option<Vec<u8>>,
    /// Encrypted with KMS, bound to this item: a copy elsewhere does not decrypt.
    #[dynox(encrypted(key = "alias/dynox-demo", context(app = "shop")))]
    phone: Secret<String>,
    /// Compressed (zstd), then encrypted with KMS.
    #[dynox(encrypted(key = "alias/dynox-demo", compress = "zstd"))]
    notes: Secret<String>,
    #[dynox(skip)]
    session_cache: Option<String>,
}

/// An order of a customer, keyed by customer and order number; findable by status.
#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(
    table = "orders",
    global_index(name = "by-status", partition_key = "status", sort_key = "order_id")
)]
struct Order {
    #[dynox(partition_key)]
    customer: String,
    #[dynox(sort_key)]
    order_id: u64,
    total_cents: u64,
    status: String,
    lines: Vec<String>,
}

/// The receipt of an order: its PDF in S3, the item holds the object's metadata; deleting the
/// receipt deletes the PDF.
#[derive(Model, Debug, Clone)]
#[dynox(table = "receipts")]
struct Receipt {
    #[dynox(partition_key)]
    customer: String,
    #[dynox(sort_key)]
    order_id: u64,
    #[dynox(s3(
        bucket = "dynox-demo-receipts",
        prefix = "receipts/",
        content_type = "application/pdf",
        delete_with_item
    ))]
    pdf: S3Object,
}

/// The service's lease table: one item per lease (the nightly report runs on one worker).
struct Locks;
impl LeaseTable for Locks {
    const TABLE: &'static str = "locks";
}

/// What a read with a projection decodes into: the fields it asked for.
#[derive(Model, Debug)]
#[dynox(table = "customers")]
struct CustomerName {
    #[dynox(partition_key)]
    id: String,
    name: String,
}

async fn signup(client: &Client, id: &str, name: &str) -> dynox::Result<()> {
    let customer = Customer {
        id: id.into(),
        name: name.into(),
        email: None,
        tags: BTreeSet::from(["new".to_string()]),
        visits: 0,
        history: vec![],
        preferences: HashMap::new(),
        avatar: Some(vec![0x89, b'P', b'N', b'G']),
        phone: Secret::new(format!("+351 900 000 {:03}", name.len())),
        notes: Secret::new(format!("{name} prefers email. ").repeat(12)),
        session_cache: None,
    };
    // Create only: a second signup with the same id fails with a typed error.
    client.put(&customer).if_not_exists().await?;
    println!("signed up {id} ({name})");
    Ok(())
}

async fn visit(client: &Client, id: &str, page: &str) -> dynox::Result<u64> {
    let f = Customer::fields();
    let after = client
        .update::<Customer>(Customer::key(id))
        .actions([
            f.visits.increment(1),
            f.history.append([page.to_string()]),
            f.email.set_if_not_exists(format!("{id}@example.com")),
            f.preferences.key("theme").set("dark"),
        ])
        .if_exists()
        .return_values(ReturnValues::AllNew)
        .await?
        .expect("ALL_NEW returns the item");
    println!("{id} visited {page}: {} visit(s)", after.visits);
    Ok(after.visits)
}

async fn retag(client: &Client, id: &str) -> dynox::Result<()> {
    let f = Customer::fields();
    let changed = client
        .update::<Customer>(Customer::key(id))
        .actions([f.tags.delete_elements(["new"]), f.avatar.remove()])
        .condition(f.visits.ge(2) & f.tags.contains("new"))
        .return_values(ReturnValues::UpdatedOld)
        .send_attributes()
        .await?;
    let changed: Vec<_> = changed.into_iter().flat_map(|a| a.into_keys()).collect();
    client
        .update::<Customer>(Customer::key(id))
        .action(f.tags.add_elements(["regular"]))
        .await?;
    println!("{id} retagged: removed {changed:?}, then tagged regular");
    Ok(())
}

async fn place_order(
    client: &Client,
    customer: &str,
    order_id: u64,
    lines: &[&str],
) -> dynox::Result<()> {
    let order = Order {
        customer: customer.into(),
        order_id,
        total_cents: 1250 * lines.len() as u64,
        status: "placed".into(),
        lines: lines.iter().map(|s| s.to_string()).collect(),
    };
    let replaced = client.put(&order).return_old().await?;
    println!(
        "order {customer}/{order_id} placed (replaced an earlier one: {})",
        replaced.is_some()
    );
    Ok(())
}

/// Places an order and counts it on the customer, all or nothing.
async fn checkout(client: &Client, customer: &str, order_id: u64) -> dynox::Result<()> {
    let order = Order {
        customer: customer.into(),
        order_id,
        total_cents: 990,
        status: "placed".into(),
        lines: vec!["gift card".into()],
    };
    let c = Customer::fields();
    let out = client
        .transact_write()
        .put(TxPut::new(&order).if_not_exists())
        .update(
            TxUpdate::<Customer>::new(Customer::key(customer))
                .action(c.history.append([format!("checkout {order_id}")]))
                .if_exists(),
        )
        .send()
        .await?;
    println!(
        "checkout {customer}/{order_id} committed (token {})",
        out.token
    );
    Ok(())
}

/// The report runs under a lease, so two workers never run it at once; its bookkeeping write
/// is fenced by the lease, so a worker that lost it cannot record a run.
/// Issues the receipt of an order (a PDF far over DynamoDB's 400 KB), hands out a link to it,
/// and refuses a second receipt for the same order without leaving its upload behind.
async fn issue_receipt(client: &Client, customer: &str, order_id: u64) -> dynox::Result<()> {
    let pdf: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    let mut receipt = Receipt {
        customer: customer.into(),
        order_id,
        pdf: S3File::new("receipt.pdf", pdf.clone()).into(),
    };
    client.save(&mut receipt).await?;
    let stored = client
        .get::<Receipt>(Receipt::key(customer, order_id))
        .await?
        .expect("the receipt was saved");
    let bytes = stored.pdf_object().bytes(client).await?;
    assert_eq!(bytes, pdf);
    let url = stored
        .pdf_object()
        .presigned_url(client, Duration::from_secs(900))
        .await?;
    println!(
        "receipt {customer}/{order_id}: {} bytes at s3://{}/{} ({} chars of presigned link)",
        bytes.len(),
        stored.pdf.stored().map_or("", |r| r.bucket.as_str()),
        stored.pdf.stored().map_or("", |r| r.key.as_str()),
        url.len()
    );
    let twice = Receipt {
        customer: customer.into(),
        order_id,
        pdf: S3File::new("receipt-copy.pdf", b"%PDF-1.7 again".to_vec()).into(),
    };
    match client.put(&twice).if_not_exists().await {
        Err(e) if e.is_condition_failed() => println!("second receipt refused, its upload removed"),
        other => panic!("expected a failed condition, got {other:?}"),
    }
    Ok(())
}

async fn nightly_report(client: &Client) -> dynox::Result<()> {
    let lease = client
        .lease::<Locks>("nightly-report")
        .duration(Duration::from_secs(10))
        .wait(Duration::from_secs(15))
        .await?;
    println!(
        "lease nightly-report taken (fencing token {})",
        lease.fencing_token()
    );
    reports(client).await?;
    // Still ours: the transaction's check on the lease passes.
    client
        .transact_write()
        .update(
            TxUpdate::<Customer>::new(Customer::key("c-1"))
                .action(Customer::fields().history.append(["report"])),
        )
        .check(lease.check())
        .await?;
    let spent = lease.metrics();
    lease.release().await?;
    println!(
        "lease released after {} requests ({:.1} capacity units)",
        spent.requests, spent.capacity_units
    );
    Ok(())
}

/// The orders' change log, read from the table's stream.
async fn audit(client: &Client) -> dynox::Result<()> {
    let mut changes = client.stream::<Order>().until_caught_up().open().await?;
    let mut log = Vec::new();
    while let Some(record) = changes.next().await {
        let record = record?;
        let id = |o: &Order| format!("{}/{}", o.customer, o.order_id);
        log.push(match &record.change {
            Change::Insert(new) => format!("+{}", new.as_ref().map(id).unwrap_or_default()),
            Change::Modify { new, .. } => format!(
                "~{} {}",
                new.as_ref().map(id).unwrap_or_default(),
                new.as_ref().map_or("", |o| o.status.as_str())
            ),
            Change::Remove(old) => format!("-{}", old.as_ref().map(id).unwrap_or_default()),
        });
    }
    println!("orders stream: {}", log.join(" "));
    Ok(())
}

async fn reports(client: &Client) -> dynox::Result<()> {
    let recent = client
        .query::<Order>("c-1")
        .sort_key(SortCondition::ge(2))
        .descending()
        .all()
        .await?;
    let ids: Vec<u64> = recent.iter().map(|o| o.order_id).collect();
    println!("c-1 orders from #2, newest first: {ids:?}");
    let placed = client.query::<OrderByStatus>("placed").count().await?;
    println!("orders still placed (by-status index): {}", placed.count);
    let mut both = client
        .batch_get()
        .get::<Customer>([Customer::key("c-1"), Customer::key("c-2")])
        .send()
        .await?;
    println!(
        "batch read of c-1 and c-2: {} found",
        both.take::<Customer>()?.len()
    );
    Ok(())
}

async fn ship(client: &Client, customer: &str, order_id: u64) -> dynox::Result<()> {
    let f = Order::fields();
    let before = client
        .update::<Order>(Order::key(customer, order_id))
        .action(f.status.set("shipped"))
        .condition(f.status.eq("placed"))
        .return_old_on_condition_failure()
        .return_values(ReturnValues::AllOld)
        .await?;
    println!(
        "order {customer}/{order_id} shipped (was {:?})",
        before.map(|o| o.status)
    );
    Ok(())
}

async fn cancel(client: &Client, customer: &str, order_id: u64) -> dynox::Result<Option<Order>> {
    let f = Order::fields();
    client
        .delete::<Order>(Order::key(customer, order_id))
        .condition(f.status.is_in(["placed", "shipped"]))
        .return_old()
        .return_old_on_condition_failure()
        .await
}

async fn run(client: &Client) -> dynox::Result<()> {
    signup(client, "c-1", "Ada").await?;
    signup(client, "c-2", "Grace").await?;
    match signup(client, "c-1", "Impostor").await {
        Err(e) if e.is_condition_failed() => println!("second signup of c-1 refused: {e}"),
        other => panic!("expected a failed condition, got {other:?}"),
    }

    visit(client, "c-1", "/home").await?;
    visit(client, "c-1", "/pricing").await?;
    retag(client, "c-1").await?;
    match retag(client, "c-2").await {
        Err(e) if e.is_condition_failed() => println!("c-2 not retagged: too few visits"),
        other => panic!("expected a failed condition, got {other:?}"),
    }

    let ada = client
        .get::<Customer>(Customer::key("c-1"))
        .consistent_read(true)
        .await?
        .expect("c-1 exists");
    println!(
        "c-1 now: {} visits, tags {:?}, history {:?}, email {:?}, prefs {:?}",
        ada.visits, ada.tags, ada.history, ada.email, ada.preferences
    );
    let f = Customer::fields();
    let name = client
        .get::<Customer>(Customer::key("c-2"))
        .project(&f.id)
        .project(&f.name)
        .send_as::<CustomerName>()
        .await?
        .expect("c-2 exists");
    println!("projected read of c-2: {name:?}");

    place_order(client, "c-1", 1, &["book", "pen"]).await?;
    place_order(client, "c-1", 2, &["lamp"]).await?;
    ship(client, "c-1", 1).await?;
    match ship(client, "c-1", 1).await {
        Err(e) if e.is_condition_failed() => {
            let old = e.old_item_as::<Order>().expect("asked for the old item")?;
            println!(
                "order c-1/1 not shipped twice: it is already {}",
                old.status
            );
        }
        other => panic!("expected a failed condition, got {other:?}"),
    }
    checkout(client, "c-1", 3).await?;
    issue_receipt(client, "c-1", 3).await?;
    nightly_report(client).await?;
    let cancelled = cancel(client, "c-1", 2).await?;
    println!(
        "cancelled {:?}",
        cancelled.map(|o| (o.customer, o.order_id))
    );
    let gone = client.get::<Order>(Order::key("c-1", 2)).await?;
    assert!(gone.is_none());
    client
        .delete::<Customer>(Customer::key("c-2"))
        .if_exists()
        .await?;
    println!("c-2 deleted");
    client.delete::<Receipt>(Receipt::key("c-1", 3)).await?;
    println!("receipt c-1/3 deleted, its PDF with it");
    audit(client).await?;
    Ok(())
}

async fn protected_fields(client: &Client) -> dynox::Result<()> {
    let raw: dynox::Item = client
        .get::<Customer>(Customer::key("c-1"))
        .send_as()
        .await?
        .expect("c-1 exists");
    let stored = |a: &str| match &raw[a] {
        dynox::AttributeValue::S(s) => format!("{}... ({} chars)", &s[..s.len().min(16)], s.len()),
        other => format!("{other:?}"),
    };
    println!(
        "c-1 as stored: phone {}, notes {}",
        stored("phone"),
        stored("notes")
    );
    let ada = client
        .get::<Customer>(Customer::key("c-1"))
        .await?
        .expect("c-1 exists");
    println!(
        "c-1 as read: phone {:?} (decrypted: {}), notes of {} chars (decompressed and decrypted)",
        ada.phone,
        ada.phone.plain().map_or("no", |_| "yes"),
        ada.notes.plain().map_or(0, String::len)
    );
    Ok(())
}

/// The whole service: start the backends, create the tables, serve the story above.
///
/// Table names and KMS keys go through the deployment's mapping (`DYNOX_IAM_CONFIG`,
/// `DYNOX_TABLE_PREFIX`, ...), the same one `cargo xtask policy` applies to the exported policy.
/// With `DYNOX_IAM_POLICY` set, both local backends enforce that policy on every request.
pub async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let mapping = dynox::Mapping::from_env()?;
    let local = dynox_testing::LocalDynamo::start().await?;
    println!(
        "DynamoDB endpoint: {} (embedded: {})",
        local.endpoint(),
        local.is_embedded()
    );
    let kms = dynox_testing::LocalKms::start().await?;
    kms.create_key(Some("dynox-demo")).await?;
    println!("KMS endpoint: {}", kms.endpoint());
    let encryptor =
        std::sync::Arc::new(dynox::encryption::Encryptor::new(kms.client()).with_mapping(&mapping));
    let s3 = dynox_testing::LocalS3::start().await?;
    s3.create_bucket(mapping.bucket("dynox-demo-receipts"))
        .await?;
    println!("S3 endpoint: {}", s3.endpoint());
    let client = local
        .client()
        .with_mapping(mapping)
        .with_encryptor(encryptor.clone())
        .with_s3(s3.s3_client());
    local.create_table::<Customer>(&client).await?;
    client
        .create_table::<Order>()
        .stream(StreamView::NewAndOldImages)
        .await?;
    client
        .wait_until_active::<Order>(Duration::from_secs(60))
        .await?;
    local.create_table::<LeaseRecord<Locks>>(&client).await?;
    local.create_table::<Receipt>(&client).await?;
    run(&client).await?;
    protected_fields(&client).await?;
    println!(
        "KMS calls: {} GenerateDataKey, {} Decrypt",
        encryptor.metrics().generate_data_key_calls(),
        encryptor.metrics().decrypt_calls()
    );
    println!("requests per table (client.metrics()):");
    for (table, f) in client.metrics().by_table() {
        let table = if table.is_empty() { "(none)" } else { &table };
        println!(
            "  {table:<12} {:>4} requests {:>3} errors {:>3} retries {:>7.1} RCU {:>7.1} WCU {:>5} items {:>6.1} ms",
            f.requests,
            f.errors,
            f.retries,
            f.read_units,
            f.write_units,
            f.items_returned,
            f.duration.as_secs_f64() * 1e3
        );
    }
    println!("per model (client.metrics().model::<M>()):");
    for (name, m) in [
        ("Customer", client.metrics().model::<Customer>()),
        ("Order", client.metrics().model::<Order>()),
    ] {
        let last = m.last.unwrap_or_default();
        println!(
            "  {name:<12} {:>4} requests {:>7.1} RCU {:>7.1} WCU {:>3} KMS calls; last operation: {} requests, {:.1} ms",
            m.total.requests,
            m.total.read_units,
            m.total.write_units,
            m.total.kms.kms_calls(),
            last.requests,
            last.duration.as_secs_f64() * 1e3
        );
    }
    println!("done");
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match serve().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("service failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
