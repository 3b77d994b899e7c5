//! [`unjelly`]: what a jelly s-expression means, refusing what Torsion
//! does not rebuild.

use std::collections::HashMap;

use super::atoms;
use super::error::JellyError;
use super::failure::{RemoteFailure, COPYABLE_FAILURE};
use super::value::{ObjectId, Value};
use crate::banana::{Item, DEFAULT_MAX_DEPTH};

/// How large a value [`unjelly`] builds unless told otherwise, in units of
/// one per value plus one per byte of string: a value whose references
/// would copy more than this is refused. Without references, an
/// expression of [`DEFAULT_MAX_MESSAGE`](crate::banana::DEFAULT_MAX_MESSAGE)
/// bytes weighs less than this.
pub const DEFAULT_MAX_WEIGHT: usize = 4 * 1024 * 1024;

/// The value `item` means (see the [module docs](super)), with the default
/// bound. Twisted's `unjelly` with a taster that allows only the types in
/// the table, and never runs code.
///
/// # Examples
///
/// ```
/// use torsion_protocols::banana::Item;
/// use torsion_protocols::jelly::{unjelly, JellyError, Value};
///
/// // [l, l] for one list l = [1]: Twisted sends the second as a dereference.
/// let shared = Item::list(vec![
///     Item::string("list"),
///     Item::list(vec![Item::string("reference"), Item::Int(1), Item::list(vec![Item::string("list"), Item::Int(1)])]),
///     Item::list(vec![Item::string("dereference"), Item::Int(1)]),
/// ]);
/// let one = Value::List(vec![Value::Int(1)]);
/// assert_eq!(unjelly(&shared), Ok(Value::List(vec![one.clone(), one])));
///
/// // A class instance is refused, never built.
/// let point = Item::list(vec![Item::string("__main__.Point"), Item::list(vec![Item::string("dictionary")])]);
/// assert!(matches!(unjelly(&point), Err(JellyError::Refused { .. })));
/// ```
pub fn unjelly(item: &Item<'_>) -> Result<Value, JellyError> {
    Unjellier::new().unjelly(item)
}

/// Unjelly with bounds: how large a value may grow once the structures
/// that appear twice (`["dereference", n]`) are copied into place, and
/// how deep expressions may nest.
///
/// ```
/// use torsion_protocols::banana::Item;
/// use torsion_protocols::jelly::{JellyError, Unjellier};
///
/// let text = Item::list(vec![Item::string("unicode"), Item::owned(vec![b'x'; 100])]);
/// assert!(Unjellier::new().with_max_weight(200).unjelly(&text).is_ok());
/// assert_eq!(Unjellier::new().with_max_weight(50).unjelly(&text), Err(JellyError::TooLarge { limit: 50 }));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Unjellier {
    max_weight: usize,
    max_depth: usize,
}

impl Default for Unjellier {
    fn default() -> Self {
        Self::new()
    }
}

impl Unjellier {
    /// The default bounds: [`DEFAULT_MAX_WEIGHT`], and Banana's
    /// [`DEFAULT_MAX_DEPTH`].
    pub fn new() -> Self {
        Unjellier {
            max_weight: DEFAULT_MAX_WEIGHT,
            max_depth: DEFAULT_MAX_DEPTH,
        }
    }

    /// Values of at most `max` units (one per value, one per string byte).
    pub fn with_max_weight(mut self, max: usize) -> Self {
        self.max_weight = max;
        self
    }

    /// The value `item` means. References are scoped to this one call, as
    /// they are to one `jelly()` call in Twisted.
    pub fn unjelly(&self, item: &Item<'_>) -> Result<Value, JellyError> {
        let mut scope = Scope {
            bounds: *self,
            weight: 0,
            references: HashMap::new(),
        };
        scope.value(item, 0).map(|(value, _)| value)
    }
}

/// One unjelly call: the weight built so far and the references seen.
struct Scope {
    bounds: Unjellier,
    weight: usize,
    /// `["reference", n, ...]` seen so far: the value and its weight.
    references: HashMap<i64, (Value, usize)>,
}

impl Scope {
    /// Counts `units` more of value built.
    fn charge(&mut self, units: usize) -> Result<usize, JellyError> {
        self.weight = self.weight.saturating_add(units);
        if self.weight > self.bounds.max_weight {
            return Err(JellyError::TooLarge {
                limit: self.bounds.max_weight,
            });
        }
        Ok(units)
    }

