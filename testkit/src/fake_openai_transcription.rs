//! A fake of OpenAI's transcription endpoint, `POST /v1/audio/transcriptions`, as its API
//! reference documents it: a Bearer key (401 without one or with a wrong one), a
//! `multipart/form-data` body with a `file` (named with one of the supported extensions, at most
//! 25 MB) and a `model`, and optionally `language`, `prompt`, `response_format` (`json`,
//! `text`, `srt`, `verbose_json`, `vtt`) and `temperature`; answered `{"text": …}` for `json`.
//! Errors are `{"error": {"message", "type", "param", "code"}}`: 400 for a missing or unsupported
//! file or model, 413 past the size limit, 429 (with `retry-after`) and 5xx when a test scripts
//! them. It hears nothing: the transcript is whatever the test set (see [`FakeTranscription::say`]).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{FromRequest, Multipart};
use serde_json::json;
use tokio::net::TcpListener;

use crate::http::{self, Request, Response};

pub const MODELS: &[&str] = &["whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe"];
pub const EXTENSIONS: &[&str] = &["flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm"];
const FORMATS: &[&str] = &["json", "text", "srt", "verbose_json", "vtt"];
/// The API's upload limit: 25 MB.
pub const MAX_FILE_BYTES: usize = 25 * 1024 * 1024;
const PATH: &str = "/v1/audio/transcriptions";

/// What the next request gets, instead of its transcript.
#[derive(Debug, Clone)]
pub enum TranscriptionScript {
    /// A documented error: status, `type`, `param`, `code`, message, and `retry-after` seconds.
    Error {
        status: u16,
        kind: String,
        param: Option<String>,
        code: Option<String>,
        message: String,
        retry_after: Option<u64>,
    },
    /// Accept the connection and never answer.
    Stall,
}

impl TranscriptionScript {
    pub fn rate_limited(retry_after: u64) -> Self {
        Self::Error {
            status: 429,
            kind: "requests".into(),
            param: None,
            code: Some("rate_limit_exceeded".into()),
            message: "Rate limit reached for requests".into(),
            retry_after: Some(retry_after),
        }
    }

    pub fn server_error() -> Self {
        Self::Error {
            status: 500,
            kind: "server_error".into(),
            param: None,
            code: None,
            message: "The server had an error while processing your request. Sorry about that!".into(),
            retry_after: None,
        }
    }

    /// What the API says of a file it cannot decode.
    pub fn invalid_file() -> Self {
        Self::Error {
            status: 400,
            kind: "invalid_request_error".into(),
            param: Some("file".into()),
            code: Some("invalid_value".into()),
            message: "The audio file could not be decoded or its format is not supported.".into(),
            retry_after: None,
        }
    }
}

/// A request as received, its multipart fields read.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub model: Option<String>,
    pub language: Option<String>,
    pub response_format: Option<String>,
    pub file_name: Option<String>,
    pub file_type: Option<String>,
    pub file: Option<Vec<u8>>,
}

struct State {
    requests: Vec<Recorded>,
    scripts: VecDeque<TranscriptionScript>,
    transcript: String,
}

