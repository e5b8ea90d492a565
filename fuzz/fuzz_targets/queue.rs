//! Queue message decoding, as a worker reads a leased task: the fields the
//! Redis Streams queue stores (task id `priority/entry`, job id, round,
//! enclave id, dead-letter fields) and the task payload every queue carries
//! (a JSON `VerificationTask`), whose sealed data key is opened with a fixed
//! enclave key and whose blob (the bytes after the first NUL) is decrypted,
//! as `process_task_with` does.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use verity_core::{EnclaveId, JobId, VerificationTask};
use verity_crypto::{EnclaveKeys, SealedKey, decrypt_media};
use verity_detect::MediaFormat;

static KEYS: OnceLock<EnclaveKeys> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let keys = KEYS.get_or_init(|| EnclaveKeys::from_secrets([1; 32], [2; 32]));
    let (payload, blob) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    fields(&String::from_utf8_lossy(payload));
    let Ok(task) = serde_json::from_slice::<VerificationTask>(payload) else {
        return;
    };
    let json = serde_json::to_vec(&task).expect("a task serializes");
    let back: VerificationTask = serde_json::from_slice(&json).expect("a serialized task parses");
    assert_eq!(back, task);
    let _ = MediaFormat::from_mime(&task.mime);
    let aad = task.media_sha256.0;
    let sealed = SealedKey {
        enc: task.sealed_key.enc.clone(),
        ciphertext: task.sealed_key.ciphertext.clone(),
    };
    if let Ok(key) = keys.open_data_key(&sealed, &aad) {
        let _ = decrypt_media(blob, &key, &aad);
    }
});

/// Every line as each stored field, parsed the way the queue adapters do.
fn fields(text: &str) {
    for line in text.lines() {
        if let Ok(job) = line.parse::<JobId>() {
            assert_eq!(job.to_string().parse::<JobId>().as_ref(), Ok(&job));
        }
        if let Ok(enclave) = line.parse::<EnclaveId>() {
            assert_eq!(enclave.as_str(), line);
        }
        let _ = line.parse::<u32>();
        if let Some((priority, _entry)) = line.split_once('/') {
            let _ = priority.parse::<i32>();
        }
        if let Some((_consumer, count)) = line.rsplit_once('/') {
            let _ = count.parse::<u32>();
        }
    }
}
