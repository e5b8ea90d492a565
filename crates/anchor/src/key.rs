//! The anchoring key file.
//!
//! One line: a `suiprivkey1…` string (`sui keytool export`), the Base64 of
//! `0x00 || 32-byte seed` (an entry of `~/.sui/sui_config/sui.keystore`), or
//! 64 hex digits of the seed. Only Ed25519 keys. Decoding of the Sui
//! formats is `sui-crypto`'s.

use std::path::Path;

use sui_crypto::ed25519::Ed25519PrivateKey;

use crate::AnchorError;

/// Parses a key in one of the formats above.
///
/// # Errors
/// [`AnchorError::Key`] when it is none of them or not an Ed25519 key.
pub fn parse_key(text: &str) -> Result<Ed25519PrivateKey, AnchorError> {
    let text = text.trim();
    if text.starts_with("suiprivkey") {
        return Ed25519PrivateKey::from_suiprivkey(text)
            .map_err(|e| AnchorError::Key(format!("suiprivkey: {e}")));
    }
    if text.len() == 64
        && let Ok(seed) = hex::decode(text)
    {
        let seed: [u8; 32] = seed.try_into().expect("64 hex digits are 32 bytes");
        return Ok(Ed25519PrivateKey::new(seed));
    }
    Ed25519PrivateKey::from_base64(text).map_err(|e| {
        AnchorError::Key(format!(
            "expected suiprivkey1…, Base64 of flag||seed (sui.keystore) or 64 hex digits: {e}"
        ))
    })
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
    fn every_format_gives_the_same_key() {
        let seed = [7u8; 32];
        let key = Ed25519PrivateKey::new(seed);
        let bech32 = key.to_suiprivkey().unwrap();
        assert!(bech32.starts_with("suiprivkey1"));
        for text in [hex::encode(seed), key.to_base64(), bech32] {
            let parsed = parse_key(&format!("{text}\n")).unwrap();
            assert_eq!(parsed.public_key(), key.public_key(), "{text}");
        }
    }

    #[test]
    fn other_schemes_and_garbage_are_refused() {
        use base64::Engine as _;
        let mut secp = vec![1u8];
        secp.extend_from_slice(&[7u8; 32]);
        let b64 = base64::engine::general_purpose::STANDARD.encode(&secp);
        assert!(matches!(parse_key(&b64), Err(AnchorError::Key(_))));
        assert!(parse_key("not a key").is_err());
        assert!(parse_key("suiprivkey1qqqq").is_err());
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
