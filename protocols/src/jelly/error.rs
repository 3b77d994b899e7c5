//! [`JellyError`]: why an expression is not a value Torsion accepts.

use std::fmt;

/// Why [`unjelly`](super::unjelly) refused an expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JellyError {
    /// A type Torsion does not rebuild: Twisted's `InsecureJelly`. Class
    /// instances, classes, modules and functions are always refused.
    Refused {
        /// The type's name as sent (`set`, `__main__.Point`).
        type_name: String,
    },
    /// Not jelly: a list with no type name, a boolean that is neither
    /// `true` nor `false`, a dereference to nothing...
    Malformed(String),
    /// The value would be larger than the unjellier's bound (see
    /// [`Unjellier`](super::Unjellier)).
    TooLarge {
        /// The bound.
        limit: usize,
    },
}

impl JellyError {
    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        JellyError::Malformed(what.into())
    }
}

impl fmt::Display for JellyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JellyError::Refused { type_name } if type_name.contains('.') => write!(
                f,
                "refused to build an instance of {type_name}: Torsion rebuilds no class instances but failures"
            ),
            JellyError::Refused { type_name } => write!(
                f,
                "refused the jelly type {type_name:?}: Torsion accepts None, booleans, numbers, bytes, str, \
                 lists, tuples, dictionaries, references and failures"
            ),
            JellyError::Malformed(what) => write!(f, "malformed jelly: {what}"),
            JellyError::TooLarge { limit } => {
                write!(f, "the jellied value grows past {limit} units once its references are copied")
            }
        }
    }
}

impl std::error::Error for JellyError {}
