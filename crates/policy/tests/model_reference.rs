//! docs/policy.md is generated from the model: the key table names exactly the keys the parser
//! accepts, every example parses, and the checked-in page is current
//! (`IRONPEN_BLESS=1 cargo test -p ironpen-policy --test model_reference` rewrites it).

use ironpen_policy::model::{load, reference, Source, Vars, KEYS};

fn try_load(text: &str) -> Result<(), String> {
    let mut loader = |name: &str, _: Option<&str>| -> Result<Source, String> {
        Ok(Source {
            name: name.to_string(),
            text: text.to_string(),
        })
    };
    let mut vars = Vars::new();
    vars.insert("PWD".into(), "/p".into());
    vars.insert("HOME".into(), "/home/alice".into());
    load("t.toml", &[], &mut loader, &vars)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The parser's list of valid keys for a section, from its unknown-key error.
fn accepted(section: &str) -> Vec<String> {
    let header = if section.is_empty() {
        String::new()
    } else {
        format!("[{section}]\n")
    };
    let e = try_load(&format!("{header}zz_not_a_key = 1\n")).unwrap_err();
    let list = e.split("(valid: ").nth(1).expect(&e).trim_end_matches(')');
    list.split(", ").map(String::from).collect()
}

#[test]
fn key_table_matches_the_model() {
    for section in [
        "",
        "filesystem",
        "network",
        "identity",
        "capabilities",
        "seccomp",
        "landlock",
        "limits",
        "environment",
        "terminal",
        "mdwe",
        "booleans.b",
    ] {
        let doc_section = if section == "booleans.b" {
            "booleans.NAME"
        } else {
            section
        };
        let mut documented: Vec<String> = KEYS
            .iter()
            .filter(|k| k.0 == doc_section)
            .map(|k| k.1.to_string())
            .collect();
        let mut real = accepted(section);
        if section.is_empty() {
            // Sections are documented by their own tables.
            real.retain(|k| k == "include" || k == "description");
        }
        documented.sort();
        real.sort();
        assert_eq!(documented, real, "section [{section}]");
    }
}

#[test]
fn every_example_parses() {
    for (section, key, _, _, _, example) in KEYS {
        let text = match *section {
            "" => format!("{example}\n"),
            "booleans.NAME" => format!(
                "[booleans.b]\ndefault = false\ndescription = \"d\"\n{}\n",
                if *key == "default" || *key == "description" {
                    ""
                } else {
                    example
                }
            ),
            "set" => format!("include = [\"@default\"]\n[set]\n{example}\n"),
            // Ports are taken back only from a restricted list.
            "network" if key.starts_with("remove_") => {
                format!("[network]\ntcp_connect = [80]\ntcp_bind = [8080]\n{example}\n")
            }
            s => format!("[{s}]\n{example}\n"),
        };
        let text = text.replace("./base.toml", "@default");
        if let Err(e) = try_load(&text) {
            panic!("example for {section}.{key} does not load: {e}\n{text}");
        }
    }
}

#[test]
fn docs_policy_md_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/policy.md");
    let want = reference();
    if std::env::var_os("IRONPEN_BLESS").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(have == want, "docs/policy.md is stale: run IRONPEN_BLESS=1 cargo test -p ironpen-policy --test model_reference");
}
