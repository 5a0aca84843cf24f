//! The file store: every uploaded or generated file (note attachments now, import uploads
//! and export results later) goes through [`FileStore`], never through `std::fs`, so app
//! and worker processes stay stateless (DESIGN.md §1).
//!
//! `FILE_STORE_URL` picks the backend: empty means the local folder `./var/files`; a path
//! or `file:///abs/path` means that folder; `s3://bucket/prefix` means S3-compatible
//! storage (only in builds with the `s3` feature; credentials and endpoint come from the
//! usual `AWS_*` variables).
//!
//! Objects are named by [`FileKey`]s that the app generates (`t/<tenant_id>/<area>/<uuid>`),
//! never by user-supplied names, so a file name cannot choose where a file lands and every
//! key says which tenant it belongs to.

use std::{path::Path, sync::Arc};

use anyhow::{Context, bail};
use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use object_store::{
    ObjectStore, ObjectStoreExt, PutPayload, local::LocalFileSystem, path::Path as ObjectPath,
};

use crate::ids::TenantId;

/// The folder used when `FILE_STORE_URL` is empty.
pub const DEFAULT_LOCAL_DIR: &str = "./var/files";

/// Where files are kept: a cheap-to-clone handle on one object store.
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<dyn ObjectStore>,
    /// Where it points, for logs (no credentials).
    description: String,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("at", &self.description)
            .finish()
    }
}

/// A stored object being read.
pub struct StoredFile {
    /// Its size in bytes.
    pub size: u64,
    /// Its content.
    pub chunks: std::pin::Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>,
}

/// The name of a stored object: `t/<tenant_id>/<area>/<uuid>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FileKey(String);

impl FileKey {
    /// A fresh key for a new file of `tenant` in `area` (e.g. `notes`, `imports`).
    pub fn generate(tenant: TenantId, area: &'static str) -> Self {
        debug_assert!(area.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        Self(format!("t/{tenant}/{area}/{}", uuid::Uuid::new_v4()))
    }

    /// A key read back from the database, checked to be one of ours and to belong to
    /// `tenant` (so a bad row can never make the app touch another tenant's files).
    pub fn parse(tenant: TenantId, area: &str, raw: &str) -> anyhow::Result<Self> {
        let prefix = format!("t/{tenant}/{area}/");
        match raw.strip_prefix(&prefix) {
            Some(rest) if uuid::Uuid::parse_str(rest).is_ok() => Ok(Self(raw.to_owned())),
            _ => bail!("storage key {raw:?} is not a {area} key of tenant {tenant}"),
        }
    }

    /// A key found in the store (not in a row): its tenant and area, checked to have our
    /// shape; `None` for anything else, which Kehu then never touches.
    pub fn parse_any(raw: &str) -> Option<(TenantId, String, Self)> {
        let mut parts = raw.splitn(4, '/');
        let (Some("t"), Some(tenant), Some(area), Some(_)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let tenant = TenantId(tenant.parse().ok()?);
        let key = Self::parse(tenant, area, raw).ok()?;
        Some((tenant, area.to_owned(), key))
    }

    /// The key as stored in the database.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn path(&self) -> ObjectPath {
        ObjectPath::from(self.0.as_str())
    }
}

impl std::fmt::Display for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Files whose rows a transaction deleted. Remove them with [`DeletedFiles::remove`]
/// after that transaction commits (never before: a rollback would leave rows pointing at
/// nothing). A crash between the commit and the removal leaves orphan files behind, which
/// cost space but nothing else: no row points at them any more.
#[derive(Debug, Default)]
#[must_use = "remove the files once the transaction has committed"]
pub struct DeletedFiles(Vec<FileKey>);

impl DeletedFiles {
    /// Wraps the keys of deleted rows.
    pub fn new(keys: Vec<FileKey>) -> Self {
        Self(keys)
    }

    /// The keys.
    pub fn keys(&self) -> &[FileKey] {
        &self.0
    }

