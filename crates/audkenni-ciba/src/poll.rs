//! The CIBA poll loop: never earlier than the interval, +5 s
//! ([`smartid_core::SLOW_DOWN_STEP`]) per `slow_down`, `Retry-After`
//! honoured, transport errors, 5xx and 429 retried per the caller's
//! [`smartid_core::RetryPolicy`], stops at `expires_in` or the caller's
//! deadline. Time and sleep come from the client's [`Clock`].

use std::future::Future;
use std::time::Duration;

use smartid_core::{Clock, HttpResponse, WaitOptions, poll_delay, unix_seconds};

use crate::error::Error;
use crate::pending::PendingAuth;
use crate::provider_error::{ErrorCode, parse_error_document};
use crate::response::invalid;
use crate::tokens::Tokens;

/// What one poll gave.
#[derive(Debug)]
pub(crate) enum PollOutcome {
    Done(Tokens),
    Pending(Option<Duration>),
    SlowDown(Option<Duration>),
    Transient(Error, Option<Duration>),
    Fatal(Error),
}

/// Classifies the token endpoint's answer (or the transport failure).
pub(crate) fn classify(result: Result<HttpResponse, smartid_core::Error>) -> PollOutcome {
    let response = match result {
        Ok(r) => r,
        Err(
            e @ (smartid_core::Error::Connect { .. }
            | smartid_core::Error::Timeout { .. }
            | smartid_core::Error::Transport { .. }),
        ) => return PollOutcome::Transient(e.into(), None),
        Err(e) => return PollOutcome::Fatal(e.into()),
    };
    let retry_after = response.retry_after();
    if response.is_success() {
        return match Tokens::from_response(&response) {
            Ok(t) => PollOutcome::Done(t),
            Err(e) => PollOutcome::Fatal(e),
        };
    }
    if let Some(e) = parse_error_document(&response) {
        return match e.code {
            ErrorCode::AuthorizationPending => PollOutcome::Pending(retry_after),
            ErrorCode::SlowDown => PollOutcome::SlowDown(retry_after),
            _ if response.status() >= 500 || response.status() == 429 => {
                PollOutcome::Transient(e.into(), retry_after)
            }
            _ => PollOutcome::Fatal(e.into()),
        };
    }
    if response.status() >= 500 || response.status() == 429 {
        PollOutcome::Transient(invalid(&response, "server error"), retry_after)
    } else {
        PollOutcome::Fatal(invalid(
            &response,
            "HTTP error without an OAuth error document",
        ))
    }
}