pub struct FakeTranscription {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl FakeTranscription {
    /// Starts on a free port of 127.0.0.1, accepting `api_key`.
    pub async fn start(api_key: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fake transcription server");
        let addr = listener.local_addr().expect("a local address");
        let state = Arc::new(Mutex::new(State {
            requests: Vec::new(),
            scripts: VecDeque::new(),
            transcript: "Hello from the fake transcriber.".into(),
        }));
        let fake = Self { addr, state: Arc::clone(&state) };
        let api_key = api_key.to_owned();
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

    /// What every later request is heard to say.
    pub fn say(&self, transcript: &str) {
        self.lock().transcript = transcript.to_owned();
    }

    /// The next request gets `script` instead of its transcript.
    pub fn push(&self, script: TranscriptionScript) {
        self.lock().scripts.push_back(script);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn error_response(
    status: u16,
    message: &str,
    kind: &str,
    param: Option<&str>,
    code: Option<&str>,
    retry_after: Option<u64>,
) -> Response {
    let body = json!({"error": {"message": message, "type": kind, "param": param, "code": code}});
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if let Some(seconds) = retry_after {
        headers.push(("retry-after".to_owned(), seconds.to_string()));
    }
    Response::whole(status, headers, body.to_string().into_bytes())
}

fn invalid(message: &str, param: Option<&str>, code: Option<&str>) -> Response {
    error_response(400, message, "invalid_request_error", param, code, None)
}

/// Reads the multipart body with axum's parser (multer underneath).
async fn read_form(request: &Request, recorded: &mut Recorded) -> Result<(), String> {
    let mut builder = axum::http::Request::builder().method("POST").uri(PATH);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let http_request =
        builder.body(axum::body::Body::from(request.body.clone())).map_err(|e| e.to_string())?;
    let mut form = Multipart::from_request(http_request, &()).await.map_err(|e| e.body_text())?;
    while let Some(field) = form.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            recorded.file_name = field.file_name().map(str::to_owned);
            recorded.file_type = field.content_type().map(str::to_owned);
            recorded.file = Some(field.bytes().await.map_err(|e| e.body_text())?.to_vec());
            continue;
        }
        let value = field.text().await.map_err(|e| e.body_text())?;
        match name.as_str() {
            "model" => recorded.model = Some(value),
            "language" => recorded.language = Some(value),
            "response_format" => recorded.response_format = Some(value),
            _ => {}
        }
    }
    Ok(())
}

async fn serve(request: Request, state: &Mutex<State>, api_key: &str) -> Response {
    let lock = || state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut recorded = Recorded {
        authorization: request.header("authorization").map(str::to_owned),
        content_type: request.header("content-type").map(str::to_owned),
        ..Recorded::default()
    };
    if request.method != "POST" || request.path != PATH {
        let message = format!("Invalid URL ({} {})", request.method, request.path);
        return error_response(404, &message, "invalid_request_error", None, None, None);
    }
    match recorded.authorization.as_deref() {
        None => {
            lock().requests.push(recorded);
            let message = "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.";
            return error_response(401, message, "invalid_request_error", None, None, None);
        }
        Some(value) if value != format!("Bearer {api_key}") => {
            lock().requests.push(recorded);
            let message = "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.";
            return error_response(
                401,
                message,
                "invalid_request_error",
                None,
                Some("invalid_api_key"),
                None,
            );
        }
        Some(_) => {}
    }
    let form = read_form(&request, &mut recorded).await;
    let script = {
        let mut state = lock();
        state.requests.push(recorded.clone());
        state.scripts.pop_front()
    };
    if let Err(reason) = form {
        return invalid(&format!("Could not parse multipart form: {reason}"), None, None);
    }
    let Some(file) = &recorded.file else {
        return invalid(
            "Missing required parameter: 'file'.",
            Some("file"),
            Some("missing_required_parameter"),
        );
    };
    let Some(model) = recorded.model.as_deref().filter(|model| !model.is_empty()) else {
        return invalid(
            "Missing required parameter: 'model'.",
            Some("model"),
            Some("missing_required_parameter"),
        );
    };
    if !MODELS.contains(&model) {
        return invalid(&format!("Invalid model: '{model}'."), Some("model"), Some("invalid_value"));
    }
    if file.len() > MAX_FILE_BYTES {
        let message =
            format!("Maximum content size limit ({MAX_FILE_BYTES}) exceeded ({} bytes read)", file.len());
        return error_response(413, &message, "server_error", None, None, None);
    }
    let extension = recorded.file_name.as_deref().and_then(|name| name.rsplit_once('.')).map(|(_, ext)| ext);
    if !extension.is_some_and(|ext| EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())) {
        let message = format!("Invalid file format. Supported formats: {EXTENSIONS:?}");
        return invalid(&message, Some("file"), Some("invalid_value"));
    }
    let format = recorded.response_format.clone().unwrap_or_else(|| "json".into());
    if !FORMATS.contains(&format.as_str()) {
        return invalid(&format!("Invalid response_format: '{format}'."), Some("response_format"), None);
    }
    // "For gpt-4o-transcribe and gpt-4o-mini-transcribe, the only supported format is json."
    if matches!(model, "gpt-4o-transcribe" | "gpt-4o-mini-transcribe") && format != "json" {
        let message =
            format!("response_format '{format}' is not compatible with model '{model}'. Use 'json'.");
        return invalid(&message, Some("response_format"), Some("unsupported_value"));
    }
    match script {
        Some(TranscriptionScript::Error { status, kind, param, code, message, retry_after }) => {
            return error_response(status, &message, &kind, param.as_deref(), code.as_deref(), retry_after);
        }
        Some(TranscriptionScript::Stall) => {
            // Never answers (the client gives up first); after an hour, a bare gateway timeout.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return Response::whole(504, Vec::new(), Vec::new());
        }
        None => {}
    }
    let transcript = lock().transcript.clone();
    match format.as_str() {
        "json" => Response::whole(
            200,
            vec![("content-type".to_owned(), "application/json".to_owned())],
            json!({"text": transcript}).to_string().into_bytes(),
        ),
        "verbose_json" => Response::whole(
            200,
            vec![("content-type".to_owned(), "application/json".to_owned())],
            json!({"task": "transcribe", "language": "english", "duration": 1.0, "text": transcript, "segments": []})
                .to_string()
                .into_bytes(),
        ),
        _ => Response::whole(200, vec![("content-type".to_owned(), "text/plain".to_owned())], transcript.into_bytes()),
    }
}
