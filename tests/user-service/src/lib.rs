//! An example of a user's own service: notes kept per owner.
//!
//! This crate stands for a service in a user's workspace. Its binary (`src/bin/notes.rs`) is what
//! gets deployed; `notes.policy.json` is the policy exported from that binary and committed; the
//! workspace's xtask (`tests/user-xtask`) runs the `--check` gate against it in CI, and
//! `tests/under_policy.rs` runs the service's code under exactly that policy.

use dynox::attr::Secret;
use dynox::query::SortCondition;
use dynox::{Client, Model};
use std::time::Duration;

/// A note, keyed by owner and number.
#[derive(Model, Debug, Clone, PartialEq)]
#[dynox(table = "notes")]
pub struct Note {
    /// Whose note it is.
    #[dynox(partition_key)]
    pub owner: String,
    /// The note's number.
    #[dynox(sort_key)]
    pub id: u64,
    /// What it says.
    pub text: String,
    /// What only its owner may read: encrypted with the KMS key `alias/notes` before it is
    /// sent, and bound to this note (a copy elsewhere does not decrypt).
    #[dynox(encrypted(key = "alias/notes"))]
    pub private: Option<Secret<String>>,
}

/// Creates the table when it is missing.
pub async fn set_up(client: &Client) -> dynox::Result<()> {
    if !client.table_exists::<Note>().await? {
        client.create_table::<Note>().send().await?;
    }
    client
        .wait_until_active::<Note>(Duration::from_secs(60))
        .await
}

/// Adds a note, with a private part when given; a note with the same number is not replaced.
pub async fn add(
    client: &Client,
    owner: &str,
    id: u64,
    text: &str,
    private: Option<&str>,
) -> dynox::Result<()> {
    let note = Note {
        owner: owner.into(),
        id,
        text: text.into(),
        private: private.map(|p| Secret::new(p.to_owned())),
    };
    client.put(&note).if_not_exists().await.map(drop)
}

/// The owner's notes from number `from` on.
pub async fn list(client: &Client, owner: &str, from: u64) -> dynox::Result<Vec<Note>> {
    client
        .query::<Note>(owner.to_owned())
        .sort_key(SortCondition::ge(from))
        .all()
        .await
}

/// Removes a note, returning it.
pub async fn remove(client: &Client, owner: &str, id: u64) -> dynox::Result<Option<Note>> {
    client
        .delete::<Note>(Note::key(owner, id))
        .return_old()
        .await
}

/// What the deployed binary does, start to end.
pub async fn run(client: &Client) -> dynox::Result<usize> {
    set_up(client).await?;
    add(client, "ada", 1, "buy milk", None).await?;
    add(client, "ada", 2, "write the report", Some("due Friday")).await?;
    let removed = remove(client, "ada", 1).await?;
    assert!(removed.is_some(), "note 1 was there");
    let left = list(client, "ada", 0).await?;
    let private = left
        .iter()
        .find_map(|n| n.private.as_ref()?.plain().cloned());
    assert_eq!(private.as_deref(), Some("due Friday"), "decrypted on read");
    Ok(left.len())
}
