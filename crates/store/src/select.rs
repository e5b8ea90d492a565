//! Choosing adapters by URL (`VERITY_DB`, `VERITY_QUEUE`, `VERITY_BLOBS`).
//!
//! | setting | URLs |
//! |---|---|
//! | database | `sqlite://PATH` (default), `postgres://…` / `postgresql://…` |
//! | queue | `sqlite://` (the SQLite database's own, default), `redis://…` / `rediss://…`, `postgres://…` |
//! | blobs | `file://DIR` (default), `s3://BUCKET/PREFIX`, `walrus+https://PUBLISHER?aggregator=URL&epochs=N[&max_bytes=B]` |
//!
//! Parsing never touches the network; opening connects, migrates and pings,
//! so an unreachable service fails start-up instead of the first request.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::postgres::{PgDb, PgQueue, PgRepository};
use crate::redis_queue::RedisQueue;
use crate::s3::S3BlobStore;
use crate::walrus::{WalrusBlobStore, WalrusConfig};
use crate::{
    BlobStore, FileBlobStore, JobQueue, QueuePolicy, Repository, SqliteDb, SqliteQueue,
    SqliteRepository, StoreError,
};

/// How long opening waits for a service before failing start-up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the database is.
#[derive(Clone, PartialEq, Eq)]
pub enum DbUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

/// Where the queue is.
#[derive(Clone, PartialEq, Eq)]
pub enum QueueUrl {
    /// In the SQLite database.
    Sqlite,
    /// Redis Streams at this URL.
    Redis(String),
    /// A PostgreSQL database at this URL.
    Postgres(String),
}

/// Where blobs are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobUrl {
    /// A local directory.
    File(PathBuf),
    /// An S3 bucket and key prefix.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Key prefix (may be empty).
        prefix: String,
    },
    /// Walrus publisher and aggregator.
    Walrus(WalrusConfig),
}

fn split(url: &str) -> Result<(&str, &str), String> {
    // Not echoed: a mistyped URL may still hold a password.
    url.split_once("://")
        .ok_or_else(|| "the value is not a URL (scheme://…)".to_owned())
}

/// Query parameters whose values are secrets (`postgres://…?password=…`).
const SECRET_PARAMS: [&str; 4] = ["pass", "secret", "token", "key"];

/// `url` with its password (and any secret-looking query value) replaced by
/// `***`, for logs and `Debug` output.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => {
            let (userinfo, host) = (&authority[..at], &authority[at + 1..]);
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{user}:***@{host}"),
                // A lone userinfo can be a token (`redis://TOKEN@host`).
                None => format!("***@{host}"),
            }
        }
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = query
                .split_once('#')
                .map_or((query, None), |(q, f)| (q, Some(f)));
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _))
                        if SECRET_PARAMS
                            .iter()
                            .any(|s| k.to_ascii_lowercase().contains(s)) =>
                    {
                        format!("{k}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            format!("{path}?{}{fragment}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DbUrl::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            DbUrl::Postgres(url) => f.debug_tuple("Postgres").field(&redact_url(url)).finish(),
        }
    }
}

impl std::fmt::Debug for QueueUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueueUrl::Sqlite => f.write_str("Sqlite"),
            QueueUrl::Redis(url) => f.debug_tuple("Redis").field(&redact_url(url)).finish(),
            QueueUrl::Postgres(url) => f.debug_tuple("Postgres").field(&redact_url(url)).finish(),
        }
    }
}

fn path_or(rest: &str, default: &Path) -> PathBuf {
    if rest.is_empty() {
        default.to_owned()
    } else {
        PathBuf::from(rest)
    }
}

impl DbUrl {
    /// Parses `url`; `None` or empty means SQLite at `default`.
    ///
    /// # Errors
    /// A message for an unknown scheme or malformed URL.
    pub fn parse(url: Option<&str>, default: &Path) -> Result<Self, String> {
        let Some(url) = url.filter(|u| !u.is_empty()) else {
            return Ok(DbUrl::Sqlite(default.to_owned()));
        };
        match split(url)? {
            ("sqlite", rest) => Ok(DbUrl::Sqlite(path_or(rest, default))),
            ("postgres" | "postgresql", _) => Ok(DbUrl::Postgres(url.to_owned())),
            (scheme, _) => Err(format!(
                "the scheme {scheme}:// is not supported (use sqlite://PATH or postgres://…)"
            )),
        }
    }
}

