//! Starting, killing and talking to a real Verity: one `verity serve`
//! process (embedded, the default), or a cluster of `verity serve --role
//! api` plus one `verity worker` per enclave on real engines, chosen with
//! `VERITY_TEST_MODE`:
//!
//! | mode | database | queue | blobs |
//! |---|---|---|---|
//! | `embedded` (default) | SQLite | SQLite | files |
//! | `pg-redis-s3` | PostgreSQL | Redis Streams | S3 (moto_server) |
//! | `pg-pgqueue-walrus` | PostgreSQL | PostgreSQL | Walrus (local test server) |
//!
//! The tests are the same in every mode. In a cluster, the enclave settings
//! tests use map onto processes: `VERITY_OFFLINE_ENCLAVES` enclaves register
//! and are then killed (registered but down, as embedded), `USE_MULTI_WORKER`,
//! `NUM_ENCLAVE_WORKERS` and `VERITY_EMBEDDED_ENCLAVES` choose how many
//! workers run, and workers read `VERITY_BYZANTINE_ENCLAVES` themselves.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;
use verity_testkit as kit;

/// How long any single wait in these tests may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Which deployment the suite runs against (`VERITY_TEST_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One process, SQLite and files.
    Embedded,
    /// API + workers on PostgreSQL, Redis Streams and S3.
    PgRedisS3,
    /// API + workers on PostgreSQL (database and queue) and Walrus.
    PgPgqueueWalrus,
}

impl Mode {
    /// The mode of this run.
    pub fn current() -> Mode {
        match std::env::var("VERITY_TEST_MODE").as_deref() {
            Err(_) | Ok("" | "embedded") => Mode::Embedded,
            Ok("pg-redis-s3") => Mode::PgRedisS3,
            Ok("pg-pgqueue-walrus") => Mode::PgPgqueueWalrus,
            Ok(other) => {
                panic!("VERITY_TEST_MODE={other:?}: use embedded, pg-redis-s3 or pg-pgqueue-walrus")
            }
        }
    }

    /// The `storageProvider` uploads report in this mode.
    pub fn provider(self) -> &'static str {
        match self {
            Mode::Embedded => "local",
            Mode::PgRedisS3 => "s3",
            Mode::PgPgqueueWalrus => "walrus",
        }
    }
}

/// The engines of a cluster; they live as long as the [`Server`].
struct Engines {
    env: Vec<(String, String)>,
    _pg: Option<kit::PgTestDb>,
    _moto: Option<kit::Moto>,
    _walrus: Option<kit::WalrusServer>,
}

impl Engines {
    /// `None` (after printing why) when an engine is missing.
    async fn start(mode: Mode, redis: Option<String>) -> Option<Engines> {
        let pg = kit::PgTestDb::create().await?;
        let mut env = vec![("VERITY_DB".to_owned(), pg.url.clone())];
        let (mut moto, mut walrus) = (None, None);
        match mode {
            Mode::Embedded => unreachable!("no engines in embedded mode"),
            Mode::PgRedisS3 => {
                let redis = match redis {
                    Some(url) => url,
                    None => kit::redis_url().await?,
                };
                env.push(("VERITY_QUEUE".into(), redis));
                let m = kit::Moto::start().await?;
                env.push(("VERITY_BLOBS".into(), format!("s3://{}/media", m.bucket)));
                env.extend(m.env());
                moto = Some(m);
            }
            Mode::PgPgqueueWalrus => {
                env.push(("VERITY_QUEUE".into(), pg.url.clone()));
                let w = kit::WalrusServer::start(&[])?;
                env.push(("VERITY_BLOBS".into(), w.url(2)));
                walrus = Some(w);
            }
        }
        Some(Engines {
            env,
            _pg: Some(pg),
            _moto: moto,
            _walrus: walrus,
        })
    }
}

/// A running Verity: one process, or an API and its workers.
pub struct Server {
    api: Option<Child>,
    workers: Vec<(String, Child)>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The data directory (kept across restarts).
    pub data_dir: PathBuf,
    /// The deployment under test.
    pub mode: Mode,
    _temp: Option<tempfile::TempDir>,
    env: Vec<(String, String)>,
    addr: String,
    engines: Option<Engines>,
}

/// Options for [`Server::start`].
#[derive(Default, Clone)]
pub struct Options {
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// A Redis URL to use instead of the shared one (`pg-redis-s3` only).
    pub redis: Option<String>,
}

