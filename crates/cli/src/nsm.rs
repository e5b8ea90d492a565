//! The Nitro Secure Module client behind `verity worker --attestation nitro`.
//!
//! Inside an AWS Nitro enclave, `/dev/nsm` signs attestation documents
//! (COSE_Sign1 over the enclave's PCRs) carrying the `user_data` and `nonce`
//! the caller asks for. The protocol is one ioctl (`NSM_IOCTL_REQUEST`,
//! `_IOWR(0x0A, 0, struct nsm_message)`) whose request and response are
//! CBOR-encoded serde enums (`{"Attestation": {...}}`).
//!
//! Hand-written on `libc` and `ciborium` (both already in the build) rather
//! than AWS's `aws-nitro-enclaves-nsm-api`: that crate pulls in the
//! unmaintained `serde_cbor` and `nix` 0.31 for a single ioctl.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use ciborium::value::Value;

/// Where the Nitro Secure Module appears inside an enclave.
pub const NSM_DEVICE: &str = "/dev/nsm";

/// Largest response the driver returns (`NSM_RESPONSE_MAX_SIZE`).
const RESPONSE_MAX: usize = 0x3000;

/// `_IOWR(0x0A, 0, struct nsm_message)`: direction 3, size 32 (two iovecs).
const NSM_IOCTL_REQUEST: u64 = (3 << 30) | ((size_of::<NsmMessage>() as u64) << 16) | (0x0A << 8);

/// The driver's `struct nsm_message`.
#[repr(C)]
struct NsmMessage {
    request: libc::iovec,
    response: libc::iovec,
}

/// What went wrong talking to the module.
#[derive(Debug, thiserror::Error)]
pub enum NsmError {
    /// No device: not inside a Nitro enclave.
    #[error(
        "no Nitro Secure Module at {0}: this worker is not running inside an AWS Nitro enclave \
         (see docs/ATTESTATION.md, or use --attestation dev against a dev-mode aggregator)"
    )]
    Missing(PathBuf),
    /// The device exists but cannot be opened or the ioctl failed.
    #[error("Nitro Secure Module {path}: {source}")]
    Io {
        /// The device path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The module answered with an error code.
    #[error("the Nitro Secure Module refused the attestation: {0}")]
    Refused(String),
    /// The answer is not an attestation response.
    #[error("the Nitro Secure Module answered something unexpected: {0}")]
    Malformed(String),
}

/// An open Nitro Secure Module.
pub struct Nsm {
    path: PathBuf,
    device: File,
}

impl Nsm {
    /// Opens the module's device (normally [`NSM_DEVICE`]).
    ///
    /// # Errors
    /// [`NsmError::Missing`] outside an enclave, [`NsmError::Io`] when it cannot be opened.
    pub fn open(path: &Path) -> Result<Nsm, NsmError> {
        if !path.exists() {
            return Err(NsmError::Missing(path.to_owned()));
        }
        let device = File::options()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|source| NsmError::Io {
                path: path.to_owned(),
                source,
            })?;
        Ok(Nsm {
            path: path.to_owned(),
            device,
        })
    }

    /// A signed attestation document carrying `user_data` and `nonce`.
    ///
    /// # Errors
    /// The ioctl fails, the module refuses, or its answer is malformed.
    pub fn attest(&self, user_data: &[u8], nonce: &[u8]) -> Result<Vec<u8>, NsmError> {
        let mut request = encode_attestation_request(user_data, nonce);
        let mut response = vec![0u8; RESPONSE_MAX];
        let mut message = NsmMessage {
            request: libc::iovec {
                iov_base: request.as_mut_ptr().cast(),
                iov_len: request.len(),
            },
            response: libc::iovec {
                iov_base: response.as_mut_ptr().cast(),
                iov_len: response.len(),
            },
        };
        // SAFETY: both iovecs point at live buffers of the stated lengths for
        // the duration of the call; the driver writes at most `iov_len` bytes
        // into the response and sets `iov_len` to what it wrote.
        let rc = unsafe {
            libc::ioctl(
                self.device.as_raw_fd(),
                NSM_IOCTL_REQUEST as _,
                &mut message as *mut NsmMessage,
            )
        };
        if rc < 0 {
            return Err(NsmError::Io {
                path: self.path.clone(),
                source: std::io::Error::last_os_error(),
            });
        }
        let written = message.response.iov_len.min(RESPONSE_MAX);
        decode_attestation_response(&response[..written])
    }
}

