//! What the proxy is told: which cache, and every bound (design rule 6),
//! each a named constant that a flag of `torsion-proxy` overrides.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use torsion_clients::memcache::ServerSpec;

/// The seeds' port.
pub const DEFAULT_PORT: u16 = 8000;
/// The longest URL line accepted (delimiter excluded); a longer one gets
/// `ERROR line too long` and a close.
pub const MAX_LINE: usize = 8 * 1024;
/// Fetches from origins at once; requests past it wait their turn, in
/// order (each waiting request holds one client connection, so the wait is
/// bounded by [`MAX_CONNECTIONS`]).
pub const MAX_FETCHES: usize = 1024;
/// Client connections open at once, per listening port; more are refused.
pub const MAX_CONNECTIONS: usize = 4096;
/// The largest body fetched for a line client (the whole page is held, to
/// write it and to cache it).
pub const MAX_BODY: u64 = 16 * 1024 * 1024;
/// How long a whole fetch may take, redirects included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a connection to an origin may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The memory cache's size: the bodies and keys it holds, in bytes.
pub const CACHE_SIZE: usize = 64 * 1024 * 1024;
/// How long a page stays cached (in memory, or as memcached's exptime).
pub const CACHE_TTL: Duration = Duration::from_secs(300);
/// How long a memcached request may take before the proxy goes on without
/// the cache.
pub const CACHE_TIMEOUT: Duration = Duration::from_secs(1);
/// The largest item memcached stores by default (its `-I`): key, value and
/// the item's own header must fit.
pub const MAX_ITEM: usize = 1024 * 1024;
/// How long a memcached server that stopped answering stays out of the
/// pool before it is tried again (twemproxy's `server_retry_timeout`).
pub const CACHE_RETRY: Duration = Duration::from_secs(30);
/// How long a client connection may wait to send a whole request: a line
/// client its URL line (from the moment it connects), a forward-proxy
/// client its next request head (an idle kept-alive connection is closed
/// after this long; a head that started arriving has this long from its
/// first byte). A client that reads nothing of its answer for this long is
/// cut off too.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a CONNECT tunnel may carry no byte either way before both its
/// connections are closed.
pub const TUNNEL_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Where pages are cached: `none`, `memory`, or
/// `memcached://host:port[,host:port...]` (a ketama pool).
///
/// # Examples
///
/// ```
/// use torsion_servers::proxy::CacheSpec;
///
/// assert_eq!("none".parse::<CacheSpec>(), Ok(CacheSpec::None));
/// assert_eq!("memory".parse::<CacheSpec>(), Ok(CacheSpec::Memory));
/// let Ok(CacheSpec::Memcached(servers)) = "memcached://127.0.0.1:11211,10.0.0.2".parse::<CacheSpec>() else {
///     panic!()
/// };
/// assert_eq!(servers.len(), 2);
/// assert_eq!(servers[1].port, 11211);
/// assert!("memcached://".parse::<CacheSpec>().is_err());
/// assert!("redis://x".parse::<CacheSpec>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum CacheSpec {
    /// No cache: every request is fetched (sharing fetches still happens).
    #[default]
    None,
    /// An LRU map in the proxy's memory, bounded in bytes, with a TTL.
    Memory,
    /// memcached servers, shared by every proxy that names them.
    Memcached(Vec<ServerSpec>),
}

impl FromStr for CacheSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "none" => Ok(CacheSpec::None),
            "memory" => Ok(CacheSpec::Memory),
            other => {
                let Some(list) = other.strip_prefix("memcached://") else {
                    return Err(format!(
                        "`{other}`: expected none, memory or memcached://host:port[,host:port...]"
                    ));
                };
                let servers = list
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.trim().parse::<ServerSpec>().map_err(|e| e.to_string()))
                    .collect::<Result<Vec<_>, _>>()?;
                if servers.is_empty() {
                    return Err("memcached:// names no server".into());
                }
                Ok(CacheSpec::Memcached(servers))
            }
        }
    }
}

impl fmt::Display for CacheSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheSpec::None => f.write_str("none"),
            CacheSpec::Memory => f.write_str("memory"),
            CacheSpec::Memcached(servers) => {
                f.write_str("memcached://")?;
                for (i, s) in servers.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{s}")?;
                }
                Ok(())
            }
        }
    }
}

/// Every setting of a proxy, with the defaults above.
#[derive(Clone, Debug, PartialEq)]
pub struct ProxyConfig {
    /// Where pages are cached.
    pub cache: CacheSpec,
    /// The memory cache's size in bytes.
    pub cache_size: usize,
    /// How long a page stays cached.
    pub cache_ttl: Duration,
    /// How long a memcached request may take.
    pub cache_timeout: Duration,
    /// How long a memcached server that stopped answering stays out
    /// before it is tried again.
    pub cache_retry: Duration,
    /// The largest memcached item (key and value).
    pub max_item: usize,
    /// Fetches at once.
    pub max_fetches: usize,
    /// The longest URL line.
    pub max_line: usize,
    /// The largest body a line client gets.
    pub max_body: u64,
    /// How long a whole fetch may take.
    pub timeout: Duration,
    /// How long a connection to an origin may take to open.
    pub connect_timeout: Duration,
    /// Trust only the CAs in this PEM file for `https://` origins (the
    /// system's roots otherwise).
    pub ca_file: Option<PathBuf>,
    /// How long a client may take to send a whole request (see
    /// [`IDLE_TIMEOUT`]).
    pub idle_timeout: Duration,
    /// How long a tunnel may stay silent both ways.
    pub tunnel_idle_timeout: Duration,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            cache: CacheSpec::None,
            cache_size: CACHE_SIZE,
            cache_ttl: CACHE_TTL,
            cache_timeout: CACHE_TIMEOUT,
            cache_retry: CACHE_RETRY,
            max_item: MAX_ITEM,
            max_fetches: MAX_FETCHES,
            max_line: MAX_LINE,
            max_body: MAX_BODY,
            timeout: FETCH_TIMEOUT,
            connect_timeout: CONNECT_TIMEOUT,
            ca_file: None,
            idle_timeout: IDLE_TIMEOUT,
            tunnel_idle_timeout: TUNNEL_IDLE_TIMEOUT,
        }
    }
}
