//! The anchoring key file.
//!
//! One line, either the Base64 of `0x00 || 32-byte seed` (an entry of
//! `~/.sui/sui_config/sui.keystore`, or `sui keytool convert` output's
//! `base64WithFlag`) or 64 hex digits of the seed. Only Ed25519 keys.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sui_crypto::ed25519::Ed25519PrivateKey;

use crate::AnchorError;

/// Parses a key in the file format above.
///
/// # Errors
/// [`AnchorError::Key`] when it is neither format or not an Ed25519 key.
pub fn parse_key(text: &str) -> Result<Ed25519PrivateKey, AnchorError> {
    let text = text.trim();
    if text.len() == 64
        && let Ok(seed) = hex::decode(text)
    {
        let seed: [u8; 32] = seed.try_into().expect("64 hex digits are 32 bytes");
        return Ok(Ed25519PrivateKey::new(seed));
    }
    let bytes = B64.decode(text).map_err(|_| {
        AnchorError::Key("expected Base64 of flag||seed (sui.keystore) or 64 hex digits".into())
    })?;
    match bytes.split_first() {
        Some((0x00, seed)) if seed.len() == 32 => {
            let seed: [u8; 32] = seed.try_into().expect("checked length");
            Ok(Ed25519PrivateKey::new(seed))
        }
        Some((flag, rest)) if rest.len() == 32 => Err(AnchorError::Key(format!(
            "signature scheme flag {flag:#04x} is not Ed25519 (0x00)"
        ))),
        _ => Err(AnchorError::Key(format!(
            "expected 33 bytes (flag || seed), got {}",
            bytes.len()
        ))),
    }
}

/// Reads the key file at `path`, refusing one readable by group or others.
///
/// # Errors
/// [`AnchorError::Key`] naming the file.
pub fn load_key(path: &Path) -> Result<Ed25519PrivateKey, AnchorError> {
    let shown = path.display();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| AnchorError::Key(format!("{shown}: {e}")))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(AnchorError::Key(format!(
                "{shown} is readable by group or others (chmod 600 it)"
            )));
        }
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| AnchorError::Key(format!("{shown}: {e}")))?;
    parse_key(&text).map_err(|e| match e {
        AnchorError::Key(m) => AnchorError::Key(format!("{shown}: {m}")),
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_give_the_same_key() {
        let seed = [7u8; 32];
        let mut flagged = vec![0u8];
        flagged.extend_from_slice(&seed);
        let a = parse_key(&B64.encode(&flagged)).unwrap();
        let b = parse_key(&hex::encode(seed)).unwrap();
        assert_eq!(a.public_key(), b.public_key());
    }

    #[test]
    fn other_schemes_and_garbage_are_refused() {
        let mut secp = vec![1u8];
        secp.extend_from_slice(&[7u8; 32]);
        let err = parse_key(&B64.encode(&secp)).unwrap_err().to_string();
        assert!(err.contains("not Ed25519"), "{err}");
        assert!(parse_key("not a key").is_err());
        assert!(parse_key(&B64.encode([0u8; 10])).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sui.key");
        std::fs::write(&path, hex::encode([7u8; 32])).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_key(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(load_key(&path).is_ok());
    }
}