/// Polls with `send` until tokens arrive or the flow ends. `pending` is
/// updated after every answer (interval, next poll time), so dropping the
/// future at any point leaves a handle that can be resumed.
pub(crate) async fn poll_until_done<F, Fut>(
    pending: &mut PendingAuth,
    clock: &dyn Clock,
    options: &WaitOptions,
    mut send: F,
) -> Result<Tokens, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<HttpResponse, smartid_core::Error>>,
{
    let mut failures = 0u32;
    loop {
        let now = clock.now();
        let expires_at = pending.expires_at();
        if now >= expires_at {
            return Err(Error::Expired {
                expired_at: unix_seconds(expires_at),
            });
        }
        let at = pending.next_poll_at().max(now);
        if at >= expires_at {
            return Err(Error::Expired {
                expired_at: unix_seconds(expires_at),
            });
        }
        if options.is_past_deadline(at) {
            return Err(Error::DeadlineReached);
        }
        if let Ok(wait) = at.duration_since(now)
            && !wait.is_zero()
        {
            clock.sleep(wait).await;
        }
        let polled_at = clock.now();
        let interval = pending.interval();
        // Scheduled before sending: if the future is dropped while the
        // request is in flight, a resumed wait still keeps the interval.
        pending.schedule_next(polled_at, interval);
        match classify(send().await) {
            PollOutcome::Done(tokens) => return Ok(tokens),
            PollOutcome::Pending(retry_after) => {
                failures = 0;
                pending.schedule_next(polled_at, poll_delay(interval, retry_after));
            }
            PollOutcome::SlowDown(retry_after) => {
                failures = 0;
                pending.slow_down();
                let interval = pending.interval();
                pending.schedule_next(polled_at, poll_delay(interval, retry_after));
            }
            PollOutcome::Transient(error, retry_after) => {
                failures += 1;
                let Some(backoff) = options.retry.backoff(failures, retry_after) else {
                    return Err(Error::PollFailed {
                        attempts: failures,
                        last: Box::new(error),
                    });
                };
                // Never earlier than the provider's interval.
                pending.schedule_next(polled_at, poll_delay(interval, Some(backoff)));
            }
            PollOutcome::Fatal(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acr::Acr;
    use smartid_testkit::ManualClock;
    use std::collections::VecDeque;
    use std::time::UNIX_EPOCH;

    fn start_clock() -> ManualClock {
        ManualClock::jumping(UNIX_EPOCH + Duration::from_secs(T0))
    }

    fn secs(clock: &ManualClock) -> Vec<u64> {
        clock.sleeps().iter().map(Duration::as_secs).collect()
    }

    const T0: u64 = 1_700_000_000;

    fn pending(expires_in: u64, interval: u64) -> PendingAuth {
        let body =
            format!(r#"{{"auth_req_id":"r1","expires_in":{expires_in},"interval":{interval}}}"#);
        let r = HttpResponse::new(
            200,
            vec![("content-type".into(), "application/json".into())],
            body.into(),
            "https://idp/bc",
        );
        PendingAuth::from_response(
            &r,
            "https://idp",
            UNIX_EPOCH + Duration::from_secs(T0),
            Acr::SimSign,
            None,
            None,
            None,
        )
        .unwrap()
    }

    enum Step {
        Json(u16, &'static str, Option<&'static str>),
        Down,
    }

    fn script(
        steps: Vec<Step>,
    ) -> impl FnMut() -> std::future::Ready<Result<HttpResponse, smartid_core::Error>> {
        let mut steps: VecDeque<Step> = steps.into();
        move || {
            let step = steps.pop_front().expect("more polls than scripted");
            std::future::ready(match step {
                Step::Json(status, body, retry_after) => {
                    let mut headers =
                        vec![("content-type".to_string(), "application/json".to_string())];
                    if let Some(ra) = retry_after {
                        headers.push(("retry-after".into(), ra.into()));
                    }
                    Ok(HttpResponse::new(
                        status,
                        headers,
                        body.into(),
                        "https://idp/token",
                    ))
                }
                Step::Down => Err(smartid_core::Error::Connect {
                    url: "https://idp/token".into(),
                    message: "refused".into(),
                }),
            })
        }
    }

    const PENDING: Step = Step::Json(400, r#"{"error":"authorization_pending"}"#, None);
    const SLOW: Step = Step::Json(400, r#"{"error":"slow_down"}"#, None);
    const TOKENS: Step = Step::Json(
        200,
        r#"{"access_token":"at","token_type":"Bearer","id_token":"a.b.c"}"#,
        None,
    );

    async fn run(
        p: &mut PendingAuth,
        clock: &ManualClock,
        opts: WaitOptions,
        steps: Vec<Step>,
    ) -> Result<Tokens, Error> {
        poll_until_done(p, clock, &opts, script(steps)).await
    }

    #[tokio::test]
    async fn waits_the_interval_and_grows_it_on_slow_down() {
        let clock = start_clock();
        let mut p = pending(300, 5);
        let t = run(
            &mut p,
            &clock,
            WaitOptions::default(),
            vec![PENDING, SLOW, PENDING, SLOW, PENDING, TOKENS],
        )
        .await
        .unwrap();
        assert_eq!(t.unverified_id_token(), "a.b.c");
        // First poll after the interval; slow_down adds 5 s for the rest of the flow.
        assert_eq!(secs(&clock), vec![5, 5, 10, 10, 15, 15]);
        assert_eq!(p.interval(), Duration::from_secs(15));
    }

    #[tokio::test]
    async fn honours_retry_after_and_backs_off_on_failures() {
        let clock = start_clock();
        let mut p = pending(600, 5);
        let steps = vec![
            Step::Json(400, r#"{"error":"authorization_pending"}"#, Some("12")),
            Step::Down,
            Step::Down,
            Step::Down,
            Step::Json(503, "<html>busy</html>", Some("20")),
            Step::Json(502, "bad gateway", None),
            PENDING,
            TOKENS,
        ];
        run(&mut p, &clock, WaitOptions::default(), steps)
            .await
            .unwrap();
        // 5 (interval), 12 (Retry-After), then max(interval, backoff 1, 2, 4
        // s): 5, 5, 5, then Retry-After 20, then the backoff 16 s, then the
        // interval again.
        assert_eq!(secs(&clock), vec![5, 12, 5, 5, 5, 20, 16, 5]);
    }

    #[tokio::test]
    async fn gives_up_after_bounded_failures() {
        let clock = start_clock();
        let mut p = pending(600, 1);
        let opts = WaitOptions::default().retry(smartid_core::RetryPolicy::new(2));
        let e = run(
            &mut p,
            &clock,
            opts,
            vec![Step::Down, Step::Down, Step::Down],
        )
        .await
        .unwrap_err();
        assert!(matches!(e, Error::PollFailed { attempts: 3, .. }), "{e}");
    }

    #[tokio::test]
    async fn stops_at_expiry_and_deadline() {
        let clock = start_clock();
        let mut p = pending(12, 5);
        let e = run(
            &mut p,
            &clock,
            WaitOptions::default(),
            vec![PENDING, PENDING],
        )
        .await
        .unwrap_err();
        assert!(
            matches!(e, Error::Expired { expired_at } if expired_at == T0 + 12),
            "{e}"
        );
        assert_eq!(secs(&clock), vec![5, 5]);

        let clock = start_clock();
        let mut p = pending(120, 5);
        let opts = WaitOptions::default().deadline(UNIX_EPOCH + Duration::from_secs(T0 + 7));
        let e = run(&mut p, &clock, opts, vec![PENDING]).await.unwrap_err();
        assert!(matches!(e, Error::DeadlineReached));
        // The handle still says when to poll next, for a resume elsewhere.
        assert_eq!(p.next_poll_at(), UNIX_EPOCH + Duration::from_secs(T0 + 10));
    }

    #[tokio::test]
    async fn a_huge_retry_after_ends_at_expiry_not_in_a_panic() {
        let clock = start_clock();
        let mut p = pending(120, 5);
        let steps = vec![Step::Json(
            400,
            r#"{"error":"authorization_pending"}"#,
            Some("18446744073709551615"),
        )];
        let e = run(&mut p, &clock, WaitOptions::default(), steps)
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Expired { .. }), "{e}");
    }

    #[tokio::test]
    async fn provider_errors_end_the_flow_typed() {
        for (body, code) in [
            (
                r#"{"error":"access_denied","error_description":"user cancelled"}"#,
                ErrorCode::AccessDenied,
            ),
            (r#"{"error":"expired_token"}"#, ErrorCode::ExpiredToken),
            (r#"{"error":"invalid_grant"}"#, ErrorCode::InvalidGrant),
        ] {
            let clock = start_clock();
            let mut p = pending(120, 5);
            let e = run(
                &mut p,
                &clock,
                WaitOptions::default(),
                vec![Step::Json(400, body, None)],
            )
            .await
            .unwrap_err();
            assert!(matches!(&e, Error::Server(pe) if pe.code == code), "{e}");
        }
        let clock = start_clock();
        let mut p = pending(120, 5);
        let e = run(
            &mut p,
            &clock,
            WaitOptions::default(),
            vec![Step::Json(200, r#"{"token_type":"Bearer"}"#, None)],
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("access_token is missing"), "{e}");
    }

    #[test]
    fn dropped_while_a_poll_is_in_flight_the_handle_keeps_the_interval() {
        use std::future::Future as _;
        let clock = start_clock();
        let mut p = pending(300, 5);
        {
            let never = || std::future::pending::<Result<HttpResponse, smartid_core::Error>>();
            let opts = WaitOptions::default();
            let wait = std::pin::pin!(poll_until_done(&mut p, &clock, &opts, never));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            // Sleeps to the first poll (T0 + 5), sends it, and is dropped waiting for the answer.
            assert!(wait.poll(&mut cx).is_pending());
        }
        assert_eq!(secs(&clock), vec![5]);
        // The provider saw a poll at T0 + 5: a resumed wait must not poll before T0 + 10.
        assert_eq!(p.next_poll_at(), UNIX_EPOCH + Duration::from_secs(T0 + 10));
    }

    #[tokio::test]
    async fn a_resumed_handle_keeps_the_schedule() {
        let clock = start_clock();
        let mut p = pending(300, 5);
        let opts = WaitOptions::default().deadline(UNIX_EPOCH + Duration::from_secs(T0 + 12));
        let _ = run(&mut p, &clock, opts, vec![SLOW]).await.unwrap_err();
        let stored = serde_json::to_string(&p).unwrap();
        let mut resumed: PendingAuth = serde_json::from_str(&stored).unwrap();
        assert_eq!(resumed.interval(), Duration::from_secs(10));
        run(&mut resumed, &clock, WaitOptions::default(), vec![TOKENS])
            .await
            .unwrap();
        // 5 s to the first poll, then the grown interval of 10 s.
        assert_eq!(secs(&clock), vec![5, 10]);
    }
}
