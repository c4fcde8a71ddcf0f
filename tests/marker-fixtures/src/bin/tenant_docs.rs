//! A tenant-isolated model: its partition key is built from the tenant (then the project), so
//! the export can narrow every item action with `dynamodb:LeadingKeys` (`StringLike`, since the
//! project is any value), and the local index that shares the key; the global index cannot be
//! narrowed. The tenant is `FIXTURE_ORG` (`acme`).
use dynox::Model;
use marker_fixtures::run;

#[derive(Model, Debug, Clone)]
#[dynox(
    table = "fixture-tenants",
    tenant = "org",
    local_index(name = "by-title", sort_key = "title"),
    global_index(name = "by-title-global", partition_key = "title")
)]
struct Doc {
    #[dynox(partition_key, template = "ORG#{org}#PROJECT#{project}")]
    pk: String,
    org: String,
    project: String,
    #[dynox(sort_key)]
    id: u64,
    title: String,
}

fn main() {
    run(|client| async move {
        let org = std::env::var("FIXTURE_ORG").unwrap_or_else(|_| "acme".into());
        let doc = Doc {
            pk: String::new(),
            org: org.clone(),
            project: "apollo".into(),
            id: 1,
            title: "plan".into(),
        };
        client.put(&doc).await?;
        client
            .update::<Doc>(Doc::key(org.clone(), "apollo", 1))
            .action(Doc::fields().title.set("the plan"))
            .await?;
        let back = client
            .get::<Doc>(Doc::key(org.clone(), "apollo", 1))
            .await?;
        let all: Vec<Doc> = client
            .query::<Doc>((org.clone(), "apollo".to_owned()))
            .all()
            .await?;
        let by_title = client
            .query::<DocByTitle>((org.clone(), "apollo".to_owned()))
            .count()
            .await?;
        let titled = client
            .query::<DocByTitleGlobal>("the plan".to_owned())
            .count()
            .await?;
        println!("{} {}", by_title.count, titled.count);
        client.delete::<Doc>(Doc::key(org, "apollo", 1)).await?;
        println!("{:?} {}", back.map(|d| d.pk), all.len());
        Ok(())
    });
}
