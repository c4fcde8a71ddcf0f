//! Item sizes as DynamoDB counts them, so an oversized item is refused before it is sent.
//!
//! The rules: a string is its UTF-8 bytes; a binary its raw bytes; a number one byte plus one per
//! two significant digits of its integer part and of its fraction (zeros trimmed), plus one if
//! negative; a boolean or null one byte; a set the sum of its elements; a list or map three bytes
//! plus, per element, one byte and the element (a map element with its key). An item is the sum of
//! its attribute names and values.
//!
//! [`of`] counts a model item's encoding; [`stored`] counts it exactly as a put stores it,
//! encrypted fields sealed in their envelopes (which needs the client's encryptor).

use crate::model::Model;
use crate::{AttributeValue, Client, Error, Item, Result};

/// DynamoDB's item size limit: 400 KB.
pub const MAX_ITEM_SIZE: usize = 400 * 1024;

/// The size DynamoDB counts for a number given as text (`"-12.50"`, `"1E+3"`).
pub fn number_size(text: &str) -> usize {
    let t = text.trim();
    let negative = t.starts_with('-');
    let t = t.trim_start_matches(['-', '+']);
    let (coefficient, exponent) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (t, 0),
    };
    let (int_part, frac_part) = coefficient.split_once('.').unwrap_or((coefficient, ""));
    // The digits are the integer part's then the fraction's, read in place: no buffer.
    let digit = |i: usize| -> u8 {
        match i.checked_sub(int_part.len()) {
            None => int_part.as_bytes()[i],
            Some(j) => frac_part.as_bytes()[j],
        }
    };
    let len = int_part.len() + frac_part.len();
    let leading = (0..len).take_while(|&i| digit(i) == b'0').count();
    let trailing = (leading..len)
        .rev()
        .take_while(|&i| digit(i) == b'0')
        .count();
    let significant = len - leading - trailing;
    if significant == 0 {
        return 1;
    }
    // Where the decimal point falls, counted in significant digits from the first one.
    let point = (int_part.len() as i64 - leading as i64).saturating_add(exponent);
    let int_digits = point.clamp(0, significant as i64) as usize;
    let frac_digits = significant - int_digits;
    int_digits.div_ceil(2) + frac_digits.div_ceil(2) + 1 + usize::from(negative)
}

/// The size of one value.
pub fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(v) => v.iter().map(String::len).sum(),
        AttributeValue::Ns(v) => v.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(v) => 3 + v.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, e)| k.len() + 1 + value_size(e))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// The size of a whole item.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// An item's size, attribute by attribute (largest first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SizeBreakdown {
    /// The whole item.
    pub total: usize,
    /// Each attribute's name and its size (name included), largest first.
    pub attributes: Vec<(String, usize)>,
}

/// The size of `item`, with a per-attribute breakdown.
pub fn breakdown(item: &Item) -> SizeBreakdown {
    let mut attributes: Vec<(String, usize)> = item
        .iter()
        .map(|(k, v)| (k.clone(), k.len() + value_size(v)))
        .collect();
    attributes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    SizeBreakdown {
        total: attributes.iter().map(|a| a.1).sum(),
        attributes,
    }
}

/// The size of a model item's encoding, [`Model::to_item`], without calling KMS.
///
/// This is the stored size for every field but the encrypted ones: compressed fields are
/// counted compressed, and an encrypted field that holds its ciphertext ([`Secret::Sealed`],
/// as a write-only field reads back) is counted as that ciphertext. An encrypted field holding
/// a plaintext ([`Secret::Plain`]) is counted in the form it waits for encryption in: its
/// plaintext plus four bytes, before its compression and its `ENC:` envelope (the encrypted
/// data key, a nonce and a tag, in base64). That is not its stored size: the envelope adds a
/// couple of hundred bytes, depending on the data key KMS returns, and a declared compression
/// may take far more away. Only [`stored`], which seals the item as a put does, counts what
/// is stored.
///
/// [`Secret::Sealed`]: crate::attr::Secret::Sealed
/// [`Secret::Plain`]: crate::attr::Secret::Plain
pub fn of<M: Model>(item: &M) -> Result<SizeBreakdown> {
    Ok(breakdown(&item.to_item()?))
}

