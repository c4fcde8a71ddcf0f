//! Item sizes as DynamoDB counts them, so an oversized item is refused before it is sent.
//!
//! The rules: a string is its UTF-8 bytes; a binary its raw bytes; a number one byte plus one per
//! two significant digits of its integer part and of its fraction (zeros trimmed), plus one if
//! negative; a boolean or null one byte; a set the sum of its elements; a list or map three bytes
//! plus, per element, one byte and the element (a map element with its key). An item is the sum of
//! its attribute names and values.

use crate::model::Model;
use crate::{AttributeValue, Error, Item, Result};

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

/// The size of a model item as it would be stored.
pub fn of<M: Model>(item: &M) -> Result<SizeBreakdown> {
    Ok(breakdown(&item.to_item()?))
}

/// Refuses an encoded item of `M` over `M::MAX_SIZE`, naming its key and size.
pub(crate) fn check<M: Model>(item: &Item) -> Result<()> {
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
