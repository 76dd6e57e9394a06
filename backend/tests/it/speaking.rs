//! Spoken replies: the offline engine (espeak-ng, whose MP3 is decoded here to check it), and the
//! pipeline that speaks a reply while it streams — order, concurrency limits, the first clip
//! before the text ends, failures that leave the text alone, retries, and isolation.

use crate::support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use jarvis_backend::storage::{BlobStore, StorageSettings};
use jarvis_backend::voice::espeak::{EspeakSettings, EspeakSpeech};
use jarvis_backend::voice::mp3::{self, Pcm};
use jarvis_backend::voice::{
    Audio, ClipError, SpeechEngine, SpeechRequest, Voice, VoiceError, VoiceLimits, clips,
};
use jarvis_types::protocol::RunEvent;
use jarvis_types::voice::{Clip, ClipStatus, VoiceSettings};
use tokio::sync::mpsc;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// espeak-ng

/// Decodes an MP3 completely and returns its playing time in milliseconds.
fn decoded_ms(bytes: &[u8]) -> u64 {
    use symphonia::core::codecs::DecoderOptions;
    use symphonia::core::formats::FormatOptions;
    use symphonia::core::io::MediaSourceStream;
    use symphonia::core::meta::MetadataOptions;
    use symphonia::core::probe::Hint;

    let source = MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes.to_vec())), Default::default());
    let mut hint = Hint::new();
    hint.with_extension("mp3");
    let probed = symphonia::default::get_probe()
        .format(&hint, source, &FormatOptions::default(), &MetadataOptions::default())
        .expect("an MP3 stream");
    let mut format = probed.format;
    let track = format.default_track().expect("an audio track").clone();
    let rate = track.codec_params.sample_rate.expect("a sample rate");
    let mut decoder =
        symphonia::default::get_codecs().make(&track.codec_params, &DecoderOptions::default()).unwrap();
    let mut frames = 0u64;
    loop {
        match format.next_packet() {
            Ok(packet) => frames += decoder.decode(&packet).expect("every packet decodes").frames() as u64,
            Err(symphonia::core::errors::Error::IoError(_)) => break,
            Err(error) => panic!("the stream is broken: {error}"),
        }
    }
    assert!(frames > 0, "no audio decoded");
    frames * 1000 / u64::from(rate)
}

fn espeak() -> EspeakSpeech {
    EspeakSpeech::new(EspeakSettings::default())
}

fn say(text: &str, voice: &str, speed: f32) -> SpeechRequest {
    SpeechRequest { text: text.into(), voice: voice.into(), speed }
}

#[tokio::test]
async fn espeak_makes_a_valid_mp3_whose_decoded_duration_matches_the_text() {
    let engine = espeak();
    let short = engine.synthesize(&say("Hello.", "en-us", 1.0)).await.expect("espeak-ng is installed");
    let long_text = "The quick brown fox jumps over the lazy dog, and then it runs far away into the \
                     quiet green forest before the sun goes down.";
    let long = engine.synthesize(&say(long_text, "en-us", 1.0)).await.unwrap();
    assert_eq!(long.content_type, "audio/mpeg");

    let (short_ms, long_ms) = (decoded_ms(&short.bytes), decoded_ms(&long.bytes));
    // What the frame headers say (and what the clip announces) is what decodes.
    for (audio, decoded) in [(&short, short_ms), (&long, long_ms)] {
        let announced = mp3::duration_ms(&audio.bytes).unwrap();
        assert!(announced.abs_diff(decoded) <= 60, "announced {announced} ms, decoded {decoded} ms");
    }
    // 23 words at espeak-ng's 175 words a minute take about eight seconds: speech, not silence
    // or a truncated clip.
    let words = long_text.split_whitespace().count() as u64;
    assert!((words * 200..=words * 700).contains(&long_ms), "{words} words lasted {long_ms} ms");
    assert!(short_ms < 1500 && short_ms > 150, "\"Hello.\" lasted {short_ms} ms");
    assert!(long_ms > short_ms * 4);

    let fast = engine.synthesize(&say(long_text, "en-us", 2.0)).await.unwrap();
    let fast_ms = decoded_ms(&fast.bytes);
    assert!(fast_ms * 3 < long_ms * 2, "twice the speed: {fast_ms} ms against {long_ms} ms");
}

