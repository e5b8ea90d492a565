//! Envelope encryption of media.
//!
//! Each upload gets a fresh 256-bit data key. The media is encrypted with
//! XChaCha20-Poly1305 (random 192-bit nonce) and the media's SHA-256 as
//! associated data, so a ciphertext cannot be passed off as another image.
//! The data key is then sealed to each enclave's X25519 key with HPKE
//! (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 /
//! ChaCha20-Poly1305), again bound to the media digest. Only enclaves can open
//! it; the API forgets the data key once the sealed copies exist.
//!
//! Blob layout: `b"VRTYENC1" || nonce (24) || ciphertext+tag`.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use rand::RngCore;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::keys::EnclaveKeys;

const BLOB_MAGIC: &[u8; 8] = b"VRTYENC1";
const NONCE_LEN: usize = 24;
/// HPKE `info`: the context every sealed data key is bound to.
pub const SEAL_INFO: &[u8] = b"verity/data-key/v1";

/// A 256-bit data key; zeroed on drop.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    fn random() -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(k.as_mut());
        DataKey(k)
    }
}

/// A data key sealed to one enclave: the HPKE encapsulated key and ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedKey {
    /// HPKE `enc` (the sender's ephemeral X25519 public key).
    pub enc: Vec<u8>,
    /// The sealed data key with its tag.
    pub ciphertext: Vec<u8>,
}

/// Encrypts `plaintext` under a fresh data key, bound to `aad`.
pub fn encrypt_media(plaintext: &[u8], aad: &[u8]) -> (Vec<u8>, DataKey) {
    let key = DataKey::random();
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(key.0.as_ref().into());
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
    let mut blob = Vec::with_capacity(BLOB_MAGIC.len() + NONCE_LEN + ciphertext.len());
    blob.extend_from_slice(BLOB_MAGIC);
    blob.extend_from_slice(&nonce);
    blob.extend_from_slice(&ciphertext);
    (blob, key)
}

/// Decrypts a blob made by [`encrypt_media`].
///
/// # Errors
/// [`CryptoError::Malformed`] for a blob without the header,
/// [`CryptoError::Decrypt`] for a wrong key, wrong `aad` or tampering.
pub fn decrypt_media(blob: &[u8], key: &DataKey, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let body = blob
        .strip_prefix(BLOB_MAGIC.as_slice())
        .filter(|b| b.len() >= NONCE_LEN)
        .ok_or(CryptoError::Malformed("encrypted blob header"))?;
    let (nonce, ciphertext) = body.split_at(NONCE_LEN);
    XChaCha20Poly1305::new(key.0.as_ref().into())
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map_err(|_| CryptoError::Decrypt)
}

/// Seals `key` to the enclave whose X25519 public key is `recipient`, bound to `aad`.
///
/// # Errors
/// [`CryptoError::Malformed`] for a bad public key.
pub fn seal_data_key(
    key: &DataKey,
    recipient: &[u8],
    aad: &[u8],
) -> Result<SealedKey, CryptoError> {
    seal_with_rng(key.0.as_ref(), recipient, SEAL_INFO, aad, &mut OsRng)
}

fn seal_with_rng<R: rand::CryptoRng + RngCore>(
    plaintext: &[u8],
    recipient: &[u8],
    info: &[u8],
    aad: &[u8],
    rng: &mut R,
) -> Result<SealedKey, CryptoError> {
    let pk = <X25519HkdfSha256 as Kem>::PublicKey::from_bytes(recipient)
        .map_err(|_| CryptoError::Malformed("X25519 public key"))?;
    let (enc, mut ctx) = hpke::setup_sender::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256, _>(
        &OpModeS::Base,
        &pk,
        info,
        rng,
    )
    .map_err(|e| CryptoError::Seal(e.to_string()))?;
    let ciphertext = ctx
        .seal(plaintext, aad)
        .map_err(|e| CryptoError::Seal(e.to_string()))?;
    Ok(SealedKey {
        enc: enc.to_bytes().to_vec(),
        ciphertext,
    })
}

impl EnclaveKeys {
    /// Opens a data key sealed to this enclave.
    ///
    /// # Errors
    /// [`CryptoError::Malformed`] for a bad `enc`, [`CryptoError::Decrypt`] when
    /// the key was sealed to someone else, for another `aad`, or was tampered with.
    pub fn open_data_key(&self, sealed: &SealedKey, aad: &[u8]) -> Result<DataKey, CryptoError> {
        let plaintext = Zeroizing::new(open_with_secret(
            &self.kem.to_bytes(),
            sealed,
            SEAL_INFO,
            aad,
        )?);
        let bytes: [u8; 32] = plaintext
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Malformed("data key length"))?;
        Ok(DataKey(Zeroizing::new(bytes)))
    }
}

