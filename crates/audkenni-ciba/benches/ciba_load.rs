//! Many concurrent CIBA flows against the simulator in another process:
//! memory per waiting flow, polls per flow, `slow_down`s, early and extra
//! polls, TLS handshakes, and how each flow ended.
//!
//! ```text
//! cargo bench -p audkenni-ciba --bench ciba_load                 # 10,000 flows, interval 5 s, answers after 30 s
//! cargo bench -p audkenni-ciba --bench ciba_load -- --flows 100000 --interval 50 --answer-after 300 --start-rate 350
//! ```
//!
//! The bench starts itself a second time with `--serve` as the simulator
//! process (a release build of the testkit's Audkenni simulator), so the
//! client's memory and CPU are its own. docs/performance.md has the figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use audkenni_ciba::{
    Acr, AuthRequest, CibaClient, Error, HttpSettings, JwsAlgorithm, RequestSigningKey, Secret,
    TrustRoots, TrustStore, WaitOptions,
};
use smartid_testkit::audkenni::{AudkenniSimulator, SimConfig, hints};
use smartid_testkit::bench::{process_cpu, rss_bytes};

struct Args {
    serve: bool,
    flows: usize,
    interval: u64,
    answer_after: u64,
    starts_in_flight: usize,
    /// Flows arriving per second (0: as fast as the starts in flight go).
    start_rate: u64,
    margin_ms: u64,
}

fn args() -> Args {
    let mut a = Args {
        serve: false,
        flows: 10_000,
        interval: 5,
        answer_after: 30,
        starts_in_flight: 64,
        start_rate: 0,
        margin_ms: 250,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = || it.next().and_then(|v| v.parse::<u64>().ok()).unwrap();
        match arg.as_str() {
            "--serve" => a.serve = true,
            "--flows" => a.flows = num() as usize,
            "--interval" => a.interval = num(),
            "--answer-after" => a.answer_after = num(),
            "--starts-in-flight" => a.starts_in_flight = num() as usize,
            "--margin-ms" => a.margin_ms = num(),
            "--start-rate" => a.start_rate = num(),
            _ => {} // cargo bench passes --bench
        }
    }
    a
}

fn main() {
    let a = args();
    if a.serve {
        serve(&a);
    } else {
        drive(&a);
    }
}

/// The simulator process: prints its connection details as one JSON line,
/// then answers `stats` on stdin with one JSON line; exits on end of input.
fn serve(a: &Args) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sim = AudkenniSimulator::start(
            SimConfig::with_answer_after(Duration::from_secs(a.answer_after))
                .interval(a.interval)
                .expires_in(a.answer_after * 3 + 120),
        )
        .await
        .unwrap();
        let hello = serde_json::json!({
            "issuer": sim.issuer(),
            "client_id": sim.client_id(),
            "client_secret": sim.client_secret(),
            "client_key_pem": sim.client_key_pem(),
            "tls_root_pem": sim.tls_root_pem(),
        });
        println!("{hello}");
        std::io::stdout().flush().unwrap();
        let sim = Arc::new(sim);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<String>(4);
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.blocking_send(line).is_err() {
                    break;
                }
            }
        });
        while let Some(line) = rx.recv().await {
            if line.trim() != "stats" {
                continue;
            }
            let counts = sim.all_poll_counts();
            let mut hist: BTreeMap<usize, usize> = BTreeMap::new();
            let (mut early, mut after_end, mut ended) = (0, 0, 0);
            for c in counts.values() {
                *hist.entry(c.polls).or_default() += 1;
                early += c.early;
                after_end += c.after_end;
                ended += c.ended;
            }
            let stats = serde_json::json!({
                "started": sim.started(),
                "polls": sim.polls(),
                "slow_downs": sim.slow_downs(),
                "early": early,
                "after_end": after_end,
                "ended": ended,
                "handshakes_ok": sim.front().handshakes_ok(),
                "handshakes_failed": sim.front().handshakes_failed(),
                "cpu_s": process_cpu().map_or(0.0, |d| d.as_secs_f64()),
                "polls_per_flow": hist.iter().map(|(k, v)| (k.to_string(), *v)).collect::<BTreeMap<_, _>>(),
            });
            println!("{stats}");
            std::io::stdout().flush().unwrap();
        }
    });
}

struct SimProcess {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
}

impl SimProcess {
    fn start(a: &Args) -> (SimProcess, serde_json::Value) {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--serve",
                "--interval",
                &a.interval.to_string(),
                "--answer-after",
                &a.answer_after.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let hello = serde_json::from_str(&line).unwrap();
        (
            SimProcess {
                child,
                stdin,
                stdout,
            },
            hello,
        )
    }

