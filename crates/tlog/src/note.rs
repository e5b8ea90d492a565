//! C2SP `signed-note` with Ed25519 (signature type `0x01`).
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one line per
//! signature: `— NAME BASE64(KEY_ID(4) || SIGNATURE(64))`. The key id is the
//! first four bytes of `SHA-256(NAME || "\n" || 0x01 || PUBLIC_KEY)`; the
//! signature covers the text up to and including its final newline.
//! Verifier keys read `NAME+KEY_ID_HEX+BASE64(0x01 || PUBLIC_KEY)`, signer
//! keys `PRIVATE+KEY+NAME+KEY_ID_HEX+BASE64(0x01 || SEED)` (the Go
//! `golang.org/x/mod/sumdb/note` formats).
//!
//! [`NoteVerifier::open`] follows Go's `note.Open`: signatures by unknown keys
//! are reported as unverified, a bad signature by a known key is an error,
//! and a note with no signature by a known key is refused.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::TlogError;

/// The Ed25519 signature type byte.
pub const ALG_ED25519: u8 = 0x01;
/// At most this many signature lines are read (as Go does).
const MAX_SIGNATURES: usize = 100;

/// The key id of `name` with Ed25519 `public_key`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Whether `name` may name a key: non-empty, no whitespace, no `+`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// A key that verifies note signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

/// A key that signs notes.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({}+{:08x})", self.name, self.key_id)
    }
}

/// A note whose signatures were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    /// The signed text, ending in a newline.
    pub text: String,
    /// `NAME+KEYID` of each verified signature, in note order.
    pub verified: Vec<String>,
    /// `NAME+KEYID` of each signature by a key that was not given.
    pub unverified: Vec<String>,
}

fn malformed_key(why: &str) -> TlogError {
    TlogError::MalformedKey(why.into())
}

impl NoteVerifier {
    /// A verifier for `name` with an Ed25519 public key.
    ///
    /// # Errors
    /// [`TlogError::MalformedKey`] for an invalid name or key.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<Self, TlogError> {
        if !is_valid_name(name) {
            return Err(malformed_key("invalid key name"));
        }
        let key = VerifyingKey::from_bytes(&public_key)
            .map_err(|_| malformed_key("not an Ed25519 public key"))?;
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id: key_id(name, &public_key),
            key,
        })
    }

    /// Parses `NAME+KEYID+BASE64(0x01 || KEY)`.
    ///
    /// # Errors
    /// [`TlogError::MalformedKey`] when any part is wrong, including a key id
    /// that does not match the name and key.
    pub fn parse(vkey: &str) -> Result<Self, TlogError> {
        let vkey = vkey.trim();
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed_key("expected NAME+KEYID+KEY"));
        };
        let id = parse_key_id(id)?;
        let raw = B64
            .decode(b64)
            .map_err(|_| malformed_key("key is not base64"))?;
        let Some((&ALG_ED25519, public)) = raw.split_first() else {
            return Err(malformed_key("unknown signature algorithm"));
        };
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| malformed_key("Ed25519 key is not 32 bytes"))?;
        let verifier = NoteVerifier::new(name, public)?;
        if verifier.key_id != id {
            return Err(malformed_key("key id does not match the name and key"));
        }
        Ok(verifier)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// `NAME+KEYID+BASE64(0x01 || KEY)`.
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, B64.encode(raw))
    }

    /// Opens `note` with this key alone (see [`open`]).
    ///
    /// # Errors
    /// As [`open`].
    pub fn open(&self, note: &str) -> Result<OpenedNote, TlogError> {
        open(note, std::slice::from_ref(self))
    }
}

fn parse_key_id(id: &str) -> Result<u32, TlogError> {
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed_key("key id is not 8 hex digits"));
    }
    u32::from_str_radix(id, 16).map_err(|_| malformed_key("key id is not hex"))
}

