//! A fake of OpenAI's speech endpoint, `POST /v1/audio/speech`, as its API reference documents
//! it: a Bearer key, a JSON body (`model`, `input` of at most 4096 characters, `voice`,
//! `response_format`, `speed` from 0.25 to 4), audio streamed back with chunked transfer
//! encoding, and errors as `{"error": {"message", "type", "param", "code"}}` with 400, 401, 429
//! and 5xx statuses. The audio is real and silent, as long as the text would take to say: MPEG-1
//! Layer III frames for `mp3` (a browser decodes and plays them), a WAV file for `wav`, raw 24 kHz
//! 16-bit samples for `pcm`. This fake encodes nothing else: asked for `opus`, `aac` or `flac` it
//! answers 501, which no real client would take for audio.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::http::{self, Request, Response};

pub const VOICES: &[&str] =
    &["alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse"];
pub const MODELS: &[&str] = &["tts-1", "tts-1-hd", "gpt-4o-mini-tts"];
const FORMATS: &[&str] = &["mp3", "opus", "aac", "flac", "wav", "pcm"];

/// What the next request gets, instead of audio.
#[derive(Debug, Clone)]
pub enum SpeechScript {
    /// A documented error: status, `type`, `code`, message, and `retry-after` seconds if any.
    Error { status: u16, kind: String, code: Option<String>, message: String, retry_after: Option<u64> },
    /// Accept the connection and never answer.
    Stall,
    /// Answer with audio after waiting this long.
    Delay(Duration),
}

impl SpeechScript {
    pub fn rate_limited() -> Self {
        Self::Error {
            status: 429,
            kind: "requests".into(),
            code: Some("rate_limit_exceeded".into()),
            message: "Rate limit reached for requests".into(),
            retry_after: Some(1),
        }
    }

    /// The account's credit is spent: a 429 that, unlike a rate limit, no wait lifts.
    pub fn quota_exceeded() -> Self {
        Self::Error {
            status: 429,
            kind: "insufficient_quota".into(),
            code: Some("insufficient_quota".into()),
            message: "You exceeded your current quota, please check your plan and billing details.".into(),
            retry_after: None,
        }
    }

    pub fn server_error() -> Self {
        Self::Error {
            status: 500,
            kind: "server_error".into(),
            code: None,
            message: "The server had an error while processing your request. Sorry about that!".into(),
            retry_after: None,
        }
    }
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct State {
    requests: Vec<Recorded>,
    scripts: VecDeque<SpeechScript>,
}

pub struct FakeSpeech {
    addr: SocketAddr,
    api_key: String,
    state: Arc<Mutex<State>>,
}

/// Milliseconds of speech per character of text, about 150 words a minute.
const MS_PER_CHAR: u64 = 60;
/// One silent MPEG-1 Layer III frame: 128 kbit/s, 44.1 kHz, mono, 1152 samples (26.1 ms).
const FRAME_BYTES: usize = 417;
const FRAME_MS: f64 = 1152.0 / 44.1;

/// `ms` milliseconds of silent MP3 (at least one frame).
pub fn silent_mp3(ms: u64) -> Vec<u8> {
    let frames = ((ms as f64 / FRAME_MS).ceil() as usize).max(1);
    let mut frame = vec![0u8; FRAME_BYTES];
    frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
    frame.repeat(frames)
}

/// `ms` milliseconds of silence as the API's `pcm` format: 24 kHz, 16-bit little-endian, mono.
pub fn silent_pcm(ms: u64) -> Vec<u8> {
    vec![0u8; (24 * ms * 2) as usize]
}

/// `ms` milliseconds of silence as a WAV file holding the same samples as [`silent_pcm`].
pub fn silent_wav(ms: u64) -> Vec<u8> {
    let data = silent_pcm(ms);
    let size = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes();
    let mut wav = Vec::with_capacity(44 + data.len());
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&size(36 + data.len()));
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&1u16.to_le_bytes()); // mono
    wav.extend_from_slice(&24_000u32.to_le_bytes());
    wav.extend_from_slice(&48_000u32.to_le_bytes()); // bytes per second
    wav.extend_from_slice(&2u16.to_le_bytes()); // block align
    wav.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&size(data.len()));
    wav.extend_from_slice(&data);
    wav
}

/// How long the fake's audio for `text` lasts, in milliseconds (as whole frames).
pub fn duration_ms(text: &str) -> u64 {
    let frames = ((text.chars().count() as u64 * MS_PER_CHAR) as f64 / FRAME_MS).ceil().max(1.0);
    (frames * FRAME_MS).round() as u64
}

impl FakeSpeech {
    /// Starts on a free port of 127.0.0.1, accepting `api_key`.
    pub async fn start(api_key: &str) -> Self {
        Self::start_on("127.0.0.1:0", api_key).await
    }

