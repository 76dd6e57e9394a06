//! The OpenAI speech engine against the project's fake of the speech API: the request it sends,
//! the streamed audio it gets, and each documented error.

use std::time::Duration;

use jarvis_backend::voice::openai::{OpenAiSettings, OpenAiSpeech};
use jarvis_backend::voice::{SpeechEngine, SpeechRequest, VoiceError};
use jarvis_testkit::fake_openai_speech::{FakeSpeech, SpeechScript, duration_ms};
use secrecy::SecretString;

const KEY: &str = "sk-test-speech";

fn engine(fake: &FakeSpeech, key: &str, timeout: Duration) -> OpenAiSpeech {
    OpenAiSpeech::new(OpenAiSettings {
        base_url: fake.base_url().parse().unwrap(),
        api_key: SecretString::from(key.to_owned()),
        model: "gpt-4o-mini-tts".into(),
        voice: "echo".into(),
        timeout,
        retries: 2,
    })
}

fn say(text: &str) -> SpeechRequest {
    SpeechRequest { text: text.into(), voice: "echo".into(), speed: 1.25 }
}

#[tokio::test]
async fn a_sentence_becomes_streamed_mp3_from_a_well_formed_request() {
    let fake = FakeSpeech::start(KEY).await;
    let audio = engine(&fake, KEY, Duration::from_secs(5))
        .synthesize(&say("Hello there, how are you?"))
        .await
        .unwrap();
    assert_eq!(audio.content_type, "audio/mpeg");
    assert_eq!(&audio.bytes[..2], &[0xFF, 0xFB], "an MPEG-1 Layer III frame");
    // 417-byte frames of 26.1 ms: as long as the fake says the text takes.
    let frames = audio.bytes.len() / 417;
    let ms = (frames as f64 * 1152.0 / 44.1).round() as u64;
    assert_eq!(ms, duration_ms("Hello there, how are you?"));

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.path, "/v1/audio/speech");
    assert_eq!(sent.authorization.as_deref(), Some("Bearer sk-test-speech"));
    assert!(sent.content_type.as_deref().unwrap().starts_with("application/json"));
    assert_eq!(sent.body["model"], "gpt-4o-mini-tts");
    assert_eq!(sent.body["input"], "Hello there, how are you?");
    assert_eq!(sent.body["voice"], "echo");
    assert_eq!(sent.body["response_format"], "mp3");
    assert_eq!(sent.body["speed"], 1.25);
}

#[tokio::test]
async fn a_wrong_key_or_a_bad_voice_is_refused_without_retrying() {
    let fake = FakeSpeech::start(KEY).await;
    let error = engine(&fake, "sk-wrong", Duration::from_secs(5)).synthesize(&say("Hi.")).await.unwrap_err();
    assert!(
        matches!(&error, VoiceError::Rejected(m) if m.contains("401") && m.contains("Incorrect API key")),
        "{error}"
    );
    assert!(!error.retryable());
    let mut request = say("Hi.");
    request.voice = "darth".into();
    let error = engine(&fake, KEY, Duration::from_secs(5)).synthesize(&request).await.unwrap_err();
    assert!(
        matches!(&error, VoiceError::Rejected(m) if m.contains("400") && m.contains("Invalid voice")),
        "{error}"
    );
    assert_eq!(fake.requests().len(), 2, "one request each, no retries");
}

#[tokio::test]
async fn busy_and_failing_servers_are_retried_then_given_up_on() {
    let fake = FakeSpeech::start(KEY).await;
    fake.push(SpeechScript::rate_limited());
    let audio = engine(&fake, KEY, Duration::from_secs(5)).synthesize(&say("Once more.")).await.unwrap();
    assert!(!audio.bytes.is_empty());
    assert_eq!(fake.requests().len(), 2, "retried after the 429, honouring retry-after");

    for _ in 0..3 {
        fake.push(SpeechScript::server_error());
    }
    let error = engine(&fake, KEY, Duration::from_secs(5)).synthesize(&say("Again.")).await.unwrap_err();
    assert!(matches!(&error, VoiceError::Unavailable(m) if m.contains("500")), "{error}");
    assert_eq!(fake.requests().len(), 5, "three attempts for the second clip");

    // A spent quota is a 429 too, but waiting does not lift it: one request, not retried.
    fake.push(SpeechScript::quota_exceeded());
    let error = engine(&fake, KEY, Duration::from_secs(5)).synthesize(&say("Spent.")).await.unwrap_err();
    assert!(
        matches!(&error, VoiceError::Rejected(m) if m.contains("exceeded your current quota")),
        "{error}"
    );
    assert!(!error.retryable());
    assert_eq!(fake.requests().len(), 6, "one request for the third clip");
}

#[tokio::test]
async fn a_stalled_server_times_out_and_overlong_text_is_never_sent() {
    let fake = FakeSpeech::start(KEY).await;
    for _ in 0..3 {
        fake.push(SpeechScript::Stall);
    }
    let error = engine(&fake, KEY, Duration::from_millis(200)).synthesize(&say("Anyone?")).await.unwrap_err();
    assert_eq!(error, VoiceError::Timeout);
    let before = fake.requests().len();
    let long = "a".repeat(4097);
    let error = engine(&fake, KEY, Duration::from_secs(5)).synthesize(&say(&long)).await.unwrap_err();
    assert!(matches!(error, VoiceError::Rejected(_)));
    assert_eq!(fake.requests().len(), before);
}
