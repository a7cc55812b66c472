//! Media archiving domain: where a file goes, how its digest is compared, when it is too late.

use crate::media::MediaJob;
use crate::retention::SECONDS_PER_DAY;
use base64::Engine;

/// Meta's inbound media limit; larger files arrive as error 131052 instead.
pub const MAX_MEDIA_BYTES: u64 = 100 * 1024 * 1024;
/// Meta's inbound media-id lifetime (configurable as `MEDIA_DEADLINE_DAYS`).
pub const DEFAULT_MEDIA_DEADLINE_DAYS: u32 = 7;
/// The hosts media is downloaded from, redirects included (`MEDIA_DOWNLOAD_HOSTS` overrides it).
///
/// What Graph returns: `GET /{version}/{media-id}` answers a `url` of the form
/// `https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=<id>&ext=<expiry>&hash=<hash>`
/// (Meta's Cloud API media reference, "Retrieve media URL"; the same shape in third-party guides,
/// e.g. dualhook.com/docs/media-upload, and in the Cloud API examples collected in
/// /work/shared/reference/meta-cloud-api.md). No documented or reported answer names another host,
/// and no report of that URL redirecting elsewhere was found (searched Meta's docs, Q&A pages and
/// GitHub issues for lookaside.fbsbx.com, mmg.whatsapp.net and fbcdn redirects). So the list is
/// exactly that one host; a URL or a redirect anywhere else is refused and recorded as a failure,
/// since our bearer token and the archive's integrity must not depend on an unknown host. If Meta
/// ever moves media, the failures name the reason and this list (or the variable) is the fix.
pub const META_MEDIA_HOSTS: &[&str] = &["lookaside.fbsbx.com"];
/// Number of partitions of the sparse `media-pending` index (spreads writes; the sweep reads all).
pub const PENDING_SHARDS: u32 = 8;

/// The deterministic object key of a job's file: the business number, the receipt date and the
/// record's key only (never a wamid, a media id or the user's filename); the extension comes
/// from the MIME type. `media/{phone_number_id}/{yyyy}/{mm}/{dd}/{record key}.{ext}`
///
/// Deterministic per job, so every retry and every fetcher racing on one job writes the same key
/// and the conditional writes (`If-None-Match: *`) keep the first object; one record, one file.
pub fn media_key(job: &MediaJob, mime_type: Option<&str>) -> String {
    let (year, month, day) = civil_date(job.received_at);
    let phone = job
        .phone_number_id
        .as_deref()
        .filter(|p| is_key_safe(p))
        .unwrap_or("unknown");
    let record = if is_key_safe(&job.record) {
        job.record.clone()
    } else {
        // Record keys are hex; anything else is hex-encoded so it cannot shape the key.
        hex::encode(job.record.as_bytes())
    };
    format!(
        "media/{phone}/{year:04}/{month:02}/{day:02}/{record}.{}",
        extension_for(mime_type.or(job.mime_type.as_deref()))
    )
}

fn is_key_safe(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// File extension for a MIME type (parameters such as `; codecs=opus` ignored); `bin` if unknown.
pub fn extension_for(mime_type: Option<&str>) -> &'static str {
    let essence = mime_type
        .and_then(|m| m.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match essence.as_str() {
        "image/jpeg" | "image/jpg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "audio/ogg" | "audio/opus" => "ogg",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/aac" => "aac",
        "audio/amr" => "amr",
        "audio/mp4" => "m4a",
        "video/mp4" => "mp4",
        "video/3gpp" | "audio/3gpp" => "3gp",
        "application/pdf" => "pdf",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.ms-excel" => "xls",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.ms-powerpoint" => "ppt",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => "pptx",
        "text/plain" => "txt",
        _ => "bin",
    }
}

/// Decodes Meta's sha256 whether it is hex (media-URL answers) or base64 (webhooks).
pub fn decode_sha256(declared: &str) -> Option<[u8; 32]> {
    let declared = declared.trim();
    let mut digest = [0u8; 32];
    if declared.len() == 64 && hex::decode_to_slice(declared, &mut digest).is_ok() {
        return Some(digest);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(declared)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(declared))
        .ok()?;
    (bytes.len() == 32).then(|| {
        digest.copy_from_slice(&bytes);
        digest
    })
}

/// When a job's media id stops being downloadable.
pub fn media_deadline(received_at: i64, deadline_days: u32) -> i64 {
    received_at.saturating_add(i64::from(deadline_days) * SECONDS_PER_DAY)
}

/// The `media-pending` index partition of a message's record (stable per record key: a
/// dead-lettered record returns to the same one).
pub fn pending_shard(record: &str) -> String {
    crate::records::ItemKey::message(record)
        .shard(PENDING_SHARDS)
        .to_string()
}

/// (year, month, day) in UTC of an epoch time (Howard Hinnant's days-to-civil algorithm).
pub fn civil_date(epoch_seconds: i64) -> (i64, u32, u32) {
    let days = epoch_seconds.div_euclid(SECONDS_PER_DAY);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(record: &str, mime: Option<&str>) -> MediaJob {
        MediaJob {
            record: record.into(),
            media_id: "4490709327384033".into(),
            media_kind: "document".into(),
            mime_type: mime.map(str::to_owned),
            sha256: None,
            phone_number_id: Some("1234567890".into()),
            received_at: 1_763_800_000, // 2025-11-22
        }
    }

    #[test]
    fn keys_are_deterministic_and_free_of_user_data() {
        let record = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
        let pdf = job(record, Some("application/pdf"));
        assert_eq!(
            media_key(&pdf, None),
            "media/1234567890/2025/11/22/0f1e2d3c4b5a69788796a5b4c3d2e1f0.pdf"
        );
        assert_eq!(media_key(&pdf, None), media_key(&pdf.clone(), None));
        assert!(
            !media_key(&pdf, None).contains(&pdf.media_id),
            "no media id"
        );
        assert_eq!(
            media_key(&job(record, Some("audio/ogg; codecs=opus")), None),
            "media/1234567890/2025/11/22/0f1e2d3c4b5a69788796a5b4c3d2e1f0.ogg"
        );
        let weird = media_key(&job("../x", None), None);
        assert!(!weird.contains(".."), "{weird}");
        assert!(weird.ends_with(".bin"));
    }

    #[test]
    fn pending_shards_are_stable_and_in_range() {
        let shard = pending_shard("0f1e2d3c4b5a69788796a5b4c3d2e1f0");
        assert_eq!(shard, pending_shard("0f1e2d3c4b5a69788796a5b4c3d2e1f0"));
        assert!(shard.parse::<u32>().is_ok_and(|n| n < PENDING_SHARDS));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(951_782_400), (2000, 2, 29));
        assert_eq!(civil_date(1_795_305_600), (2026, 11, 22));
    }

    #[test]
    fn sha256_in_hex_or_base64() {
        let hex_form = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let b64_form = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        assert_eq!(decode_sha256(hex_form), decode_sha256(b64_form));
        assert!(decode_sha256(hex_form).is_some());
        assert_eq!(decode_sha256("nope"), None);
    }
}
