//! The simulator's flows and their answers to polls.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{Behaviour, SimUser};

/// How much earlier than the interval a poll may arrive (network jitter,
/// a loaded test machine).
const JITTER: Duration = Duration::from_millis(500);

/// One authentication request.
#[derive(Debug, Clone)]
pub(super) struct Flow {
    pub(super) client_id: String,
    pub(super) user: SimUser,
    pub(super) acr: String,
    pub(super) binding_message: Option<String>,
    pub(super) binding_content: Option<String>,
    pub(super) created: Instant,
    pub(super) expires: Instant,
    pub(super) interval: Duration,
    pub(super) last_poll: Option<Instant>,
    /// Ping mode: the client fetches once after the ping, no interval applies.
    pub(super) ping: bool,
}

/// The answer to a poll.
#[derive(Debug)]
pub(super) enum PollAnswer {
    Pending,
    SlowDown,
    Expired,
    Denied,
    Failed(&'static str),
    Approved(Box<Flow>),
    UnknownRequest,
    WrongClient,
}

#[derive(Debug, Default)]
pub(super) struct Flows {
    flows: Mutex<HashMap<String, Flow>>,
    pub(super) started: AtomicUsize,
    pub(super) polls: AtomicUsize,
    pub(super) slow_downs: AtomicUsize,
}

impl Flows {
    pub(super) fn insert(&self, id: String, flow: Flow) {
        if let Ok(mut f) = self.flows.lock() {
            f.insert(id, flow);
        }
        self.started.fetch_add(1, Ordering::SeqCst);
    }

    /// Answers a poll at `now`. A finished request is removed: a second
    /// poll for it is an unknown request (`invalid_grant`).
    pub(super) fn poll(&self, id: &str, client_id: &str, now: Instant) -> PollAnswer {
        self.polls.fetch_add(1, Ordering::SeqCst);
        let Ok(mut flows) = self.flows.lock() else {
            return PollAnswer::UnknownRequest;
        };
        let Some(flow) = flows.get_mut(id) else {
            return PollAnswer::UnknownRequest;
        };
        if flow.client_id != client_id {
            return PollAnswer::WrongClient;
        }
        if now >= flow.expires {
            flows.remove(id);
            return PollAnswer::Expired;
        }
        let too_fast = !flow.ping
            && match flow.last_poll {
                Some(last) => now.duration_since(last) + JITTER < flow.interval,
                None => now.duration_since(flow.created) + JITTER < flow.interval,
            };
        flow.last_poll = Some(now);
        if too_fast {
            flow.interval += Duration::from_secs(5);
            self.slow_downs.fetch_add(1, Ordering::SeqCst);
            return PollAnswer::SlowDown;
        }
        let elapsed = now.duration_since(flow.created);
        match flow.user.behaviour {
            Behaviour::Approve(after) if elapsed >= after => {
                flows.remove(id).map_or(PollAnswer::UnknownRequest, |f| {
                    PollAnswer::Approved(Box::new(f))
                })
            }
            Behaviour::Decline(after) if elapsed >= after => {
                flows.remove(id);
                PollAnswer::Denied
            }
            Behaviour::Fail(after, code) if elapsed >= after => {
                flows.remove(id);
                PollAnswer::Failed(code)
            }
            _ => PollAnswer::Pending,
        }
    }
}

/// An Icelandic mobile number in the forms it is written in (`7700001`,
/// `770 0001`, `770-0001`, `+354 770 0001`, `00354 7700001`,
/// `3547700001`), as its seven digits; `None` for anything else (a
/// kennitala included).
pub fn normalize_phone(hint: &str) -> Option<String> {
    let compact: String = hint
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{a0}'))
        .collect();
    let digits = compact
        .strip_prefix("+354")
        .or_else(|| compact.strip_prefix("00354"))
        .or_else(|| {
            (compact.len() == 10)
                .then(|| compact.strip_prefix("354"))
                .flatten()
        })
        .unwrap_or(&compact);
    (digits.len() == 7 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(behaviour: Behaviour, now: Instant) -> Flow {
        Flow {
            client_id: "c".into(),
            user: SimUser {
                login_hint: "1".into(),
                name: "n".into(),
                kennitala: "1203902019".into(),
                behaviour,
            },
            acr: "sim-auth".into(),
            binding_message: None,
            binding_content: None,
            created: now,
            expires: now + Duration::from_secs(30),
            interval: Duration::from_secs(5),
            last_poll: None,
            ping: false,
        }
    }

    #[test]
    fn answers_follow_the_interval_and_the_behaviour() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let flows = Flows::default();
        flows.insert(
            "a".into(),
            flow(Behaviour::Approve(Duration::from_secs(12)), t0),
        );
        assert!(matches!(
            flows.poll("a", "other", s(5)),
            PollAnswer::WrongClient
        ));
        assert!(matches!(flows.poll("a", "c", s(2)), PollAnswer::SlowDown));
        // The interval is now 10 s from the last poll.
        assert!(matches!(flows.poll("a", "c", s(8)), PollAnswer::SlowDown));
        assert!(matches!(
            flows.poll("a", "c", s(23)),
            PollAnswer::Approved(_)
        ));
        assert!(matches!(
            flows.poll("a", "c", s(40)),
            PollAnswer::UnknownRequest
        ));
        assert_eq!(flows.slow_downs.load(Ordering::SeqCst), 2);

        flows.insert(
            "d".into(),
            flow(Behaviour::Decline(Duration::from_secs(6)), t0),
        );
        assert!(matches!(flows.poll("d", "c", s(5)), PollAnswer::Pending));
        assert!(matches!(flows.poll("d", "c", s(10)), PollAnswer::Denied));

        flows.insert("n".into(), flow(Behaviour::NeverAnswer, t0));
        assert!(matches!(flows.poll("n", "c", s(5)), PollAnswer::Pending));
        assert!(matches!(flows.poll("n", "c", s(30)), PollAnswer::Expired));
        assert!(matches!(
            flows.poll("n", "c", s(35)),
            PollAnswer::UnknownRequest
        ));
    }
}
