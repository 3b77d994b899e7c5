//! torsion-upper --keep-open over a real socket: a stream of lines sent in
//! random chunk sizes gets every reply, in order.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The server process; killed (by its own handle) when the test ends.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_torsion-upper"))
            .args(["-p", "0"])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start torsion-upper");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the announce line");
        let addr = line
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Server { child, addr }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

fn lines(rng: &mut Rng, count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let len = rng.below(120);
            let mut line = format!("line {i} ").into_bytes();
            line.extend((0..len).map(|_| b"abcdefghijklmnopqrstuvwxyz .,-"[rng.below(30)]));
            line
        })
        .collect()
}

#[test]
fn keep_open_answers_every_line_sent_in_random_chunks() {
    let server = Server::start(&["--keep-open"]);
    for seed in [1u64, 7, 0x5eed] {
        let mut rng = Rng(seed);
        let sent = lines(&mut rng, 2000);
        let mut wire: Vec<u8> = sent
            .iter()
            .flat_map(|l| l.iter().copied().chain([b'\n']))
            .collect();
        wire.extend_from_slice(b"no newline at the end");
        let mut expected = b"Hi! Send me text to convert to uppercase\n".to_vec();
        expected.extend(wire.to_ascii_uppercase());

        let mut stream = server.connect();
        let mut writer = stream.try_clone().unwrap();
        let sizes: Vec<usize> = (0..wire.len()).map(|_| 1 + rng.below(300)).collect();
        let sender = std::thread::spawn(move || {
            let mut rest = &wire[..];
            for size in sizes {
                if rest.is_empty() {
                    break;
                }
                let (chunk, tail) = rest.split_at(size.min(rest.len()));
                writer.write_all(chunk).unwrap();
                rest = tail;
                if size % 7 == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let mut received = Vec::new();
        stream.read_to_end(&mut received).expect("read the replies");
        sender.join().unwrap();
        assert_eq!(received.len(), expected.len(), "seed {seed}");
        assert!(received == expected, "seed {seed}: replies differ");
    }
}

#[test]
fn by_default_the_first_line_is_answered_and_the_connection_closed() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    stream.write_all(b"twisted is ").unwrap();
    std::thread::sleep(Duration::from_millis(20));
    stream.write_all(b"cool\nand more\n").unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();
    assert_eq!(
        received,
        b"Hi! Send me text to convert to uppercase\nTWISTED IS COOL\n"
    );
}
