//! Exact decimals: `bigdecimal::BigDecimal` as a DynamoDB number.
//!
//! DynamoDB keeps up to 38 significant digits, with magnitudes from 1E-130 to below 1E+126. A
//! decimal outside that is refused, never rounded.

use super::{Attribute, Number, SetElement, SetType, ValueError, wrong};
use crate::AttributeValue;
use bigdecimal::BigDecimal;
use std::str::FromStr;

/// The decimal type dynox stores exactly.
pub type Decimal = BigDecimal;

/// DynamoDB's limits on a number, checked on `d`; the text to store.
fn decimal_text(d: &BigDecimal) -> Result<String, ValueError> {
    let n = d.normalized();
    let (digits, scale) = n.as_bigint_and_exponent();
    let text = digits.magnitude().to_string();
    if text == "0" {
        return Ok("0".to_owned());
    }
    let significant = text.len() as i64;
    // The value is digits * 10^-scale; its leading digit sits at 10^(significant - 1 - scale).
    let magnitude = significant - 1 - scale;
    if significant > 38 || !(-130..=125).contains(&magnitude) {
        return Err(ValueError::Number {
            value: n.to_string(),
            target: "a DynamoDB number (38 significant digits, magnitude 1E-130 to 9.9E+125)",
        });
    }
    Ok(n.to_string())
}

fn parse(text: &str) -> Result<BigDecimal, ValueError> {
    BigDecimal::from_str(text).map_err(|_| ValueError::Number {
        value: text.to_owned(),
        target: "a decimal",
    })
}

impl Attribute for BigDecimal {
    fn to_attribute(&self) -> Result<Option<AttributeValue>, ValueError> {
        Ok(Some(AttributeValue::N(decimal_text(self)?)))
    }
    fn from_attribute(value: AttributeValue) -> Result<Self, ValueError> {
        match value {
            AttributeValue::N(n) => parse(&n),
            other => Err(wrong("N", &other)),
        }
    }
}

impl SetElement for BigDecimal {
    const SET_TYPE: SetType = SetType::Number;
    fn to_set_string(&self) -> Result<String, ValueError> {
        decimal_text(self)
    }
    fn from_set_string(text: String) -> Result<Self, ValueError> {
        parse(&text)
    }
}

impl Number for BigDecimal {}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> BigDecimal {
        BigDecimal::from_str(s).unwrap()
    }

    #[test]
    fn precision_and_range_boundaries() {
        let max_digits = "9".repeat(38);
        for ok in [
            max_digits.as_str(),
            "0.1",
            "-123.4500",
            "1E-130",
            "9.9999999999999999999999999999999999999E+125",
            "0",
        ] {
            let a = d(ok).to_attribute().unwrap().unwrap();
            assert_eq!(BigDecimal::from_attribute(a).unwrap(), d(ok), "{ok}");
        }
        let too_many = "9".repeat(39);
        for bad in [
            too_many.as_str(),
            "1E-131",
            "1E+126",
            "1.00000000000000000000000000000000000001",
        ] {
            assert!(d(bad).to_attribute().is_err(), "{bad}");
        }
        // Trailing zeros are not significant.
        assert!(d(&format!("1{}", "0".repeat(100))).to_attribute().is_ok());
        // The stored text is exact.
        assert_eq!(
            d("0.1").to_attribute().unwrap(),
            Some(AttributeValue::N("0.1".into()))
        );
    }
}
