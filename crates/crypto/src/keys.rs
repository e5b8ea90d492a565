//! Key pairs and key files.

use std::fs;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::{Signer, SigningKey};
use rand::rngs::OsRng;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::CryptoError;

/// First line of an enclave key file.
const ENCLAVE_HEADER: &str = "verity-enclave-key-v1";
/// First line of an aggregator key file.
const AGGREGATOR_HEADER: &str = "verity-aggregator-key-v1";

/// An enclave's public keys, as registered with the aggregator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKeys {
    /// Ed25519 key that verifies its reports.
    pub signing: [u8; 32],
    /// X25519 key that data keys are sealed to.
    pub encryption: [u8; 32],
}

/// An enclave's secret keys: Ed25519 to sign, X25519 to open sealed data keys.
pub struct EnclaveKeys {
    pub(crate) signing: SigningKey,
    pub(crate) kem: StaticSecret,
}

impl EnclaveKeys {
    /// Fresh random keys.
    pub fn generate() -> Self {
        EnclaveKeys {
            signing: SigningKey::generate(&mut OsRng),
            kem: StaticSecret::random_from_rng(OsRng),
        }
    }

    /// Keys from their 32-byte secrets (tests and key files).
    pub fn from_secrets(signing: [u8; 32], kem: [u8; 32]) -> Self {
        EnclaveKeys {
            signing: SigningKey::from_bytes(&signing),
            kem: StaticSecret::from(kem),
        }
    }

    /// Loads the key file at `path`, creating it (mode 0600) when absent.
    ///
    /// # Errors
    /// I/O errors, a file readable by group or others, or a malformed file.
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let secrets = load_or_create(path, ENCLAVE_HEADER, 2)?;
        Ok(EnclaveKeys::from_secrets(secrets[0], secrets[1]))
    }

    /// Writes the keys to `path` with mode 0600; fails if the file exists.
    ///
    /// # Errors
    /// I/O errors, including an existing file.
    pub fn save_new(&self, path: &Path) -> Result<(), CryptoError> {
        write_key_file(
            path,
            ENCLAVE_HEADER,
            &[self.signing.to_bytes(), self.kem.to_bytes()],
        )
    }

    /// The public halves.
    pub fn public(&self) -> PublicKeys {
        PublicKeys {
            signing: self.signing.verifying_key().to_bytes(),
            encryption: x25519_dalek::PublicKey::from(&self.kem).to_bytes(),
        }
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

/// The aggregator's Ed25519 key, which signs final reports.
pub struct AggregatorKey {
    pub(crate) signing: SigningKey,
}

impl AggregatorKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        AggregatorKey {
            signing: SigningKey::generate(&mut OsRng),
        }
    }

    /// Loads the key file at `path`, creating it (mode 0600) when absent.
    ///
    /// # Errors
    /// As [`EnclaveKeys::load_or_create`].
    pub fn load_or_create(path: &Path) -> Result<Self, CryptoError> {
        let secrets = load_or_create(path, AGGREGATOR_HEADER, 1)?;
        Ok(AggregatorKey {
            signing: SigningKey::from_bytes(&secrets[0]),
        })
    }

    /// The public key.
    pub fn public(&self) -> [u8; 32] {
        self.signing.verifying_key().to_bytes()
    }

    /// Signs arbitrary bytes (callers add their own domain separation).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

fn load_or_create(path: &Path, header: &str, count: usize) -> Result<Vec<[u8; 32]>, CryptoError> {
    if path.exists() {
        return read_key_file(path, header, count);
    }
    let secrets: Vec<[u8; 32]> = (0..count)
        .map(|_| {
            let mut s = [0u8; 32];
            rand::RngCore::fill_bytes(&mut OsRng, &mut s);
            s
        })
        .collect();
    match write_key_file(path, header, &secrets) {
        Ok(()) => Ok(secrets),
        // Another process created it first: use theirs.
        Err(CryptoError::KeyFile { source, .. })
            if source.kind() == std::io::ErrorKind::AlreadyExists =>
        {
            read_key_file(path, header, count)
        }
        Err(e) => Err(e),
    }
}

fn write_key_file(path: &Path, header: &str, secrets: &[[u8; 32]]) -> Result<(), CryptoError> {
    let io = |source| CryptoError::KeyFile {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(io)?;
    }
    let mut text = Zeroizing::new(format!("{header}\n"));
    for s in secrets {
        text.push_str(&hex::encode(s));
        text.push('\n');
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

fn read_key_file(path: &Path, header: &str, count: usize) -> Result<Vec<[u8; 32]>, CryptoError> {
    let bad = |reason: &str| CryptoError::BadKeyFile {
        path: path.display().to_string(),
        reason: reason.to_owned(),
    };
    check_permissions(path)?;
    let text = Zeroizing::new(
        fs::read_to_string(path).map_err(|source| CryptoError::KeyFile {
            path: path.display().to_string(),
            source,
        })?,
    );
    let mut lines = text.lines();
    if lines.next() != Some(header) {
        return Err(bad(&format!("first line must be {header}")));
    }
    let secrets: Vec<[u8; 32]> = lines
        .take(count)
        .map(|l| {
            let mut s = [0u8; 32];
            hex::decode_to_slice(l.trim(), &mut s).map(|()| s)
        })
        .collect::<Result<_, _>>()
        .map_err(|_| bad("secret lines must be 64 hex characters"))?;
    if secrets.len() != count {
        return Err(bad("too few secret lines"));
    }
    Ok(secrets)
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), CryptoError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(path).map_err(|source| CryptoError::KeyFile {
        path: path.display().to_string(),
        source,
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(CryptoError::BadKeyFile {
            path: path.display().to_string(),
            reason: format!(
                "readable by group or others (mode {:o}); run chmod 600",
                meta.permissions().mode() & 0o777
            ),
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path) -> Result<(), CryptoError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_persist_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/enclave-1.key");
        let a = EnclaveKeys::load_or_create(&path).unwrap();
        let b = EnclaveKeys::load_or_create(&path).unwrap();
        assert_eq!(a.public(), b.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                EnclaveKeys::load_or_create(&path),
                Err(CryptoError::BadKeyFile { .. })
            ));
        }
    }

    #[test]
    fn malformed_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agg.key");
        write_key_file(&path, "something-else", &[[1; 32]]).unwrap();
        assert!(matches!(
            AggregatorKey::load_or_create(&path),
            Err(CryptoError::BadKeyFile { .. })
        ));
    }
}
