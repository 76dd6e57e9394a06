//! The JSON bodies of `GET /healthz` and `GET /readyz`.

use serde::{Deserialize, Serialize};

/// Whether one dependency (or the process itself) is fit to serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Unavailable,
}

/// Answer of `GET /healthz`: the process is alive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Liveness {
    pub status: Status,
    pub version: String,
}

/// Answer of `GET /readyz`: the process can serve users, because everything it needs answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    pub status: Status,
    pub database: Status,
}
