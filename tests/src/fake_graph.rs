//! A test double of Meta's Graph API: the media endpoints the media-fetcher calls and the token endpoints the
//! token rotator calls, with faults switchable per media id at runtime.
//!
//! Routes (any `v<major>.<minor>` version; set `GRAPH_API_BASE_URL` to [`FakeGraph::base_url`]):
//! - `GET /{v}/{media_id}`: media info with a fresh, single-media download URL;
//! - `GET /media-download/{media_id}?token=<nonce>&ext=1`: the bytes (the "lookaside" URL);
//! - `GET /{v}/{phone_number_id}`: phone number info (registered ids only);
//! - `GET /{v}/oauth/access_token`: long-lived token exchange;
//! - `POST /{v}/{system_user_id}/access_tokens`: system-user token minting (requires `appsecret_proof`);
//! - `GET /{v}/debug_token`: token inspection.
//!
//! Media and phone endpoints take the token only from `Authorization: Bearer`, so a client that leaks it into a
//! query string fails here rather than in production logs. Errors use Graph's shape and status codes (rate
//! limits are HTTP 400, as on Meta). The fake logs nothing itself, and never a token value.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::lambda_emulator::hex_id;
use crate::serve::LoopbackServer;
use crate::{Error, Result};

/// The bearer token accepted until [`FakeGraph::set_valid_tokens`] says otherwise.
pub const DEFAULT_TOKEN: &str = "EAAG-test-token";
/// The app id until [`FakeGraph::set_app`].
pub const DEFAULT_APP_ID: &str = "100000000000001";
/// The app secret until [`FakeGraph::set_app`] (keys `appsecret_proof`).
pub const DEFAULT_APP_SECRET: &str = "fake-graph-app-secret";
/// A phone number id registered from the start.
pub const DEFAULT_PHONE_NUMBER_ID: &str = "100000000000002";
/// How long a media download URL stays valid (Meta: 5 minutes).
pub const DEFAULT_URL_LIFETIME: Duration = Duration::from_secs(300);
/// `expires_in` of an exchanged token (Meta's example value, about 60 days).
pub const EXCHANGED_TOKEN_EXPIRES_IN: u64 = 5_183_944;
/// The scopes a healthy WhatsApp system-user token carries.
pub const WHATSAPP_SCOPES: [&str; 2] = [
    "whatsapp_business_messaging",
    "whatsapp_business_management",
];

/// Download chunk size when no behaviour sets one.
const CHUNK: usize = 64 * 1024;
/// The unit of generated bodies (see [`MediaBody::generated_range`]).
const GEN_BLOCK: usize = 1 << 20;
/// How long a truncated download pauses before the cut, so the bytes before it leave hyper's write buffer
/// (hyper drops unflushed output when a body fails).
const TRUNCATE_GRACE: Duration = Duration::from_millis(100);
const SIXTY_DAYS_SECS: u64 = 60 * 24 * 3600;

/// The bytes of one media object.
#[derive(Clone, PartialEq, Eq)]
pub enum MediaBody {
    /// Literal bytes.
    Bytes(Bytes),
    /// `len` deterministic pseudo-random bytes from `seed`, produced chunk by chunk while streaming so that a
    /// 100 MiB file costs no memory (see [`MediaBody::generated_range`]).
    Generated { len: u64, seed: u64 },
}

impl MediaBody {
    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            MediaBody::Bytes(b) => b.len() as u64,
            MediaBody::Generated { len, .. } => *len,
        }
    }

    /// Whether the body has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes `offset..offset + len` of a [`MediaBody::Generated`] body with this `seed`: lets a test rebuild
    /// any part of a generated body (e.g. to compare an archived object) without the fake.
    ///
    /// Each MiB is a position-dependent rotation of one pseudo-random MiB per seed: at most two `memcpy`s per
    /// MiB, so generating is cheap even in debug builds, and a body is not one MiB repeated.
    pub fn generated_range(seed: u64, offset: u64, len: usize) -> Vec<u8> {
        let base = generated_base(seed);
        let block_len = GEN_BLOCK as u64;
        let mut out = Vec::with_capacity(len);
        let mut pos = offset;
        while out.len() < len {
            let within = (pos % block_len) as usize;
            let rotation = (splitmix(!seed, pos / block_len) % block_len) as usize;
            let start = (within + rotation) % GEN_BLOCK;
            let n = (len - out.len())
                .min(GEN_BLOCK - within)
                .min(GEN_BLOCK - start);
            out.extend_from_slice(&base[start..start + n]);
            pos += n as u64;
        }
        out
    }

    /// Bytes `offset..offset + len` (the caller keeps the range within the body).
    fn slice(&self, offset: u64, len: usize) -> Bytes {
        match self {
            MediaBody::Bytes(b) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(b.len());
                let end = start.saturating_add(len).min(b.len());
                b.slice(start..end)
            }
            MediaBody::Generated { seed, .. } => {
                Bytes::from(MediaBody::generated_range(*seed, offset, len))
            }
        }
    }

    /// SHA-256 of the whole body; a generated body is hashed by streaming it once, in 1 MiB pieces.
    fn sha256(&self) -> [u8; 32] {
        let mut context = digest::Context::new(&digest::SHA256);
        match self {
            MediaBody::Bytes(b) => context.update(b),
            MediaBody::Generated { len, seed } => {
                let mut pos = 0;
                while pos < *len {
                    let n = (*len - pos).min(GEN_BLOCK as u64);
                    context.update(&MediaBody::generated_range(*seed, pos, n as usize));
                    pos += n;
                }
            }
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(context.finish().as_ref());
        out
    }
}

