//! The CIBA poll loop: never earlier than the interval, +5 s
//! ([`smartid_core::SLOW_DOWN_STEP`]) per `slow_down`, `Retry-After`
//! honoured, transport errors, 5xx and 429 retried per the caller's
//! [`smartid_core::RetryPolicy`], stops at `expires_in` or the caller's
//! deadline. Time and sleep come from the client's [`smartid_core::Clock`].
//! The loop itself, through the store, is in `driver.rs`; this file reads
//! one answer.

use std::time::Duration;

use smartid_core::HttpResponse;

use crate::error::Error;
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
    /// The request never left: every pooled connection stayed busy.
    NotSent(Error),
    Fatal(Error),
}

/// Classifies the token endpoint's answer (or the transport failure).
pub(crate) fn classify(result: Result<HttpResponse, smartid_core::Error>) -> PollOutcome {
    let response = match result {
        Ok(r) => r,
        Err(e @ smartid_core::Error::PoolBusy { .. }) => return PollOutcome::NotSent(e.into()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::acr::Acr;
    use crate::pending::PendingAuth;
    use crate::{CibaClient, JwsAlgorithm, ProviderMetadata, RequestSigningKey};
    use smartid_core::{Secret, WaitOptions};
    use smartid_testkit::{ManualClock, ScriptedSender};
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
        Busy,
    }

    async fn client(clock: &ManualClock, sender: impl smartid_core::HttpSend) -> CibaClient {
        let key = RequestSigningKey::from_pem(
            crate::test_keys::rsa_pem().as_bytes(),
            JwsAlgorithm::Rs256,
        )
        .unwrap();
        CibaClient::builder("https://idp", "rp")
            .client_secret(Secret::new("secret"))
            .signing_key(key)
            .metadata(ProviderMetadata::new(
                "https://idp",
                "https://idp/bc",
                "https://idp/token",
                "https://idp/jwks",
            ))
            .clock(clock.clone())
            .http_sender(sender)
            .build()
            .await
            .unwrap()
    }

    fn script(steps: Vec<Step>) -> ScriptedSender {
        let sender = ScriptedSender::new();
        for step in steps {
            match step {
                Step::Json(status, body, retry_after) => {
                    let mut headers = vec![("content-type", "application/json")];
                    if let Some(ra) = retry_after {
                        headers.push(("retry-after", ra));
                    }
                    sender.push_response(status, &headers, body.as_bytes());
                }
                Step::Down => {
                    sender.push_error(smartid_core::Error::Connect {
                        url: "https://idp/token".into(),
                        message: "refused".into(),
                    });
                }
                Step::Busy => {
                    sender.push_error(smartid_core::Error::PoolBusy {
                        url: "https://idp/token".into(),
                        max_connections: 32,
                        waited: Duration::from_secs(9),
                    });
                }
            }
        }
        sender
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
        let sender = script(steps);
        let client = client(clock, sender.clone()).await;
        let result = client.wait(p, &opts).await;
        assert_eq!(sender.answers_left(), 0, "fewer polls than scripted");
        result
    }

    /// The error of a flow whose polls are answered `before`, then
    /// `invalid_grant`.
    async fn invalid_grant_after(mut before: Vec<Step>) -> Error {
        let clock = start_clock();
        let mut p = pending(120, 5);
        before.push(Step::Json(400, r#"{"error":"invalid_grant"}"#, None));
        run(&mut p, &clock, WaitOptions::default(), before)
            .await
            .unwrap_err()
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
        // First poll after the interval; slow_down adds 5 s for the rest of
        // the flow (each plus the 250 ms margin, counted from the answer).
        assert_eq!(secs(&clock), vec![5, 5, 10, 10, 15, 15]);
        assert_eq!(
            clock.sleeps()[1..]
                .iter()
                .map(Duration::as_millis)
                .collect::<Vec<_>>(),
            vec![5250, 10250, 10250, 15250, 15250]
        );
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
    async fn a_poll_the_busy_pool_never_sent_is_no_failure() {
        // Two failures allowed: four unsent polls between them change
        // nothing, each comes back one interval (and the margin) later.
        let clock = start_clock();
        let mut p = pending(600, 5);
        let opts = WaitOptions::default().retry(smartid_core::RetryPolicy::new(2));
        let steps = vec![
            Step::Down,
            Step::Busy,
            Step::Busy,
            Step::Down,
            Step::Busy,
            Step::Busy,
            TOKENS,
        ];
        let sender = script(steps);
        let client = client(&clock, sender.clone()).await;
        client.wait(&mut p, &opts).await.unwrap();
        assert_eq!(sender.answers_left(), 0);
        assert_eq!(secs(&clock), vec![5, 5, 5, 5, 5, 5, 5]);
        // Each poll waits for the pool only as long as its lease (request
        // timeout + 10 s by default) leaves room for the whole request
        // timeout and a second: 9 s.
        let waits: Vec<_> = sender
            .requests()
            .iter()
            .map(smartid_core::HttpRequest::pool_timeout_value)
            .collect();
        assert_eq!(waits, vec![Some(Duration::from_secs(9)); 7]);

        // An invalid_grant after unsent polls only is the provider's error:
        // nothing was lost.
        let e = invalid_grant_after(vec![PENDING, Step::Busy]).await;
        assert!(
            matches!(&e, Error::Server(s) if s.code == crate::ErrorCode::InvalidGrant),
            "{e}"
        );
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
        // The handle still says when to poll next, for a resume elsewhere:
        // the interval and the margin after the answer at T0 + 5.
        assert_eq!(
            p.next_poll_at(),
            UNIX_EPOCH + Duration::from_millis(T0 * 1000 + 10_250)
        );
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
    async fn invalid_grant_after_a_lost_answer_says_the_tokens_were_lost() {
        let e = invalid_grant_after(vec![PENDING, Step::Down]).await;
        assert!(matches!(e, Error::TokensLost { failed_polls: 1 }), "{e}");
        assert!(e.to_string().contains("start a new"), "{e}");
        // Without a failed poll before it, invalid_grant stays the provider's error.
        let e = invalid_grant_after(vec![PENDING]).await;
        assert!(
            matches!(&e, Error::Server(pe) if pe.code == ErrorCode::InvalidGrant),
            "{e}"
        );
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

    #[tokio::test]
    async fn dropped_while_a_poll_is_in_flight_the_handle_keeps_the_interval() {
        use std::future::Future as _;
        let clock = start_clock();
        let mut p = pending(300, 5);
        let never = |_request: smartid_core::HttpRequest| {
            std::future::pending::<Result<HttpResponse, smartid_core::Error>>()
        };
        let client = client(&clock, never).await;
        {
            let opts = WaitOptions::default();
            let wait = std::pin::pin!(client.wait(&mut p, &opts));
            let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
            // Sleeps to the first poll (T0 + 5), sends it, and is dropped waiting for the answer.
            assert!(wait.poll(&mut cx).is_pending());
        }
        assert_eq!(secs(&clock), vec![5]);
        // The provider saw a poll at T0 + 5: a resumed wait must not poll before T0 + 10.
        assert_eq!(p.next_poll_at(), UNIX_EPOCH + Duration::from_secs(T0 + 10));
        // Nor may this client's store: the flow stays leased past the interval.
        let record = client
            .inner
            .flows
            .store
            .get(crate::FLOW_NAMESPACE, "r1")
            .await
            .unwrap()
            .unwrap();
        let (_, until) = record.lease.unwrap();
        assert!(until >= UNIX_EPOCH + Duration::from_secs(T0 + 10));
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
