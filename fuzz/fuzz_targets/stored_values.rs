//! Any string handed to the encrypted-value and compressed-value parsers: errors, never panics,
//! and never an allocation past the limit.
#![no_main]

use dynox_encryption::{compress, envelope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(env) = envelope::Envelope::parse(&text) {
        let binding = envelope::Binding {
            table: "t".into(),
            attribute: "a".into(),
            item_key: None,
            context: Default::default(),
        };
        let _ = envelope::open(&env, &[0u8; 32], &binding);
        let _ = env.to_stored();
    }
    let _ = compress::decompress(&text, 64 * 1024);
});