    /// The value of `item` and its weight.
    fn value(&mut self, item: &Item<'_>, depth: usize) -> Result<(Value, usize), JellyError> {
        if depth > self.bounds.max_depth {
            return Err(JellyError::malformed(format!(
                "nested more than {} deep",
                self.bounds.max_depth
            )));
        }
        let atom = match item {
            Item::Int(n) => Value::Int(*n),
            Item::Long(n) => Value::integer(n.clone()),
            Item::Float(x) => Value::Float(*x),
            Item::String(bytes) => {
                let weight = self.charge(1 + bytes.len())?;
                return Ok((Value::Bytes(bytes.to_vec()), weight));
            }
            Item::List(items) => return self.tagged(items, depth),
        };
        Ok((atom, self.charge(1)?))
    }

    /// A list: its first element names the type.
    fn tagged(&mut self, items: &[Item<'_>], depth: usize) -> Result<(Value, usize), JellyError> {
        let Some((tag, rest)) = items.split_first() else {
            return Err(JellyError::malformed("an empty list, which names no type"));
        };
        let Some(tag) = tag.as_bytes() else {
            return Err(JellyError::malformed(format!(
                "a list that starts with {}, not a type name",
                tag.kind()
            )));
        };
        let one = |what: &str| match rest {
            [only] => Ok(only),
            _ => Err(JellyError::malformed(format!(
                "{what} with {} elements after its type, not 1",
                rest.len()
            ))),
        };
        let value = match tag {
            atoms::NONE => Value::None,
            atoms::BOOLEAN => match one("a boolean")?.as_bytes() {
                Some(b"true") => Value::Bool(true),
                Some(b"false") => Value::Bool(false),
                _ => return Err(JellyError::malformed("a boolean neither true nor false")),
            },
            atoms::UNICODE => {
                let bytes = one("a str")?
                    .as_bytes()
                    .ok_or_else(|| JellyError::malformed("a str whose text is not a string"))?;
                let text = std::str::from_utf8(bytes)
                    .map_err(|e| JellyError::malformed(format!("a str not in UTF-8: {e}")))?;
                let weight = self.charge(1 + bytes.len())?;
                return Ok((Value::Str(text.to_owned()), weight));
            }
            atoms::LIST | atoms::TUPLE => {
                let (values, weight) = self.sequence(rest, depth)?;
                let value = if tag == atoms::LIST {
                    Value::List(values)
                } else {
                    Value::Tuple(values)
                };
                return Ok((value, weight + self.charge(1)?));
            }
            atoms::DICTIONARY => return self.dictionary(rest, depth),
            atoms::REFERENCE => {
                let [id, body] = rest else {
                    return Err(JellyError::malformed(
                        "a reference that is not [reference, id, value]",
                    ));
                };
                let id = reference_id(id)?;
                let (value, weight) = self.value(body, depth + 1)?;
                if self.references.contains_key(&id) {
                    return Err(JellyError::malformed(format!("two references numbered {id}")));
                }
                // The copy kept for later dereferences weighs as much again.
                self.charge(weight)?;
                self.references.insert(id, (value.clone(), weight));
                return Ok((value, weight));
            }
            atoms::DEREFERENCE => {
                let id = reference_id(one("a dereference")?)?;
                let Some((value, weight)) = self.references.get(&id).cloned() else {
                    return Err(JellyError::malformed(format!(
                        "a dereference to {id}, which is not a finished structure (one that contains itself?)"
                    )));
                };
                return Ok((value, self.charge(weight)?));
            }
            atoms::REMOTE => Value::Remote(object_id(one("a remote reference")?)?),
            atoms::LOCAL => Value::Local(object_id(one("a local reference")?)?),
            atoms::UNPERSISTABLE => {
                let (why, weight) = self.value(one("an unpersistable")?, depth + 1)?;
                let why = match why.string_bytes() {
                    Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                    None => why.to_string(),
                };
                return Ok((Value::Unpersistable(why), weight + self.charge(1)?));
            }
            tag if tag == COPYABLE_FAILURE.as_bytes() => {
                let (state, weight) = self.value(one("a failure")?, depth + 1)?;
                let failure = RemoteFailure::from_state(&state)?;
                return Ok((Value::Failure(failure), weight + self.charge(1)?));
            }
            other => {
                return Err(JellyError::Refused {
                    type_name: String::from_utf8_lossy(other).into_owned(),
                })
            }
        };
        Ok((value, self.charge(1)?))
    }

    fn sequence(&mut self, items: &[Item<'_>], depth: usize) -> Result<(Vec<Value>, usize), JellyError> {
        let mut values = Vec::with_capacity(items.len());
        let mut weight = 0;
        for item in items {
            let (value, w) = self.value(item, depth + 1)?;
            values.push(value);
            weight += w;
        }
        Ok((values, weight))
    }

    fn dictionary(&mut self, pairs: &[Item<'_>], depth: usize) -> Result<(Value, usize), JellyError> {
        let mut out = Vec::with_capacity(pairs.len());
        let mut weight = self.charge(1)?;
        for pair in pairs {
            let Some([key, value]) = pair.as_list() else {
                return Err(JellyError::malformed(format!(
                    "a dictionary entry that is {pair}, not [key, value]"
                )));
            };
            let (key, kw) = self.value(key, depth + 2)?;
            let (value, vw) = self.value(value, depth + 2)?;
            out.push((key, value));
            weight += kw + vw;
        }
        Ok((Value::Dict(out), weight))
    }
}

fn reference_id(item: &Item<'_>) -> Result<i64, JellyError> {
    item.as_int()
        .ok_or_else(|| JellyError::malformed(format!("a reference number that is {}", item.kind())))
}

fn object_id(item: &Item<'_>) -> Result<ObjectId, JellyError> {
    match item {
        Item::Int(n) => Ok(ObjectId::Number(*n)),
        Item::String(name) => Ok(ObjectId::Name(name.to_vec())),
        other => Err(JellyError::malformed(format!(
            "an object id that is {}",
            other.kind()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::banana::{encoded, BananaDecoder, Dialect};
    use crate::jelly::jelly;
    use crate::{Decoder, Parsed};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn read(wire: &[u8]) -> Item<'static> {
        match BananaDecoder::new(Dialect::Pb).decode(wire) {
            Parsed::Complete(item, n) if n == wire.len() => item,
            other => panic!("{other:?}"),
        }
    }

    /// The error message Twisted 26.1's PB server sends when `remote_get`
    /// raises `KeyError('missing')` (request 4), captured on the wire.
    const TWISTED_KEY_ERROR: &[u8] = b"\x03\x80\x1c\x87\x04\x81\x02\x80!\x82twisted.spread.pb.CopyableFailure\x0b\x80\x05\x87\x02\x80\x02\x80\x07\x82unicode\x05\x82count\x02\x81\x02\x80\x02\x80\x07\x82unicode\x04\x82type\x11\x82builtins.KeyError\x02\x80\x02\x80\x07\x82unicode\x05\x82value\x02\x80\x07\x82unicode\t\x82'missing'\x02\x80\x02\x80\x07\x82unicode\x0b\x82captureVars\x02\x80\x07\x82boolean\x05\x82false\x02\x80\x02\x80\x07\x82unicode\x02\x82tb\x01\x80\x01\x87\x02\x80\x02\x80\x07\x82unicode\x10\x82unsafeTracebacks\x02\x80\x07\x82boolean\x05\x82false\x02\x80\x02\x80\x07\x82unicode\x07\x82parents\x06\x80\x08\x87\x02\x80\x07\x82unicode\x11\x82builtins.KeyError\x02\x80\x07\x82unicode\x14\x82builtins.LookupError\x02\x80\x07\x82unicode\x12\x82builtins.Exception\x02\x80\x07\x82unicode\x16\x82builtins.BaseException\x02\x80\x07\x82unicode\x0f\x82builtins.object\x02\x80\x02\x80\x07\x82unicode\x06\x82frames\x01\x80\x08\x87\x02\x80\x02\x80\x07\x82unicode\x05\x82stack\x01\x80\x08\x87\x02\x80\x02\x80\x07\x82unicode\t\x82traceback\x02\x80\x07\x82unicode\x16\x82Traceback unavailable\n";

    #[test]
    fn reads_twisteds_key_error_and_writes_it_back_the_same() {
        let message = read(TWISTED_KEY_ERROR);
        let parts = message.as_list().unwrap();
        assert_eq!(parts[0].as_bytes(), Some(&b"error"[..]));
        assert_eq!(parts[1], Item::Int(4));
        let Value::Failure(failure) = unjelly(&parts[2]).unwrap() else {
            panic!("not a failure")
        };
        assert_eq!(failure, RemoteFailure::key_error(&Value::from("missing")));
        assert_eq!(failure.traceback, "Traceback unavailable\n");
        // Ours is Twisted's, but for the failure counter (Twisted's 2nd, our 1).
        let ours = Item::list(vec![
            Item::string("error"),
            Item::Int(4),
            jelly(&Value::Failure(failure)).into_owned(),
        ]);
        let expected = [&TWISTED_KEY_ERROR[..67], b"\x01", &TWISTED_KEY_ERROR[68..]].concat();
        assert_eq!(TWISTED_KEY_ERROR[66..69], *b"t\x02\x81");
        assert_eq!(encoded(&ours, Dialect::Pb).unwrap(), expected);
    }

    #[test]
    fn reads_what_twisted_writes() {
        let cases: Vec<(&str, Value)> = vec![
            ("01800187", Value::None),
            ("02800782626f6f6c65616e048274727565", Value::Bool(true)),
            ("00000000002085", Value::Int(1 << 40)),
            ("02800782756e69636f64650282c3a9", Value::from("é")),
            ("02800b8701800b87", Value::Tuple(vec![Value::Tuple(vec![])])),
            (
                "03800587028002800782756e69636f6465018261018102800182620280088701800187",
                Value::Dict(vec![
                    (Value::from("a"), Value::Int(1)),
                    (Value::from(&b"b"[..]), Value::List(vec![Value::None])),
                ]),
            ),
            // [l, l] with l = [1]: a reference, then a dereference.
            (
                "03800887038004870181028008870181028003870181",
                Value::List(vec![
                    Value::List(vec![Value::Int(1)]),
                    Value::List(vec![Value::Int(1)]),
                ]),
            ),
        ];
        for (wire, value) in cases {
            assert_eq!(unjelly(&read(&hex(wire))), Ok(value), "{wire}");
        }
    }

    #[test]
    fn round_trips() {
        let value = Value::Tuple(vec![
            Value::Long(num_bigint::BigInt::from(1u8) << 100u32),
            Value::Float(-2.5),
            Value::Remote(ObjectId::Number(7)),
            Value::Local(ObjectId::root()),
            Value::Unpersistable("instance of class __main__.X deemed insecure".into()),
            Value::Failure(RemoteFailure::type_error("nope")),
            Value::Dict(vec![(Value::Tuple(vec![Value::Int(1)]), Value::Bool(false))]),
        ]);
        assert_eq!(unjelly(&jelly(&value)), Ok(value));
    }

    fn list(items: Vec<Item<'static>>) -> Item<'static> {
        Item::list(items)
    }

    fn word(w: &'static str) -> Item<'static> {
        Item::string(w)
    }

    #[test]
    fn refuses_what_would_run_code_or_is_not_supported() {
        for tag in [
            "__main__.Point",
            "class",
            "module",
            "function",
            "instance",
            "method",
            "set",
            "datetime",
            "persistent",
        ] {
            let item = list(vec![word(tag), word("x")]);
            assert_eq!(
                unjelly(&item),
                Err(JellyError::Refused {
                    type_name: tag.into()
                }),
                "{tag}"
            );
        }
        let refused = unjelly(&list(vec![word("os.system"), word("rm")])).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("refused to build an instance of os.system"),
            "{refused}"
        );
    }

    #[test]
    fn refuses_malformed_jelly() {
        let bad = [
            list(vec![]),
            list(vec![Item::Int(1)]),
            list(vec![word("boolean"), word("maybe")]),
            list(vec![word("unicode"), Item::bytes(b"\xff")]),
            list(vec![word("unicode")]),
            list(vec![word("dictionary"), list(vec![Item::Int(1)])]),
            list(vec![word("dereference"), Item::Int(1)]),
            list(vec![word("reference"), word("x"), Item::Int(1)]),
            list(vec![word("remote"), Item::Float(1.0)]),
            // A list that contains itself: [reference 1 [list [dereference 1]]].
            list(vec![
                word("reference"),
                Item::Int(1),
                list(vec![word("list"), list(vec![word("dereference"), Item::Int(1)])]),
            ]),
            // Two references with one number.
            list(vec![
                word("list"),
                list(vec![word("reference"), Item::Int(1), Item::Int(5)]),
                list(vec![word("reference"), Item::Int(1), Item::Int(6)]),
            ]),
        ];
        for item in bad {
            assert!(matches!(unjelly(&item), Err(JellyError::Malformed(_))), "{item}");
        }
    }

    #[test]
    fn dereferences_cannot_multiply_a_value_past_the_bound() {
        // r1 = [x * 1000]; r2 = [r1, r1]; r3 = [r2, r2]; ...: each level doubles.
        let mut levels = vec![list(vec![
            word("reference"),
            Item::Int(1),
            list(vec![word("list"), Item::owned(vec![b'x'; 1000])]),
        ])];
        for n in 2..40 {
            let previous = list(vec![word("dereference"), Item::Int(n - 1)]);
            levels.push(list(vec![
                word("reference"),
                Item::Int(n),
                list(vec![word("list"), previous.clone(), previous]),
            ]));
        }
        let mut all = vec![word("list")];
        all.extend(levels);
        assert_eq!(
            unjelly(&list(all)),
            Err(JellyError::TooLarge {
                limit: DEFAULT_MAX_WEIGHT
            })
        );
    }
}
