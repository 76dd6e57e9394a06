//! Spoken replies through the whole server: clips announced on the socket in order while the
//! text streams, kept for history, served with ranges and cache headers to their owner only; a
//! failing engine leaves the text whole and its clip can be retried.

use std::time::Duration;

use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply};
use jarvis_testkit::fake_openai_speech::{FakeSpeech, SpeechScript};
use jarvis_types::protocol::{RunEvent, RunStatus};
use jarvis_types::voice::{Clip, ClipStatus};

use crate::chat::{ask, open, send, text_of, until_finished};
use crate::helpers::{TestApp, spawn_app_with};

const REPLY: &str = "Good morning! The weather today is sunny and warm. You might want to take a walk \
                     in the park. Dr. Lee says 3.5 km is plenty. Enjoy your day.";

async fn speaking_app(fake: &FakeAnthropic, extra: &[(&str, &str)]) -> TestApp {
    let mut settings =
        vec![("ANTHROPIC_BASE_URL", fake.base_url()), ("ANTHROPIC_API_KEY", "sk-ant-test".into())];
    settings.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_app_with(&settings).await
}

fn clips_of(events: &[(String, u64, RunEvent)]) -> Vec<Clip> {
    events
        .iter()
        .filter_map(|(_, _, event)| match event {
            RunEvent::Clip { clip } => Some(clip.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_reply_is_spoken_clip_by_clip_while_it_streams_and_its_clips_are_kept_for_history() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text(REPLY).slowly(Duration::from_millis(60)));
    let app = speaking_app(&fake, &[("JARVIS_VOICE_ENGINE", "espeak")]).await;
    let (client, email) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;
    send(&mut socket, &ask(None, "How is the weather?")).await;
    let events = until_finished(&mut socket).await;

    assert_eq!(text_of(&events), REPLY, "the text is whole");
    let clips = clips_of(&events);
    let transcripts: Vec<&str> = clips.iter().map(|c| c.transcript.as_str()).collect();
    assert_eq!(
        transcripts,
        [
            "Good morning!",
            "The weather today is sunny and warm.",
            "You might want to take a walk in the park.",
            "Dr. Lee says 3.5 km is plenty.",
            "Enjoy your day."
        ]
    );
    assert_eq!(clips.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert!(clips.iter().all(|c| c.status == ClipStatus::Ready && c.duration_ms > 300), "{clips:?}");
    // The first clip is on the socket before the last of the text.
    let position =
        |wanted: &dyn Fn(&RunEvent) -> bool| events.iter().position(|(_, _, e)| wanted(e)).unwrap();
    let first_clip = position(&|e| matches!(e, RunEvent::Clip { .. }));
    let last_text = events.iter().rposition(|(_, _, e)| matches!(e, RunEvent::TextDelta { .. })).unwrap();
    assert!(first_clip < last_text, "the first clip came only after the text had finished");
    // Sequence numbers stay gapless with clips among the events, and the run ends last.
    assert!(events.iter().enumerate().all(|(i, (_, seq, _))| *seq == i as u64 + 1));
    assert!(matches!(events.last().unwrap().2, RunEvent::Finished { status: RunStatus::Completed, .. }));

    // History: the reply carries its clips.
    let RunEvent::Started { conversation_id, .. } = &events[0].2 else { panic!("started first") };
    let user = app.user_id(&email).await;
    let view =
        jarvis_backend::chat::view::conversation(&app.app_pool, user, conversation_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
    let reply = view.messages.iter().find(|m| m.role == "assistant").unwrap();
    assert_eq!(reply.clips, clips);

    // The audio: whole, then ranges for seeking, then from the browser's cache.
    let full = client.get(&clips[1].url).await;
    assert_eq!(full.status(), 200);
    let headers = full.headers().clone();
    assert_eq!(headers["content-type"], "audio/mpeg");
    assert_eq!(headers["accept-ranges"], "bytes");
    assert_eq!(headers["cache-control"], "private, max-age=31536000, immutable");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let bytes = full.bytes().await.unwrap();
    assert_eq!(jarvis_backend::voice::mp3::duration_ms(&bytes), Some(clips[1].duration_ms));

    let part = client
        .http
        .get(format!("{}{}", app.address, clips[1].url))
        .header("range", "bytes=100-299")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], format!("bytes 100-299/{}", bytes.len()).as_str());
    assert_eq!(part.bytes().await.unwrap(), bytes.slice(100..300));
    let tail = client
        .http
        .get(format!("{}{}", app.address, clips[1].url))
        .header("range", "bytes=-50")
        .send()
        .await
        .unwrap();
    assert_eq!(tail.status(), 206);
    assert_eq!(tail.bytes().await.unwrap(), bytes.slice(bytes.len() - 50..));
    let past = client
        .http
        .get(format!("{}{}", app.address, clips[1].url))
        .header("range", format!("bytes={}-", bytes.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(past.status(), 416);
    assert_eq!(past.headers()["content-range"], format!("bytes */{}", bytes.len()).as_str());
    let cached = client
        .http
        .get(format!("{}{}", app.address, clips[1].url))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);

    // Another user, or nobody, gets nothing.
    let (stranger, _) = app.signed_in_client().await;
    assert_eq!(stranger.get(&clips[1].url).await.status(), 404);
    let retry = stranger
        .http
        .post(format!("{}{}/retry", app.address, clips[1].url))
        .header("origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 404);
    assert_eq!(app.client().get(&clips[1].url).await.status(), 401);
    assert_eq!(client.get("/api/clips/not-a-uuid").await.status(), 404);

    // Deleting the conversation deletes its clips' audio too.
    let clips_dir = std::env::temp_dir()
        .join(format!("jarvis-objects-{}", app.database_name))
        .join(format!("users/{user}/clips"));
    assert_eq!(files_in(&clips_dir), 5);
    let deleted = client.post_form("/api/delete_conversation", &[("id", conversation_id.as_str())]).await;
    assert!(deleted.status().is_success());
    assert_eq!(files_in(&clips_dir), 0);
    assert_eq!(client.get(&clips[0].url).await.status(), 404);
    app.stop().await;
}

/// How many files are under `dir` (0 if it does not exist).
fn files_in(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries.flatten().map(|entry| if entry.path().is_dir() { files_in(&entry.path()) } else { 1 }).sum()
}

#[tokio::test]
async fn when_the_engine_times_out_the_text_is_whole_the_clip_is_failed_and_a_retry_makes_it() {
    let speech = FakeSpeech::start("sk-speech").await;
    // Every attempt at the first clip (one try and two retries) gets no answer.
    for _ in 0..3 {
        speech.push(SpeechScript::Stall);
    }
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("This sentence will not be heard at first.").slowly(Duration::from_millis(10)));
    let app = speaking_app(
        &fake,
        &[
            ("JARVIS_VOICE_ENGINE", "openai"),
            ("OPENAI_BASE_URL", &speech.base_url()),
            ("OPENAI_API_KEY", "sk-speech"),
            ("JARVIS_VOICE_TIMEOUT_SECS", "1"),
        ],
    )
    .await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;
    send(&mut socket, &ask(None, "Say something")).await;
    let events = until_finished(&mut socket).await;

    assert_eq!(text_of(&events), "This sentence will not be heard at first.");
    assert!(matches!(
        events.last().unwrap().2,
        RunEvent::Finished { status: RunStatus::Completed, error: None, .. }
    ));
    let clips = clips_of(&events);
    assert_eq!(clips.len(), 1);
    assert_eq!(clips[0].status, ClipStatus::Failed);
    assert_eq!(clips[0].error.as_deref(), Some("The voice took too long to answer."));
    assert_eq!(client.get(&clips[0].url).await.status(), 404, "a failed clip has no audio");
    assert_eq!(speech.requests().len(), 3);

    // The engine answers again: a retry makes the clip, same id and place.
    let retried = client
        .http
        .post(format!("{}{}/retry", app.address, clips[0].url))
        .header("origin", &app.address)
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 200);
    let retried: Clip = retried.json().await.unwrap();
    assert_eq!(
        (retried.id.as_str(), retried.seq, retried.status),
        (clips[0].id.as_str(), 1, ClipStatus::Ready)
    );
    assert!(retried.duration_ms > 0);
    let audio = client.get(&clips[0].url).await;
    assert_eq!(audio.status(), 200);
    assert_eq!(audio.headers()["content-type"], "audio/mpeg");
    // The request the engine got: the sentence, the default voice, normal speed.
    let last = speech.requests().pop().unwrap();
    assert_eq!(last.body["input"], "This sentence will not be heard at first.");
    assert_eq!(last.body["voice"], "echo");
    // A retry from another site is refused.
    let forged = client
        .http
        .post(format!("{}{}/retry", app.address, clips[0].url))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    app.stop().await;
}

#[tokio::test]
async fn a_user_who_turned_voice_off_gets_text_only() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Just text. No voice.").slowly(Duration::from_millis(5)));
    let app = speaking_app(&fake, &[("JARVIS_VOICE_ENGINE", "espeak")]).await;
    let (client, email) = app.signed_in_client().await;
    sqlx::query(
        "INSERT INTO voice_settings (user_id, enabled, speed, autoplay) VALUES ($1, false, 1.0, true)",
    )
    .bind(app.user_id(&email).await)
    .execute(&app.owner_pool)
    .await
    .unwrap();
    let mut socket = open(app.port, &client).await;
    send(&mut socket, &ask(None, "Hi")).await;
    let events = until_finished(&mut socket).await;
    assert_eq!(text_of(&events), "Just text. No voice.");
    assert!(clips_of(&events).is_empty());
    app.stop().await;
}
