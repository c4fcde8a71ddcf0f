//! Uses a model defined in the binary crate itself: put and delete on it.
use dynox::Model;
use marker_fixtures::run;

#[derive(Model, Debug)]
#[dynox(table = "fixture-sessions")]
struct Session {
    #[dynox(partition_key)]
    token: String,
    user: String,
}

fn main() {
    run(|client| async move {
        let s = Session {
            token: "t".into(),
            user: "u".into(),
        };
        client.put(&s).if_not_exists().await?;
        client
            .delete::<Session>(Session::key("t"))
            .return_old()
            .await?;
        Ok(())
    });
}