    /// Removes the files, best-effort: failures are logged, not returned, because the rows
    /// are gone whatever happens to the files.
    pub async fn remove(self, store: &FileStore) {
        store.delete_logged(&self.0).await;
    }
}

impl FileStore {
    /// The store `FILE_STORE_URL` names (see the module docs).
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        let url = url.trim();
        if url.is_empty() {
            return Self::local(Path::new(DEFAULT_LOCAL_DIR));
        }
        if let Some(path) = url.strip_prefix("file://") {
            return Self::local(Path::new(path));
        }
        if url.starts_with("s3://") {
            return Self::s3(url);
        }
        if url.contains("://") {
            bail!("FILE_STORE_URL {url:?}: use a folder, file:///folder or s3://bucket/prefix");
        }
        Self::local(Path::new(url))
    }

    /// Files under a local folder, which is created if missing.
    pub fn local(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the file store folder {}", dir.display()))?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .with_context(|| format!("opening the file store folder {}", dir.display()))?;
        Ok(Self {
            inner: Arc::new(store),
            description: dir.display().to_string(),
        })
    }

    #[cfg(feature = "s3")]
    fn s3(url: &str) -> anyhow::Result<Self> {
        let parsed = url::Url::parse(url).with_context(|| format!("FILE_STORE_URL {url:?}"))?;
        // object_store reads the same AWS_* settings as the AWS tools.
        let options = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v));
        let (store, prefix) = object_store::parse_url_opts(&parsed, options)
            .with_context(|| format!("FILE_STORE_URL {url:?}"))?;
        let store: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
            Arc::from(store)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
        };
        Ok(Self {
            inner: store,
            description: format!(
                "s3://{}{}",
                parsed.host_str().unwrap_or_default(),
                parsed.path()
            ),
        })
    }

    #[cfg(not(feature = "s3"))]
    fn s3(url: &str) -> anyhow::Result<Self> {
        bail!("FILE_STORE_URL {url:?}: this build has no S3 support (build with --features s3)")
    }

    /// Where the store points (no credentials), for start-up logs.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Stores `bytes` under `key`, replacing any previous object.
    pub async fn put(&self, key: &FileKey, bytes: Bytes) -> anyhow::Result<()> {
        self.inner
            .put(&key.path(), PutPayload::from_bytes(bytes))
            .await
            .with_context(|| format!("storing {key}"))?;
        Ok(())
    }

    /// Streams the local file at `file` into the store under `key` (multipart for large
    /// files, so memory stays flat); returns its size.
    pub async fn put_file(&self, key: &FileKey, file: &Path) -> anyhow::Result<u64> {
        use tokio::io::AsyncWriteExt;
        let mut source = tokio::fs::File::open(file)
            .await
            .with_context(|| format!("opening {}", file.display()))?;
        let mut sink = object_store::buffered::BufWriter::new(self.inner.clone(), key.path());
        let size = tokio::io::copy(&mut source, &mut sink)
            .await
            .with_context(|| format!("storing {key}"))?;
        sink.shutdown()
            .await
            .with_context(|| format!("storing {key}"))?;
        Ok(size)
    }

    /// The whole object under `key`.
    pub async fn get(&self, key: &FileKey) -> anyhow::Result<Bytes> {
        let found = self
            .inner
            .get(&key.path())
            .await
            .with_context(|| format!("reading {key}"))?;
        found
            .bytes()
            .await
            .with_context(|| format!("reading {key}"))
    }

    /// The object under `key` as its size and a stream of chunks, for sending large files
    /// without holding them in memory; `None` when there is no such object.
    pub async fn get_stream(&self, key: &FileKey) -> anyhow::Result<Option<StoredFile>> {
        match self.inner.get(&key.path()).await {
            Ok(found) => Ok(Some(StoredFile {
                size: found.meta.size,
                chunks: Box::pin(found.into_stream().map_err(std::io::Error::other)),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err).with_context(|| format!("reading {key}")),
        }
    }

    /// Copies the object under `key` into the local file `dest` (created or truncated),
    /// streaming; returns its size.
    pub async fn get_to_file(&self, key: &FileKey, dest: &Path) -> anyhow::Result<u64> {
        use futures::StreamExt;
        use tokio::io::AsyncWriteExt;
        let found = self
            .inner
            .get(&key.path())
            .await
            .with_context(|| format!("reading {key}"))?;
        let mut out = tokio::fs::File::create(dest)
            .await
            .with_context(|| format!("creating {}", dest.display()))?;
        let mut stream = found.into_stream();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.with_context(|| format!("reading {key}"))?;
            size += chunk.len() as u64;
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        Ok(size)
    }

    /// Every object in the store with our key shape, as (tenant, area, key, last
    /// modified), streamed (the store may hold millions).
    pub fn list(
        &self,
    ) -> impl Stream<
        Item = anyhow::Result<(TenantId, String, FileKey, chrono::DateTime<chrono::Utc>)>,
    > + Send
    + 'static {
        self.inner
            .list(Some(&ObjectPath::from("t")))
            .map_err(anyhow::Error::from)
            .try_filter_map(|meta| async move {
                Ok(FileKey::parse_any(meta.location.as_ref())
                    .map(|(tenant, area, key)| (tenant, area, key, meta.last_modified)))
            })
    }

    /// Deletes the object under `key`; a missing object is not an error.
    pub async fn delete(&self, key: &FileKey) -> anyhow::Result<()> {
        match self.inner.delete(&key.path()).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(err).with_context(|| format!("deleting {key}")),
        }
    }

    /// Deletes each key, logging failures instead of returning them: for clean-up after
    /// a transaction has committed, when the rows are gone whatever happens to the files.
    pub async fn delete_logged(&self, keys: &[FileKey]) {
        for key in keys {
            if let Err(err) = self.delete(key).await {
                tracing::warn!(error = format!("{err:#}"), %key, "file left behind in the file store");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_generated_per_tenant_and_parsed_back_only_for_that_tenant() {
        let key = FileKey::generate(TenantId(7), "notes");
        assert!(key.as_str().starts_with("t/7/notes/"), "{key}");
        assert_eq!(
            FileKey::parse(TenantId(7), "notes", key.as_str()).ok(),
            Some(key.clone())
        );
        assert!(FileKey::parse(TenantId(8), "notes", key.as_str()).is_err());
        assert!(FileKey::parse(TenantId(7), "exports", key.as_str()).is_err());
        assert!(FileKey::parse(TenantId(7), "notes", "t/7/notes/../../etc/passwd").is_err());
        assert!(FileKey::parse(TenantId(7), "notes", "t/7/notes/").is_err());
    }

    #[tokio::test]
    async fn a_local_store_puts_reads_streams_and_deletes() {
        let dir = std::env::temp_dir().join(format!("kehu-files-{}", uuid::Uuid::new_v4()));
        let store = FileStore::from_url(dir.to_str().expect("utf-8 temp dir")).expect("store");
        let key = FileKey::generate(TenantId(1), "notes");
        store
            .put(&key, Bytes::from_static(b"hello \x00 world"))
            .await
            .expect("put");
        assert!(dir.join(key.as_str()).is_file(), "stored under the key");
        assert_eq!(
            store.get(&key).await.expect("get"),
            &b"hello \x00 world"[..]
        );
        let stored = store
            .get_stream(&key)
            .await
            .expect("stream")
            .expect("found");
        assert_eq!(stored.size, 13);
        let chunks: Vec<Bytes> = stored.chunks.try_collect().await.expect("chunks");
        assert_eq!(chunks.concat(), b"hello \x00 world");
        store.delete(&key).await.expect("delete");
        assert!(!dir.join(key.as_str()).exists());
        store.delete(&key).await.expect("deleting twice is fine");
        assert!(store.get(&key).await.is_err());
        assert!(store.get_stream(&key).await.expect("no error").is_none());
        let _ = std::fs::remove_dir_all(dir);
        assert!(FileStore::from_url("ftp://example.com/x").is_err());
    }
}