#[tokio::test]
async fn espeak_refuses_what_it_cannot_say_and_reports_a_missing_program() {
    let engine = espeak();
    assert!(matches!(engine.synthesize(&say("  ", "en-us", 1.0)).await, Err(VoiceError::Rejected(_))));
    assert!(matches!(engine.synthesize(&say("Hi.", "klingon", 1.0)).await, Err(VoiceError::Rejected(_))));
    // Text that looks like an option is read, not obeyed.
    let dashes = engine.synthesize(&say("--version -h", "en-us", 1.0)).await.unwrap();
    assert!(decoded_ms(&dashes.bytes) > 300);
    let missing = EspeakSpeech::new(EspeakSettings {
        program: "/nonexistent/espeak-ng".into(),
        timeout: Duration::from_secs(5),
    });
    assert!(matches!(missing.synthesize(&say("Hi.", "en-us", 1.0)).await, Err(VoiceError::Unavailable(_))));
}

// ---------------------------------------------------------------------------------------------
// The pipeline, with an engine the test controls

/// Makes silent MP3 (40 ms per character) after a delay; fails sentences containing "FAIL"
/// while `failing` is set; records how many synthesise at once, in all and per voice.
#[derive(Default)]
struct TestEngine {
    failing: AtomicBool,
    state: Mutex<Flight>,
}

#[derive(Default)]
struct Flight {
    now: usize,
    max: usize,
    per_voice_now: HashMap<String, usize>,
    per_voice_max: HashMap<String, usize>,
    texts: Vec<String>,
}

impl SpeechEngine for TestEngine {
    fn name(&self) -> &'static str {
        "test"
    }

    fn voices(&self) -> Vec<String> {
        vec!["alice".into(), "bob".into()]
    }

    fn synthesize<'a>(&'a self, request: &'a SpeechRequest) -> BoxFuture<'a, Result<Audio, VoiceError>> {
        Box::pin(async move {
            {
                let mut state = self.state.lock().unwrap();
                state.now += 1;
                state.max = state.max.max(state.now);
                let now = state.per_voice_now.entry(request.voice.clone()).or_default();
                *now += 1;
                let now = *now;
                let max = state.per_voice_max.entry(request.voice.clone()).or_default();
                *max = (*max).max(now);
                state.texts.push(request.text.clone());
            }
            // Later sentences finish sooner, so order must come from the pipeline, not the engine.
            let delay = 20 + (200 / (request.text.len() as u64 % 7 + 1));
            tokio::time::sleep(Duration::from_millis(delay)).await;
            {
                let mut state = self.state.lock().unwrap();
                state.now -= 1;
                *state.per_voice_now.entry(request.voice.clone()).or_default() -= 1;
            }
            if request.text.contains("FAIL") && self.failing.load(Ordering::SeqCst) {
                return Err(VoiceError::Unavailable("the test engine fails this".into()));
            }
            let ms = request.text.chars().count() as u32 * 40;
            let pcm = Pcm { sample_rate: 16_000, channels: 1, samples: vec![0; (16 * ms) as usize] };
            Ok(Audio { bytes: mp3::encode(&pcm)?, content_type: "audio/mpeg" })
        })
    }
}

struct Setup {
    db: support::TestDb,
    store: BlobStore,
    engine: Arc<TestEngine>,
    voice: Voice,
}

async fn setup(limits: VoiceLimits) -> Setup {
    let db = support::test_db().await;
    let root = std::env::temp_dir().join(format!("jarvis-voice-test-{}", Uuid::new_v4().simple()));
    let store = BlobStore::new(&StorageSettings::Local { root }).unwrap();
    let engine = Arc::new(TestEngine { failing: AtomicBool::new(true), ..Default::default() });
    let voice =
        Voice::new(Some(engine.clone() as Arc<dyn SpeechEngine>), db.app.clone(), store.clone(), limits);
    Setup { db, store, engine, voice }
}

