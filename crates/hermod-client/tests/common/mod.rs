//! Shared set-up: a test PKI, the Hermod simulator over TLS, and a callback
//! receiver over TLS feeding a tracker.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant, SystemTime};

use hermod_client::{
    CallbackReceiver, Clock, CommandTiming, HermodClient, HermodConfig, Sleep, Tracker,
};
use smartid_core::{HttpSettings, Secret, TrustRoots};
use smartid_testkit::hermod::{ApiClient, DeviceBehavior, HermodSimulator};
use smartid_testkit::{ClientAuth, TestPki, TlsFront};

pub const CLIENT_ID: &str = "prime1";
pub const KEY: &str = "079b6a64d75b4e9585bd0c24f36a7deba0ad03498ecf4d69b5766f24fa02e045";
pub const CB_USER: &str = "hermod";
pub const CB_PASSWORD: &str = "callback-pw";

/// A clock running `factor` times faster than real time, so that the
/// tracker's deadlines agree with a simulator whose seconds are compressed.
#[derive(Clone, Debug)]
pub struct FastClock {
    origin: SystemTime,
    real: Instant,
    factor: u32,
}

impl FastClock {
    pub fn new(factor: u32) -> Self {
        Self {
            origin: SystemTime::now(),
            real: Instant::now(),
            factor,
        }
    }
}

impl Clock for FastClock {
    fn now(&self) -> SystemTime {
        self.origin + self.real.elapsed() * self.factor
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration / self.factor))
    }
}

pub struct Env {
    pub pki: TestPki,
    pub sim: HermodSimulator,
    pub receiver: CallbackReceiver,
    pub receiver_front: TlsFront,
    pub tracker: Tracker,
    pub client: HermodClient,
    pub trust: HttpSettings,
}

pub struct EnvOptions {
    pub device: DeviceBehavior,
    /// Length of one protocol second in the simulator (and the tracker's clock).
    pub second: Duration,
    pub timing: CommandTiming,
    pub session_start_check: bool,
    pub callback_password: &'static str,
    /// The simulator's path between callback URL and kind.
    pub callback_path: &'static str,
}

impl Default for EnvOptions {
    fn default() -> Self {
        Self {
            device: DeviceBehavior::answers_after(Duration::from_millis(20)),
            second: Duration::from_millis(50),
            timing: CommandTiming::from_secs(60, 30, 10).unwrap(),
            session_start_check: false,
            callback_password: CB_PASSWORD,
            callback_path: smartid_testkit::hermod::DEFAULT_CALLBACK_PATH,
        }
    }
}

pub async fn env(options: EnvOptions) -> Env {
    let pki = TestPki::generate().unwrap();
    let factor = u32::try_from(1000 / options.second.as_millis().max(1))
        .unwrap()
        .max(1);
    let clock = FastClock::new(factor);
    let tracker = Tracker::builder()
        .clock(clock.clone())
        .session_start_check(options.session_start_check)
        .build();
    let receiver =
        CallbackReceiver::new(tracker.clone(), CB_USER, &Secret::new(CB_PASSWORD)).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(receiver.clone().serve(listener));
    let receiver_front = TlsFront::start(addr, &pki.localhost_server().unwrap(), ClientAuth::None)
        .await
        .unwrap();
    let api = ApiClient::new(
        CLIENT_ID,
        Secret::new(KEY),
        &receiver_front.url(),
        pki.root_trust_store().unwrap(),
    )
    .callback_basic_auth(CB_USER, Secret::new(options.callback_password))
    .callback_path(options.callback_path);
    let sim = HermodSimulator::builder(pki.localhost_server().unwrap())
        .client(api)
        .device(options.device)
        .second(options.second)
        .start()
        .await
        .unwrap();
    let trust = HttpSettings::new().trust(TrustRoots::Only(pki.root_trust_store().unwrap()));
    let config = HermodConfig::builder(sim.command_url())
        .client(CLIENT_ID, Secret::new(KEY))
        .timing(options.timing)
        .http_settings(trust.clone())
        .build()
        .unwrap();
    let client = HermodClient::builder(config).clock(clock).build().unwrap();
    Env {
        pki,
        sim,
        receiver,
        receiver_front,
        tracker,
        client,
        trust,
    }
}

/// Stores the command as tracked, then returns the future of its outcome
/// (no caller deadline).
pub async fn track(
    tracker: &Tracker,
    command: hermod_client::TrackedCommand,
) -> impl std::future::Future<Output = hermod_client::Outcome> + Send + 'static {
    tracker.register(command.clone()).await.unwrap();
    let pending = tracker.track(command, &hermod_client::WaitOptions::new());
    async move {
        match pending.await {
            Ok(outcome) => outcome,
            Err(e) => panic!("no deadline was set, yet: {e}"),
        }
    }
}