    fn stats(&mut self) -> serde_json::Value {
        writeln!(self.stdin, "stats").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap()
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn drive(a: &Args) {
    let (mut sim, hello) = SimProcess::start(a);
    let s = |k: &str| hello[k].as_str().unwrap().to_owned();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let n = a.flows;
    println!(
        "== {n} concurrent CIBA flows, interval {} s, answers after {} s, simulator in another process ==",
        a.interval, a.answer_after
    );
    let outcome = rt.block_on(async {
        let trust =
            TrustStore::from_bytes(s("tls_root_pem").as_bytes(), "sim-root.pem", None).unwrap();
        let client = CibaClient::builder(s("issuer"), s("client_id"))
            .client_secret(Secret::new(s("client_secret")))
            .signing_key(
                RequestSigningKey::from_pem(s("client_key_pem").as_bytes(), JwsAlgorithm::Rs256)
                    .unwrap(),
            )
            .http_settings(HttpSettings::new().trust(TrustRoots::Only(trust)))
            .poll_margin(Duration::from_millis(a.margin_ms))
            .build()
            .await
            .unwrap();
        // Warm-up: discovery is done; one start makes the first connection.
        let base = rss_bytes().unwrap();
        let peak = Arc::new(AtomicU64::new(base));
        let waiting = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let peak_waiting = Arc::new(AtomicUsize::new(0));
        let at_most_waiting = Arc::new(AtomicU64::new(base));
        // (wall, client process CPU) when every flow has started.
        let all_started = Arc::new(std::sync::Mutex::new(None::<(Duration, Duration)>));
        let cpu_before = process_cpu().unwrap_or_default();
        {
            // The futures' sizes (made, never polled: they send nothing).
            let request = AuthRequest::new(hints::APPROVES, Acr::SimSign);
            let start = client.start(&request);
            println!(
                "size of a start future: {} bytes",
                std::mem::size_of_val(&start)
            );
            drop(start);
        }
        let started_at = Instant::now();
        let sampler = {
            let (peak, waiting, started, peak_waiting, at_most_waiting, all_started) = (
                peak.clone(),
                waiting.clone(),
                started.clone(),
                peak_waiting.clone(),
                at_most_waiting.clone(),
                all_started.clone(),
            );
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    // The RSS when the most flows wait at once (before the
                    // first answers), and the peak over the whole run.
                    let rss = rss_bytes().unwrap_or(0);
                    let now_waiting = waiting.load(Ordering::Relaxed);
                    if now_waiting > peak_waiting.load(Ordering::Relaxed) {
                        peak_waiting.store(now_waiting, Ordering::Relaxed);
                        at_most_waiting.store(rss, Ordering::Relaxed);
                    }
                    peak.fetch_max(rss, Ordering::Relaxed);
                    let mut all = all_started.lock().unwrap();
                    if all.is_none() && started.load(Ordering::Relaxed) >= n {
                        *all = Some((started_at.elapsed(), process_cpu().unwrap_or_default()));
                        // Printed at once, so that a long run says it early.
                        println!(
                            "all {n} started after {:.1} s: RSS {:.1} MB, {:.2} KB per waiting flow ({now_waiting} waiting)",
                            started_at.elapsed().as_secs_f64(),
                            rss as f64 / 1e6,
                            rss.saturating_sub(base) as f64 / now_waiting.max(1) as f64 / 1024.0
                        );
                    }
                }
            })
        };
        // A service makes a flow when a request arrives: the task exists
        // once its start may go (the permit is taken before the spawn).
        let starts = Arc::new(tokio::sync::Semaphore::new(a.starts_in_flight));
        let start_rate = a.start_rate;
        let spawner = {
            let (waiting, started, client) = (waiting.clone(), started.clone(), client.clone());
            tokio::spawn(async move {
                let mut tasks = tokio::task::JoinSet::new();
                let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
                let record = |r: Result<Result<(), (&str, Error)>, _>,
                              outcomes: &mut BTreeMap<String, usize>| {
                    let key = match r.unwrap() {
                        Ok(()) => "approved".to_owned(),
                        Err((stage, e)) => format!("{stage}: {}", kind(&e)),
                    };
                    *outcomes.entry(key).or_default() += 1;
                };
                for i in 0..n {
                    if start_rate > 0 {
                        // Requests arriving at a steady rate, as at a service.
                        let at = started_at + Duration::from_secs_f64(i as f64 / start_rate as f64);
                        tokio::time::sleep_until(at.into()).await;
                    }
                    let permit = starts.clone().acquire_owned().await.unwrap();
                    let client = client.clone();
                    let (waiting, started) = (waiting.clone(), started.clone());
                    let task = async move {
                        let message = format!("Innskráning {i}");
                        let request = AuthRequest::new(hints::APPROVES, Acr::SimSign)
                            .binding_message(&message);
                        let mut pending = match client.start(&request).await {
                            Ok(p) => p,
                            Err(e) => return Err(("start", e)),
                        };
                        drop(permit);
                        started.fetch_add(1, Ordering::Relaxed);
                        waiting.fetch_add(1, Ordering::Relaxed);
                        if i == 0 {
                            // Made, never polled: it does nothing.
                            let options = WaitOptions::default();
                            let wait = client.wait(&mut pending, &options);
                            println!(
                                "size of a wait future: {} bytes",
                                std::mem::size_of_val(&wait)
                            );
                        }
                        let r = client.wait(&mut pending, &WaitOptions::default()).await;
                        waiting.fetch_sub(1, Ordering::Relaxed);
                        r.map(|_tokens| ()).map_err(|e| ("wait", e))
                    };
                    if i == 0 {
                        println!(
                            "size of one flow's task future (start, then wait): {} bytes",
                            std::mem::size_of_val(&task)
                        );
                    }
                    tasks.spawn(task);
                    while let Some(r) = tasks.try_join_next() {
                        record(r, &mut outcomes);
                    }
                }
                while let Some(r) = tasks.join_next().await {
                    record(r, &mut outcomes);
                }
                outcomes
            })
        };
        let outcomes = spawner.await.unwrap();
        sampler.abort();
        let wall = started_at.elapsed();
        let peak = peak.load(Ordering::Relaxed);
        (
            outcomes,
            base,
            peak,
            peak_waiting.load(Ordering::Relaxed),
            at_most_waiting.load(Ordering::Relaxed),
            wall,
            *all_started.lock().unwrap(),
            (cpu_before, process_cpu().unwrap_or_default()),
        )
    });
    let (outcomes, base, peak, peak_waiting, at_most, wall, all_started, (cpu_before, cpu_after)) =
        outcome;
    let stats = sim.stats();
    let growth = at_most.saturating_sub(base);
    let per_flow = growth as f64 / peak_waiting.max(1) as f64;
    let expected_polls = (a.answer_after as f64 * 1000.0
        / (a.interval as f64 * 1000.0 + a.margin_ms as f64))
        .ceil() as u64;
    let mut extra = 0u64;
    if let Some(hist) = stats["polls_per_flow"].as_object() {
        for (polls, count) in hist {
            let polls: u64 = polls.parse().unwrap();
            extra += polls.saturating_sub(expected_polls) * count.as_u64().unwrap();
        }
    }
    println!("outcomes: {outcomes:?} (wall {:.1} s)", wall.as_secs_f64());
    match all_started {
        Some((t, cpu)) => println!(
            "starts: {n} in {:.1} s ({:.0}/s, {} in flight); client CPU {:.1} s over those {:.1} s, {:.1} s over the run",
            t.as_secs_f64(),
            n as f64 / t.as_secs_f64(),
            a.starts_in_flight,
            cpu.saturating_sub(cpu_before).as_secs_f64(),
            t.as_secs_f64(),
            cpu_after.saturating_sub(cpu_before).as_secs_f64(),
        ),
        None => println!("starts: the run ended before the sampler saw all {n} started"),
    }
    println!(
        "client RSS: {:.1} MB before, {:.1} MB with the most flows waiting ({peak_waiting}): {:.2} KB per waiting flow; {:.1} MB at the end's peak",
        base as f64 / 1e6,
        at_most as f64 / 1e6,
        per_flow / 1024.0,
        peak as f64 / 1e6,
    );
    println!(
        "simulator: started {} polls {} slow_down {} early {} after_end {} ended {} handshakes {} (failed {}) CPU {:.1} s polls per flow {}",
        stats["started"],
        stats["polls"],
        stats["slow_downs"],
        stats["early"],
        stats["after_end"],
        stats["ended"],
        stats["handshakes_ok"],
        stats["handshakes_failed"],
        stats["cpu_s"].as_f64().unwrap_or(0.0),
        stats["polls_per_flow"]
    );
    println!(
        "extra polls (beyond {expected_polls} per flow at interval + margin): {extra}; pool size {}",
        HttpSettings::new().max_connections_value()
    );
}

fn kind(e: &Error) -> String {
    let text = format!("{e:?}");
    text.split([' ', '(', '{']).next().unwrap_or("?").to_owned()
}