/// Every clip announced on `events` until the channel closes.
async fn clips_of(mut events: mpsc::UnboundedReceiver<RunEvent>) -> Vec<Clip> {
    let mut clips = Vec::new();
    while let Some(event) = events.recv().await {
        match event {
            RunEvent::Clip { clip } => clips.push(clip),
            other => panic!("only clips expected, got {other:?}"),
        }
    }
    clips
}

const REPLY: &str = "First, the weather is fine. Second, take an umbrella anyway! Third: is 3.5 degrees \
                     cold? Dr. Smith thinks so. Fifth, the wind is light. Sixth, the sea is calm. Seventh, \
                     the sun sets at 6 p.m. today. Eighth and last, have a good day.";

/// Streams `text` to a speaker in small chunks, as a model would.
fn stream(speaker: &mut jarvis_backend::voice::Speaker, text: &str) {
    let chars: Vec<char> = text.chars().collect();
    for chunk in chars.chunks(7) {
        speaker.push(&chunk.iter().collect::<String>());
    }
}

#[tokio::test]
async fn clips_are_announced_in_order_within_the_per_user_limit_and_stored_under_the_users_prefix() {
    let s = setup(VoiceLimits { per_user: 2, global: 8 }).await;
    let run = s.db.run().await;
    let (events, received) = mpsc::unbounded_channel();
    let mut speaker = s.voice.speaker(run.user_id, run.run_id, events).await.expect("voice is on by default");
    stream(&mut speaker, REPLY);
    speaker.finish().await;
    let clips = clips_of(received).await;

    assert_eq!(clips.iter().map(|c| c.seq).collect::<Vec<_>>(), (1..=8).collect::<Vec<_>>());
    assert_eq!(clips[2].transcript, "Third: is 3.5 degrees cold?");
    assert_eq!(clips[3].transcript, "Dr. Smith thinks so.");
    assert_eq!(clips[6].transcript, "Seventh, the sun sets at 6 p.m. today.");
    assert!(clips.iter().all(|c| c.status == ClipStatus::Ready && c.run_id == run.run_id.to_string()));
    for clip in &clips {
        let expected = clip.transcript.chars().count() as u64 * 40;
        assert!(clip.duration_ms >= expected && clip.duration_ms <= expected + 120, "{clip:?}");
        assert_eq!(clip.url, format!("/api/clips/{}", clip.id));
    }
    assert!(s.engine.state.lock().unwrap().max <= 2, "more than two clips of one user at once");
    assert_eq!(s.engine.state.lock().unwrap().max, 2, "the limit is used, not serialised to one");

    let keys = s.store.list(run.user_id).await.unwrap();
    assert_eq!(keys.len(), 8);
    let prefix = format!("users/{}/clips/{}/", run.user_id, run.run_id);
    assert!(keys.iter().all(|key| key.starts_with(&prefix)), "{keys:?}");
    // Kept with the run for history, in order.
    let stored = clips::for_runs(&s.db.app, run.user_id, &[run.run_id]).await.unwrap();
    assert_eq!(stored.iter().map(|c| c.seq).collect::<Vec<_>>(), (1..=8).collect::<Vec<_>>());
    s.db.drop().await;
}

#[tokio::test]
async fn the_first_clip_is_announced_while_the_reply_is_still_streaming() {
    let s = setup(VoiceLimits::default()).await;
    let run = s.db.run().await;
    let (events, mut received) = mpsc::unbounded_channel();
    let mut speaker = s.voice.speaker(run.user_id, run.run_id, events).await.unwrap();
    speaker.push("The first sentence is complete. The second one is still being wri");
    let first = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("the first clip comes before the reply ends")
        .unwrap();
    let RunEvent::Clip { clip } = first else { panic!("a clip") };
    assert_eq!((clip.seq, clip.transcript.as_str()), (1, "The first sentence is complete."));
    speaker.push("tten.");
    speaker.finish().await;
    let rest = clips_of(received).await;
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].transcript, "The second one is still being written.");
    s.db.drop().await;
}

