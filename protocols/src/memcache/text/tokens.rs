//! A command line split into tokens as memcached's `tokenize_command` does,
//! and [`Words`], the unbounded word lists (the keys of a `get`).

/// memcached's `MAX_TOKENS` minus the terminal token: tokens looked at per line.
const MAX_TOKENS: usize = 23;

/// The tokens of one line, split on single spaces like `tokenize_command`: at
/// most [`MAX_TOKENS`] are looked at.
pub(super) struct Tokens<'a> {
    line: &'a [u8],
    spans: [(usize, usize); MAX_TOKENS],
    count: usize,
}

impl<'a> Tokens<'a> {
    pub(super) fn new(line: &'a [u8]) -> Self {
        let mut spans = [(0, 0); MAX_TOKENS];
        let mut count = 0;
        let mut start = None;
        for (i, &b) in line.iter().enumerate() {
            if b == b' ' {
                if let Some(s) = start.take() {
                    spans[count] = (s, i);
                    count += 1;
                    if count == MAX_TOKENS {
                        return Tokens { line, spans, count };
                    }
                }
            } else if start.is_none() {
                start = Some(i);
            }
        }
        if let Some(s) = start {
            spans[count] = (s, line.len());
            count += 1;
        }
        Tokens { line, spans, count }
    }

    /// memcached's `ntokens`, which counts a terminal token.
    pub(super) fn ntokens(&self) -> usize {
        self.count + 1
    }

    pub(super) fn get(&self, i: usize) -> &'a [u8] {
        let (s, e) = self.spans[i];
        &self.line[s..e]
    }

    /// The line after token `i`, unsplit (for unbounded key lists).
    pub(super) fn after(&self, i: usize) -> &'a [u8] {
        &self.line[self.spans[i].1..]
    }

    /// `set_noreply_maybe`: is the last token `noreply`?
    pub(super) fn noreply(&self) -> bool {
        self.count > 0 && self.get(self.count - 1) == b"noreply"
    }
}

/// Space-separated words borrowed from a command line (the keys of a `get`, the
/// arguments of `stats`). Iterating skips repeated spaces, as memcached does,
/// and two `Words` are equal when they hold the same words.
#[derive(Debug, Clone, Copy)]
pub struct Words<'a> {
    rest: &'a [u8],
}

impl<'a> Words<'a> {
    /// Words found in `rest`.
    pub fn new(rest: &'a [u8]) -> Self {
        Words { rest }
    }

    /// Iterates over the words, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.rest.split(|&b| b == b' ').filter(|w| !w.is_empty())
    }

    /// The first word, if any.
    pub fn first(&self) -> Option<&'a [u8]> {
        self.iter().next()
    }

    /// Whether there is no word at all.
    pub fn is_empty(&self) -> bool {
        self.first().is_none()
    }
}

impl PartialEq for Words<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Words<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_on_single_spaces() {
        let t = Tokens::new(b"  set k  0 noreply");
        assert_eq!(t.ntokens(), 5);
        assert_eq!(
            (t.get(0), t.get(1), t.get(3)),
            (&b"set"[..], &b"k"[..], &b"noreply"[..])
        );
        assert!(t.noreply());
        assert_eq!(t.after(1), b"  0 noreply");
        // At most 23 tokens are looked at.
        let many = b"x ".repeat(40);
        assert_eq!(Tokens::new(&many).ntokens(), 24);
    }

    #[test]
    fn words_compare_by_their_words() {
        let spaced = Words::new(b"  a  bb c ");
        assert_eq!(spaced.iter().collect::<Vec<_>>(), [&b"a"[..], b"bb", b"c"]);
        assert_eq!(spaced, Words::new(b"a bb c"));
        assert_ne!(spaced, Words::new(b"a bb"));
        assert!(Words::new(b"   ").is_empty());
        assert_eq!(Words::new(b" x y").first(), Some(&b"x"[..]));
    }
}
