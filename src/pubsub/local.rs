//! In-process pub/sub: publishing delivers straight to the hub.

use std::sync::Arc;

use super::hub::Hub;
use super::message::LiveEvent;

/// Publishes to the viewers of this process only.
#[derive(Clone, Default)]
pub struct LocalPubSub {
    hub: Hub,
}

impl LocalPubSub {
    /// The hub viewers subscribe to.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Publishes an event of `prompt_uid`.
    pub fn publish(&self, prompt_uid: &str, event: Arc<LiveEvent>) {
        self.hub.deliver(prompt_uid, event);
    }
}