/// The size of a model item exactly as `client.put(item)` stores it, with a per-attribute
/// breakdown: encoded, then its encrypted fields compressed (when they declare it) and sealed
/// in their `ENC:` envelopes with the client's encryptor, as a put does.
///
/// For a model without encrypted fields this is [`of`], and nothing is called. With them, the
/// item is encrypted as for a put, so this needs what a put needs: a client configured
/// `with_encryptor(...)` (else [`Error::Encryption`]), and a data key from KMS unless the
/// encryptor has one cached, with the KMS permissions of a put of `M`. The encryption counts
/// in the encryptor's data-key cache limits and KMS figures like a put's. Nothing is sent to
/// DynamoDB. The item is counted as given: the values `save` fills in (generated ids,
/// `created_at`, the version) count once they are in it.
pub async fn stored<M: Model>(client: &Client, item: &M) -> Result<SizeBreakdown> {
    let mut encoded = item.to_item()?;
    // The put's own sealing step, counted in the model's KMS figures as a put's is.
    client
        .kms_for(
            M::NAME,
            crate::sealing::seal_item::<M>(&mut encoded, client),
        )
        .await?;
    Ok(breakdown(&encoded))
}

/// Refuses an encoded item of `M` over `M::MAX_SIZE`, naming its key and size.
pub(crate) fn check<M: Model>(item: &Item) -> Result<()> {
    // Every write checks here, so no path stores a file that was meant for S3.
    if !M::S3_ATTRIBUTES.is_empty() {
        crate::s3::refuse_staged(item, M::S3_ATTRIBUTES, M::NAME)?;
    }
    let size = item_size(item);
    if size <= M::MAX_SIZE {
        return Ok(());
    }
    let key: Vec<String> = std::iter::once(M::PARTITION_KEY.name)
        .chain(M::SORT_KEY.map(|k| k.name))
        .filter_map(|n| item.get(n).map(|v| format!("{n}={v:?}")))
        .collect();
    let largest = breakdown(item)
        .attributes
        .into_iter()
        .next()
        .map(|(n, s)| format!("; largest attribute `{n}` is {s} bytes"))
        .unwrap_or_default();
    Err(Error::ItemTooLarge {
        message: format!(
            "{} item {} is {size} bytes, over its limit of {} bytes{largest}",
            M::NAME,
            key.join(", "),
            M::MAX_SIZE
        ),
        source: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::primitives::Blob;

    #[test]
    fn numbers_follow_dynamodb() {
        for (n, size) in [
            ("0", 1),
            ("-0", 1),
            ("1", 2),
            ("42", 2),
            ("-42", 3),
            ("123", 3),
            ("1234", 3),
            ("0.5", 2),
            ("12.34", 3),
            ("1.5", 3),
            ("00100", 2),
            ("1.200", 3),
            ("1E+3", 2),
            ("1.5e1", 2),
            ("12345678901234567890123456789012345678", 20),
        ] {
            assert_eq!(number_size(n), size, "{n}");
        }
    }

    #[test]
    fn hand_computed_items() {
        // {"id": S "abc", "n": N "42", "ok": BOOL}
        let item = Item::from([
            ("id".to_string(), AttributeValue::S("abc".into())),
            ("n".to_string(), AttributeValue::N("42".into())),
            ("ok".to_string(), AttributeValue::Bool(true)),
        ]);
        assert_eq!(item_size(&item), (2 + 3) + (1 + 2) + (2 + 1));
        // A list of two strings and a map with one number: 3 + (1+1) + (1+2) and
        // 3 + ("k" 1 + 1 + 2).
        let nested = Item::from([
            (
                "l".to_string(),
                AttributeValue::L(vec![
                    AttributeValue::S("a".into()),
                    AttributeValue::S("bc".into()),
                ]),
            ),
            (
                "m".to_string(),
                AttributeValue::M([("k".to_string(), AttributeValue::N("7".into()))].into()),
            ),
            ("b".to_string(), AttributeValue::B(Blob::new(vec![0; 10]))),
            (
                "ss".to_string(),
                AttributeValue::Ss(vec!["xy".into(), "z".into()]),
            ),
        ]);
        assert_eq!(
            item_size(&nested),
            (1 + 3 + 2 + 3) + (1 + 3 + 1 + 1 + 2) + (1 + 10) + (2 + 3)
        );
        let b = breakdown(&nested);
        assert_eq!(b.total, item_size(&nested));
        assert_eq!(b.attributes[0].0, "b");
        // Empty list and map.
        let empty = Item::from([
            ("e".to_string(), AttributeValue::L(vec![])),
            ("f".to_string(), AttributeValue::M(Default::default())),
        ]);
        assert_eq!(item_size(&empty), 4 + 4);
    }
}
