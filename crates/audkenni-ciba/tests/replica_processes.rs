//! Replicas as separate OS processes sharing one PostgreSQL database: the
//! test binary runs itself as the child replicas (each its own client,
//! poller, HTTP client and pool), kills every one of them mid-flow with
//! SIGKILL, starts new ones, and every flow still ends exactly once with
//! the right result, never polled before its interval.
//!
//! Needs `DATABASE_URL` (skipped with a message otherwise, outside CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use audkenni_ciba::{
    Acr, AuthRequest, CibaClient, Error, ErrorCode, FLOW_NAMESPACE, JwsAlgorithm, ProviderCode,
    RequestSigningKey, SealingKey, WaitOptions,
};
use smartid_core::store::{FlowStore, wait_for_outcome};
use smartid_core::{HttpSettings, Secret, SystemClock, TrustRoots, TrustStore};
use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig, hints};

const CHILD_ENV: &str = "AUDKENNI_REPLICA_CHILD";
const CHILD_TEST: &str = "child_replica";
const KEY: [u8; 32] = [42; 32];

fn text(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str().unwrap().to_owned()
}

/// A replica process: builds its client on the database named in its
/// configuration, starts the flows it is given (printing their ids), then
/// polls until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "helper: run by postgres_replica_processes_killed_and_restarted_mid_flow"]
async fn child_replica() {
    let Ok(config) = std::env::var(CHILD_ENV) else {
        return;
    };
    let c: serde_json::Value = serde_json::from_str(&config).unwrap();
    let store = smartid_postgres::PostgresStore::connect(
        &text(&c, "database_url"),
        smartid_postgres::testing::options_for_test(),
    )
    .await
    .unwrap();
    let roots =
        TrustStore::from_bytes(text(&c, "tls_root_pem").as_bytes(), "root.pem", None).unwrap();
    let client = CibaClient::builder(text(&c, "issuer"), text(&c, "client_id"))
        .client_secret(Secret::new(text(&c, "client_secret")))
        .signing_key(
            RequestSigningKey::from_pem(text(&c, "key_pem").as_bytes(), JwsAlgorithm::Rs256)
                .unwrap(),
        )
        .http_settings(
            HttpSettings::new()
                .trust(TrustRoots::Only(roots))
                .request_timeout(Duration::from_secs(5)),
        )
        .store(store)
        .sealing_key(SealingKey::from_bytes(&KEY).unwrap())
        .replica(text(&c, "replica"))
        .lease_length(Duration::from_secs(6))
        .build()
        .await
        .unwrap();
    let _poller = client.poller().tick(Duration::from_millis(50)).spawn();
    for hint in c["start"].as_array().unwrap() {
        let hint = hint.as_str().unwrap();
        let pending = client
            .start(&AuthRequest::new(hint, Acr::SimAuth))
            .await
            .unwrap();
        println!("STARTED {} {hint}", pending.auth_req_id());
    }
    println!("READY");
    loop {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

struct Proc {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

fn spawn(sim: &AudkenniSimulator, database_url: &str, name: &str, start: &[&str]) -> Proc {
    let config = serde_json::json!({
        "issuer": sim.issuer(),
        "client_id": sim.client_id(),
        "client_secret": sim.client_secret(),
        "key_pem": sim.client_key_pem(),
        "tls_root_pem": sim.tls_root_pem(),
        "database_url": database_url,
        "replica": name,
        "start": start,
    });
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            CHILD_TEST,
            "--test-threads=1",
            "--nocapture",
        ])
        .env(CHILD_ENV, config.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Proc { child, lines }
}

impl Proc {
    /// The flows the child started, once it says READY.
    fn started(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the child replica did not get ready");
            // libtest prints "test child_replica ... " before the first line.
            if line.ends_with("READY") {
                return out;
            }
            if let Some(at) = line.find("STARTED ") {
                let rest = &line[at + "STARTED ".len()..];
                let (id, hint) = rest.split_once(' ').unwrap();
                out.push((id.to_owned(), hint.to_owned()));
            }
        }
    }

    /// SIGKILL: no clean stop (also when the test fails: no orphan).
    fn kill(self) {}
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_replica_processes_killed_and_restarted_mid_flow() {
    let Some(database_url) =
        smartid_postgres::testing::fresh_database_url("audkenni_processes").await
    else {
        return;
    };
    let store: Arc<dyn FlowStore> = Arc::new(
        smartid_postgres::PostgresStore::connect(
            &database_url,
            smartid_postgres::testing::options_for_test(),
        )
        .await
        .unwrap(),
    );
    let flows_per_child = if std::env::var("SMARTID_REPLICA_SCALE").is_ok_and(|v| v == "full") {
        60
    } else {
        8
    };
    let sim = AudkenniSimulator::start(
        SimConfig::with_answer_after(Duration::from_secs(5))
            .interval(1)
            .expires_in(120),
    )
    .await
    .unwrap();
    let hints_of = |i: usize| {
        if i.is_multiple_of(2) {
            hints::APPROVES
        } else {
            hints::DECLINES
        }
    };
    let assigned: Vec<&str> = (0..flows_per_child).map(hints_of).collect();
    let first: Vec<Proc> = ["p1-a", "p1-b", "p1-c"]
        .iter()
        .map(|n| spawn(&sim, &database_url, n, &assigned))
        .collect();
    let mut flows = Vec::new();
    for p in &first {
        flows.extend(tokio::task::block_in_place(|| p.started()));
    }
    assert_eq!(flows.len(), 3 * flows_per_child);
    // The child pollers poll for a while (users answer after 5 s)...
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(sim.polls() > 0, "the child pollers polled");
    // ... then every replica is killed at once.
    for p in first {
        p.kill();
    }
    assert_eq!(
        store.waiting(FLOW_NAMESPACE, 10_000).await.unwrap().len(),
        flows.len(),
        "every flow is still waiting in the database"
    );
    let second: Vec<Proc> = ["p2-a", "p2-b", "p2-c"]
        .iter()
        .map(|n| spawn(&sim, &database_url, n, &[]))
        .collect();
    for p in &second {
        assert!(tokio::task::block_in_place(|| p.started()).is_empty());
    }
    // This process only reads the outcomes the child replicas write.
    let deadline = SystemTime::now() + Duration::from_secs(120);
    for (id, _) in &flows {
        let record = wait_for_outcome(
            store.as_ref(),
            FLOW_NAMESPACE,
            id,
            Some(deadline),
            &SystemClock,
            Duration::from_millis(500),
        )
        .await
        .unwrap();
        assert!(
            record.is_some_and(|r| r.outcome.is_some()),
            "{id} never ended"
        );
    }
    for p in second {
        p.kill();
    }
    // Decoded and verified here (the outcome is stored: no poll).
    let reader = common::builder(&sim, JwsAlgorithm::Rs256)
        .store(store.clone())
        .sealing_key(SealingKey::from_bytes(&KEY).unwrap())
        .build()
        .await
        .unwrap();
    let polls_before = sim.polls();
    let options = WaitOptions::new().timeout_from(SystemTime::now(), Duration::from_secs(10));
    for (id, hint) in &flows {
        let result = reader.finish_by_id(id, &options).await;
        match (hint.as_str(), &result) {
            (hints::APPROVES, Ok(done)) => {
                assert_eq!(done.id_token.name.as_deref(), Some("Gervimaður Evrópa"));
            }
            (hints::DECLINES, Err(Error::Server(p))) => {
                assert_eq!(p.code, ErrorCode::AccessDenied);
                assert_eq!(p.provider_code, Some(ProviderCode::Mssp401));
            }
            (hint, other) => panic!("{hint}: unexpected {other:?}"),
        }
    }
    assert_eq!(sim.polls(), polls_before);
    let counts = sim.all_poll_counts();
    for (id, _) in &flows {
        let c = counts[id];
        assert_eq!((c.early, c.after_end, c.ended), (0, 0, 1), "{id}: {c:?}");
    }
    println!(
        "{} flows on 3 + 3 processes (all killed once): {} polls, 0 early",
        flows.len(),
        sim.polls()
    );
}
