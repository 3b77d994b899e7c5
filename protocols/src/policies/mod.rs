//! Policies: wrappers that add a behaviour to any protocol or factory, as
//! Twisted's `twisted.protocols.policies`.
//!
//! | policy | wraps | Twisted |
//! | --- | --- | --- |
//! | [`IdleTimer`] (embed it), [`IdleTimeout`], [`IdleTimeoutFactory`] | a protocol, a factory | `TimeoutMixin`, `TimeoutFactory` |
//! | [`ConnectionLimits`] | a factory | `LimitTotalConnectionsFactory`, `LimitConnectionsByPeer` |
//! | [`LogTraffic`], [`LogTrafficFactory`] | a protocol, a factory | `TrafficLoggingFactory` |
//!
//! Wrappers compose: a factory can be limited, and each protocol it builds
//! timed out and logged.
//!
//! ```
//! use std::time::Duration;
//! use torsion::{factory_fn, Discard, Protocol};
//! use torsion_protocols::policies::{ConnectionLimits, IdleTimeoutFactory, LogTrafficFactory};
//!
//! let factory = factory_fn(|_, _| Some(Box::new(Discard) as Box<dyn Protocol>));
//! let factory = IdleTimeoutFactory::new(factory, Duration::from_secs(60));
//! let factory = LogTrafficFactory::new(factory);
//! let factory = ConnectionLimits::new(factory).max_connections(1000).max_per_peer(10);
//! # let _ = factory;
//! ```

mod boxed;
mod limits;
mod logging;
mod timeout;

pub use limits::{ConnectionCount, ConnectionLimits};
pub use logging::{LogTraffic, LogTrafficFactory, TRAFFIC_TARGET};
pub use timeout::{IdleTimeout, IdleTimeoutFactory, IdleTimer};
