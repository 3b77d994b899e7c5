//! `watch [fetchers|mutations|evictions|connevents|deletions ...]`: which
//! log streams a watcher connection asks for.

/// The log streams a `watch` command names (a bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WatchKinds(u8);

impl WatchKinds {
    /// `fetchers`: item reads (`type=item_get`).
    pub const FETCHERS: WatchKinds = WatchKinds(1);
    /// `mutations`: item stores (`type=item_store`).
    pub const MUTATIONS: WatchKinds = WatchKinds(2);
    /// `evictions`: items evicted (`type=eviction`).
    pub const EVICTIONS: WatchKinds = WatchKinds(4);
    /// `connevents`: connections opened and closed.
    pub const CONNEVENTS: WatchKinds = WatchKinds(8);
    /// `deletions`: items deleted.
    pub const DELETIONS: WatchKinds = WatchKinds(16);

    /// The stream a word names, if any.
    pub fn from_word(word: &[u8]) -> Option<WatchKinds> {
        Some(match word {
            b"fetchers" => Self::FETCHERS,
            b"mutations" => Self::MUTATIONS,
            b"evictions" => Self::EVICTIONS,
            b"connevents" => Self::CONNEVENTS,
            b"deletions" => Self::DELETIONS,
            _ => return None,
        })
    }

    /// Both sets.
    pub fn with(self, other: WatchKinds) -> WatchKinds {
        WatchKinds(self.0 | other.0)
    }

    /// Whether every stream of `other` is in `self`.
    pub fn contains(self, other: WatchKinds) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no stream is named (a bare `watch`, which memcached reads as
    /// `fetchers`).
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Writes the words of the set, each preceded by a space.
    pub fn write(self, out: &mut Vec<u8>) {
        for (word, kind) in [
            (&b"fetchers"[..], Self::FETCHERS),
            (b"mutations", Self::MUTATIONS),
            (b"evictions", Self::EVICTIONS),
            (b"connevents", Self::CONNEVENTS),
            (b"deletions", Self::DELETIONS),
        ] {
            if self.contains(kind) {
                out.push(b' ');
                out.extend_from_slice(word);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_name_streams_and_round_trip() {
        let kinds = WatchKinds::from_word(b"fetchers")
            .unwrap()
            .with(WatchKinds::from_word(b"connevents").unwrap());
        assert!(kinds.contains(WatchKinds::FETCHERS));
        assert!(!kinds.contains(WatchKinds::MUTATIONS));
        let mut out = Vec::new();
        kinds.write(&mut out);
        assert_eq!(out, b" fetchers connevents");
        assert_eq!(WatchKinds::from_word(b"bogus"), None);
        assert!(WatchKinds::default().is_empty());
    }
}
