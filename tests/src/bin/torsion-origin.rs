//! The proxy tests' local origin, on its own, for trying torsion-proxy by
//! hand and for the timing tables of docs/proxy.md:
//!
//! ```sh
//! cargo run -p torsion-tests --bin torsion-origin -- 9000
//! curl http://127.0.0.1:9000/delay/0.5
//! ```
//!
//! Its paths are listed in `torsion_tests::origin`. Stop it with Ctrl-C.

fn main() {
    let port = match std::env::args().nth(1).map(|p| p.parse::<u16>()) {
        None => 0,
        Some(Ok(port)) => port,
        Some(Err(e)) => {
            eprintln!("usage: torsion-origin [PORT]: {e}");
            std::process::exit(2);
        }
    };
    let origin = torsion_tests::Origin::start_on(port);
    println!("origin listening on {}", origin.addr());
    println!("echo listening on {}", origin.echo_addr());
    loop {
        std::thread::park();
    }
}
