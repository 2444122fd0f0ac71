//! ARC header fields as an attacker could write them: reading them never panics, instances
//! are always 1-50, cutting a message back to an instance removes exactly the later ARC
//! fields and nothing else, and a list's results authenticate only on a `pass`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use secintake::authentication::arc::{
    count_fields, fields, instance_of, is_arc_field, parse_arc_results, without_instances_after,
};
use secintake::authentication::results::{vouches_for, Rule};

fuzz_target!(|data: &[u8]| {
    let (fs, body) = fields(data);
    assert!(body <= data.len());
    // The fields are the header block, cut into pieces: nothing lost, nothing twice.
    let total: usize = fs.iter().map(|f| f.raw.len()).sum();
    assert_eq!(total, body, "fields do not cover the header block");
    for last in [0u32, 1, 2, 50] {
        let cut = without_instances_after(data, last);
        assert!(cut.len() <= data.len());
        assert!(cut.ends_with(&data[body..]), "the body changed");
        let (kept, _) = fields(&cut);
        let later = |f: &secintake::authentication::arc::Field| {
            is_arc_field(f.name) && instance_of(f.value).is_some_and(|i| i > last)
        };
        assert!(!kept.iter().any(later), "an ARC field after i={last} is left");
        // Everything else is kept, in order.
        let others: Vec<&[u8]> = fs.iter().filter(|f| !later(f)).map(|f| f.raw).collect();
        let kept_raw: Vec<&[u8]> = kept.iter().map(|f| f.raw).collect();
        assert_eq!(others, kept_raw, "a field other than a later ARC field was changed");
        assert_eq!(without_instances_after(&cut, last), cut, "not idempotent");
    }
    for f in &fs {
        if let Some(i) = instance_of(f.value) {
            assert!((1..=50).contains(&i));
        }
        let text = String::from_utf8_lossy(f.value);
        if let Some((i, ar)) = parse_arc_results(&text) {
            assert!((1..=50).contains(&i));
            for rule in [Rule::FromHeader, Rule::ListSaw, Rule::OriginalSender] {
                if vouches_for(&ar, "example.org", rule).is_ok() {
                    assert!(ar.results.iter().any(|r| r.result == "pass"), "{ar:?}");
                }
            }
            // The rule for a rewritten From is never looser than the list's ordinary one.
            if vouches_for(&ar, "example.org", Rule::OriginalSender).is_ok() {
                assert!(vouches_for(&ar, "example.org", Rule::ListSaw).is_ok(), "{ar:?}");
            }
        }
    }
    assert!(count_fields(data, "X-Original-From") <= fs.len());
});