impl fmt::Debug for MediaBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MediaBody::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            MediaBody::Generated { len, seed } => {
                write!(f, "Generated {{ len: {len}, seed: {seed} }}")
            }
        }
    }
}

impl From<Vec<u8>> for MediaBody {
    fn from(v: Vec<u8>) -> Self {
        MediaBody::Bytes(Bytes::from(v))
    }
}

impl From<&[u8]> for MediaBody {
    fn from(v: &[u8]) -> Self {
        MediaBody::Bytes(Bytes::copy_from_slice(v))
    }
}

impl From<Bytes> for MediaBody {
    fn from(v: Bytes) -> Self {
        MediaBody::Bytes(v)
    }
}

fn splitmix(seed: u64, index: u64) -> u64 {
    let mut z = seed.wrapping_add(index.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The pseudo-random MiB a seed's generated bodies are made of, cached for the last few seeds used.
fn generated_base(seed: u64) -> Arc<[u8]> {
    static CACHE: OnceLock<Mutex<HashMap<u64, Arc<[u8]>>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(base) = cache.get(&seed) {
        return base.clone();
    }
    if cache.len() >= 8 {
        cache.clear();
    }
    let mut base = vec![0u8; GEN_BLOCK];
    for (i, word) in base.chunks_exact_mut(8).enumerate() {
        word.copy_from_slice(&splitmix(seed, i as u64).to_le_bytes());
    }
    let base: Arc<[u8]> = base.into();
    cache.insert(seed, base.clone());
    base
}

/// How one media id misbehaves; switch at runtime with [`FakeGraph::set_behaviour`], which also resets the
/// behaviour's own state (remaining failures, the expired-URL flag, the expired token).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MediaBehaviour {
    /// Everything works.
    #[default]
    Ok,
    /// The first download request for this media answers 404, as an expired URL does; later ones work.
    UrlExpiredOnce,
    /// The first valid token presented (to media info or download) is treated as expired from then on:
    /// HTTP 401, code 190, "Session has expired". Any other valid token works, so a test rotates the secret.
    TokenExpired,
    /// Media info answers HTTP 400 code 130429 (Meta's rate limit is a 400, not a 429) `times` times.
    RateLimited { times: u32 },
    /// Media info answers HTTP 500 with Graph code 2 `times` times.
    ServerError { times: u32 },
    /// The download sleeps `delay_ms_per_chunk` before each `chunk`-byte piece (for timeout tests).
    Slow {
        delay_ms_per_chunk: u64,
        chunk: usize,
    },
    /// The download declares the full Content-Length but the connection is cut after `after` bytes (and a
    /// 100 ms pause that lets them reach the client).
    Truncated { after: u64 },
    /// Media info advertises a sha256 that does not match the bytes.
    WrongSha256,
    /// The download has no Content-Length (chunked transfer encoding).
    Chunked,
    /// Media info declares `file_size` = `declared` (default: half the real size) and the download streams all
    /// the real bytes chunked, so only counting the bytes received catches it (the fetcher's hard cap).
    Oversized { declared: Option<u64> },
    /// Media info answers 400 code 100 subcode 33 ("does not exist"); downloads 404. Ids never added behave so.
    UnknownId,
}

/// How media info encodes two fields that Meta has sent in more than one form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InfoFormat {
    /// `sha256` as base64 instead of lowercase hex.
    pub sha256_base64: bool,
    /// `file_size` as a JSON number instead of a string (Meta's example uses a string).
    pub file_size_number: bool,
    /// No `sha256` field at all.
    pub no_sha256: bool,
    /// No `file_size` field at all (the download still has its Content-Length unless the behaviour removes it).
    pub no_file_size: bool,
}

/// What is wrong with the next token minted or exchanged ([`FakeGraph::flaw_next_token`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFlaw {
    /// Accepted nowhere; `debug_token` reports `is_valid: false`.
    Invalid,
    /// Works, but `debug_token` lists only `whatsapp_business_management`.
    MissingScopes,
}

/// Whether a request carried an `appsecret_proof`, and whether it was right for the token it carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofStatus {
    /// No `appsecret_proof` parameter.
    Absent,
    /// Lowercase hex HMAC-SHA256 of the presented token, keyed by the app secret.
    Valid,
    /// Present but wrong (or no token to check it against).
    Invalid,
}

/// One request the fake answered, for assertions. Holds no query string and no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query string.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// The `User-Agent` header; `None` when missing or empty.
    pub user_agent: Option<String>,
    /// The `appsecret_proof` check.
    pub appsecret_proof: ProofStatus,
}

