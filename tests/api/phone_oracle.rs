//! An oracle for phone normalization: more than 10,000 numbers (every region's example
//! numbers in several forms, and invalid variants; `scripts/phone_oracle.py`) read by
//! wa-dispatch and by Python's `phonenumbers`, an independent port of libphonenumber, must
//! get the same validity and the same E.164. Both sides carry libphonenumber's metadata
//! 9.0.42 (`rlibphonenumber` 2.2.15 and `phonenumbers` 9.0.42), so a difference is no
//! metadata version's: it fails the test, listed.

use serde_json::Value;
use std::process::Command;
use wa_dispatch::domain::phone::{Country, Phone};

#[test]
fn wa_dispatch_reads_every_number_as_python_phonenumbers_does() {
    let root = env!("CARGO_MANIFEST_DIR");
    let output = Command::new(format!("{root}/.venv/bin/python"))
        .arg(format!("{root}/scripts/phone_oracle.py"))
        .output()
        .expect("the oracle runs: `bash scripts/setup.sh` makes .venv");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0]["metadata"], "9.0.42",
        "the oracle's metadata version"
    );
    let corpus = &lines[1..];
    let mut differences = vec![];
    let mut valid = 0;
    for case in corpus {
        let text = case["text"].as_str().unwrap();
        let country = case["country"].as_str();
        let ours = match country.map(Country::parse).transpose() {
            Ok(country) => Phone::parse(text, country).ok(),
            Err(_) => None,
        };
        let theirs = case["e164"].as_str();
        valid += usize::from(ours.is_some());
        if ours.as_ref().map(Phone::e164) != theirs {
            differences.push(format!(
                "{text:?} (country {country:?}): wa-dispatch {:?}, phonenumbers {theirs:?}",
                ours.as_ref().map(Phone::e164)
            ));
        }
    }
    println!(
        "phone oracle: {} numbers, {valid} valid, {} differences (metadata 9.0.42 on both sides)",
        corpus.len(),
        differences.len()
    );
    assert!(corpus.len() >= 10_000, "{} numbers", corpus.len());
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
}
