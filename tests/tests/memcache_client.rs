//! The memcache client (`torsion_clients::memcache`) against
//! torsion-memcached over real sockets: the shared suite (the interop suite
//! runs it again against Debian's memcached), a server killed
//! mid-pipeline, reconnection, timeouts, and a pool of three servers.

mod memcache_suite;

use torsion_tests::Server;

fn torsion_memcached() -> Server {
    Server::start("torsion-memcached", &["-p", "0"])
}

mod suite_against_torsion_memcached {
    use super::*;
    crate::memcache_suite::suite!(torsion_memcached());
}
