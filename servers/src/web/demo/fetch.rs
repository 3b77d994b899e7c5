//! `/fetch?url=...` (filled in with the client).
use crate::web::Resource;

/// `/fetch?url=...`.
#[derive(Default)]
pub struct Fetch;

impl Resource for Fetch {}
