//! `to_debug_string`: the lineage tree printed in Spark's indented style.

use crate::StorageLevel;
use crate::dependency::RddInfo;

/// One RDD on one line: `MapPartitionsRDD[2] at map [Memory Deserialized 1x Replicated]`.
pub(crate) fn describe(rdd: &dyn RddInfo) -> String {
    let storage = match rdd.storage_level() {
        StorageLevel::None => "",
        StorageLevel::MemoryOnly => "Memory Deserialized 1x Replicated",
    };
    format!(
        "{}[{}] at {} [{}]",
        rdd.kind(),
        rdd.id(),
        rdd.operation(),
        storage
    )
}

fn partition_prefixes(rdd: &dyn RddInfo) -> (String, usize) {
    let partitions = format!("({})", rdd.num_partitions());
    let left_offset = (partitions.len() - 1) / 2;
    (partitions, left_offset)
}

/// Spark's `RDD.toDebugString`, line for line.
pub(crate) fn debug_string(rdd: &dyn RddInfo) -> String {
    let (partitions, left) = partition_prefixes(rdd);
    let next_prefix = format!(
        "{}|{}",
        " ".repeat(left),
        " ".repeat(partitions.len() - left)
    );
    let mut lines = vec![format!("{partitions} {}", describe(rdd))];
    children(rdd, &next_prefix, &mut lines);
    lines.join("\n")
}

fn children(rdd: &dyn RddInfo, prefix: &str, lines: &mut Vec<String>) {
    let deps = rdd.dependencies();
    let last = deps.len().saturating_sub(1);
    for (i, dep) in deps.iter().enumerate() {
        let parent = dep.parent();
        if dep.is_shuffle() {
            shuffle_child(parent.as_ref(), prefix, i == last, lines);
        } else {
            lines.push(format!("{prefix}{}", describe(parent.as_ref())));
            children(parent.as_ref(), prefix, lines);
        }
    }
}

fn shuffle_child(rdd: &dyn RddInfo, prefix: &str, is_last: bool, lines: &mut Vec<String>) {
    let (partitions, left) = partition_prefixes(rdd);
    let this_prefix = strip_bar(prefix);
    let next_prefix = format!(
        "{this_prefix}{}{}|{}",
        if is_last { "  " } else { "| " },
        " ".repeat(left),
        " ".repeat(partitions.len() - left)
    );
    lines.push(format!("{this_prefix}+-{partitions} {}", describe(rdd)));
    children(rdd, &next_prefix, lines);
}

/// `prefix.replaceAll("\\|\\s+$", "")`: drops a trailing `|` and the blanks after it.
fn strip_bar(prefix: &str) -> &str {
    let trimmed = prefix.trim_end();
    if trimmed.len() < prefix.len() {
        if let Some(stripped) = trimmed.strip_suffix('|') {
            return stripped;
        }
    }
    prefix
}

#[cfg(test)]
mod tests {
    use super::strip_bar;

    #[test]
    fn strip_bar_matches_spark_regex() {
        assert_eq!(strip_bar(" |  "), " ");
        assert_eq!(strip_bar("    |  "), "    ");
        assert_eq!(strip_bar("abc"), "abc");
        assert_eq!(strip_bar(" |"), " |", "the regex needs at least one blank");
    }
}
