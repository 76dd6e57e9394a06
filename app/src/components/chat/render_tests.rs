//! The chat rendered on the server, as a page load shows it before hydration.

use jarvis_types::voice::ClipStatus;
use leptos::prelude::*;

use crate::components::voice::fixtures::clip;

/// A reply loaded from history renders its player on the server: one audio per ready clip,
/// fetched only when asked for, every transcript line, the failed clip with its retry.
#[test]
fn a_reply_from_history_renders_its_player() {
    use jarvis_types::chat::{ChatMessageView, ConversationView};
    use leptos::tachys::view::RenderHtml;

    let reply = ChatMessageView {
        id: "m2".into(),
        role: "assistant".into(),
        text: "Sentence 1. Sentence 2. Sentence 3.".into(),
        tools: Vec::new(),
        partial: false,
        run_id: Some("r".into()),
        clips: vec![
            clip(3, 1500, ClipStatus::Ready),
            clip(1, 62_000, ClipStatus::Ready),
            clip(2, 0, ClipStatus::Failed),
        ],
        refused: false,
    };
    let open = ConversationView {
        id: "c".into(),
        title: "Talk".into(),
        messages: vec![reply],
        running_run_id: None,
    };
    let html = Owner::new().with(|| {
        view! { <super::panels::Chat conversations=Vec::new() open=Some(open) library=Default::default() voice=None /> }
            .to_html()
    });
    assert!(html.contains(r#"data-testid="voice-player""#), "{html}");
    assert!(html.contains(r#"data-run-id="r""#));
    assert_eq!(html.matches(r#"data-testid="voice-audio""#).count(), 2);
    assert!(html.contains(r#"src="/api/clips/c1""#));
    assert!(!html.contains(r#"preload="auto""#));
    assert_eq!(html.matches(r#"data-testid="voice-transcript""#).count(), 3);
    assert_eq!(html.matches(r#"data-testid="voice-retry""#).count(), 1);
    assert!(html.contains("0:00 / 1:03"));
    assert!(html.contains(r#"data-testid="voice-settings-button""#));
    assert!(!html.contains("voice-play-prompt"));
}
