//! Per-contact export (GDPR art. 15/20): everything held about a contact, written to a local
//! folder with a manifest of SHA-256 sums.
//!
//! Layout of the folder:
//! - `records.json`: the contact's messages, statuses and errors, every attribute as plain JSON,
//!   `raw` parsed back into the element exactly as Meta sent it;
//! - `journal.json`: per journal object, the contact's own elements of it by the array they were
//!   in (its `contacts[]` entry with the profile name, its messages and statuses, echoes and any
//!   other field's elements), never other contacts' data;
//! - `media/...`: the archived files, streamed to disk and checked against the record's
//!   `media_sha256` while written;
//! - `manifest.json`: every file above with its SHA-256 and size.
//!
//! Tombstones and items past `expires_at` are not part of what is held, so they are skipped.

use crate::clock::Clock;
use crate::contact::ContactHasher;
use crate::contact::{gather, journal_keys};
use crate::contact::{
    split_journal, ContactError, ContactHashes, ContactIds, ContactMatcher, ContactRecords,
    JournalObjects, ObjectChunks, ObjectSource,
};
use crate::error::PortError;
use crate::records::{attributes, StoredItem};
use futures::stream::StreamExt;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How far an export is, for progress lines (counts only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub stage: &'static str,
    pub done: usize,
    pub total: usize,
}

/// One file of the export, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ManifestEntry {
    /// Relative to the export folder, `/`-separated.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    /// Media only: whether the file matches the record's `media_sha256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches_record: Option<bool>,
}

