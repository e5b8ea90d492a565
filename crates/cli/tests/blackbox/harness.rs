//! Starting, killing and talking to a real `verity serve`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;

/// How long any single wait in these tests may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A `verity serve` child process on a free port.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The data directory (kept across restarts).
    pub data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    env: Vec<(String, String)>,
    addr: String,
}

/// Options for [`Server::start`].
#[derive(Default, Clone)]
pub struct Options {
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
}

impl Options {
    /// Adds `key=value` to the server's environment.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.into(), value.into()));
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
    /// Starts a server with a fresh temporary data directory.
    pub async fn start(options: Options) -> Server {
        let temp = tempfile::tempdir().unwrap();
        let data_dir = temp.path().to_owned();
        let addr = format!("127.0.0.1:{}", free_port());
        let mut server = Server {
            child: None,
            base: format!("http://{addr}"),
            data_dir,
            _temp: Some(temp),
            env: options.env,
            addr,
        };
        server.spawn().await;
        server
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.join("server.log"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_verity"));
        cmd.arg("serve")
            .env("VERITY_ADDR", &self.addr)
            .env("VERITY_DATA_DIR", &self.data_dir)
            .env("VERITY_ROUND_TIMEOUT", "20s")
            .env("RUST_LOG", "info,tower_http=warn,sqlx=warn")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("the verity binary starts"));
        self.wait_healthy().await;
    }

    async fn wait_healthy(&mut self) {
        let start = Instant::now();
        let url = format!("{}/health", self.base);
        while start.elapsed() < DEADLINE {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
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

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }

    /// SIGKILL, no goodbye.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Starts again on the same port and data directory, with `env` added.
    pub async fn restart_with(&mut self, env: &[(&str, &str)]) {
        self.kill9();
        for (k, v) in env {
            self.env.push(((*k).into(), (*v).into()));
        }
        self.spawn().await;
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
