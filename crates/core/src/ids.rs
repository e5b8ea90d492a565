//! Identifiers: jobs, enclaves and media digests.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// A job id must be `job_` followed by a 26-character ULID.
    #[error("job id must look like job_<26 ULID characters>, got {0:?}")]
    BadJobId(String),
    /// An enclave id is 1–64 characters of `[A-Za-z0-9_.-]`.
    #[error("enclave id must be 1-64 characters of [A-Za-z0-9_.-], got {0:?}")]
    BadEnclaveId(String),
    /// A digest is 64 lowercase or uppercase hex characters.
    #[error("a SHA-256 digest is 64 hex characters, got {0:?}")]
    BadDigest(String),
}

/// A verification job, `job_` + ULID (time-ordered, unguessable enough to share).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(String);

impl JobId {
    /// A fresh id for a job created now.
    pub fn generate() -> Self {
        JobId(format!(
            "job_{}",
            ulid::Ulid::new().to_string().to_lowercase()
        ))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for JobId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("job_")
            .ok_or_else(|| IdError::BadJobId(truncate(s)))?;
        if rest.len() == 26 && ulid::Ulid::from_string(rest).is_ok() {
            Ok(JobId(s.to_ascii_lowercase()))
        } else {
            Err(IdError::BadJobId(truncate(s)))
        }
    }
}

/// An enclave (oracle) identity, chosen by its operator.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnclaveId(String);

impl EnclaveId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for EnclaveId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if ok {
            Ok(EnclaveId(s.to_owned()))
        } else {
            Err(IdError::BadEnclaveId(truncate(s)))
        }
    }
}

/// A SHA-256 digest, shown as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Sha256Digest(Sha256::digest(bytes).into())
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256Digest({})", self.to_hex())
    }
}

impl FromStr for Sha256Digest {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| IdError::BadDigest(truncate(s)))?;
        Ok(Sha256Digest(out))
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

macro_rules! text_id {
    ($ty:ty, $to_string:expr) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let text: String = $to_string(self);
                f.write_str(&text)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

text_id!(JobId, |id: &JobId| id.0.clone());
text_id!(EnclaveId, |id: &EnclaveId| id.0.clone());
text_id!(Sha256Digest, |d: &Sha256Digest| d.to_hex());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_round_trip_and_reject_garbage() {
        let id = JobId::generate();
        assert_eq!(id.as_str().parse::<JobId>().unwrap(), id);
        for bad in [
            "",
            "job_",
            "job_123",
            "xyz_01hzzzzzzzzzzzzzzzzzzzzzzz",
            "../etc/passwd",
        ] {
            assert!(bad.parse::<JobId>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn enclave_ids_are_restricted() {
        assert!("enclave-1".parse::<EnclaveId>().is_ok());
        assert!("".parse::<EnclaveId>().is_err());
        assert!("a b".parse::<EnclaveId>().is_err());
        assert!("x".repeat(65).parse::<EnclaveId>().is_err());
    }

    #[test]
    fn digest_matches_known_vector() {
        assert_eq!(
            Sha256Digest::of(b"abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
