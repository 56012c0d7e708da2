//! A tiny glob matcher for directory names (`*` any run of characters, `?`
//! one character) and the expansion of a globbed directory path.

use std::io;
use std::path::{Component, Path, PathBuf};

use super::fs::FileSystem;

/// Whether `name` matches `pattern`, where `*` matches any run of
/// characters (also none) and `?` exactly one; everything else matches
/// itself.
///
/// ```
/// use ember_sources::file::glob_match;
/// assert!(glob_match("logs-*", "logs-2024"));
/// assert!(glob_match("day-??", "day-07"));
/// assert!(!glob_match("day-??", "day-7"));
/// ```
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // Where the last `*` was and the name position it currently covers up to.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether a path component holds glob characters.
pub(crate) fn is_glob(component: &str) -> bool {
    component.contains(['*', '?'])
}

/// The directories `dir` names: itself when it holds no glob character,
/// else every existing directory matching it, sorted.
pub(crate) fn expand(fs: &dyn FileSystem, dir: &Path) -> io::Result<Vec<PathBuf>> {
    let has_glob = dir
        .components()
        .any(|c| matches!(c, Component::Normal(s) if s.to_str().is_some_and(is_glob)));
    if !has_glob {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut current = vec![PathBuf::new()];
    for component in dir.components() {
        let pattern = match component {
            Component::Normal(s) => s.to_str().filter(|s| is_glob(s)),
            _ => None,
        };
        let Some(pattern) = pattern else {
            current.iter_mut().for_each(|p| p.push(component));
            continue;
        };
        let mut next = Vec::new();
        for parent in &current {
            let listed = if parent.as_os_str().is_empty() {
                fs.list(Path::new("."))
            } else {
                fs.list(parent)
            };
            for status in listed? {
                let name = status.path.file_name().and_then(|n| n.to_str());
                if status.is_dir && name.is_some_and(|n| glob_match(pattern, n)) {
                    next.push(parent.join(name.unwrap_or_default()));
                }
            }
        }
        next.sort();
        current = next;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_stars_and_question_marks() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "abc"));
        assert!(glob_match("a*c", "abbbc"));
        assert!(glob_match("a*c", "ac"));
        assert!(!glob_match("a*c", "acb"));
        assert!(glob_match("*b*", "abc"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("a?c", "ac"));
        assert!(glob_match("**x", "yyx"));
        assert!(glob_match("a*b*c", "aXbYbZc"));
        assert!(!glob_match("a*b*c", "aXbYbZ"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exac"));
        assert!(glob_match("é?", "éü"));
    }
}
