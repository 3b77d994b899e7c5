//! Reading HTTP responses from a blocking socket, for the tests that
//! talk to the web binaries.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;

use torsion_protocols::http::{Body, BodyDecoder, Headers, ResponseParser};
use torsion_protocols::{Decoder, Parsed};

/// One response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A connection that reads responses one after the other, keeping what
/// it read past each.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn new(stream: TcpStream) -> Self {
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends a keep-alive GET and reads its response.
    pub fn get(&mut self, path: &str) -> Resp {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes());
        self.response("GET")
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Reads one response to a `method` request.
    pub fn response(&mut self, method: &str) -> Resp {
        let mut parser = ResponseParser::default();
        let head = loop {
            match parser.decode(&self.buf) {
                Parsed::Complete(message, consumed) => {
                    self.buf.drain(..consumed);
                    break message;
                }
                Parsed::Incomplete => assert!(
                    self.fill(),
                    "closed before a head: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
                Parsed::Error(e) => panic!("{e}: {:?}", String::from_utf8_lossy(&self.buf)),
            }
        };
        let mut decoder = BodyDecoder::new(head.body_kind(method).expect("framing"));
        let mut body = Vec::new();
        loop {
            match decoder.decode(&self.buf) {
                Parsed::Complete(Body::Data(data), consumed) => {
                    body.extend_from_slice(data);
                    self.buf.drain(..consumed);
                }
                Parsed::Complete(Body::End, consumed) => {
                    self.buf.drain(..consumed);
                    break;
                }
                Parsed::Incomplete => {
                    if !self.fill() {
                        decoder.finish().expect("a whole body");
                        break;
                    }
                }
                Parsed::Error(e) => panic!("{e}"),
            }
        }
        Resp {
            status: head.status,
            headers: head.headers,
            body,
        }
    }

    /// Whether the server closed the connection (reads until EOF or a timeout).
    pub fn closed(&mut self) -> bool {
        !self.fill() && self.buf.is_empty()
    }
}
