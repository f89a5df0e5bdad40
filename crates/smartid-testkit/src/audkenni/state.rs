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
    /// Polls so far.
    pub(super) polls: usize,
    /// Ping mode: the client fetches once after the ping, no interval applies.
    pub(super) ping: bool,
    /// A person's decision, for [`Behaviour::Manual`].
    pub(super) decision: Option<bool>,
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

/// What the simulator saw of one `auth_req_id`'s polls, measured at their
/// arrival as a provider measures them
/// ([`super::AudkenniSimulator::poll_counts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollCounts {
    /// Token requests for this `auth_req_id`.
    pub polls: usize,
    /// Polls that arrived before the interval in force had passed since
    /// the previous poll's arrival (or, for the first, since the
    /// bc-authorize request): no allowance for jitter. Ping-mode requests
    /// are not counted (no interval applies).
    pub early: usize,
    /// Answers that ended the request (tokens, denial, failure, expiry).
    pub ended: usize,
    /// Polls after the request had ended (answered `invalid_grant`): a
    /// second replica polling the same slot, or a client polling on.
    pub after_end: usize,
    /// `slow_down` answers.
    pub slow_downs: usize,
}

#[derive(Debug, Default)]
pub(super) struct Flows {
    flows: Mutex<HashMap<String, Flow>>,
    counts: Mutex<HashMap<String, PollCounts>>,
    pub(super) started: AtomicUsize,
    pub(super) polls: AtomicUsize,
    pub(super) slow_downs: AtomicUsize,
    /// Answer `slow_down` to these poll numbers (1-based) of every request.
    pub(super) slow_down_at: Vec<usize>,
}

impl Flows {
    pub(super) fn with_slow_downs_at(slow_down_at: Vec<usize>) -> Self {
        Self {
            slow_down_at,
            ..Self::default()
        }
    }

    pub(super) fn insert(&self, id: String, flow: Flow) {
        if let Ok(mut c) = self.counts.lock() {
            c.insert(id.clone(), PollCounts::default());
        }
        if let Ok(mut f) = self.flows.lock() {
            f.insert(id, flow);
        }
        self.started.fetch_add(1, Ordering::SeqCst);
    }

    /// The counters of one request.
    pub(super) fn counts(&self, id: &str) -> Option<PollCounts> {
        self.counts.lock().ok()?.get(id).copied()
    }

