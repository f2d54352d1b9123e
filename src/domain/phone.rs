//! Recipient phone numbers, read with libphonenumber's metadata (the `rlibphonenumber`
//! port, docs/api.md "Normalization"). A `Phone` that exists is valid for its country.

use rlibphonenumber::{ParseError, PhoneNumberFormat, Region, RegionStr, PHONE_NUMBER_UTIL};
use std::fmt;

/// Decodes libphonenumber's metadata for every region (about 3 ms; each region's patterns
/// are compiled on its first number). It is otherwise decoded by the first number read.
pub fn preload() {
    std::hint::black_box(&*PHONE_NUMBER_UTIL);
}

/// A valid phone number in E.164 form. Its `Debug` and `Display` are masked, so a stray
/// `{:?}` in a log line never prints the whole number.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone {
    e164: String,
    country_code: u16,
}

/// An ISO 3166-1 alpha-2 region known to libphonenumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Country(Region, RegionStr);

impl Country {
    pub fn parse(text: &str) -> Result<Self, String> {
        let upper = text.to_ascii_uppercase();
        if upper.len() != 2 || upper != text {
            return Err("must be an upper-case ISO 3166-1 alpha-2 code such as \"ID\"".into());
        }
        // Region::from_code accepts any two ASCII letters (all 676 exist as variants);
        // only those with metadata have a country calling code.
        Region::from_code(&upper)
            .ok()
            .filter(|r| PHONE_NUMBER_UTIL.get_country_code_for_region(*r).is_some())
            .map(|r| Country(r, r.as_region_str()))
            .ok_or_else(|| format!("\"{text}\" is not a region known to the phone metadata"))
    }

    pub fn as_str(&self) -> &str {
        self.1.as_str()
    }
}

impl Phone {
    /// Reads `text` as docs/api.md ("Normalization") says: `+` or `00` is international; digits alone
    /// are international (country code first) unless `country` says which national plan.
    /// The error says why the number was refused, without repeating it.
    pub fn parse(text: &str, country: Option<Country>) -> Result<Self, String> {
        if text.len() > 64 {
            return Err("is longer than any phone number".into());
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+')))
        {
            return Err(format!(
                "holds {bad:?}; only digits, spaces, dashes, dots, parentheses and a leading + are allowed"
            ));
        }
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("is empty".into());
        }
        if trimmed[1..].contains('+') {
            return Err("has a + that is not at the start".into());
        }
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let international = if trimmed.starts_with('+') {
            Some(digits.clone())
        } else if let Some(rest) = digits.strip_prefix("00") {
            Some(rest.to_string())
        } else if country.is_none() {
            Some(digits.clone())
        } else {
            None
        };
        let util = &*PHONE_NUMBER_UTIL;
        let parsed = match (&international, country) {
            (Some(intl), _) => util.parse(format!("+{intl}"), None),
            (None, Some(region)) => util.parse(&digits, Some(region.0)),
            (None, None) => unreachable!("digits alone without a country are international"),
        }
        .map_err(|e| explain(&e))?;
        if !util.is_valid_number(&parsed) {
            let region = util
                .get_region_for_number(&parsed)
                .filter(|r| *r != Region::World)
                .map(|r| r.as_region_str().to_string())
                .unwrap_or_else(|| format!("country code +{}", parsed.country_code));
            return Err(format!("is not a valid number for {region}"));
        }
        let e164 = util.format(&parsed, PhoneNumberFormat::E164).into_owned();
        // Calling codes have one to three digits; the metadata holds no other.
        let country_code = u16::try_from(parsed.country_code)
            .map_err(|_| "does not start with a known country code".to_string())?;
        Ok(Phone { e164, country_code })
    }

    /// `+6281234567890`
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// `6281234567890`: what bitbybit's `to` takes.
    pub fn digits(&self) -> &str {
        &self.e164[1..]
    }

    /// `+62*******7890`: the country code and the last four digits.
    pub fn masked(&self) -> String {
        mask_e164(&self.e164, self.country_code)
    }
}

/// A recipient a provider names by its digits (Meta's `recipient_id`, autocalls' `to`),
/// masked as every number we show: the country code and the last four digits when it
/// reads as a number, else only the last four.
pub fn mask_number(text: &str) -> String {
    // No number has more than 15 digits (E.164): a longer text is bounded to its last 15,
    // so that a webhook's 10 KB `recipient_id` masks to a short one.
    let all: Vec<char> = text
        .chars()
        .filter(char::is_ascii_digit)
        .take(100_000)
        .collect();
    let digits: String = all[all.len().saturating_sub(15)..].iter().collect();
    if let Ok(phone) = Phone::parse(&format!("+{digits}"), None) {
        return phone.masked();
    }
    let keep = digits.len().min(4);
    format!(
        "+{}{}",
        "*".repeat(digits.len() - keep),
        &digits[digits.len() - keep..]
    )
}