struct Media {
    body: MediaBody,
    mime_type: String,
    sha256: [u8; 32],
    behaviour: MediaBehaviour,
    format: InfoFormat,
    /// Remaining failures of `RateLimited` / `ServerError`.
    failures_left: u32,
    /// `UrlExpiredOnce` has not fired yet.
    url_expiry_pending: bool,
    /// The token `TokenExpired` latched on.
    expired_token: Option<String>,
}

impl Media {
    fn reset_behaviour(&mut self, behaviour: MediaBehaviour) {
        self.failures_left = match behaviour {
            MediaBehaviour::RateLimited { times } | MediaBehaviour::ServerError { times } => times,
            _ => 0,
        };
        self.url_expiry_pending = behaviour == MediaBehaviour::UrlExpiredOnce;
        self.expired_token = None;
        self.behaviour = behaviour;
    }
}

struct Token {
    valid: bool,
    scopes: Vec<String>,
    /// Epoch seconds, 0 = never.
    expires_at: u64,
}

impl Token {
    fn healthy() -> Token {
        Token {
            valid: true,
            scopes: WHATSAPP_SCOPES.iter().map(|s| s.to_string()).collect(),
            expires_at: 0,
        }
    }
}

struct State {
    base_url: String,
    media: HashMap<String, Media>,
    tokens: HashMap<String, Token>,
    phones: HashSet<String>,
    app_id: String,
    app_secret: String,
    url_lifetime: Duration,
    /// Download URL nonce -> (media id, issued at).
    urls: HashMap<String, (String, Instant)>,
    info_calls: HashMap<String, u64>,
    download_calls: HashMap<String, u64>,
    requests: Vec<RecordedRequest>,
    fail_next_token_call: Option<(u16, i64)>,
    next_flaw: Option<TokenFlaw>,
    last_issued: Option<String>,
    /// Media id -> a gate its next download waits at (see [`FakeGraph::hold_next_download`]).
    gates: HashMap<String, Arc<DownloadGate>>,
    /// Media id -> a byte offset and the gate its next download's body waits at there
    /// ([`FakeGraph::hold_next_download_after`]).
    body_gates: HashMap<String, (u64, Arc<DownloadGate>)>,
}

/// Holds one download of a media id until the test releases it, so a test can act at a known point in the middle
/// of an archive (for example, erase the record) without sleeping.
#[derive(Debug, Default)]
pub struct DownloadGate {
    started: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

impl DownloadGate {
    /// Waits until the held download has been requested.
    pub async fn started(&self) {
        self.started.notified().await;
    }

