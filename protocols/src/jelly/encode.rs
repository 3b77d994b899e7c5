//! [`jelly`]: a [`Value`] as its jelly s-expression.

use super::atoms;
use super::failure::COPYABLE_FAILURE;
use super::value::{ObjectId, Value};
use crate::banana::Item;

/// The jelly of `value`, borrowing its strings: what Twisted's `jelly()`
/// writes for the same Python value (see the [module docs](super)).
///
/// Values are trees, so no `reference` is ever written: a structure that
/// appears twice is written twice. Nesting is not checked here; Banana
/// refuses to encode lists more than
/// [`DEFAULT_MAX_DEPTH`](crate::banana::DEFAULT_MAX_DEPTH) deep.
///
/// # Examples
///
/// ```
/// use torsion_protocols::jelly::{jelly, Value};
///
/// let args = Value::Tuple(vec![Value::from("k"), Value::from(&b"v"[..]), Value::Bool(false)]);
/// assert_eq!(jelly(&args).to_string(), "(tuple (unicode k) v (boolean false))");
/// ```
pub fn jelly(value: &Value) -> Item<'_> {
    let tagged = |atom: &'static [u8], rest: Vec<Item<'static>>| {
        let mut items = Vec::with_capacity(rest.len() + 1);
        items.push(Item::bytes(atom));
        items.extend(rest);
        Item::List(items)
    };
    match value {
        Value::None => tagged(atoms::NONE, vec![]),
        Value::Bool(b) => tagged(
            atoms::BOOLEAN,
            vec![Item::string(if *b { "true" } else { "false" })],
        ),
        Value::Int(n) => Item::Int(*n),
        Value::Long(n) => Item::integer(n.clone()),
        Value::Float(x) => Item::Float(*x),
        Value::Bytes(bytes) => Item::bytes(bytes),
        Value::Str(text) => Item::list(vec![Item::bytes(atoms::UNICODE), Item::string(text)]),
        Value::List(items) => sequence(atoms::LIST, items),
        Value::Tuple(items) => sequence(atoms::TUPLE, items),
        Value::Dict(pairs) => {
            let mut items = Vec::with_capacity(pairs.len() + 1);
            items.push(Item::bytes(atoms::DICTIONARY));
            items.extend(pairs.iter().map(|(k, v)| Item::list(vec![jelly(k), jelly(v)])));
            Item::List(items)
        }
        Value::Remote(id) => Item::list(vec![Item::bytes(atoms::REMOTE), object_id(id)]),
        Value::Local(id) => Item::list(vec![Item::bytes(atoms::LOCAL), object_id(id)]),
        Value::Failure(failure) => tagged(
            COPYABLE_FAILURE.as_bytes(),
            vec![jelly(&failure.to_state()).into_owned()],
        ),
        Value::Unpersistable(why) => tagged(atoms::UNPERSISTABLE, vec![Item::owned(why.as_bytes().to_vec())]),
    }
}

fn sequence<'a>(atom: &'static [u8], values: &'a [Value]) -> Item<'a> {
    let mut items = Vec::with_capacity(values.len() + 1);
    items.push(Item::bytes(atom));
    items.extend(values.iter().map(jelly));
    Item::List(items)
}

fn object_id(id: &ObjectId) -> Item<'_> {
    match id {
        ObjectId::Number(n) => Item::Int(*n),
        ObjectId::Name(name) => Item::bytes(name),
    }
}

#[cfg(test)]
mod tests {
    use num_bigint::BigInt;

    use super::*;
    use crate::banana::{encoded, Dialect};
    use crate::jelly::RemoteFailure;

    fn wire(value: &Value) -> String {
        encoded(&jelly(value), Dialect::Pb)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Byte for byte what Twisted 26.1 sends for the same Python values:
    /// `banana.encode(jelly.jelly(v))` in the pb dialect.
    #[test]
    fn writes_what_twisted_writes() {
        let cases: Vec<(Value, &str)> = vec![
            (Value::None, "01800187"),
            (Value::Bool(true), "02800782626f6f6c65616e048274727565"),
            (Value::Bool(false), "02800782626f6f6c65616e058266616c7365"),
            (Value::Int(1), "0181"),
            (Value::Int(1 << 40), "00000000002085"),
            (Value::Float(1.25), "843ff4000000000000"),
            (Value::from(&b"b"[..]), "018262"),
            (Value::from("s"), "02800782756e69636f6465018273"),
            (Value::from("é"), "02800782756e69636f64650282c3a9"),
            (
                Value::List(vec![Value::Int(1), Value::from("a")]),
                "03800887018102800782756e69636f6465018261",
            ),
            (
                Value::Tuple(vec![Value::Int(1), Value::Int(2)]),
                "03800b8701810281",
            ),
            (
                Value::Dict(vec![
                    (Value::from("a"), Value::Int(1)),
                    (Value::from(&b"b"[..]), Value::List(vec![Value::None])),
                ]),
                "03800587028002800782756e69636f6465018261018102800182620280088701800187",
            ),
            (Value::Tuple(vec![Value::Tuple(vec![])]), "02800b8701800b87"),
            (Value::List(vec![]), "01800887"),
        ];
        for (value, expected) in cases {
            assert_eq!(wire(&value), expected, "{value}");
        }
    }

    #[test]
    fn references_and_failures() {
        assert_eq!(
            jelly(&Value::Remote(ObjectId::Number(3))).to_string(),
            "(remote 3)"
        );
        assert_eq!(jelly(&Value::Local(ObjectId::root())).to_string(), "(local root)");
        assert_eq!(
            jelly(&Value::Long(BigInt::from(5u8))),
            Item::Int(5),
            "a Long that fits goes as an Int"
        );
        let failure = jelly(&Value::Failure(RemoteFailure::exception("boom"))).into_owned();
        let items = failure.as_list().unwrap();
        assert_eq!(items[0].as_bytes(), Some(COPYABLE_FAILURE.as_bytes()));
        assert_eq!(items[1].as_list().unwrap()[0].as_bytes(), Some(atoms::DICTIONARY));
    }
}
