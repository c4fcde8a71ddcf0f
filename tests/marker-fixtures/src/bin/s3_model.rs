//! A model with an S3-backed field: save (upload), read back (download, presign), and a refused
//! write whose new object is removed. No multipart: `s3:AbortMultipartUpload` is not linked.
use dynox::attr::S3Object;
use marker_fixtures::{Attachment, run};

fn main() {
    run(|client| async move {
        let mut a = Attachment {
            id: "a1".into(),
            file: S3Object::file("notes.txt", b"large enough to want S3".to_vec()),
        };
        client.save(&mut a).await?;
        let back = client
            .get::<Attachment>(Attachment::key("a1"))
            .await?
            .ok_or_else(|| dynox::Error::validation("the attachment was not stored"))?;
        let bytes = back.file_object().bytes(&client).await?;
        let url = back
            .file_object()
            .presigned_url(&client, std::time::Duration::from_secs(60))
            .await?;
        // The same id again, refused: the upload it made first is removed.
        let again = Attachment {
            id: "a1".into(),
            file: S3Object::file("other.txt", b"refused".to_vec()),
        };
        match client.put(&again).if_not_exists().await {
            Err(e) if e.is_condition_failed() => {}
            Err(e) => return Err(e),
            Ok(_) => return Err(dynox::Error::validation("the second put was not refused")),
        }
        println!("{} bytes, {} chars of URL", bytes.len(), url.len());
        Ok(())
    });
}
