//! Reads a table's stream and nothing else: its policy grants the stream, not the table.
use dynox::streams::Change;
use marker_fixtures::{Feed, run};

fn main() {
    run(|client| async move {
        let mut reader = client.stream::<Feed>().until_caught_up().open().await?;
        let mut changes = Vec::new();
        while let Some(record) = reader.next().await {
            let record = record?;
            changes.push(match record.change {
                Change::Insert(new) => format!("insert {:?}", new.map(|f| f.what)),
                Change::Modify { new, .. } => format!("modify {:?}", new.map(|f| f.what)),
                Change::Remove(_) => "remove".to_owned(),
            });
        }
        println!("{changes:?} up to {}", reader.checkpoint().to_token());
        if changes.len() != 3 {
            return Err(dynox::Error::validation(format!(
                "expected 3 changes, read {}",
                changes.len()
            )));
        }
        Ok(())
    });
}
