//! [`Message`]: one PB message, read from and written as a Banana
//! expression (sans-I/O).

use std::fmt;

use crate::banana::Item;
use crate::jelly::ObjectId;

/// The PB protocol version Twisted speaks (and checks): 6.
pub const PROTOCOL_VERSION: i64 = 6;

/// A call of a remote method (`message`, or `cachemessage` for an
/// object the receiver holds a cached copy of).
#[derive(Clone, Debug, PartialEq)]
pub struct Call<'a> {
    /// `cachemessage` rather than `message`.
    pub cached: bool,
    /// The request's number, which its answer carries back.
    pub request: i64,
    /// The object called.
    pub object: ObjectId,
    /// The method's name (`get` calls `remote_get` in Twisted).
    pub method: String,
    /// Whether the caller waits for an answer.
    pub answer_required: bool,
    /// The positional arguments, jellied (a tuple).
    pub args: Item<'a>,
    /// The keyword arguments, jellied (a dictionary).
    pub kwargs: Item<'a>,
}

/// A PB message, as Twisted's `Broker` sends and reads them.
///
/// | message | elements |
/// | --- | --- |
/// | `version` | `6` |
/// | `message`, `cachemessage` | request, object, method, answer required, args, kwargs |
/// | `answer` | request, the jellied result |
/// | `error` | request, the jellied failure |
/// | `decref` | object: the sender dropped one reference to it |
/// | `decache`, `uncache` | object (cached copies, which Torsion never makes) |
/// | `didNotUnderstand` | the command |
///
/// # Examples
///
/// ```
/// use torsion_protocols::banana::{encoded, Dialect, Item};
/// use torsion_protocols::jelly::{jelly, ObjectId, Value};
/// use torsion_protocols::pb::{Call, Message};
///
/// // What Twisted's callRemote("get", "k") sends as its first call.
/// let args = Value::Tuple(vec![Value::from("k")]);
/// let kwargs = Value::Dict(vec![]);
/// let call = Message::Call(Call {
///     cached: false,
///     request: 1,
///     object: ObjectId::root(),
///     method: "get".into(),
///     answer_required: true,
///     args: jelly(&args),
///     kwargs: jelly(&kwargs),
/// });
/// let wire = encoded(&call.to_item(), Dialect::Pb).unwrap();
/// assert_eq!(
///     wire,
///     b"\x07\x80\x1a\x87\x01\x81\x04\x82root\x03\x82get\x01\x81\x02\x80\x0b\x87\x02\x80\x07\x82unicode\x01\x82k\x01\x80\x05\x87"
/// );
/// assert_eq!(Message::parse(call.to_item().into_owned()), Ok(call));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Message<'a> {
    /// `["version", n]`: sent by both sides once the dialect is agreed.
    Version(i64),
    /// A call.
    Call(Call<'a>),
    /// `["answer", request, result]`.
    Answer {
        /// The request answered.
        request: i64,
        /// The jellied result.
        result: Item<'a>,
    },
    /// `["error", request, failure]`.
    Error {
        /// The request answered.
        request: i64,
        /// The jellied failure (a `CopyableFailure`, usually).
        failure: Item<'a>,
    },
    /// `["decref", object]`: the peer dropped a reference to one of our
    /// published objects.
    DecRef(ObjectId),
    /// `["decache", object]`.
    DeCache(ObjectId),
    /// `["uncache", object]`.
    UnCache(ObjectId),
    /// `["didNotUnderstand", command]`: the peer knows no such message.
    DidNotUnderstand(Item<'a>),
    /// A message PB does not define (read only): answered with
    /// `didNotUnderstand`.
    Unknown(Vec<u8>),
}

/// Why an expression is not a PB message. The peer is not speaking PB:
/// the connection closes (Twisted drops it too).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageError(pub String);

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MessageError {}

impl Message<'static> {
    /// Reads a message from a whole expression.
    pub fn parse(item: Item<'static>) -> Result<Message<'static>, MessageError> {
        let Item::List(items) = item else {
            return Err(MessageError(format!(
                "a PB message that is {}, not a list",
                item.kind()
            )));
        };
        let mut items = items.into_iter();
        let command = match items.next() {
            Some(Item::String(name)) => name.into_owned(),
            Some(other) => {
                return Err(MessageError(format!("a PB message named by {}", other.kind())));
            }
            None => return Err(MessageError("an empty PB message".into())),
        };
        let rest: Vec<Item<'static>> = items.collect();
        let count = rest.len();
        let arity = |n: usize| {
            if count == n {
                Ok(())
            } else {
                Err(MessageError(format!(
                    "a {} message with {count} elements, not {n}",
                    String::from_utf8_lossy(&command),
                )))
            }
        };
        let mut rest = rest.into_iter();
        let mut next = || rest.next().unwrap_or(Item::Int(0));
        Ok(match command.as_slice() {
            b"version" => {
                arity(1)?;
                Message::Version(int("the version", &next())?)
            }
            b"message" | b"cachemessage" => {
                arity(6)?;
                let cached = command == b"cachemessage";
                let request = int("a request number", &next())?;
                let object = object_id(&next())?;
                let method = match next() {
                    Item::String(name) => String::from_utf8(name.into_owned())
                        .map_err(|_| MessageError("a method name not in UTF-8".into()))?,
                    other => return Err(MessageError(format!("a method name that is {}", other.kind()))),
                };
                let answer_required = int("answer-required", &next())? != 0;
                Message::Call(Call {
                    cached,
                    request,
                    object,
                    method,
                    answer_required,
                    args: next(),
                    kwargs: next(),
                })
            }
            b"answer" => {
                arity(2)?;
                let request = int("a request number", &next())?;
                Message::Answer {
                    request,
                    result: next(),
                }
            }
            b"error" => {
                arity(2)?;
                let request = int("a request number", &next())?;
                Message::Error {
                    request,
                    failure: next(),
                }
            }
            b"decref" | b"decache" | b"uncache" => {
                arity(1)?;
                let object = object_id(&next())?;
                match command.as_slice() {
                    b"decref" => Message::DecRef(object),
                    b"decache" => Message::DeCache(object),
                    _ => Message::UnCache(object),
                }
            }
            b"didNotUnderstand" => {
                arity(1)?;
                Message::DidNotUnderstand(next())
            }
            _ => Message::Unknown(command),
        })
    }
}

impl<'a> Message<'a> {
    /// The message as an expression, to [`encode`](crate::banana::encode).
    pub fn to_item(&self) -> Item<'a> {
        let name = |n: &'static str| Item::string(n);
        match self {
            Message::Version(n) => Item::list(vec![name("version"), Item::Int(*n)]),
            Message::Call(call) => Item::list(vec![
                name(if call.cached { "cachemessage" } else { "message" }),
                Item::Int(call.request),
                object_item(&call.object),
                Item::owned(call.method.as_bytes().to_vec()),
                Item::Int(i64::from(call.answer_required)),
                call.args.clone(),
                call.kwargs.clone(),
            ]),
            Message::Answer { request, result } => {
                Item::list(vec![name("answer"), Item::Int(*request), result.clone()])
            }
            Message::Error { request, failure } => {
                Item::list(vec![name("error"), Item::Int(*request), failure.clone()])
            }
            Message::DecRef(object) => Item::list(vec![name("decref"), object_item(object)]),
            Message::DeCache(object) => Item::list(vec![name("decache"), object_item(object)]),
            Message::UnCache(object) => Item::list(vec![name("uncache"), object_item(object)]),
            Message::DidNotUnderstand(command) => Item::list(vec![name("didNotUnderstand"), command.clone()]),
            Message::Unknown(command) => Item::list(vec![Item::owned(command.clone())]),
        }
    }
}