fn open_with_secret(
    secret: &[u8],
    sealed: &SealedKey,
    info: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let sk = <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(secret)
        .map_err(|_| CryptoError::Malformed("X25519 secret key"))?;
    let enc = <X25519HkdfSha256 as Kem>::EncappedKey::from_bytes(&sealed.enc)
        .map_err(|_| CryptoError::Malformed("HPKE encapsulated key"))?;
    let mut ctx = hpke::setup_receiver::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        &sk,
        &enc,
        info,
    )
    .map_err(|_| CryptoError::Decrypt)?;
    ctx.open(&sealed.ciphertext, aad)
        .map_err(|_| CryptoError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RNG that replays fixed bytes, so the ephemeral key is the vector's `ikmE`.
    struct Replay(Vec<u8>);

    impl RngCore for Replay {
        fn next_u32(&mut self) -> u32 {
            unreachable!("HPKE only fills byte buffers")
        }
        fn next_u64(&mut self) -> u64 {
            unreachable!("HPKE only fills byte buffers")
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            let n = dest.len();
            dest.copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    impl rand::CryptoRng for Replay {}

    #[test]
    fn rfc9180_appendix_a_2_1_byte_for_byte() {
        let doc: serde_json::Value = serde_json::from_str(include_str!(
            "../tests/vectors/rfc9180_x25519_sha256_chacha20poly1305_base.json"
        ))
        .unwrap();
        let hex = |v: &serde_json::Value| hex::decode(v.as_str().unwrap()).unwrap();
        let v = &doc["vectors"][0];
        let mut rng = Replay(hex(&v["ikmE"]));
        let first = &v["encryptions"][0];
        let sealed = seal_with_rng(
            &hex(&first["pt"]),
            &hex(&v["pkRm"]),
            &hex(&v["info"]),
            &hex(&first["aad"]),
            &mut rng,
        )
        .unwrap();
        assert_eq!(sealed.enc, hex(&v["enc"]));
        assert_eq!(sealed.ciphertext, hex(&first["ct"]));
        let opened = open_with_secret(
            &hex(&v["skRm"]),
            &sealed,
            &hex(&v["info"]),
            &hex(&first["aad"]),
        )
        .unwrap();
        assert_eq!(opened, hex(&first["pt"]));
    }

    #[test]
    fn round_trip_through_an_enclave() {
        let enclave = EnclaveKeys::generate();
        let aad = b"media digest";
        let (blob, key) = encrypt_media(b"the image bytes", aad);
        let sealed = seal_data_key(&key, &enclave.public().encryption, aad).unwrap();
        let opened = enclave.open_data_key(&sealed, aad).unwrap();
        assert_eq!(
            decrypt_media(&blob, &opened, aad).unwrap(),
            b"the image bytes"
        );
    }

    #[test]
    fn tampering_is_detected() {
        let enclave = EnclaveKeys::generate();
        let aad = b"digest";
        let (blob, key) = encrypt_media(&[7u8; 1000], aad);
        let sealed = seal_data_key(&key, &enclave.public().encryption, aad).unwrap();

        let mut bad_blob = blob.clone();
        bad_blob[100] ^= 1;
        assert!(matches!(
            decrypt_media(&bad_blob, &key, aad),
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(
            decrypt_media(&blob, &key, b"other"),
            Err(CryptoError::Decrypt)
        ));
        assert!(matches!(
            decrypt_media(b"short", &key, aad),
            Err(CryptoError::Malformed(_))
        ));

        let mut bad_sealed = sealed.clone();
        bad_sealed.ciphertext[3] ^= 1;
        assert!(matches!(
            enclave.open_data_key(&bad_sealed, aad),
            Err(CryptoError::Decrypt)
        ));
        let mut bad_enc = sealed.clone();
        bad_enc.enc[0] ^= 1;
        assert!(enclave.open_data_key(&bad_enc, aad).is_err());
        assert!(matches!(
            enclave.open_data_key(&sealed, b"other"),
            Err(CryptoError::Decrypt)
        ));

        let stranger = EnclaveKeys::generate();
        assert!(matches!(
            stranger.open_data_key(&sealed, aad),
            Err(CryptoError::Decrypt)
        ));
    }
}
