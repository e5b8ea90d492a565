//! [`FileBlobStore`]: blobs as files, named by the SHA-256 of their bytes.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::blob::{BlobId, BlobStore};
use crate::{Result, StoreError};

/// Blobs under `<root>/<aa>/<bb>/<sha256>`, written atomically and fsynced.
#[derive(Debug, Clone)]
pub struct FileBlobStore {
    root: PathBuf,
    sync: bool,
}

impl FileBlobStore {
    /// A store rooted at `root` (created on first write). With `sync` every
    /// write is fsynced (file and directory) before `put` returns.
    pub fn new(root: impl Into<PathBuf>, sync: bool) -> Self {
        FileBlobStore {
            root: root.into(),
            sync,
        }
    }

    fn path_of(&self, id: &BlobId) -> Result<PathBuf> {
        let hex = &id.0;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(StoreError::Invalid(format!(
                "not a local blob id: {hex:.80}"
            )));
        }
        Ok(self.root.join(&hex[..2]).join(&hex[2..4]).join(hex))
    }
}

#[async_trait]
impl BlobStore for FileBlobStore {
    fn provider(&self) -> &'static str {
        "local"
    }

    async fn put(&self, bytes: Bytes) -> Result<BlobId> {
        let id = BlobId(hex::encode(Sha256::digest(&bytes)));
        let path = self.path_of(&id)?;
        let sync = self.sync;
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes, sync))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        Ok(id)
    }

    async fn get(&self, id: &BlobId) -> Result<Bytes> {
        let path = self.path_of(id)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(StoreError::NotFound(format!("blob {id}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn ping(&self) -> Result<()> {
        tokio::fs::create_dir_all(&self.root).await?;
        let meta = tokio::fs::metadata(&self.root).await?;
        if meta.permissions().readonly() {
            return Err(StoreError::Unavailable(format!(
                "{} is read-only",
                self.root.display()
            )));
        }
        Ok(())
    }
}

fn write_atomically(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    use std::io::Write;
    if path.exists() {
        // Content-addressed: the same id means the same bytes.
        return Ok(());
    }
    let dir = path.parent().expect("blob paths have a parent");
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile_in(dir)?;
    tmp.1.write_all(bytes)?;
    if sync {
        tmp.1.sync_data()?;
    }
    std::fs::rename(&tmp.0, path)?;
    if sync {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let name = format!(".tmp-{}-{}", std::process::id(), rand::random::<u64>());
    let path = dir.join(name);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_and_refuse_traversal() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileBlobStore::new(dir.path(), true);
        let id = store.put(Bytes::from_static(b"ciphertext")).await.unwrap();
        assert_eq!(
            store.put(Bytes::from_static(b"ciphertext")).await.unwrap(),
            id
        );
        assert_eq!(&store.get(&id).await.unwrap()[..], b"ciphertext");
        let missing = BlobId("0".repeat(64));
        assert!(matches!(
            store.get(&missing).await,
            Err(StoreError::NotFound(_))
        ));
        for bad in ["../../etc/passwd", "", "ABCDEF"] {
            assert!(matches!(
                store.get(&BlobId(bad.into())).await,
                Err(StoreError::Invalid(_))
            ));
        }
        store.ping().await.unwrap();
    }
}
