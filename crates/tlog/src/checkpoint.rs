//! The C2SP `tlog-checkpoint` body: `ORIGIN\nSIZE\nBASE64(ROOT)\n`, then
//! optional extension lines. Signed as a note (see [`crate::note`]).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::TlogError;
use crate::hash::Hash;
use crate::note::{NoteSigner, NoteVerifier, sign_note};

/// A log checkpoint: which log, how many entries, and their root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (unique name of the log).
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// RFC 6962 root of those entries.
    pub root: Hash,
    /// Extension lines (each without its newline).
    pub extensions: Vec<String>,
}

fn malformed(why: &str) -> TlogError {
    TlogError::MalformedCheckpoint(why.into())
}

impl Checkpoint {
    /// The note text of this checkpoint.
    pub fn body(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for line in &self.extensions {
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// Parses a checkpoint body (a note's text).
    ///
    /// # Errors
    /// [`TlogError::MalformedCheckpoint`] naming what is wrong.
    pub fn parse(body: &str) -> Result<Self, TlogError> {
        let body = body
            .strip_suffix('\n')
            .ok_or_else(|| malformed("does not end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().filter(|o| !o.is_empty());
        let origin = origin.ok_or_else(|| malformed("empty origin"))?;
        let size = lines.next().ok_or_else(|| malformed("no size line"))?;
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(malformed("size is not a decimal number"));
        }
        let size: u64 = size.parse().map_err(|_| malformed("size is too large"))?;
        let root = lines.next().ok_or_else(|| malformed("no root line"))?;
        let root: Hash = B64
            .decode(root)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or_else(|| malformed("root is not 32 bytes of base64"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(malformed("empty extension line"));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The signed note of this checkpoint.
    ///
    /// # Errors
    /// [`TlogError::MalformedNote`] when the origin holds control characters.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, TlogError> {
        sign_note(&self.body(), std::slice::from_ref(signer))
    }

    /// Opens a signed checkpoint with the log's key and checks its origin.
    ///
    /// # Errors
    /// The note's errors, or [`TlogError::MalformedCheckpoint`] (also for
    /// another origin than `origin`).
    pub fn open(note: &str, log_key: &NoteVerifier, origin: &str) -> Result<Self, TlogError> {
        let opened = log_key.open(note)?;
        let checkpoint = Checkpoint::parse(&opened.text)?;
        if checkpoint.origin != origin {
            return Err(malformed(&format!(
                "origin is {:?}, expected {origin:?}",
                checkpoint.origin
            )));
        }
        Ok(checkpoint)
    }
}