    /// The counters of every request.
    pub(super) fn all_counts(&self) -> HashMap<String, PollCounts> {
        self.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    fn count(&self, id: &str, f: impl FnOnce(&mut PollCounts)) {
        if let Ok(mut c) = self.counts.lock()
            && let Some(counts) = c.get_mut(id)
        {
            f(counts);
        }
    }

    /// Answers a poll at `now`. A finished request is removed: a second
    /// poll for it is an unknown request (`invalid_grant`).
    pub(super) fn poll(&self, id: &str, client_id: &str, now: Instant) -> PollAnswer {
        let answer = self.answer(id, client_id, now);
        if matches!(
            answer,
            PollAnswer::Expired
                | PollAnswer::Denied
                | PollAnswer::Failed(_)
                | PollAnswer::Approved(_)
        ) {
            self.count(id, |c| c.ended += 1);
        }
        answer
    }

    fn answer(&self, id: &str, client_id: &str, now: Instant) -> PollAnswer {
        self.polls.fetch_add(1, Ordering::SeqCst);
        let Ok(mut flows) = self.flows.lock() else {
            return PollAnswer::UnknownRequest;
        };
        let Some(flow) = flows.get_mut(id) else {
            drop(flows);
            self.count(id, |c| {
                c.polls += 1;
                c.after_end += 1;
            });
            return PollAnswer::UnknownRequest;
        };
        if flow.client_id != client_id {
            return PollAnswer::WrongClient;
        }
        let since = now.duration_since(flow.last_poll.unwrap_or(flow.created));
        let early = !flow.ping && since < flow.interval;
        let too_fast = !flow.ping && since + JITTER < flow.interval;
        flow.last_poll = Some(now);
        flow.polls += 1;
        let number = flow.polls;
        self.count(id, |c| {
            c.polls += 1;
            if early {
                c.early += 1;
            }
        });
        if now >= flow.expires {
            flows.remove(id);
            return PollAnswer::Expired;
        }
        if too_fast || (!flow.ping && self.slow_down_at.contains(&number)) {
            flow.interval += Duration::from_secs(5);
            self.slow_downs.fetch_add(1, Ordering::SeqCst);
            self.count(id, |c| c.slow_downs += 1);
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
            Behaviour::Manual => match flow.decision {
                Some(true) => flows.remove(id).map_or(PollAnswer::UnknownRequest, |f| {
                    PollAnswer::Approved(Box::new(f))
                }),
                Some(false) => {
                    flows.remove(id);
                    PollAnswer::Denied
                }
                None => PollAnswer::Pending,
            },
            _ => PollAnswer::Pending,
        }
    }

    /// Records a person's decision on a waiting manual request; `false`
    /// when there is no such request (unknown, ended, decided or not manual).
    pub(super) fn decide(&self, id: &str, approve: bool, now: Instant) -> bool {
        let Ok(mut flows) = self.flows.lock() else {
            return false;
        };
        match flows.get_mut(id) {
            Some(flow)
                if flow.user.behaviour == Behaviour::Manual
                    && flow.decision.is_none()
                    && now < flow.expires =>
            {
                flow.decision = Some(approve);
                true
            }
            _ => false,
        }
    }

    /// The manual requests waiting for a decision, oldest first.
    pub(super) fn waiting(&self, now: Instant) -> Vec<(String, Flow)> {
        let Ok(flows) = self.flows.lock() else {
            return Vec::new();
        };
        let mut v: Vec<(String, Flow)> = flows
            .iter()
            .filter(|(_, f)| {
                f.user.behaviour == Behaviour::Manual && f.decision.is_none() && now < f.expires
            })
            .map(|(id, f)| (id.clone(), f.clone()))
            .collect();
        v.sort_by_key(|(_, f)| f.created);
        v
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
            polls: 0,
            ping: false,
            decision: None,
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

        // Counted at arrival, without the jitter allowance of slow_down.
        let a = flows.counts("a").unwrap();
        assert_eq!((a.polls, a.early, a.ended, a.after_end), (4, 2, 1, 1));
        let d = flows.counts("d").unwrap();
        assert_eq!((d.polls, d.early, d.ended), (2, 0, 1));
        flows.insert("e".into(), flow(Behaviour::NeverAnswer, t0));
        // 4.8 s after the start: within the jitter (no slow_down) but early.
        let at = t0 + Duration::from_millis(4800);
        assert!(matches!(flows.poll("e", "c", at), PollAnswer::Pending));
        assert_eq!(flows.counts("e").unwrap().early, 1);
        let scripted = Flows::with_slow_downs_at(vec![2]);
        scripted.insert("s".into(), flow(Behaviour::NeverAnswer, t0));
        assert!(matches!(scripted.poll("s", "c", s(5)), PollAnswer::Pending));
        assert!(matches!(
            scripted.poll("s", "c", s(10)),
            PollAnswer::SlowDown
        ));
        // The interval is now 10 s.
        assert!(matches!(
            scripted.poll("s", "c", s(19)),
            PollAnswer::SlowDown
        ));
        assert_eq!(scripted.counts("s").unwrap().early, 1);

        flows.insert("n".into(), flow(Behaviour::NeverAnswer, t0));
        assert!(matches!(flows.poll("n", "c", s(5)), PollAnswer::Pending));
        assert!(matches!(flows.poll("n", "c", s(30)), PollAnswer::Expired));
        assert!(matches!(
            flows.poll("n", "c", s(35)),
            PollAnswer::UnknownRequest
        ));
    }

    #[test]
    fn manual_requests_wait_for_a_decision() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_secs(n);
        let flows = Flows::default();
        flows.insert("m".into(), flow(Behaviour::Manual, t0));
        flows.insert("a".into(), flow(Behaviour::NeverAnswer, t0));
        assert_eq!(flows.waiting(s(1)).len(), 1);
        assert!(matches!(flows.poll("m", "c", s(5)), PollAnswer::Pending));
        assert!(!flows.decide("a", true, s(6)), "not a manual request");
        assert!(!flows.decide("x", true, s(6)));
        assert!(flows.decide("m", true, s(6)));
        assert!(!flows.decide("m", false, s(6)), "decided once");
        assert!(flows.waiting(s(6)).is_empty());
        assert!(matches!(
            flows.poll("m", "c", s(10)),
            PollAnswer::Approved(_)
        ));
        flows.insert("d".into(), flow(Behaviour::Manual, t0));
        assert!(flows.decide("d", false, s(1)));
        assert!(matches!(flows.poll("d", "c", s(5)), PollAnswer::Denied));
        flows.insert("e".into(), flow(Behaviour::Manual, t0));
        assert!(!flows.decide("e", true, s(31)), "expired");
    }
}