impl QueueUrl {
    /// Parses `url`; `None` or empty means the SQLite database's queue.
    ///
    /// # Errors
    /// A message for an unknown scheme or malformed URL.
    pub fn parse(url: Option<&str>) -> Result<Self, String> {
        let Some(url) = url.filter(|u| !u.is_empty()) else {
            return Ok(QueueUrl::Sqlite);
        };
        match split(url)? {
            ("sqlite", _) => Ok(QueueUrl::Sqlite),
            ("redis" | "rediss", _) => Ok(QueueUrl::Redis(url.to_owned())),
            ("postgres" | "postgresql", _) => Ok(QueueUrl::Postgres(url.to_owned())),
            (scheme, _) => Err(format!(
                "the scheme {scheme}:// is not supported (use sqlite://, redis://… or postgres://…)"
            )),
        }
    }
}

impl BlobUrl {
    /// Parses `url`; `None` or empty means files under `default`.
    ///
    /// # Errors
    /// A message for an unknown scheme or malformed URL.
    pub fn parse(url: Option<&str>, default: &Path) -> Result<Self, String> {
        let Some(url) = url.filter(|u| !u.is_empty()) else {
            return Ok(BlobUrl::File(default.to_owned()));
        };
        match split(url)? {
            ("file", rest) => Ok(BlobUrl::File(path_or(rest, default))),
            ("s3", rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err("s3:// needs a bucket: s3://BUCKET/PREFIX".into());
                }
                Ok(BlobUrl::S3 {
                    bucket: bucket.to_owned(),
                    prefix: prefix.trim_matches('/').to_owned(),
                })
            }
            ("walrus+https" | "walrus+http", _) => parse_walrus(url).map(BlobUrl::Walrus),
            (scheme, _) => Err(format!(
                "the scheme {scheme}:// is not supported (use file://DIR, s3://BUCKET/PREFIX or walrus+https://…)"
            )),
        }
    }

    /// The provider name the store reports.
    pub fn provider(&self) -> &'static str {
        match self {
            BlobUrl::File(_) => "local",
            BlobUrl::S3 { .. } => "s3",
            BlobUrl::Walrus(_) => "walrus",
        }
    }
}

fn parse_walrus(url: &str) -> Result<WalrusConfig, String> {
    let parsed = url::Url::parse(url.strip_prefix("walrus+").unwrap_or(url))
        .map_err(|e| format!("{url:?}: {e}"))?;
    let mut publisher = parsed.clone();
    publisher.set_query(None);
    let mut aggregator = None;
    let mut config = WalrusConfig::new(publisher.as_str(), "");
    for (k, v) in parsed.query_pairs() {
        match &*k {
            "aggregator" => aggregator = Some(v.into_owned()),
            "epochs" => {
                config.epochs = v
                    .parse()
                    .ok()
                    .filter(|e| *e > 0)
                    .ok_or_else(|| format!("epochs={v} is not a positive number"))?
            }
            "max_bytes" => {
                config.max_bytes = v
                    .parse()
                    .ok()
                    .filter(|b| *b > 0)
                    .ok_or_else(|| format!("max_bytes={v} is not a positive number"))?
            }
            other => {
                return Err(format!(
                    "unknown parameter {other:?} (aggregator, epochs, max_bytes)"
                ));
            }
        }
    }
    let aggregator = aggregator.ok_or("walrus needs ?aggregator=URL of an aggregator")?;
    url::Url::parse(&aggregator).map_err(|e| format!("aggregator={aggregator}: {e}"))?;
    config.aggregator = aggregator.trim_end_matches('/').to_owned();
    Ok(config)
}