/// What an export wrote. Counts only (the folder holds the data).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExportReport {
    pub records: u64,
    pub journal_objects: u64,
    pub media_files: u64,
    pub media_bytes: u64,
    /// Archived per the record but absent from the bucket.
    pub media_missing: u64,
    /// Written, but not matching the record's `media_sha256`.
    pub media_mismatched: u64,
    /// Journal objects that are not JSON (not exported: they cannot be split by contact).
    pub journal_objects_unreadable: u64,
    /// Files listed in the manifest.
    pub files: u64,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Contact(#[from] ContactError),
    #[error(transparent)]
    Store(#[from] PortError),
    #[error("output folder {0} exists and is not empty")]
    NotEmpty(PathBuf),
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<crate::contact::ErasureError> for ExportError {
    fn from(error: crate::contact::ErasureError) -> Self {
        match error {
            crate::contact::ErasureError::Contact(error) => ExportError::Contact(error),
            crate::contact::ErasureError::Store(error) => ExportError::Store(error),
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The export use case and its ports. Files are written with blocking `std::fs` calls: this runs
/// in the operator's command-line tool, not in a shared server runtime.
pub struct Exporter {
    pub records: Arc<dyn ContactRecords>,
    pub journal: Arc<dyn JournalObjects>,
    pub media: Arc<dyn ObjectSource>,
    pub clock: Arc<dyn Clock>,
    pub hasher: ContactHasher,
    /// A progress call every this many items (and at the end of each stage).
    pub progress_every: usize,
}

impl Exporter {
    /// Writes everything held about the contact into `out` (created; must be absent or empty).
    pub async fn export(
        &self,
        contact: &ContactIds,
        out: &Path,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<ExportReport, ExportError> {
        let mut hashes = ContactHashes::of(&self.hasher, contact)?;
        prepare_folder(out)?;
        let now = self.clock.now_epoch_seconds();
        let items: Vec<StoredItem> = gather(
            self.records.as_ref(),
            &mut hashes,
            crate::contact::CONCURRENCY,
        )
        .await?
        .into_values()
        .filter(|item| !item.is_expired(now))
        .collect();
        let mut report = ExportReport::default();
        let mut manifest = Vec::new();
        let every = self.progress_every.max(1);

        let records: Vec<&StoredItem> = items
            .iter()
            .filter(|item| !item.is_journal_link())
            .collect();
        let mut file = HashingFile::create(out, "records.json")?;
        file.write(b"[")?;
        for (index, item) in records.iter().enumerate() {
            file.write(if index == 0 { b"\n" } else { b",\n" })?;
            // A map of plain JSON values serialises infallibly.
            let line = serde_json::to_vec(&plain_record(item)).unwrap_or_default();
            file.write(&line)?;
            report.records += 1;
            if (index + 1) % every == 0 {
                progress(Progress {
                    stage: "records",
                    done: index + 1,
                    total: records.len(),
                });
            }
        }
        file.write(b"\n]\n")?;
        manifest.push(file.finish(Compare::Nothing)?);

        let matcher = ContactMatcher {
            hasher: &self.hasher,
            hashes: &hashes,
        };
        let keys = journal_keys(items.iter());
        let mut file = HashingFile::create(out, "journal.json")?;
        file.write(b"[")?;
        for (index, key) in keys.iter().enumerate() {
            let Some(body) = self.journal.read(key).await? else {
                continue;
            };
            let Some(split) = split_journal(&body, &matcher) else {
                report.journal_objects_unreadable += 1;
                continue;
            };
            file.write(if report.journal_objects == 0 {
                b"\n"
            } else {
                b",\n"
            })?;
            let entry = json!({"journal_key": key, "contact": split.contact});
            file.write(&serde_json::to_vec(&entry).unwrap_or_default())?;
            report.journal_objects += 1;
            if (index + 1) % every == 0 {
                progress(Progress {
                    stage: "journal",
                    done: index + 1,
                    total: keys.len(),
                });
            }
        }
        file.write(b"\n]\n")?;
        manifest.push(file.finish(Compare::Nothing)?);

        let media: Vec<(&str, Option<&str>)> = records
            .iter()
            .filter_map(|item| {
                let key = item
                    .media_key
                    .as_deref()
                    .filter(|k| k.starts_with("media/"))?;
                Some((key, item.media_sha256.as_deref()))
            })
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_iter()
            .collect();
        for (index, (key, expected)) in media.iter().enumerate() {
            match self.media.open(key).await? {
                None => report.media_missing += 1,
                Some(chunks) => {
                    let entry = write_media(out, key, chunks, *expected).await?;
                    report.media_files += 1;
                    report.media_bytes += entry.bytes;
                    if entry.matches_record == Some(false) {
                        report.media_mismatched += 1;
                    }
                    manifest.push(entry);
                }
            }
            if (index + 1) % every == 0 || index + 1 == media.len() {
                progress(Progress {
                    stage: "media",
                    done: index + 1,
                    total: media.len(),
                });
            }
        }

        report.files = manifest.len() as u64;
        let document = json!({
            "format": "wavault-export/1",
            "generated_at": now,
            "contact": hashes.audit_id(),
            "counts": report,
            "files": manifest,
        });
        let path = out.join("manifest.json");
        let text = serde_json::to_vec_pretty(&document).unwrap_or_default();
        std::fs::write(&path, text).map_err(io_error(&path))?;
        Ok(report)
    }
}

/// Creates `out`, or accepts it empty: an export never mixes with older files.
fn prepare_folder(out: &Path) -> Result<(), ExportError> {
    if out.exists() {
        let mut entries = std::fs::read_dir(out).map_err(io_error(out))?;
        if entries.next().is_some() {
            return Err(ExportError::NotEmpty(out.to_owned()));
        }
    }
    std::fs::create_dir_all(out.join("media")).map_err(io_error(out))
}

/// An item as plain JSON, every attribute it holds by name (sorted), `raw` parsed back into the
/// element (kept as the string it is when it is not JSON).
pub fn plain_record(item: &StoredItem) -> BTreeMap<String, Value> {
    let mut plain: BTreeMap<String, Value> = match serde_json::to_value(item) {
        Ok(Value::Object(attributes)) => attributes.into_iter().collect(),
        // The item serialises to an object of strings and numbers; nothing else can come out.
        _ => BTreeMap::new(),
    };
    if let Some(parsed) = item
        .raw
        .as_deref()
        .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
    {
        plain.insert(attributes::RAW.to_owned(), parsed);
    }
    plain
}

/// Where a media object goes inside the folder: its key below `media/` when every part is a
/// plain name (keys are built from ids), else a digest of the key.
pub fn media_path(key: &str) -> String {
    let rest = key.strip_prefix("media/").unwrap_or(key);
    let safe = !rest.is_empty()
        && rest.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        });
    if safe {
        format!("media/{rest}")
    } else {
        format!(
            "media/{}.bin",
            &hex::encode(Sha256::digest(key.as_bytes()))[..32]
        )
    }
}

async fn write_media(
    out: &Path,
    key: &str,
    mut chunks: ObjectChunks,
    expected_sha256: Option<&str>,
) -> Result<ManifestEntry, ExportError> {
    let relative = media_path(key);
    let mut file = HashingFile::create(out, &relative)?;
    while let Some(chunk) = chunks.next().await {
        file.write(&chunk?)?;
    }
    let expected = expected_sha256.map(str::to_ascii_lowercase);
    file.finish(Compare::WithRecord(expected))
}

/// What an exported file's digest is checked against.
enum Compare {
    /// Records and journal elements: nothing to compare with.
    Nothing,
    /// A media file: the sha256 its record holds (`None`: the record holds none, so it cannot match).
    WithRecord(Option<String>),
}

/// A file written through a SHA-256, so the manifest needs no second read.
struct HashingFile {
    path: PathBuf,
    relative: String,
    writer: std::io::BufWriter<std::fs::File>,
    hasher: Sha256,
    bytes: u64,
}

impl HashingFile {
    fn create(out: &Path, relative: &str) -> Result<Self, ExportError> {
        let path = out.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        let file = std::fs::File::create(&path).map_err(io_error(&path))?;
        Ok(Self {
            relative: relative.to_owned(),
            writer: std::io::BufWriter::with_capacity(256 * 1024, file),
            hasher: Sha256::new(),
            bytes: 0,
            path,
        })
    }

    fn write(&mut self, data: &[u8]) -> Result<(), ExportError> {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
        self.writer.write_all(data).map_err(io_error(&self.path))
    }

    /// Flushes to disk; media files are compared with their record's digest.
    fn finish(mut self, compare: Compare) -> Result<ManifestEntry, ExportError> {
        self.writer.flush().map_err(io_error(&self.path))?;
        self.writer
            .get_ref()
            .sync_all()
            .map_err(io_error(&self.path))?;
        let sha256 = hex::encode(self.hasher.finalize());
        Ok(ManifestEntry {
            path: self.relative,
            matches_record: match compare {
                Compare::Nothing => None,
                Compare::WithRecord(expected) => Some(expected.as_deref() == Some(sha256.as_str())),
            },
            sha256,
            bytes: self.bytes,
        })
    }
}
