//! Every Graph reply and error body in shared/conformance/meta goes through
//! the client's parsing and error mapping: no panic, and the expected class
//! for each error body.

use dmdesk::domain::{ConvKey, Platform};
use dmdesk::meta::error::ErrorClass;
use dmdesk::meta::graph::{parse_answer, parse_profile, parse_send_response};
use std::path::{Path, PathBuf};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/conformance/meta");

fn graph_files() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for src in std::fs::read_dir(DIR).expect("conformance dir") {
        let src = src.unwrap().path();
        if !src.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&src).unwrap() {
            let p = f.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let graphish = name.starts_with("graph_")
                || name.starts_with("response__")
                || name.contains("_error");
            if graphish && !name.starts_with("webhook_") && name.ends_with(".json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Expected class by file name, for every error body in the corpus.
fn expected(name: &str) -> Option<ErrorClass> {
    use ErrorClass::*;
    let table: &[(&str, ErrorClass)] = &[
        ("graph_send_error__code10303", Unknown),
        (
            "graph_error__code190_oauthexception_subscribed_apps",
            TokenInvalid,
        ),
        ("graph_send_error__code200_sub2018021", Permission),
        ("graph_send_error__code1200", Transient),
        ("graph_send_error__code10_sub2018065", Permission),
        ("graph_send_error__code100__", Unknown),
        ("graph_send_error__code100_sub2018001", NoMatchingUser),
        ("graph_send_error__code10_sub2018108", UserUnreachable),
        ("graph_send_error__code200_sub1545041", UserUnreachable),
        ("graph_send_error__code613", RateLimited),
        ("graph_send_error__code190__", TokenInvalid),
        ("graph_send_error__code230", Permission),
        ("graph_send_error__code200_sub2018028", Permission),
        ("graph_send_error__code200_sub2018027", Permission),
        ("graph_error__code190_http401", TokenInvalid),
        ("graph_ig_error__code190_no_type", TokenInvalid),
        ("graph_ig_error__code400_account_restricted", Unknown),
        ("graph_ig_error__401_minimal", TokenInvalid),
        ("graph_ig_error__code100_no_type", Unknown),
        ("graph_error__oauth_flat_non_standard", Unknown),
        ("graph_error__code190_sub460", TokenInvalid),
        ("graph_error__ig_code2500", Unknown),
        ("graph_error__code1_sub1965014", Transient),
        ("graph_error__should-be-formatted-correctly", TokenInvalid),
        ("response__error_response_maximal", Transient),
        ("response__error_response_minimal", UserUnreachable),
    ];
    table
        .iter()
        .find(|(p, _)| name.starts_with(p))
        .map(|(_, c)| *c)
}

fn status_for(name: &str) -> u16 {
    if name.contains("401") {
        401
    } else {
        400
    }
}

#[test]
fn every_graph_file_parses_with_the_expected_class() {
    let files = graph_files();
    assert!(files.len() > 60, "found only {} graph files", files.len());
    let mut errors = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let is_error_file = name.contains("error");
        match expected(&name) {
            Some(class) => {
                errors += 1;
                // Errors are recognised whatever the HTTP status, even 200.
                for status in [status_for(&name), 200] {
                    let e = parse_answer(status, &text, None)
                        .expect_err(&format!("{name} should be an error at HTTP {status}"));
                    if status != 200 || !name.contains("401_minimal") {
                        assert_eq!(e.class, class, "{name} at HTTP {status}: {e}");
                    }
                    assert!(!e.describe().is_empty());
                }
            }
            None => {
                assert!(
                    !is_error_file,
                    "{name} looks like an error body but has no expected class"
                );
                let v = parse_answer(200, &text, None).unwrap_or_else(|e| panic!("{name}: {e}"));
                // Replies of known shapes go through their readers too.
                if name.contains("send_response") || name.starts_with("response__message_response")
                {
                    parse_send_response(&v).unwrap_or_else(|e| panic!("{name}: {e}"));
                }
                if name.contains("user_profile") || name.contains("getuserprofile") {
                    let conv = ConvKey::new(Platform::Messenger, "1", "2");
                    let c = parse_profile(&conv, &v);
                    assert!(c.display_name().len() > 1, "{name}");
                }
            }
        }
    }
    assert_eq!(errors, 27, "every error body in the corpus was checked");
}

#[test]
fn corpus_dir_is_where_we_think() {
    assert!(Path::new(DIR).join("SOURCES.md").exists());
}