/// An opened database: the repository and, for SQLite, the database its queue shares.
pub struct OpenedDb {
    /// The repository.
    pub repo: Arc<dyn Repository>,
    /// Verified enclave attestations.
    pub attestations: Arc<dyn crate::AttestationStore>,
    /// The SQLite database (for its queue and for closing).
    pub sqlite: Option<SqliteDb>,
    /// The PostgreSQL pool (for closing).
    pub postgres: Option<PgDb>,
}

impl OpenedDb {
    /// Closes the pools.
    pub async fn close(&self) {
        if let Some(db) = &self.sqlite {
            db.close().await;
        }
        if let Some(db) = &self.postgres {
            db.close().await;
        }
    }
}

/// Opens (and migrates) the database.
///
/// # Errors
/// The database cannot be opened, reached or migrated.
pub async fn open_db(url: &DbUrl, sqlite_full_sync: bool) -> crate::Result<OpenedDb> {
    match url {
        DbUrl::Sqlite(path) => {
            let db = SqliteDb::open(path, sqlite_full_sync).await?;
            Ok(OpenedDb {
                repo: Arc::new(SqliteRepository::new(db.clone())),
                attestations: Arc::new(crate::SqliteAttestations::new(db.clone())),
                sqlite: Some(db),
                postgres: None,
            })
        }
        DbUrl::Postgres(url) => {
            let db = PgDb::connect(url, 16, CONNECT_TIMEOUT).await?;
            Ok(OpenedDb {
                repo: Arc::new(PgRepository::new(db.clone())),
                attestations: Arc::new(crate::PgAttestations::new(db.clone())),
                sqlite: None,
                postgres: Some(db),
            })
        }
    }
}

/// Opens the queue; the SQLite queue needs the SQLite database.
///
/// # Errors
/// The service cannot be reached, or `sqlite://` without a SQLite database.
pub async fn open_queue(
    url: &QueueUrl,
    policy: QueuePolicy,
    sqlite: Option<&SqliteDb>,
) -> crate::Result<Arc<dyn JobQueue>> {
    let queue: Arc<dyn JobQueue> = match url {
        QueueUrl::Sqlite => {
            let db = sqlite.ok_or_else(|| {
                StoreError::Invalid(
                    "the SQLite queue lives in the SQLite database; with another database \
                     choose redis://… or postgres://…"
                        .into(),
                )
            })?;
            Arc::new(SqliteQueue::new(db.clone(), policy))
        }
        QueueUrl::Redis(url) => {
            let (url, prefix) = redis_prefix(url)?;
            Arc::new(RedisQueue::connect(&url, &prefix, policy, CONNECT_TIMEOUT).await?)
        }
        QueueUrl::Postgres(url) => {
            let db = PgDb::connect(url, 16, CONNECT_TIMEOUT).await?;
            Arc::new(PgQueue::new(db, policy))
        }
    };
    Ok(queue)
}

/// Splits the optional `prefix` parameter (key namespace, default `verity`)
/// off a Redis URL.
fn redis_prefix(url: &str) -> crate::Result<(String, String)> {
    let mut parsed =
        url::Url::parse(url).map_err(|e| StoreError::Invalid(format!("redis URL: {e}")))?;
    let mut prefix = "verity".to_owned();
    let rest: Vec<(String, String)> = parsed
        .query_pairs()
        .filter_map(|(k, v)| {
            if k == "prefix" {
                prefix = v.into_owned();
                None
            } else {
                Some((k.into_owned(), v.into_owned()))
            }
        })
        .collect();
    if prefix.is_empty()
        || !prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
    {
        return Err(StoreError::Invalid(format!(
            "redis prefix {prefix:?}: letters, digits, _ - . only"
        )));
    }
    parsed.set_query(None);
    if !rest.is_empty() {
        parsed.query_pairs_mut().extend_pairs(rest);
    }
    Ok((parsed.to_string(), prefix))
}