impl NoteSigner {
    /// A signer for `name` with a 32-byte Ed25519 seed.
    ///
    /// # Errors
    /// [`TlogError::MalformedKey`] for an invalid name.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, TlogError> {
        if !is_valid_name(name) {
            return Err(malformed_key("invalid key name"));
        }
        let key = SigningKey::from_bytes(&seed);
        Ok(NoteSigner {
            name: name.to_owned(),
            key_id: key_id(name, key.verifying_key().as_bytes()),
            key,
        })
    }

    /// A fresh random signer for `name`.
    ///
    /// # Errors
    /// [`TlogError::MalformedKey`] for an invalid name.
    pub fn generate(name: &str) -> Result<Self, TlogError> {
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        NoteSigner::from_seed(name, seed)
    }

    /// Parses `PRIVATE+KEY+NAME+KEYID+BASE64(0x01 || SEED)`.
    ///
    /// # Errors
    /// [`TlogError::MalformedKey`] when any part is wrong.
    pub fn parse(skey: &str) -> Result<Self, TlogError> {
        let rest = skey
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| malformed_key("expected PRIVATE+KEY+NAME+KEYID+KEY"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(malformed_key("expected PRIVATE+KEY+NAME+KEYID+KEY"));
        };
        let id = parse_key_id(id)?;
        let raw = B64
            .decode(b64)
            .map_err(|_| malformed_key("key is not base64"))?;
        let Some((&ALG_ED25519, seed)) = raw.split_first() else {
            return Err(malformed_key("unknown signature algorithm"));
        };
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| malformed_key("Ed25519 seed is not 32 bytes"))?;
        let signer = NoteSigner::from_seed(name, seed)?;
        if signer.key_id != id {
            return Err(malformed_key("key id does not match the name and key"));
        }
        Ok(signer)
    }

    /// `PRIVATE+KEY+NAME+KEYID+BASE64(0x01 || SEED)` (a secret: store with care).
    pub fn to_skey(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.key_id,
            B64.encode(raw)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// The signature line (without its newline) for `text`.
    fn signature_line(&self, text: &str) -> String {
        let sig = self.key.sign(text.as_bytes());
        let mut raw = self.key_id.to_be_bytes().to_vec();
        raw.extend_from_slice(&sig.to_bytes());
        format!("— {} {}", self.name, B64.encode(raw))
    }
}

fn text_is_valid(text: &str) -> bool {
    !text.chars().any(|c| c < ' ' && c != '\n')
}

/// Signs `text` (which must end in a newline) with each signer, giving the note.
///
/// # Errors
/// [`TlogError::MalformedNote`] when the text does not end in a newline or
/// holds control characters other than newlines.
pub fn sign_note(text: &str, signers: &[NoteSigner]) -> Result<String, TlogError> {
    if !text.ends_with('\n') || !text_is_valid(text) || signers.is_empty() {
        return Err(TlogError::MalformedNote);
    }
    let mut note = format!("{text}\n");
    for s in signers {
        note.push_str(&s.signature_line(text));
        note.push('\n');
    }
    Ok(note)
}

/// Parses `note` and verifies its signatures with `known` keys (Go's `note.Open`).
///
/// # Errors
/// [`TlogError::MalformedNote`], [`TlogError::InvalidSignature`] (a known key's
/// signature fails) or [`TlogError::NoVerifiableSignatures`].
pub fn open(note: &str, known: &[NoteVerifier]) -> Result<OpenedNote, TlogError> {
    if !text_is_valid(note) {
        return Err(TlogError::MalformedNote);
    }
    let split = note.rfind("\n\n").ok_or(TlogError::MalformedNote)?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    if sigs.is_empty() || !sigs.ends_with('\n') {
        return Err(TlogError::MalformedNote);
    }
    let mut opened = OpenedNote {
        text: text.to_owned(),
        verified: Vec::new(),
        unverified: Vec::new(),
    };
    let mut seen = BTreeSet::new();
    let mut seen_unverified = BTreeSet::new();
    for (n, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
        let line = line.strip_prefix("— ").ok_or(TlogError::MalformedNote)?;
        let (name, b64) = line.split_once(' ').unwrap_or((line, ""));
        let raw = B64.decode(b64).map_err(|_| TlogError::MalformedNote)?;
        if !is_valid_name(name) || b64.is_empty() || raw.len() < 5 {
            return Err(TlogError::MalformedNote);
        }
        if n + 1 > MAX_SIGNATURES {
            return Err(TlogError::MalformedNote);
        }
        let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let label = format!("{name}+{id:08x}");
        let Some(verifier) = known.iter().find(|v| v.name == name && v.key_id == id) else {
            if seen_unverified.insert(line.to_owned()) {
                opened.unverified.push(label);
            }
            continue;
        };
        if !seen.insert(label.clone()) {
            continue;
        }
        let ok = <[u8; 64]>::try_from(&raw[4..])
            .ok()
            .map(|s| Signature::from_bytes(&s))
            .is_some_and(|s| verifier.key.verify_strict(text.as_bytes(), &s).is_ok());
        if !ok {
            return Err(TlogError::InvalidSignature {
                name: name.to_owned(),
                key_id: id,
            });
        }
        opened.verified.push(label);
    }
    if opened.verified.is_empty() {
        return Err(TlogError::NoVerifiableSignatures);
    }
    Ok(opened)
}
