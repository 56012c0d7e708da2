//! The shared benchmark text generator (DESIGN.md, "Shared benchmark data"):
//! a 64-bit LCG seeded with 42 picks words `w0`…`w9999`, 100 words a line,
//! 10,000 lines (1,000,000 words, about 5.9 MB) a batch, so numbers compare
//! across tools and runs.

/// Words per generated line.
pub const WORDS_PER_LINE: usize = 100;
/// Lines per generated batch (1,000,000 words).
pub const LINES_PER_BATCH: usize = 10_000;
/// Distinct words the generator draws from.
pub const VOCABULARY: u64 = 10_000;

/// Deterministic word source: `x = x * 6364136223846793005 + 1442695040888963407`
/// (wrapping), word = `"w"` + `((x >> 33) % vocabulary)`.
///
/// ```
/// let mut words = ember::datagen::WordGenerator::new();
/// let batch = words.batch();
/// assert_eq!(batch.len(), 10_000);
/// let w0 = batch.iter().flat_map(|l| l.split(' ')).filter(|w| *w == "w0").count();
/// assert_eq!(w0, 89);
/// ```
#[derive(Debug, Clone)]
pub struct WordGenerator {
    state: u64,
    vocabulary: u64,
}

impl Default for WordGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl WordGenerator {
    /// Seed 42, vocabulary 10,000: the shared configuration.
    pub fn new() -> Self {
        Self::with_seed(42, VOCABULARY)
    }

    /// Another seed or vocabulary size (at least 1 word).
    pub fn with_seed(seed: u64, vocabulary: u64) -> Self {
        WordGenerator {
            state: seed,
            vocabulary: vocabulary.max(1),
        }
    }

    /// The next word's number in `0..vocabulary`.
    pub fn next_id(&mut self) -> u64 {
        self.state = self
            .state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.state >> 33) % self.vocabulary
    }

    /// One line of `words` words joined by single spaces.
    pub fn line(&mut self, words: usize) -> String {
        let mut line = String::with_capacity(words * 6);
        for i in 0..words {
            if i > 0 {
                line.push(' ');
            }
            line.push('w');
            line.push_str(&self.next_id().to_string());
        }
        line
    }

    /// One batch: 10,000 lines of 100 words.
    pub fn batch(&mut self) -> Vec<String> {
        (0..LINES_PER_BATCH)
            .map(|_| self.line(WORDS_PER_LINE))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_zero_matches_the_published_check() {
        let batch = WordGenerator::new().batch();
        let mut counts = std::collections::HashMap::new();
        for word in batch.iter().flat_map(|l| l.split(' ')) {
            *counts.entry(word).or_insert(0u32) += 1;
        }
        assert_eq!(counts.len(), 10_000);
        assert_eq!(counts["w0"], 89);
        assert_eq!(counts.values().sum::<u32>(), 1_000_000);
    }
}
