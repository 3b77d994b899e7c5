//! The PB vocabulary: words the `pb` dialect sends as a number
//! (Twisted's `Banana.outgoingVocabulary`).

/// The words, numbered from 1: `WORDS[n - 1]` is word `n`.
pub const WORDS: [&str; 31] = [
    // Jelly's types
    "None",
    "class",
    "dereference",
    "reference",
    "dictionary",
    "function",
    "instance",
    "list",
    "module",
    "persistent",
    "tuple",
    "unpersistable",
    // PB's types
    "copy",
    "cache",
    "cached",
    "remote",
    "local",
    "lcache",
    // PB's messages
    "version",
    "login",
    "password",
    "challenge",
    "logged_in",
    "not_logged_in",
    "cachemessage",
    "message",
    "answer",
    "error",
    "decref",
    "decache",
    "uncache",
];

/// The word numbered `number`, if there is one.
///
/// ```
/// use torsion_protocols::banana::vocab;
///
/// assert_eq!(vocab::word(19), Some(&b"version"[..]));
/// assert_eq!(vocab::word(0), None);
/// assert_eq!(vocab::word(32), None);
/// ```
pub fn word(number: u64) -> Option<&'static [u8]> {
    let index = usize::try_from(number).ok()?.checked_sub(1)?;
    WORDS.get(index).map(|w| w.as_bytes())
}

/// The number of `word`, if it is in the vocabulary.
///
/// ```
/// use torsion_protocols::banana::vocab;
///
/// assert_eq!(vocab::number(b"message"), Some(26));
/// assert_eq!(vocab::number(b"unicode"), None);
/// ```
pub fn number(word: &[u8]) -> Option<u8> {
    // 31 short words: a scan is as quick as hashing the word would be.
    let index = WORDS.iter().position(|w| w.as_bytes() == word)?;
    u8::try_from(index + 1).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_words_agree_with_twisted() {
        // From Twisted's Banana.outgoingVocabulary.
        let twisted = [
            ("None", 1),
            ("list", 8),
            ("tuple", 11),
            ("remote", 16),
            ("local", 17),
            ("version", 19),
            ("cachemessage", 25),
            ("message", 26),
            ("answer", 27),
            ("error", 28),
            ("decref", 29),
            ("uncache", 31),
        ];
        for (w, n) in twisted {
            assert_eq!(number(w.as_bytes()), Some(n), "{w}");
            assert_eq!(word(u64::from(n)), Some(w.as_bytes()));
        }
        for n in 1..=31 {
            let w = word(n).unwrap();
            assert_eq!(number(w).map(u64::from), Some(n));
        }
    }
}