fn int(what: &str, item: &Item<'_>) -> Result<i64, MessageError> {
    item.as_int()
        .ok_or_else(|| MessageError(format!("{what} that is {}, not an integer", item.kind())))
}

fn object_id(item: &Item<'_>) -> Result<ObjectId, MessageError> {
    match item {
        Item::Int(n) => Ok(ObjectId::Number(*n)),
        Item::String(name) => Ok(ObjectId::Name(name.to_vec())),
        other => Err(MessageError(format!("an object id that is {}", other.kind()))),
    }
}

fn object_item(object: &ObjectId) -> Item<'static> {
    match object {
        ObjectId::Number(n) => Item::Int(*n),
        ObjectId::Name(name) => Item::owned(name.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::banana::{encoded, BananaDecoder, Dialect};
    use crate::{Decoder, Parsed};

    fn read(wire: &[u8]) -> Message<'static> {
        match BananaDecoder::new(Dialect::Pb).decode(wire) {
            Parsed::Complete(item, n) if n == wire.len() => Message::parse(item).unwrap(),
            other => panic!("{other:?}"),
        }
    }

    /// Messages captured between Twisted 26.1's PBClientFactory and
    /// PBServerFactory, each read and written back byte for byte.
    #[test]
    fn twisteds_messages_read_and_write_back_the_same() {
        let captured: &[&[u8]] = &[
            b"\x02\x80\x13\x87\x06\x81",
            b"\x07\x80\x1a\x87\x01\x81\x04\x82root\x03\x82set\x01\x81\x03\x80\x0b\x87\x02\x80\x07\x82unicode\x01\x82k\x02\x80\x07\x82unicode\x01\x82v\x01\x80\x05\x87",
            b"\x03\x80\x1b\x87\x01\x81\x01\x80\x01\x87",
            b"\x03\x80\x1b\x87\x02\x81\x02\x80\x07\x82unicode\x01\x82v",
            b"\x07\x80\x1a\x87\x03\x81\x04\x82root\x03\x82set\x01\x81\x03\x80\x0b\x87\x02\x82bk\x02\x82bv\x01\x80\x05\x87",
        ];
        for wire in captured {
            let message = read(wire);
            assert_eq!(
                encoded(&message.to_item(), Dialect::Pb).unwrap(),
                *wire,
                "{message:?}"
            );
        }
        assert_eq!(read(captured[0]), Message::Version(PROTOCOL_VERSION));
        let Message::Call(call) = read(captured[1]) else {
            panic!()
        };
        assert_eq!(
            (
                call.request,
                &call.object,
                call.method.as_str(),
                call.answer_required
            ),
            (1, &ObjectId::root(), "set", true)
        );
        assert!(matches!(read(captured[2]), Message::Answer { request: 1, .. }));
    }

    #[test]
    fn the_other_messages() {
        let decref = Message::DecRef(ObjectId::Number(3));
        assert_eq!(
            encoded(&decref.to_item(), Dialect::Pb).unwrap(),
            b"\x02\x80\x1d\x87\x03\x81"
        );
        for message in [
            decref,
            Message::DeCache(ObjectId::Number(1)),
            Message::UnCache(ObjectId::Number(1)),
            Message::DidNotUnderstand(Item::string("frob")),
            Message::Error {
                request: 9,
                failure: Item::Int(0),
            },
        ] {
            assert_eq!(Message::parse(message.to_item().into_owned()), Ok(message));
        }
        assert_eq!(
            Message::parse(Item::list(vec![Item::string("frob"), Item::Int(1)])),
            Ok(Message::Unknown(b"frob".to_vec()))
        );
    }

    #[test]
    fn what_is_not_a_message() {
        let bad = [
            Item::Int(1),
            Item::list(vec![]),
            Item::list(vec![Item::Int(1)]),
            Item::list(vec![Item::string("version")]),
            Item::list(vec![Item::string("version"), Item::string("6")]),
            Item::list(vec![Item::string("answer"), Item::Float(1.0), Item::Int(0)]),
            Item::list(vec![
                Item::string("message"),
                Item::Int(1),
                Item::Float(0.0),
                Item::string("get"),
                Item::Int(1),
                Item::Int(0),
                Item::Int(0),
            ]),
            Item::list(vec![
                Item::string("message"),
                Item::Int(1),
                Item::string("root"),
                Item::bytes(b"\xff"),
                Item::Int(1),
                Item::Int(0),
                Item::Int(0),
            ]),
        ];
        for item in bad {
            assert!(Message::parse(item.clone()).is_err(), "{item}");
        }
    }
}