/// Opens the blob store and checks it answers.
///
/// # Errors
/// Bad configuration or an unreachable store.
pub async fn open_blobs(url: &BlobUrl, sync_files: bool) -> crate::Result<Arc<dyn BlobStore>> {
    let store: Arc<dyn BlobStore> = match url {
        BlobUrl::File(dir) => Arc::new(FileBlobStore::new(dir, sync_files)),
        BlobUrl::S3 { bucket, prefix } => Arc::new(S3BlobStore::from_env(bucket, prefix)?),
        BlobUrl::Walrus(config) => Arc::new(WalrusBlobStore::new(config.clone())?),
    };
    tokio::time::timeout(CONNECT_TIMEOUT * 2, store.ping())
        .await
        .map_err(|_| StoreError::Unavailable("no answer in time".into()))??;
    Ok(store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_defaults_and_clear_errors() {
        let d = Path::new("/data/verity.db");
        assert_eq!(DbUrl::parse(None, d).unwrap(), DbUrl::Sqlite(d.into()));
        assert_eq!(
            DbUrl::parse(Some("sqlite://"), d).unwrap(),
            DbUrl::Sqlite(d.into())
        );
        assert!(matches!(
            DbUrl::parse(Some("postgres://u@h/db"), d).unwrap(),
            DbUrl::Postgres(_)
        ));
        assert!(
            DbUrl::parse(Some("mysql://x"), d)
                .unwrap_err()
                .contains("mysql://")
        );
        assert!(
            DbUrl::parse(Some("nope"), d)
                .unwrap_err()
                .contains("not a URL")
        );
        assert_eq!(QueueUrl::parse(None).unwrap(), QueueUrl::Sqlite);
        assert!(matches!(
            QueueUrl::parse(Some("redis://127.0.0.1:6379")).unwrap(),
            QueueUrl::Redis(_)
        ));
        assert!(QueueUrl::parse(Some("amqp://x")).is_err());
        assert_eq!(
            BlobUrl::parse(Some("s3://bucket/a/b/"), d).unwrap(),
            BlobUrl::S3 {
                bucket: "bucket".into(),
                prefix: "a/b".into()
            }
        );
        let BlobUrl::Walrus(w) = BlobUrl::parse(
            Some("walrus+https://pub.example/?aggregator=https://agg.example/&epochs=5"),
            d,
        )
        .unwrap() else {
            panic!("walrus")
        };
        assert_eq!(
            (
                w.publisher.as_str(),
                w.aggregator.as_str(),
                w.epochs,
                w.max_bytes
            ),
            (
                "https://pub.example",
                "https://agg.example",
                5,
                10 * 1024 * 1024
            )
        );
        assert!(
            BlobUrl::parse(Some("walrus+https://pub.example"), d)
                .unwrap_err()
                .contains("aggregator")
        );
        assert!(BlobUrl::parse(Some("walrus+https://p?aggregator=http://a&epochs=0"), d).is_err());
        assert!(BlobUrl::parse(Some("ftp://x"), d).is_err());
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        let d = Path::new("/data/verity.db");
        let db = DbUrl::parse(
            Some("postgres://verity:hunter2-pw@db.internal:5432/verity"),
            d,
        )
        .unwrap();
        let shown = format!("{db:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("verity:***@db.internal:5432/verity"),
            "{shown}"
        );
        let queue = QueueUrl::parse(Some("redis://:s3cret-token@cache:6379/0")).unwrap();
        let shown = format!("{queue:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains(":***@cache:6379/0"), "{shown}");
        let pg_queue = QueueUrl::parse(Some(
            "postgresql://h/db?user=v&password=hunter2-pw&sslmode=require",
        ))
        .unwrap();
        let shown = format!("{pg_queue:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("user=v&password=***&sslmode=require"),
            "{shown}"
        );
        assert_eq!(redact_url("redis://tok3n@h:1"), "redis://***@h:1");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
        // A value that is not a URL is neither echoed in errors nor in Debug.
        let err = DbUrl::parse(Some("postgres:verity:hunter2-pw@h"), d).unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(redact_url("verity:hunter2-pw@h"), "***");
    }
}
