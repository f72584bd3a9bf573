//! RepXP test support. The main piece is [`FakeTwenty`], an in-process (or standalone, see the
//! `fake-twenty` binary) imitation of the parts of Twenty CRM's REST and GraphQL APIs that RepXP
//! uses, with fault injection. docs/twenty-api.md documents the Twenty behaviour it follows.
//! [`FaultProxy`] puts the same faults in front of any Twenty, the real one included.

pub mod fake;
pub mod proxy;

pub use fake::{
    Clock, DateTimeFilterMode, FakeConfig, FakeTwenty, Fault, FaultKind, ManualClock, MetricValue,
    OtherWrite, RateLimitStyle, RepEmailType, RestrictedKey, SchemaPreset, Stats, SystemClock,
    TwentyProfile,
};
pub use proxy::{FaultProxy, ProxyStats};