impl Options {
    /// Adds `key=value` to the server's environment.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Uses the Redis at `url` (e.g. a test-owned `redis-server`).
    #[allow(dead_code)] // used by tests/faults.rs
    pub fn redis(mut self, url: &str) -> Self {
        self.redis = Some(url.into());
        self
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts Verity in the current [`Mode`] with a fresh temporary data
    /// directory. A mode asked for must have its engines: missing ones fail.
    pub async fn start(options: Options) -> Server {
        let mode = Mode::current();
        Server::start_in(mode, options)
            .await
            .unwrap_or_else(|| panic!("VERITY_TEST_MODE={mode:?} needs its engines running"))
    }

    /// Starts Verity in `mode`; `None` (skip, printed) when an engine is missing.
    pub async fn start_in(mode: Mode, options: Options) -> Option<Server> {
        let temp = tempfile::tempdir().unwrap();
        let data_dir = temp.path().to_owned();
        let addr = format!("127.0.0.1:{}", free_port());
        let engines = match mode {
            Mode::Embedded => None,
            _ => Some(Engines::start(mode, options.redis.clone()).await?),
        };
        let mut server = Server {
            api: None,
            workers: Vec::new(),
            base: format!("http://{addr}"),
            data_dir,
            mode,
            _temp: Some(temp),
            env: options.env,
            addr,
            engines,
        };
        server.spawn().await;
        Some(server)
    }

    /// The value `key` has for the processes (last setting wins).
    fn setting(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn command(&self, log: &str) -> Command {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.join(log))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_verity"));
        cmd.env("VERITY_DATA_DIR", &self.data_dir)
            .env("VERITY_ROUND_TIMEOUT", "20s")
            .env("RUST_LOG", "info,tower_http=warn,sqlx=warn")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in self.engines.iter().flat_map(|e| &e.env) {
            cmd.env(k, v);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    async fn spawn(&mut self) {
        self.spawn_api().await;
        if self.mode != Mode::Embedded {
            self.spawn_workers().await;
        }
    }

    /// The enclave ids the settings ask for, and which of them are "offline".
    fn enclaves(&self) -> (Vec<String>, Vec<String>) {
        let multi = self
            .setting("USE_MULTI_WORKER")
            .is_none_or(|v| !matches!(v, "false" | "0" | "no" | "off"));
        // More identities than a committee uses: `VERITY_EMBEDDED_ENCLAVES`,
        // one worker process each in a cluster.
        let n: u32 = if multi {
            let committee = self
                .setting("NUM_ENCLAVE_WORKERS")
                .map_or(3, |v| v.parse().unwrap());
            self.setting("VERITY_EMBEDDED_ENCLAVES")
                .map_or(committee, |v| v.parse::<u32>().unwrap().max(committee))
        } else {
            1
        };
        let offline = self
            .setting("VERITY_OFFLINE_ENCLAVES")
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        ((1..=n).map(|i| format!("enclave-{i}")).collect(), offline)
    }

    /// Starts a worker process for `enclave` with `extra` environment.
    pub fn spawn_worker(&mut self, enclave: &str, extra: &[(&str, &str)]) {
        let mut cmd = self.command(&format!("worker-{enclave}.log"));
        cmd.args(["worker", "--enclave-id", enclave, "--api", &self.base]);
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("the verity binary starts");
        self.workers.push((enclave.to_owned(), child));
    }

    async fn spawn_workers(&mut self) {
        let (enclaves, offline) = self.enclaves();
        for e in &enclaves {
            self.spawn_worker(e, &[]);
        }
        self.wait_registered(&enclaves).await;
        // Registered but down, as an embedded offline enclave.
        for e in &offline {
            self.kill_worker(e);
        }
    }

    /// Waits until `/api/oracles` lists every one of `enclaves`.
    pub async fn wait_registered(&self, enclaves: &[String]) {
        let start = Instant::now();
        loop {
            let oracles = self.oracles().await;
            let listed: Vec<&str> = oracles["oracles"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|o| o["enclaveId"].as_str())
                .collect();
            if enclaves.iter().all(|e| listed.contains(&e.as_str())) {
                return;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "enclaves {enclaves:?} not registered (have {listed:?}):\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL every worker process of `enclave`.
    pub fn kill_worker(&mut self, enclave: &str) {
        for (_, mut child) in self.workers.extract_if(.., |(e, _)| e.as_str() == enclave) {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Sends SIGTERM to every worker of `enclave` and waits for them to exit.
    #[allow(dead_code)] // used by tests/faults.rs
    pub fn terminate_worker(&mut self, enclave: &str) -> Vec<std::process::ExitStatus> {
        self.workers
            .extract_if(.., |(e, _)| e.as_str() == enclave)
            .map(|(_, mut child)| {
                let _ = Command::new("kill")
                    .args(["-TERM", &child.id().to_string()])
                    .status();
                child.wait().unwrap()
            })
            .collect()
    }

    async fn wait_healthy(&mut self) {
        let start = Instant::now();
        let url = format!("{}/health", self.base);
        while start.elapsed() < DEADLINE {
            if let Some(status) = self.api.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!(
                    "server exited with {status} before becoming healthy:\n{}",
                    self.log()
                );
            }
            let probe = client()
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if probe.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("server not healthy within {DEADLINE:?}:\n{}", self.log());
    }

    /// Every process's log so far (for failure messages).
    pub fn log(&self) -> String {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.data_dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| {
                format!(
                    "--- {} ---\n{}",
                    p.file_name().unwrap().to_string_lossy(),
                    std::fs::read_to_string(p).unwrap_or_default()
                )
            })
            .collect()
    }

    /// SIGKILL the API process (the single process when embedded).
    pub fn kill_api(&mut self) {
        if let Some(mut child) = self.api.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGKILL everything, no goodbye.
    pub fn kill9(&mut self) {
        self.kill_api();
        for (_, mut child) in self.workers.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port, data directory and engines, with `env` added.
    pub async fn restart_with(&mut self, env: &[(&str, &str)]) {
        self.kill9();
        for (k, v) in env {
            self.env.push(((*k).into(), (*v).into()));
        }
        self.spawn().await;
    }

    /// Starts the API alone again (workers keep running).
    #[allow(dead_code)] // used by tests/faults.rs
    pub async fn restart_api(&mut self) {
        self.kill_api();
        self.spawn_api().await;
    }

    async fn spawn_api(&mut self) {
        let mut api = self.command("server.log");
        api.arg("serve").env("VERITY_ADDR", &self.addr);
        if self.mode != Mode::Embedded {
            api.args(["--role", "api"]);
        }
        self.api = Some(api.spawn().expect("the verity binary starts"));
        self.wait_healthy().await;
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Uploads `bytes` as the `file` field.
    pub async fn upload(&self, bytes: Vec<u8>, name: &str) -> reqwest::Response {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        );
        client()
            .post(self.url("/api/upload"))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Uploads and returns the job id, asserting a 202.
    pub async fn upload_ok(&self, bytes: Vec<u8>, name: &str) -> String {
        let response = self.upload(bytes, name).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 202, "upload refused: {body}");
        body["jobId"].as_str().unwrap().to_owned()
    }

    /// `GET /api/jobs/:id` as JSON.
    pub async fn job(&self, job: &str) -> Value {
        client()
            .get(self.url(&format!("/api/jobs/{job}")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Polls the job until it is COMPLETED or FAILED (or the deadline passes).
    pub async fn wait_decided(&self, job: &str) -> Value {
        let start = Instant::now();
        loop {
            let body = self.job(job).await;
            if matches!(body["status"].as_str(), Some("COMPLETED" | "FAILED")) {
                return body;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "job {job} undecided after {DEADLINE:?}: {body}\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Reads the job's SSE stream to its end; returns (event, data) pairs.
    pub async fn events(&self, job: &str) -> Vec<(String, Value)> {
        let response = client()
            .get(self.url(&format!("/api/jobs/{job}/events")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut stream = eventsource_stream::Eventsource::eventsource(response.bytes_stream());
        let mut out = Vec::new();
        let read = async {
            while let Some(event) = stream.next().await {
                let event = event.unwrap();
                out.push((
                    event.event.clone(),
                    serde_json::from_str(&event.data).unwrap(),
                ));
            }
        };
        tokio::time::timeout(DEADLINE, read)
            .await
            .expect("the event stream ends when the job is decided");
        out
    }

    /// `GET /api/oracles` as JSON.
    pub async fn oracles(&self) -> Value {
        client()
            .get(self.url("/api/oracles"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        // Engines (database, S3, Walrus) go after the processes that use them.
        self.engines = None;
    }
}

/// A plain HTTP client.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(DEADLINE)
        .build()
        .unwrap()
}

/// A checked-in fixture.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// A generated image of `format` with distinct pixels (no metadata at all).
pub fn generated(format: image::ImageFormat, width: u32, height: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x as u8).wrapping_mul(seed),
            (y as u8).wrapping_add(seed),
            seed,
        ])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Asserts `response` is `status` with a JSON error carrying `code`.
pub async fn expect_error(what: &str, response: reqwest::Response, status: u16, code: &str) {
    let got = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(got.as_u16(), status, "{what}: {text}");
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: not JSON: {text}"));
    assert_eq!(body["success"], false, "{what}: {body}");
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
}