/// The CBOR request `{"Attestation": {"user_data", "nonce", "public_key": null}}`.
pub fn encode_attestation_request(user_data: &[u8], nonce: &[u8]) -> Vec<u8> {
    let body = Value::Map(vec![
        (text("user_data"), Value::Bytes(user_data.to_vec())),
        (text("nonce"), Value::Bytes(nonce.to_vec())),
        (text("public_key"), Value::Null),
    ]);
    let request = Value::Map(vec![(text("Attestation"), body)]);
    let mut out = Vec::new();
    ciborium::into_writer(&request, &mut out).expect("writing CBOR to a Vec cannot fail");
    out
}

/// The document in `{"Attestation": {"document": bytes}}`, or the module's
/// `{"Error": code}` as [`NsmError::Refused`].
///
/// # Errors
/// [`NsmError::Refused`] or [`NsmError::Malformed`].
pub fn decode_attestation_response(bytes: &[u8]) -> Result<Vec<u8>, NsmError> {
    let value: Value =
        ciborium::from_reader(bytes).map_err(|e| NsmError::Malformed(format!("not CBOR: {e}")))?;
    let (key, inner) = match value {
        Value::Map(mut entries) if entries.len() == 1 => entries.remove(0),
        // Unit variants (errors with no data) are encoded as a bare string.
        Value::Text(variant) => return Err(NsmError::Malformed(variant)),
        other => return Err(NsmError::Malformed(format!("{other:?}"))),
    };
    match (key.as_text(), inner) {
        (Some("Attestation"), Value::Map(fields)) => fields
            .into_iter()
            .find_map(|(k, v)| match (k.as_text(), v) {
                (Some("document"), Value::Bytes(document)) => Some(document),
                _ => None,
            })
            .ok_or_else(|| NsmError::Malformed("an attestation without a document".into())),
        (Some("Error"), Value::Text(code)) => Err(NsmError::Refused(code)),
        (variant, _) => Err(NsmError::Malformed(format!(
            "a {} response",
            variant.unwrap_or("non-text")
        ))),
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cbor(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(value, &mut out).unwrap();
        out
    }

    #[test]
    fn ioctl_number_matches_the_driver() {
        // From the Linux driver: _IOWR(0x0A, 0, struct nsm_message) on 64-bit.
        assert_eq!(NSM_IOCTL_REQUEST, 0xC020_0A00);
    }

    #[test]
    fn request_has_the_nsm_api_shape() {
        let bytes = encode_attestation_request(b"binding", b"nonce");
        let value: Value = ciborium::from_reader(bytes.as_slice()).unwrap();
        let expected = Value::Map(vec![(
            text("Attestation"),
            Value::Map(vec![
                (text("user_data"), Value::Bytes(b"binding".to_vec())),
                (text("nonce"), Value::Bytes(b"nonce".to_vec())),
                (text("public_key"), Value::Null),
            ]),
        )]);
        assert_eq!(value, expected);
    }

    #[test]
    fn response_document_is_extracted() {
        let answer = Value::Map(vec![(
            text("Attestation"),
            Value::Map(vec![(text("document"), Value::Bytes(vec![0xd2, 0x84]))]),
        )]);
        assert_eq!(
            decode_attestation_response(&cbor(&answer)).unwrap(),
            vec![0xd2, 0x84]
        );
    }

    #[test]
    fn module_errors_and_garbage_are_reported() {
        let refused = Value::Map(vec![(text("Error"), text("InvalidArgument"))]);
        let err = decode_attestation_response(&cbor(&refused)).unwrap_err();
        assert!(
            matches!(err, NsmError::Refused(ref c) if c == "InvalidArgument"),
            "{err}"
        );
        let other = Value::Map(vec![(text("DescribePCR"), Value::Map(vec![]))]);
        assert!(matches!(
            decode_attestation_response(&cbor(&other)),
            Err(NsmError::Malformed(_))
        ));
        assert!(matches!(
            decode_attestation_response(&[0xff, 0x00]),
            Err(NsmError::Malformed(_))
        ));
    }

    #[test]
    fn a_missing_device_says_where_it_looked() {
        let err = Nsm::open(Path::new("/nonexistent/nsm")).err().unwrap();
        assert!(matches!(err, NsmError::Missing(_)));
        assert!(err.to_string().contains("/nonexistent/nsm"), "{err}");
    }
}
