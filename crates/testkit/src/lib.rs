//! Services for Verity's test suites, each started or created per test.
//!
//! - [`PgTestDb`] — a fresh database (dropped after the test) on the PostgreSQL at
//!   `VERITY_TEST_PG` (default `postgres://postgres@127.0.0.1:5432`).
//! - [`redis_url`] — the Redis at `VERITY_TEST_REDIS` (default
//!   `redis://127.0.0.1:6379`) with a unique key prefix; [`RedisServer`]: a
//!   `redis-server` of the test's own (for restarts).
//! - [`Moto`] — a `moto_server` (S3) on a free port with a bucket.
//! - [`WalrusServer`] — `scripts/node/walrus-test-server.mjs`.
//!
//! When a service is missing, [`unavailable`] prints why and the test
//! returns early, unless `VERITY_REQUIRE_SERVICES=1` (CI), where it panics.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether missing services fail tests (`VERITY_REQUIRE_SERVICES=1`).
pub fn required() -> bool {
    std::env::var("VERITY_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

/// Reports a missing service: panics when services are required, else prints
/// a skip notice. Returns `None` so callers can `?`/`let else` out.
pub fn unavailable<T>(what: &str) -> Option<T> {
    if required() {
        panic!("required service unavailable (VERITY_REQUIRE_SERVICES=1): {what}");
    }
    eprintln!("SKIPPED: {what} (set VERITY_REQUIRE_SERVICES=1 to fail instead)");
    None
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A short random name part.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{:016x}", rand::random::<u64>())
}

/// The repository root (for scripts).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The server the test databases are created on.
pub fn postgres_server() -> String {
    std::env::var("VERITY_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A fresh, empty PostgreSQL database, dropped (connections and all) on drop.
pub struct PgTestDb {
    /// Its URL.
    pub url: String,
    name: String,
}

impl PgTestDb {
    /// Creates one, or `None` (skip) when PostgreSQL is unreachable.
    pub async fn create() -> Option<PgTestDb> {
        use sqlx::Connection;
        let server = postgres_server();
        let admin = format!("{server}/postgres");
        let connect =
            tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&admin));
        let mut conn = match connect.await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return unavailable(&format!("PostgreSQL at {server}: {e}")),
            Err(_) => return unavailable(&format!("PostgreSQL at {server}: no answer")),
        };
        let name = unique("verity_test");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("CREATE DATABASE");
        Some(PgTestDb {
            url: format!("{server}/{name}"),
            name,
        })
    }
}

impl Drop for PgTestDb {
    fn drop(&mut self) {
        // Drop may run inside a runtime: use a thread with its own.
        let (server, name) = (postgres_server(), self.name.clone());
        let _ = std::thread::spawn(move || {
            use sqlx::Connection;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) =
                    sqlx::PgConnection::connect(&format!("{server}/postgres")).await
                {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// The shared Redis URL with a unique `prefix` parameter, or `None` (skip).
pub async fn redis_url() -> Option<String> {
    let base =
        std::env::var("VERITY_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let host = base
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned();
    match tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(&host),
    )
    .await
    {
        Ok(Ok(_)) => Some(format!("{base}/?prefix={}", unique("t"))),
        _ => unavailable(&format!("Redis at {base}")),
    }
}

/// Kills the child on drop.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early with {status}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{what} did not listen on {port} within 30 s");
}

/// A `redis-server` of the test's own, with append-only persistence.
pub struct RedisServer {
    child: Option<Guard>,
    /// Its port.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts one, or `None` (skip) when `redis-server` is not installed.
    pub fn start() -> Option<RedisServer> {
        let dir = tempfile::tempdir().unwrap();
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            dir,
        };
        if !server.spawn() {
            return unavailable("redis-server binary");
        }
        Some(server)
    }

    fn spawn(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = child else { return false };
        wait_for_port(self.port, &mut child, "redis-server");
        self.child = Some(Guard(child));
        true
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server (SIGKILL: only the append-only file survives).
    pub fn stop(&mut self) {
        self.child = None;
    }

    /// Starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.stop();
        assert!(self.spawn(), "redis-server restarts");
    }
}

/// A `moto_server` (a local S3) with one bucket.
pub struct Moto {
    _child: Guard,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The bucket created for the test.
    pub bucket: String,
}

impl Moto {
    /// Starts one, or `None` (skip) when `moto_server` is not installed.
    pub async fn start() -> Option<Moto> {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            return unavailable("moto_server (pip install 'moto[server]')");
        };
        wait_for_port(port, &mut child, "moto_server");
        let endpoint = format!("http://127.0.0.1:{port}");
        let bucket = unique("verity").replace('_', "-");
        let created = reqwest::Client::new()
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .expect("moto answers");
        assert!(
            created.status().is_success(),
            "bucket created: {}",
            created.status()
        );
        Some(Moto {
            _child: Guard(child),
            endpoint,
            bucket,
        })
    }

    /// The AWS variables a Verity process needs to use this server.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ALLOW_HTTP", "true"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }
}

/// The local Walrus publisher + aggregator (`scripts/node/walrus-test-server.mjs`).
pub struct WalrusServer {
    _child: Guard,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl WalrusServer {
    /// Starts one with `extra` arguments (`--max-bytes N`, `--not-yet-reads N`),
    /// or `None` (skip) without node or its packages (`npm ci` in scripts/node).
    pub fn start(extra: &[&str]) -> Option<WalrusServer> {
        let dir = repo_root().join("scripts/node");
        if !dir.join("node_modules/@mysten/walrus-wasm").exists() {
            return unavailable("scripts/node/node_modules (run npm ci in scripts/node)");
        }
        let child = Command::new("node")
            .arg(dir.join("walrus-test-server.mjs"))
            .args(["--port", "0"])
            .args(extra)
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn();
        let Ok(mut child) = child else {
            return unavailable("node");
        };
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line
            .trim()
            .strip_prefix("listening ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("walrus test server said {line:?}"));
        Some(WalrusServer {
            _child: Guard(child),
            base: format!("http://127.0.0.1:{port}"),
        })
    }

    /// `walrus+http://…?aggregator=…&epochs=N`.
    pub fn url(&self, epochs: u32) -> String {
        format!(
            "walrus+{}/?aggregator={}&epochs={epochs}",
            self.base, self.base
        )
    }
}