#[tokio::test]
async fn two_users_share_the_global_limit_and_each_keeps_to_their_own() {
    let s = setup(VoiceLimits { per_user: 2, global: 3 }).await;
    let (alice, bob) = (s.db.run().await, s.db.run().await);
    // Bob speaks with the other voice, so the engine can tell the users apart.
    let settings = VoiceSettings { enabled: true, voice: "bob".into(), speed: 1.0, autoplay: true };
    s.voice.save_settings(bob.user_id, settings).await.unwrap();
    let mut runs = Vec::new();
    for run in [alice, bob] {
        let (events, received) = mpsc::unbounded_channel();
        let mut speaker = s.voice.speaker(run.user_id, run.run_id, events).await.unwrap();
        runs.push(tokio::spawn(async move {
            stream(&mut speaker, REPLY);
            speaker.finish().await;
            clips_of(received).await
        }));
    }
    for run in runs {
        let clips = run.await.unwrap();
        assert_eq!(clips.iter().map(|c| c.seq).collect::<Vec<_>>(), (1..=8).collect::<Vec<_>>());
    }
    let state = s.engine.state.lock().unwrap();
    assert!(state.max <= 3, "global limit exceeded: {}", state.max);
    assert_eq!(state.max, 3, "both users' clips ran side by side");
    assert!(state.per_voice_max.values().all(|&max| max <= 2), "{:?}", state.per_voice_max);
    drop(state);
    s.db.drop().await;
}

#[tokio::test]
async fn a_failing_engine_marks_its_clip_failed_keeps_the_order_and_a_retry_makes_it() {
    let s = setup(VoiceLimits::default()).await;
    let run = s.db.run().await;
    let (events, received) = mpsc::unbounded_channel();
    let mut speaker = s.voice.speaker(run.user_id, run.run_id, events).await.unwrap();
    stream(&mut speaker, "This works. This will FAIL today. This works too.");
    speaker.finish().await;
    let clips = clips_of(received).await;
    let statuses: Vec<_> = clips.iter().map(|c| (c.seq, c.status)).collect();
    assert_eq!(statuses, vec![(1, ClipStatus::Ready), (2, ClipStatus::Failed), (3, ClipStatus::Ready)]);
    let failed = &clips[1];
    assert_eq!(failed.transcript, "This will FAIL today.");
    assert!(failed.error.as_deref().is_some_and(|e| e.contains("unavailable")), "{failed:?}");
    let id: Uuid = failed.id.parse().unwrap();
    assert!(matches!(s.voice.audio(run.user_id, id).await, Err(ClipError::Failed(_))));

    // Still failing: stays failed, with its error.
    assert_eq!(s.voice.retry(run.user_id, id).await.unwrap().status, ClipStatus::Failed);
    s.engine.failing.store(false, Ordering::SeqCst);
    let retried = s.voice.retry(run.user_id, id).await.unwrap();
    assert_eq!((retried.status, retried.seq, retried.error), (ClipStatus::Ready, 2, None));
    let (row, bytes) = s.voice.audio(run.user_id, id).await.unwrap();
    assert_eq!(row.content_type.as_deref(), Some("audio/mpeg"));
    assert!(mp3::duration_ms(&bytes).unwrap() >= 21 * 40);
    s.db.drop().await;
}

