//! Shared by the policy model tests: load a policy from an in-memory set of files.
#![allow(dead_code)]

use std::collections::BTreeMap;

use ironpen_policy::model::{load, Policy, PolicyError, Source, Vars};

/// Load `root` from `files` (name, text) with the booleans `sets`; `${PWD}` is /work/project and
/// `${HOME}` /home/alice. A missing file fails like a real one (ENOENT); `./name` is `name`.
pub fn load_owned(
    files: &[(String, String)],
    root: &str,
    sets: &[(String, bool)],
) -> Result<Policy, PolicyError> {
    let files: BTreeMap<String, String> = files.iter().cloned().collect();
    let mut loader = |name: &str, _from: Option<&str>| -> Result<Source, String> {
        let name = name.trim_start_matches("./").to_string();
        files
            .get(&name)
            .map(|t| Source {
                name: name.clone(),
                text: t.clone(),
            })
            .ok_or_else(|| "No such file or directory (os error 2)".to_string())
    };
    let mut vars = Vars::new();
    vars.insert("PWD".into(), "/work/project".into());
    vars.insert("HOME".into(), "/home/alice".into());
    load(root, sets, &mut loader, &vars)
}

/// [`load_owned`] with borrowed names and texts.
pub fn load_from(
    files: &[(&str, &str)],
    root: &str,
    sets: &[(&str, bool)],
) -> Result<Policy, PolicyError> {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let sets: Vec<(String, bool)> = sets.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    load_owned(&files, root, &sets)
}
