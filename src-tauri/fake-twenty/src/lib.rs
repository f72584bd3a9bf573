//! RepXP test support. The main piece is [`FakeTwenty`], an in-process (or standalone, see the
//! `fake-twenty` binary) imitation of the parts of Twenty CRM's REST API that RepXP uses,
//! with fault injection. docs/twenty-api.md documents the Twenty behaviour it follows.

pub mod fake;

pub use fake::{
    Clock, DateTimeFilterMode, FakeConfig, FakeTwenty, Fault, FaultKind, ManualClock, MetricValue,
    OtherWrite, RateLimitStyle, RepEmailType, RestrictedKey, SchemaPreset, Stats, SystemClock,
    TwentyProfile,
};