#[tokio::test]
async fn after_a_failure_the_rest_of_the_reply_fails_fast_instead_of_waiting_on_the_engine() {
    let s = setup(VoiceLimits { per_user: 1, global: 1 }).await;
    let run = s.db.run().await;
    let (events, received) = mpsc::unbounded_channel();
    let mut speaker = s.voice.speaker(run.user_id, run.run_id, events).await.unwrap();
    stream(&mut speaker, "It will FAIL here. One. Two. Three. Four.");
    speaker.finish().await;
    let clips = clips_of(received).await;
    assert_eq!(clips.len(), 5);
    assert!(clips.iter().all(|c| c.status == ClipStatus::Failed));
    assert!(
        clips[1..]
            .iter()
            .all(|c| c.error.as_deref() == Some("Skipped: the voice failed earlier in this reply."))
    );
    assert_eq!(s.engine.state.lock().unwrap().texts, ["It will FAIL here."], "the engine was asked once");
    // Each can still be made on demand.
    s.engine.failing.store(false, Ordering::SeqCst);
    let retried = s.voice.retry(run.user_id, clips[3].id.parse().unwrap()).await.unwrap();
    assert_eq!((retried.status, retried.transcript.as_str()), (ClipStatus::Ready, "Three."));
    s.db.drop().await;
}

#[tokio::test]
async fn another_user_can_neither_fetch_nor_retry_nor_list_a_clip() {
    let s = setup(VoiceLimits::default()).await;
    let (owner, other) = (s.db.run().await, s.db.run().await);
    let (events, received) = mpsc::unbounded_channel();
    let mut speaker = s.voice.speaker(owner.user_id, owner.run_id, events).await.unwrap();
    speaker.push("A private sentence.");
    speaker.finish().await;
    let clip = clips_of(received).await.remove(0);
    let id: Uuid = clip.id.parse().unwrap();
    assert!(s.voice.audio(owner.user_id, id).await.is_ok());
    assert!(matches!(s.voice.audio(other.user_id, id).await, Err(ClipError::NotFound)));
    assert!(matches!(s.voice.retry(other.user_id, id).await, Err(ClipError::NotFound)));
    assert!(clips::for_runs(&s.db.app, other.user_id, &[owner.run_id]).await.unwrap().is_empty());
    assert!(s.store.list(other.user_id).await.unwrap().is_empty());
    s.db.drop().await;
}

#[tokio::test]
async fn settings_are_per_user_checked_and_a_user_who_turned_voice_off_gets_no_speaker() {
    let s = setup(VoiceLimits::default()).await;
    let (run, other) = (s.db.run().await, s.db.run().await);
    let defaults = s.voice.settings(run.user_id).await.unwrap();
    assert_eq!(defaults, VoiceSettings { enabled: true, voice: "alice".into(), speed: 1.0, autoplay: true });

    for bad in [
        VoiceSettings { speed: 3.0, ..defaults.clone() },
        VoiceSettings { speed: f32::NAN, ..defaults.clone() },
        VoiceSettings { voice: "mallory".into(), ..defaults.clone() },
    ] {
        assert!(matches!(
            s.voice.save_settings(run.user_id, bad).await,
            Err(jarvis_backend::voice::SettingsError::Invalid(_))
        ));
    }
    assert_eq!(s.voice.settings(run.user_id).await.unwrap(), defaults, "a refused change changes nothing");

    let off = VoiceSettings { enabled: false, voice: "bob".into(), speed: 1.5, autoplay: false };
    assert_eq!(s.voice.save_settings(run.user_id, off.clone()).await.unwrap(), off);
    assert_eq!(s.voice.settings(run.user_id).await.unwrap(), off);
    assert_eq!(s.voice.settings(other.user_id).await.unwrap(), defaults, "settings are per user");
    let (events, _received) = mpsc::unbounded_channel();
    assert!(s.voice.speaker(run.user_id, run.run_id, events).await.is_none());
    s.db.drop().await;
}

#[tokio::test]
async fn a_stopped_run_abandons_the_clips_not_yet_made() {
    let s = setup(VoiceLimits { per_user: 1, global: 1 }).await;
    let run = s.db.run().await;
    let (events, received) = mpsc::unbounded_channel();
    let mut speaker = s.voice.speaker(run.user_id, run.run_id, events).await.unwrap();
    stream(&mut speaker, REPLY);
    speaker.abort();
    let clips = clips_of(received).await;
    assert!(clips.len() < 8, "clips kept coming after the stop: {}", clips.len());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let made = s.engine.state.lock().unwrap().texts.len();
    assert!(made < 8, "the engine kept working after the stop: {made}");
    s.db.drop().await;
}