fn mask_e164(e164: &str, country_code: u16) -> String {
    let cc = country_code.to_string();
    let national = &e164[1 + cc.len()..];
    let keep = national.len().min(4);
    let hidden = national.len() - keep;
    format!("+{cc}{}{}", "*".repeat(hidden), &national[hidden..])
}

fn explain(error: &ParseError) -> String {
    match error {
        ParseError::NotANumber(_) => "is not a phone number".into(),
        ParseError::InvalidCountryCode => "does not start with a known country code".into(),
        ParseError::TooShortAfterIdd | ParseError::TooShortNsn => "is too short".into(),
        ParseError::TooLongNsn => "is too long".into(),
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Option<Country> {
        Some(Country::parse("ID").unwrap())
    }

    #[test]
    fn international_forms_are_read_without_a_country() {
        for text in [
            "+1 415 555 1234",
            "001 (415) 555-1234",
            "14155551234",
            "+1.415.555.1234",
        ] {
            assert_eq!(
                Phone::parse(text, None).unwrap().e164(),
                "+14155551234",
                "{text}"
            );
        }
    }

    #[test]
    fn a_national_number_needs_its_country() {
        let phone = Phone::parse("0812-3456-7890", id()).unwrap();
        assert_eq!(phone.e164(), "+6281234567890");
        assert_eq!(phone.digits(), "6281234567890");
        assert!(Phone::parse("0812-3456-7890", None).is_err());
    }

    #[test]
    fn an_international_number_ignores_the_country() {
        assert_eq!(
            Phone::parse("+1 415 555 1234", id()).unwrap().e164(),
            "+14155551234"
        );
    }

    #[test]
    fn invalid_numbers_say_why() {
        assert_eq!(
            Phone::parse("+1 415 555", None).unwrap_err(),
            "is not a valid number for country code +1"
        );
        assert_eq!(
            Phone::parse("0812-34", Country::parse("ID").ok()).unwrap_err(),
            "is not a valid number for ID"
        );
        assert!(Phone::parse("+999 1234567", None)
            .unwrap_err()
            .contains("country code"));
        assert!(Phone::parse("call me", None)
            .unwrap_err()
            .contains("only digits"));
        assert!(Phone::parse("", None).is_err());
        assert!(Phone::parse("+1 415+555 1234", None).is_err());
        assert!(Phone::parse(&"1".repeat(80), None).is_err());
    }

    #[test]
    fn masking_keeps_the_country_code_and_last_four_digits() {
        let phone = Phone::parse("+62 812 3456 7890", None).unwrap();
        assert_eq!(phone.masked(), "+62*******7890");
        assert_eq!(format!("{phone:?}"), "Phone(+62*******7890)");
        assert!(!format!("{phone}").contains("81234"));
    }

    #[test]
    fn a_providers_recipient_is_masked_whatever_its_form() {
        assert_eq!(mask_number("6281234567890"), "+62*******7890");
        assert_eq!(mask_number("+1 415 555 1234"), "+1******1234");
        assert_eq!(mask_number("12"), "+12");
        assert_eq!(mask_number("99912345678901"), "+**********8901");
        assert_eq!(mask_number(&"7".repeat(10_000)).len(), 16, "bounded");
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for text in [
            "",
            "+",
            "++1",
            "+0",
            "+00",
            "00",
            "0",
            &"1".repeat(64),
            &"9".repeat(63),
            "+\u{661}\u{662}\u{663}",
            "+1 800 555 0199",
            "+800 1234 5678",
            "+882 3456 1234",
        ] {
            let _ = Phone::parse(text, None);
            let _ = Phone::parse(text, id());
        }
        assert!(Phone::parse("+882 3456 1234", None)
            .unwrap_err()
            .contains("country code +882"));
    }

    #[test]
    fn countries_are_checked() {
        assert!(Country::parse("VA").is_ok());
        assert!(Country::parse("ZZ").is_err());
        assert!(Country::parse("AA").is_err());
        assert_eq!(Country::parse("ID").unwrap().as_str(), "ID");
        assert!(Country::parse("ID").is_ok());
        assert!(Country::parse("id").is_err());
        assert!(Country::parse("XX").is_err());
        assert!(Country::parse("IDN").is_err());
    }
}
