//! "Did you mean …?": the nearest known name by edit distance.
//!
//! Distances are optimal-string-alignment distances (Levenshtein plus the swap
//! of two neighbouring characters, the commonest typo). A camelCase name, as
//! in Spark's Scala API (`reduceByKey`), is first rewritten in snake_case.

/// The optimal-string-alignment edit distance between `a` and `b`: the number
/// of single-character insertions, deletions, substitutions and swaps of
/// neighbours that turn one into the other.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j] = distance between a[..i] and b[..j]
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// `reduceByKey` → `reduce_by_key`; a name without capitals is returned as is.
pub fn to_snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The candidate nearest to `name`, if it is near enough to be a plausible typo:
/// at most a third of the name's length away (and at least one edit allowed).
/// Ties go to the candidate listed first.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let snake = to_snake_case(name);
    let limit = (snake.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let d = edit_distance(&snake, candidate);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("map", "map"), 0);
        assert_eq!(edit_distance("mapp", "map"), 1);
        assert_eq!(edit_distance("reduce_by_kye", "reduce_by_key"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn snake_case() {
        assert_eq!(to_snake_case("reduceByKey"), "reduce_by_key");
        assert_eq!(to_snake_case("flatMap"), "flat_map");
        assert_eq!(to_snake_case("map"), "map");
    }

    #[test]
    fn suggestions() {
        let near = |n| nearest(n, ops::names());
        assert_eq!(near("reduce_by_kye"), Some("reduce_by_key"));
        assert_eq!(near("reduceByKey"), Some("reduce_by_key"));
        assert_eq!(near("flatmap"), Some("flat_map"));
        assert_eq!(near("filtr"), Some("filter"));
        assert_eq!(near("windows"), Some("window"));
        assert_eq!(near("groupByKey"), Some("group_by_key"));
        assert_eq!(near("frobnicate"), None);
        assert_eq!(near("xyz"), None);
    }
}
