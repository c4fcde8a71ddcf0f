//! A loopback HTTP server that answers every DynamoDB request at once with a canned response:
//! a client's cost per request is then measured with no engine in it.
//!
//! Like DynamoDB, it answers with a `ConsumedCapacity` when the request asks for one (dynox's
//! default observability does, for its figures), and a query for the partition
//! [`PAGED_PK`] reads [`PAGES`] pages, each but the last with a `LastEvaluatedKey`.

use crate::models::SdkItem;
use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// The partition whose query reads [`PAGES`] pages of [`PAGED_ITEMS`] items.
pub const PAGED_PK: &str = "user#paged";
/// Pages of a query of [`PAGED_PK`].
pub const PAGES: usize = 3;
/// Items per page of a query of [`PAGED_PK`].
pub const PAGED_ITEMS: usize = 10;
/// The sort key of a `LastEvaluatedKey`, followed by the number of the next page.
const PAGE_MARK: &str = "bench-page-";

/// One answer, without and with the `ConsumedCapacity` a request may ask for.
#[derive(Debug, Clone, Default)]
pub struct Body {
    /// Without consumed capacity.
    pub plain: String,
    /// With `"ConsumedCapacity": {"TableName", "CapacityUnits"}`.
    pub with_capacity: String,
}

impl Body {
    fn new(mut body: Value, units: f64) -> Body {
        let plain = body.to_string();
        body["ConsumedCapacity"] = json!({ "TableName": TABLE, "CapacityUnits": units });
        Body {
            plain,
            with_capacity: body.to_string(),
        }
    }

    fn pick(&self, capacity: bool) -> &str {
        if capacity {
            &self.with_capacity
        } else {
            &self.plain
        }
    }
}

/// The table the answers' consumed capacity names.
const TABLE: &str = "bench_profiles";

/// The answers, by operation (`GetItem`, `PutItem`, `Query`).
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// The body returned for a `GetItem`.
    pub get_item: Body,
    /// The body returned for a `PutItem`.
    pub put_item: Body,
    /// The body returned for a `Query`.
    pub query: Body,
    /// The pages returned for a `Query` of [`PAGED_PK`], in order.
    pub query_pages: Vec<Body>,
}

impl Answers {
    /// GetItem returns `item`; Query returns a last page of `page` copies of it, or, for
    /// [`PAGED_PK`], [`PAGES`] pages of [`PAGED_ITEMS`].
    pub fn for_item(item: &SdkItem, page: usize) -> Answers {
        let one = item_json(item);
        let items = |n: usize| -> Vec<Value> { (0..n).map(|_| one.clone()).collect() };
        let query_pages = (0..PAGES)
            .map(|i| {
                let mut body = json!({
                    "Items": items(PAGED_ITEMS),
                    "Count": PAGED_ITEMS,
                    "ScannedCount": PAGED_ITEMS,
                });
                if i + 1 < PAGES {
                    body["LastEvaluatedKey"] = json!({
                        "pk": { "S": PAGED_PK },
                        "sk": { "S": format!("{PAGE_MARK}{}", i + 1) },
                    });
                }
                Body::new(body, 1.5)
            })
            .collect();
        Answers {
            get_item: Body::new(json!({ "Item": one }), 0.5),
            put_item: Body::new(json!({}), 1.0),
            query: Body::new(
                json!({ "Items": items(page), "Count": page, "ScannedCount": page }),
                2.5,
            ),
            query_pages,
        }
    }

    /// The answer to a request `body` for operation `target`.
    fn body(&self, target: &str, body: &str) -> Option<&str> {
        let capacity = body.contains("\"ReturnConsumedCapacity\"");
        let answer = match target.rsplit('.').next()? {
            "GetItem" => &self.get_item,
            "PutItem" => &self.put_item,
            "Query" if body.contains(PAGED_PK) => {
                let page = body
                    .find(PAGE_MARK)
                    .map(|at| &body[at + PAGE_MARK.len()..])
                    .and_then(|rest| rest.split('"').next()?.parse::<usize>().ok())
                    .unwrap_or(0);
                self.query_pages.get(page)?
            }
            "Query" => &self.query,
            _ => return None,
        };
        Some(answer.pick(capacity))
    }
}

/// An item in DynamoDB's JSON form.
pub fn item_json(item: &SdkItem) -> Value {
    Value::Object(
        item.iter()
            .map(|(k, v)| (k.clone(), value_json(v)))
            .collect::<Map<_, _>>(),
    )
}

fn value_json(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(value_json).collect::<Vec<_>>() }),
        AttributeValue::M(m) => json!({ "M": item_json(m) }),
        AttributeValue::Ss(s) => json!({ "SS": s }),
        AttributeValue::Ns(n) => json!({ "NS": n }),
        other => panic!("the canned server does not answer with {other:?}"),
    }
}

/// The running server; stopped when dropped.
#[derive(Debug)]
pub struct Canned {
    endpoint: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Canned {
    /// Starts the server as a task of `rt`, a current-thread runtime that the client runs on
    /// too: client and server then take turns on one thread, with no cross-thread wake-ups,
    /// which makes the per-request figure steady (the server's share is the same for every
    /// client, and small: it parses a request and writes a fixed body).
    pub fn start_on(rt: &tokio::runtime::Runtime, answers: Answers) -> std::io::Result<Canned> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
        let answers = Arc::new(answers);
        let _guard = rt.enter();
        let listener = tokio::net::TcpListener::from_std(listener)?;
        rt.spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = &mut rx => break,
                    a = listener.accept() => a,
                };
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(answers.clone(), stream));
            }
        });
        Ok(Canned {
            endpoint,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for Canned {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn serve(answers: Arc<Answers>, stream: tokio::net::TcpStream) {
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let answers = answers.clone();
        async move {
            let target = req
                .headers()
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            // The body is read whole, as a real server would, before answering.
            let body = req
                .into_body()
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            let body = std::str::from_utf8(&body).unwrap_or_default();
            let response = match answers.body(&target, body) {
                Some(body) => hyper::Response::builder()
                    .status(200)
                    .header("content-type", "application/x-amz-json-1.0")
                    .header("x-amzn-requestid", "canned")
                    .body(Full::new(Bytes::from(body.to_owned()))),
                None => hyper::Response::builder()
                    .status(400)
                    .header("content-type", "application/x-amz-json-1.0")
                    .body(Full::new(Bytes::from_static(
                        br#"{"__type":"com.amazon.coral.validate#ValidationException","message":"not canned"}"#,
                    ))),
            };
            Ok::<_, std::convert::Infallible>(response.expect("a valid response"))
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}