    pub async fn start_on(addr: &str, api_key: &str) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind the fake speech server");
        let addr = listener.local_addr().expect("a local address");
        let state = Arc::new(Mutex::new(State::default()));
        let fake = Self { addr, api_key: api_key.to_owned(), state: Arc::clone(&state) };
        let api_key = fake.api_key.clone();
        tokio::spawn(http::serve(listener, move |request| {
            let state = Arc::clone(&state);
            let api_key = api_key.clone();
            async move { serve(request, &state, &api_key).await }
        }));
        fake
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The next request gets `script` instead of audio.
    pub fn push(&self, script: SpeechScript) {
        self.lock().scripts.push_back(script);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn error_body(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Vec<u8> {
    json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
        .to_string()
        .into_bytes()
}

fn reply_error(status: u16, body: Vec<u8>, retry_after: Option<u64>) -> Response {
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(seconds) = retry_after {
        headers.push(("retry-after".to_owned(), seconds.to_string()));
    }
    Response::whole(status, headers, body)
}

/// Checks the body as the API does; the first problem found, as (param, message).
fn invalid(body: &Value) -> Option<(&'static str, String)> {
    let model = body["model"].as_str().unwrap_or_default();
    if !MODELS.contains(&model) {
        return Some(("model", format!("Invalid model: '{model}'.")));
    }
    let input = body["input"].as_str().unwrap_or_default();
    if input.is_empty() {
        return Some(("input", "[{'type': 'string_too_short', 'loc': ('body', 'input')}]".into()));
    }
    if input.chars().count() > 4096 {
        return Some(("input", "[{'type': 'string_too_long', 'loc': ('body', 'input')}]".into()));
    }
    let voice = body["voice"].as_str().unwrap_or_default();
    if !VOICES.contains(&voice) {
        return Some(("voice", format!("Invalid voice: '{voice}'.")));
    }
    if let Some(format) = body.get("response_format")
        && !format.as_str().is_some_and(|f| FORMATS.contains(&f))
    {
        return Some(("response_format", format!("Invalid response_format: {format}.")));
    }
    if let Some(speed) = body.get("speed")
        && !speed.as_f64().is_some_and(|s| (0.25..=4.0).contains(&s))
    {
        return Some(("speed", format!("Invalid speed: {speed}; it must be between 0.25 and 4.0.")));
    }
    None
}

async fn serve(request: Request, state: &Mutex<State>, api_key: &str) -> Response {
    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
    let authorization = request.header("authorization").map(str::to_owned);
    let script = {
        let mut state = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.requests.push(Recorded {
            path: request.path.clone(),
            authorization: authorization.clone(),
            content_type: request.header("content-type").map(str::to_owned),
            body: body.clone(),
        });
        state.scripts.pop_front()
    };
    if request.method != "POST" || request.path != "/v1/audio/speech" {
        let message = format!("Invalid URL ({} {})", request.method, request.path);
        return reply_error(404, error_body(&message, "invalid_request_error", None, None), None);
    }
    if authorization.as_deref() != Some(format!("Bearer {api_key}").as_str()) {
        let message = "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.";
        return reply_error(
            401,
            error_body(message, "invalid_request_error", None, Some("invalid_api_key")),
            None,
        );
    }
    if body.is_null() || !request.header("content-type").is_some_and(|t| t.starts_with("application/json")) {
        let message = "We could not parse the JSON body of your request.";
        return reply_error(400, error_body(message, "invalid_request_error", None, None), None);
    }
    if let Some((param, message)) = invalid(&body) {
        return reply_error(400, error_body(&message, "invalid_request_error", Some(param), None), None);
    }
    match script {
        Some(SpeechScript::Error { status, kind, code, message, retry_after }) => {
            return reply_error(status, error_body(&message, &kind, None, code.as_deref()), retry_after);
        }
        Some(SpeechScript::Stall) => {
            // Never answers (the client gives up first); after an hour, a bare gateway timeout.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return Response::whole(504, Vec::new(), Vec::new());
        }
        Some(SpeechScript::Delay(delay)) => tokio::time::sleep(delay).await,
        None => {}
    }
    let input = body["input"].as_str().unwrap_or_default();
    let ms = duration_ms(input);
    let (audio, content_type) = match body["response_format"].as_str().unwrap_or("mp3") {
        "mp3" => (silent_mp3(ms), "audio/mpeg"),
        "wav" => (silent_wav(ms), "audio/wav"),
        "pcm" => (silent_pcm(ms), "audio/pcm"),
        other => {
            // A limit of this fake, not of the API: said loudly so no test mistakes it for audio.
            let message = format!("The fake speech server does not encode {other}; ask for mp3, wav or pcm.");
            return reply_error(
                501,
                error_body(&message, "server_error", Some("response_format"), None),
                None,
            );
        }
    };
    let (response, sender) =
        Response::streamed(200, vec![("content-type".to_owned(), content_type.to_owned())]);
    tokio::spawn(async move {
        for chunk in audio.chunks(4096) {
            if sender.send(chunk).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    });
    response
}