    /// Lets the held download answer.
    pub fn release(&self) {
        self.release.notify_one();
    }
}

type Shared = Arc<Mutex<State>>;

/// The response body type: small JSON documents and streamed media alike.
type GraphBody = UnsyncBoxBody<Bytes, std::io::Error>;

/// The fake Graph API on `127.0.0.1:<free port>`; dropping it stops the server and cuts open downloads.
///
/// All methods take `&self` and apply immediately, also to requests already in flight where that makes sense,
/// so a test can switch a fault between two calls of the code under test.
pub struct FakeGraph {
    state: Shared,
    server: LoopbackServer,
}

impl fmt::Debug for FakeGraph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Deliberately no state: it holds token values.
        f.debug_struct("FakeGraph")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

impl FakeGraph {
    /// Starts the server with [`DEFAULT_TOKEN`] valid, the default app and [`DEFAULT_PHONE_NUMBER_ID`].
    pub fn start() -> Result<FakeGraph> {
        let mut tokens = HashMap::new();
        tokens.insert(DEFAULT_TOKEN.to_string(), Token::healthy());
        let state = Arc::new(Mutex::new(State {
            base_url: String::new(),
            media: HashMap::new(),
            tokens,
            phones: HashSet::from([DEFAULT_PHONE_NUMBER_ID.to_string()]),
            app_id: DEFAULT_APP_ID.to_string(),
            app_secret: DEFAULT_APP_SECRET.to_string(),
            url_lifetime: DEFAULT_URL_LIFETIME,
            urls: HashMap::new(),
            gates: HashMap::new(),
            body_gates: HashMap::new(),
            info_calls: HashMap::new(),
            download_calls: HashMap::new(),
            requests: Vec::new(),
            fail_next_token_call: None,
            next_flaw: None,
            last_issued: None,
        }));
        let served = state.clone();
        let server =
            LoopbackServer::start("fake graph", move |req, _peer| handle(served.clone(), req))?;
        // No request can arrive before the caller learns the URL, i.e. before this returns.
        lock(&state).base_url = format!("http://{}", server.addr());
        Ok(FakeGraph { state, server })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash: the value for `GRAPH_API_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    // -- media ----------------------------------------------------------------------------------------------

    /// Holds the next download of `media_id` until the returned gate is released.
    pub fn hold_next_download(&self, media_id: &str) -> Arc<DownloadGate> {
        let gate = Arc::new(DownloadGate::default());
        self.state()
            .gates
            .insert(media_id.to_string(), gate.clone());
        gate
    }

    /// Holds the next download of `media_id` once `after` bytes of its body are sent, until the gate is
    /// released: the fetcher is then mid-upload at a known point (its multipart upload begun, the first bytes
    /// streamed), so a test can kill it there without sleeping.
    pub fn hold_next_download_after(&self, media_id: &str, after: u64) -> Arc<DownloadGate> {
        let gate = Arc::new(DownloadGate::default());
        self.state()
            .body_gates
            .insert(media_id.to_string(), (after, gate.clone()));
        gate
    }

    /// Adds (or replaces) a media object; its sha256 is computed now (by one streaming pass for a generated
    /// body). Counters of a replaced id are kept.
    pub fn add_media(
        &self,
        media_id: &str,
        body: impl Into<MediaBody>,
        mime_type: &str,
        behaviour: MediaBehaviour,
    ) {
        let body = body.into();
        let sha256 = body.sha256();
        let mut media = Media {
            body,
            mime_type: mime_type.to_string(),
            sha256,
            behaviour: MediaBehaviour::Ok,
            format: InfoFormat::default(),
            failures_left: 0,
            url_expiry_pending: false,
            expired_token: None,
        };
        media.reset_behaviour(behaviour);
        self.state().media.insert(media_id.to_string(), media);
    }

    /// Switches the behaviour of an added media id, resetting the behaviour's state.
    pub fn set_behaviour(&self, media_id: &str, behaviour: MediaBehaviour) -> Result<()> {
        let mut state = self.state();
        let media = state
            .media
            .get_mut(media_id)
            .ok_or_else(|| no_media(media_id))?;
        media.reset_behaviour(behaviour);
        Ok(())
    }

    /// Sets how media info encodes `sha256` and `file_size` for this id.
    pub fn set_info_format(&self, media_id: &str, format: InfoFormat) -> Result<()> {
        let mut state = self.state();
        let media = state
            .media
            .get_mut(media_id)
            .ok_or_else(|| no_media(media_id))?;
        media.format = format;
        Ok(())
    }

    /// The real sha256 (lowercase hex) of an added media body, whatever media info advertises.
    pub fn sha256_hex(&self, media_id: &str) -> Option<String> {
        self.state()
            .media
            .get(media_id)
            .map(|m| hex::encode(m.sha256))
    }

    /// How long download URLs stay valid (measured from the media info call that issued them).
    /// `Duration::ZERO` makes every URL expired on arrival, without a test having to wait.
    pub fn set_url_lifetime(&self, lifetime: Duration) {
        self.state().url_lifetime = lifetime;
    }

    // -- tokens and app ---------------------------------------------------------------------------------------

    /// Makes exactly these tokens valid (with full scopes, never expiring); every other known token becomes
    /// invalid.
    pub fn set_valid_tokens(&self, tokens: &[&str]) {
        let mut state = self.state();
        for token in state.tokens.values_mut() {
            token.valid = false;
        }
        for token in tokens {
            state.tokens.insert(token.to_string(), Token::healthy());
        }
    }

    /// Invalidates one token (requests with it get code 190; `debug_token` says `is_valid: false`).
    pub fn revoke_token(&self, token: &str) {
        if let Some(t) = self.state().tokens.get_mut(token) {
            t.valid = false;
        }
    }

    /// Whether `token` is currently accepted.
    pub fn is_token_valid(&self, token: &str) -> bool {
        self.state().tokens.get(token).is_some_and(|t| t.valid)
    }

    /// The token most recently minted or exchanged (flawed or not).
    pub fn last_issued_token(&self) -> Option<String> {
        self.state().last_issued.clone()
    }

    /// Sets the app whose id and secret the token endpoints check (and which keys `appsecret_proof`).
    pub fn set_app(&self, app_id: &str, app_secret: &str) {
        let mut state = self.state();
        state.app_id = app_id.to_string();
        state.app_secret = app_secret.to_string();
    }

    /// Registers a phone number id for `GET /{v}/{phone_number_id}`.
    pub fn add_phone_number(&self, phone_number_id: &str) {
        self.state().phones.insert(phone_number_id.to_string());
    }

    /// The next mint or exchange call fails with HTTP `status` and Graph error `code` (one shot).
    pub fn fail_next_token_call(&self, status: u16, code: i64) {
        self.state().fail_next_token_call = Some((status, code));
    }

    /// The next token minted or exchanged has `flaw` (one shot), so a rotator's testSecret step can fail.
    pub fn flaw_next_token(&self, flaw: TokenFlaw) {
        self.state().next_flaw = Some(flaw);
    }

    // -- observations -----------------------------------------------------------------------------------------

    /// `GET /{v}/{media_id}` calls for this id, whatever their outcome.
    pub fn media_info_calls(&self, media_id: &str) -> u64 {
        self.state().info_calls.get(media_id).copied().unwrap_or(0)
    }

    /// Download requests for this id, whatever their outcome.
    pub fn download_calls(&self, media_id: &str) -> u64 {
        self.state()
            .download_calls
            .get(media_id)
            .copied()
            .unwrap_or(0)
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// The `User-Agent` of the latest request (`None` if it had none, or there was no request).
    pub fn last_user_agent(&self) -> Option<String> {
        self.state()
            .requests
            .last()
            .and_then(|r| r.user_agent.clone())
    }

    /// `(path, proof status)` of every request so far, oldest first.
    pub fn appsecret_proof_checks(&self) -> Vec<(String, ProofStatus)> {
        self.state()
            .requests
            .iter()
            .map(|r| (r.path.clone(), r.appsecret_proof))
            .collect()
    }
}

fn no_media(media_id: &str) -> Error {
    Error::Emulator(format!(
        "fake Graph: no media with id {media_id:?} was added"
    ))
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

// -- request handling -------------------------------------------------------------------------------------------

/// What a handler needs from the request, parsed once.
struct Call {
    method: Method,
    path: String,
    params: HashMap<String, String>,
    bearer: Option<String>,
}

impl Call {
    fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

async fn handle(shared: Shared, req: Request<Incoming>) -> Result<Response<GraphBody>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let mut params = parse_form(req.uri().query().unwrap_or(""));
    let user_agent = req
        .headers()
        .get(USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string())
        .filter(|v| !v.is_empty());
    let bearer = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        })
        .filter(|t| !t.is_empty());
    if method == Method::POST {
        // Graph takes POST parameters from the query or a form body; the query wins on a clash.
        if let Ok(body) = req.into_body().collect().await {
            for (k, v) in parse_form(&String::from_utf8_lossy(&body.to_bytes())) {
                params.entry(k).or_insert(v);
            }
        }
    }
    let call = Call {
        method,
        path,
        params,
        bearer,
    };
    let held = call
        .path
        .strip_prefix("/media-download/")
        .and_then(|id| lock(&shared).gates.remove(id));
    if let Some(gate) = held {
        gate.started.notify_one();
        gate.release.notified().await;
    }
    let mut state = lock(&shared);
    let proof = state.proof_status(&call);
    let response = state.route(&call, proof);
    state.requests.push(RecordedRequest {
        method: call.method.to_string(),
        path: call.path.clone(),
        status: response.status().as_u16(),
        user_agent,
        appsecret_proof: proof,
    });
    Ok(response)
}

impl State {
    fn route(&mut self, call: &Call, proof: ProofStatus) -> Response<GraphBody> {
        let segments: Vec<&str> = call.path.trim_start_matches('/').split('/').collect();
        let graph = |v: &str| is_version(v);
        match (&call.method, segments.as_slice()) {
            (&Method::GET, ["media-download", id]) => self.download(call, id),
            _ if proof == ProofStatus::Invalid => graph_error(
                StatusCode::BAD_REQUEST,
                100,
                None,
                "GraphMethodException",
                "Invalid appsecret_proof provided in the API argument",
            ),
            (&Method::GET, [v, "oauth", "access_token"]) if graph(v) => self.exchange(call),
            (&Method::GET, [v, "debug_token"]) if graph(v) => self.debug_token(call),
            (&Method::POST, [v, _user, "access_tokens"]) if graph(v) => self.mint(call, proof),
            (&Method::GET, [v, id]) if graph(v) => self.object(call, id),
            _ => graph_error(
                StatusCode::BAD_REQUEST,
                2500,
                None,
                "OAuthException",
                &format!("Unknown path components: {}", call.path),
            ),
        }
    }

    /// The token a call presents: the bearer header, else an `access_token` parameter.
    fn presented_token<'a>(&self, call: &'a Call) -> Option<&'a str> {
        call.bearer
            .as_deref()
            .or_else(|| call.param("access_token"))
    }

    fn proof_status(&self, call: &Call) -> ProofStatus {
        let Some(proof) = call.param("appsecret_proof") else {
            return ProofStatus::Absent;
        };
        match self.presented_token(call) {
            Some(token) if proof == appsecret_proof(&self.app_secret, token) => ProofStatus::Valid,
            _ => ProofStatus::Invalid,
        }
    }

    fn is_valid(&self, token: &str) -> bool {
        self.tokens.get(token).is_some_and(|t| t.valid)
    }

    /// The bearer token, if present and valid (else the caller answers [`invalid_token`]).
    fn authorise(&self, call: &Call) -> Option<String> {
        call.bearer
            .as_deref()
            .filter(|token| self.is_valid(token))
            .map(str::to_string)
    }

    /// `GET /{v}/{id}`: a phone number, a media object, or Graph's "does not exist".
    fn object(&mut self, call: &Call, id: &str) -> Response<GraphBody> {
        if self.phones.contains(id) {
            if self.authorise(call).is_none() {
                return invalid_token();
            }
            return json_response(
                StatusCode::OK,
                &json!({
                    "id": id,
                    "display_phone_number": "+1 555-000-0000",
                    "verified_name": "Test",
                }),
            );
        }
        *self.info_calls.entry(id.to_string()).or_default() += 1;
        let Some(token) = self.authorise(call) else {
            return invalid_token();
        };
        let base_url = self.base_url.clone();
        let Some(media) = self
            .media
            .get_mut(id)
            .filter(|m| m.behaviour != MediaBehaviour::UnknownId)
        else {
            return unknown_id(id);
        };
        match media.behaviour {
            MediaBehaviour::TokenExpired
                if *media.expired_token.get_or_insert_with(|| token.clone()) == token =>
            {
                return session_expired();
            }
            MediaBehaviour::RateLimited { .. } if media.failures_left > 0 => {
                media.failures_left -= 1;
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    130429,
                    None,
                    "OAuthException",
                    "Rate limit hit",
                );
            }
            MediaBehaviour::ServerError { .. } if media.failures_left > 0 => {
                media.failures_left -= 1;
                return graph_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    2,
                    None,
                    "OAuthException",
                    "An unexpected error has occurred. Please retry your request later.",
                );
            }
            _ => {}
        }
        let sha256 = match media.behaviour {
            // A digest of the digest: stable, and certainly not the body's.
            MediaBehaviour::WrongSha256 => Sha256::digest(media.sha256).into(),
            _ => media.sha256,
        };
        let sha256 = if media.format.sha256_base64 {
            base64::engine::general_purpose::STANDARD.encode(sha256)
        } else {
            hex::encode(sha256)
        };
        let file_size = match media.behaviour {
            MediaBehaviour::Oversized { declared } => declared.unwrap_or(media.body.len() / 2),
            _ => media.body.len(),
        };
        let file_size = if media.format.file_size_number {
            json!(file_size)
        } else {
            json!(file_size.to_string())
        };
        let mime_type = media.mime_type.clone();
        let format = media.format;
        let nonce = hex_id(32);
        self.urls
            .insert(nonce.clone(), (id.to_string(), Instant::now()));
        let mut info = json!({
            "messaging_product": "whatsapp",
            "url": format!("{base_url}/media-download/{id}?token={nonce}&ext=1"),
            "mime_type": mime_type,
            "sha256": sha256,
            "file_size": file_size,
            "id": id,
        });
        if let Some(fields) = info.as_object_mut() {
            if format.no_sha256 {
                fields.remove("sha256");
            }
            if format.no_file_size {
                fields.remove("file_size");
            }
        }
        json_response(StatusCode::OK, &info)
    }

    /// `GET /media-download/{id}?token=<nonce>`: the bytes, shaped by the media's behaviour.
    fn download(&mut self, call: &Call, id: &str) -> Response<GraphBody> {
        *self.download_calls.entry(id.to_string()).or_default() += 1;
        let Some(token) = self.authorise(call) else {
            return invalid_token();
        };
        let url_ok = call
            .param("token")
            .and_then(|nonce| self.urls.get(nonce))
            .is_some_and(|(media_id, issued)| {
                media_id == id && issued.elapsed() < self.url_lifetime
            });
        let Some(media) = self
            .media
            .get_mut(id)
            .filter(|m| m.behaviour != MediaBehaviour::UnknownId)
        else {
            return text_response(StatusCode::NOT_FOUND, "Not Found");
        };
        if media.behaviour == MediaBehaviour::TokenExpired
            && *media.expired_token.get_or_insert_with(|| token.clone()) == token
        {
            return session_expired();
        }
        if !url_ok {
            return text_response(StatusCode::NOT_FOUND, "URL signature expired");
        }
        if media.url_expiry_pending {
            media.url_expiry_pending = false;
            return text_response(StatusCode::NOT_FOUND, "URL signature expired");
        }
        let len = media.body.len();
        let mut stream = MediaStream {
            body: media.body.clone(),
            pos: 0,
            end: len,
            chunk: CHUNK,
            delay: None,
            cut: false,
            pause: self.body_gates.remove(id),
        };
        let mut content_length = Some(len);
        match media.behaviour {
            MediaBehaviour::Slow {
                delay_ms_per_chunk,
                chunk,
            } => {
                stream.chunk = chunk.max(1);
                stream.delay = Some(Duration::from_millis(delay_ms_per_chunk));
            }
            MediaBehaviour::Truncated { after } if after < len => {
                stream.end = after;
                stream.cut = true;
            }
            MediaBehaviour::Chunked | MediaBehaviour::Oversized { .. } => content_length = None,
            _ => {}
        }
        let content_type = HeaderValue::from_str(&media.mime_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
        let mut response = Response::new(stream.into_body());
        response.headers_mut().insert(CONTENT_TYPE, content_type);
        if let Some(len) = content_length {
            // Set by hand because a streamed body has no exact size hint; hyper then enforces it.
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(len));
        }
        response
    }

    /// `GET /{v}/oauth/access_token?grant_type=fb_exchange_token&...`.
    fn exchange(&mut self, call: &Call) -> Response<GraphBody> {
        if let Some(failure) = self.fail_next_token_call.take() {
            return injected_failure(failure);
        }
        if call.param("grant_type") != Some("fb_exchange_token") {
            return graph_error(
                StatusCode::BAD_REQUEST,
                100,
                None,
                "OAuthException",
                "Unsupported grant_type",
            );
        }
        if let Some(refusal) = self.check_client(call) {
            return refusal;
        }
        match call.param("fb_exchange_token") {
            Some(old) if self.is_valid(old) => {}
            _ => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    190,
                    None,
                    "OAuthException",
                    "Error validating access token: The session is invalid or has expired.",
                )
            }
        }
        let token = self.issue(
            WHATSAPP_SCOPES.iter().map(|s| s.to_string()).collect(),
            epoch_secs() + EXCHANGED_TOKEN_EXPIRES_IN,
        );
        json_response(
            StatusCode::OK,
            &json!({
                "access_token": token,
                "token_type": "bearer",
                "expires_in": EXCHANGED_TOKEN_EXPIRES_IN,
            }),
        )
    }

    /// `client_id` and `client_secret` must name the configured app: the refusal if they do not.
    fn check_client(&self, call: &Call) -> Option<Response<GraphBody>> {
        if call.param("client_id") != Some(self.app_id.as_str()) {
            return Some(graph_error(
                StatusCode::BAD_REQUEST,
                101,
                None,
                "OAuthException",
                "Error validating application. Invalid application ID.",
            ));
        }
        if call.param("client_secret") != Some(self.app_secret.as_str()) {
            // Yes, Graph reports a wrong client secret as code 1.
            return Some(graph_error(
                StatusCode::BAD_REQUEST,
                1,
                None,
                "OAuthException",
                "Error validating client secret.",
            ));
        }
        None
    }

    /// `POST /{v}/{system_user_id}/access_tokens`.
    fn mint(&mut self, call: &Call, proof: ProofStatus) -> Response<GraphBody> {
        if let Some(failure) = self.fail_next_token_call.take() {
            return injected_failure(failure);
        }
        if !self.presented_token(call).is_some_and(|t| self.is_valid(t)) {
            return invalid_token();
        }
        if proof != ProofStatus::Valid {
            return graph_error(
                StatusCode::BAD_REQUEST,
                100,
                None,
                "GraphMethodException",
                "API calls from the server require an appsecret_proof argument",
            );
        }
        if call.param("business_app") != Some(self.app_id.as_str()) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                100,
                None,
                "OAuthException",
                "(#100) Param business_app must be the id of an app the system user can access",
            );
        }
        let scopes: Vec<String> = call
            .param("scope")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if scopes.is_empty() {
            return graph_error(
                StatusCode::BAD_REQUEST,
                100,
                None,
                "OAuthException",
                "(#100) The parameter scope is required",
            );
        }
        let sixty_days = call.param("set_token_expires_in_60_days") == Some("true");
        let expires_at = if sixty_days {
            epoch_secs() + SIXTY_DAYS_SECS
        } else {
            0
        };
        let token = self.issue(scopes, expires_at);
        let mut body = json!({ "access_token": token });
        if sixty_days {
            body["expires_in"] = json!(SIXTY_DAYS_SECS);
        }
        json_response(StatusCode::OK, &body)
    }

    /// Creates a token, applying a pending [`TokenFlaw`].
    fn issue(&mut self, mut scopes: Vec<String>, expires_at: u64) -> String {
        let token = format!("EAAG{}", hex_id(32));
        let mut valid = true;
        match self.next_flaw.take() {
            Some(TokenFlaw::Invalid) => valid = false,
            Some(TokenFlaw::MissingScopes) => {
                scopes.retain(|s| s != "whatsapp_business_messaging");
            }
            None => {}
        }
        self.tokens.insert(
            token.clone(),
            Token {
                valid,
                scopes,
                expires_at,
            },
        );
        self.last_issued = Some(token.clone());
        token
    }

    /// `GET /{v}/debug_token?input_token=...&access_token={app_id}|{app_secret}` (or a valid token).
    fn debug_token(&self, call: &Call) -> Response<GraphBody> {
        let app_token = format!("{}|{}", self.app_id, self.app_secret);
        let inspector_ok = self
            .presented_token(call)
            .is_some_and(|t| t == app_token || self.is_valid(t));
        if !inspector_ok {
            return graph_error(
                StatusCode::BAD_REQUEST,
                190,
                None,
                "OAuthException",
                "Invalid OAuth access token signature.",
            );
        }
        let Some(input) = call.param("input_token") else {
            return graph_error(
                StatusCode::BAD_REQUEST,
                100,
                None,
                "OAuthException",
                "(#100) The parameter input_token is required",
            );
        };
        let data = match self.tokens.get(input) {
            Some(token) => {
                let mut data = json!({
                    "app_id": self.app_id,
                    "type": "SYSTEM_USER",
                    "application": "wavault",
                    "expires_at": token.expires_at,
                    "is_valid": token.valid,
                    "scopes": token.scopes,
                });
                if !token.valid {
                    data["error"] = json!({
                        "code": 190,
                        "message": "Error validating access token: The session has been invalidated.",
                    });
                }
                data
            }
            None => json!({
                "error": {
                    "code": 190,
                    "message": "Invalid OAuth access token - Cannot parse access token",
                },
                "is_valid": false,
                "scopes": [],
            }),
        };
        json_response(StatusCode::OK, &json!({ "data": data }))
    }
}

/// Streams `body[pos..end]` chunk by chunk, optionally slowly, optionally cutting the connection at the end.
struct MediaStream {
    body: MediaBody,
    pos: u64,
    end: u64,
    chunk: usize,
    delay: Option<Duration>,
    /// Fail after the last byte, so hyper aborts the connection short of the declared Content-Length.
    cut: bool,
    /// Wait at this offset until the gate is released (announcing it first).
    pause: Option<(u64, Arc<DownloadGate>)>,
}

impl MediaStream {
    fn into_body(self) -> GraphBody {
        let frames = futures::stream::unfold(Some(self), |stream| async move {
            let mut s = stream?;
            if s.pos >= s.end {
                if s.cut {
                    tokio::time::sleep(TRUNCATE_GRACE).await;
                    let cut = std::io::Error::new(
                        std::io::ErrorKind::ConnectionAborted,
                        "fake graph: truncated download",
                    );
                    return Some((Err(cut), None));
                }
                return None;
            }
            if let Some(delay) = s.delay {
                tokio::time::sleep(delay).await;
            }
            let mut n = (s.end - s.pos).min(s.chunk as u64) as usize;
            if let Some((at, gate)) = s.pause.take() {
                if s.pos >= at {
                    gate.started.notify_one();
                    gate.release.notified().await;
                } else {
                    n = n.min((at - s.pos) as usize);
                    s.pause = Some((at, gate));
                }
            }
            let bytes = s.body.slice(s.pos, n);
            s.pos += n as u64;
            Some((Ok(Frame::data(bytes)), Some(s)))
        });
        StreamBody::new(frames).boxed_unsync()
    }
}

// -- responses --------------------------------------------------------------------------------------------------

fn json_response(status: StatusCode, value: &Value) -> Response<GraphBody> {
    let body = Full::new(Bytes::from(value.to_string()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}

fn text_response(status: StatusCode, text: &'static str) -> Response<GraphBody> {
    let body = Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// Graph's error document: `{"error":{"message","type","code","error_subcode"?,"fbtrace_id"}}`.
fn graph_error(
    status: StatusCode,
    code: i64,
    subcode: Option<i64>,
    kind: &str,
    message: &str,
) -> Response<GraphBody> {
    let mut error = json!({
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": format!("A{}", hex_id(22)),
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    json_response(status, &json!({ "error": error }))
}

fn invalid_token() -> Response<GraphBody> {
    graph_error(
        StatusCode::UNAUTHORIZED,
        190,
        None,
        "OAuthException",
        "Invalid OAuth access token - Cannot parse access token",
    )
}

fn session_expired() -> Response<GraphBody> {
    graph_error(
        StatusCode::UNAUTHORIZED,
        190,
        None,
        "OAuthException",
        "Error validating access token: Session has expired",
    )
}

fn unknown_id(id: &str) -> Response<GraphBody> {
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        Some(33),
        "GraphMethodException",
        &format!(
            "Unsupported get request. Object with ID '{id}' does not exist, cannot be loaded due to missing \
             permissions, or does not support this operation. Please read the Graph API documentation at \
             https://developers.facebook.com/docs/graph-api"
        ),
    )
}

fn injected_failure((status, code): (u16, i64)) -> Response<GraphBody> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    graph_error(
        status,
        code,
        None,
        "OAuthException",
        "Injected failure (fake Graph)",
    )
}

// -- helpers ----------------------------------------------------------------------------------------------------

/// `v<digits>.<digits>`, as Graph versions are spelled.
fn is_version(segment: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    segment
        .strip_prefix('v')
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(major, minor)| digits(major) && digits(minor))
}

/// The `appsecret_proof` Graph expects for `token`: lowercase hex HMAC-SHA256 keyed by the app secret.
pub fn appsecret_proof(app_secret: &str, token: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail; an empty proof would only ever mismatch.
    match Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(token.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// `application/x-www-form-urlencoded` pairs (also query strings); the last of repeated names wins.
fn parse_form(text: &str) -> HashMap<String, String> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let hex = |b: u8| (b as char).to_digit(16);
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => match (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 3;
                }
                _ => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn epoch_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ranges_agree_at_any_offset() {
        // Four MiB, read whole and in pieces straddling the block boundaries.
        let whole = MediaBody::generated_range(7, 0, 4 * GEN_BLOCK);
        for offset in [0, 1, 7, GEN_BLOCK - 3, GEN_BLOCK, 2 * GEN_BLOCK - 1] {
            let part = MediaBody::generated_range(7, offset as u64, GEN_BLOCK + 5);
            assert_eq!(part[..], whole[offset..offset + GEN_BLOCK + 5]);
        }
        assert_ne!(whole[..GEN_BLOCK], whole[GEN_BLOCK..2 * GEN_BLOCK]);
        assert_ne!(MediaBody::generated_range(8, 0, 100), whole[..100]);
        let body = MediaBody::Generated {
            len: 3 * GEN_BLOCK as u64,
            seed: 7,
        };
        assert_eq!(
            body.sha256()[..],
            Sha256::digest(&whole[..3 * GEN_BLOCK])[..]
        );
        assert_eq!(body.slice(10, 20)[..], whole[10..30]);
    }

    #[test]
    fn versions_and_forms_parse() {
        assert!(is_version("v23.0") && is_version("v1.12"));
        assert!(
            !is_version("23.0") && !is_version("v23") && !is_version("v.1") && !is_version("vx.0")
        );
        let p = parse_form("a=1+2&b=x%7Cy&c&a=3");
        assert_eq!(p.get("a").map(String::as_str), Some("3"));
        assert_eq!(p.get("b").map(String::as_str), Some("x|y"));
        assert_eq!(p.get("c").map(String::as_str), Some(""));
    }

    #[test]
    fn appsecret_proof_matches_a_known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            appsecret_proof("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
