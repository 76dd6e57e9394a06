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
        versions: Vec::new(),
        attachments: Vec::new(),
        model: None,
    };
    let open = ConversationView {
        id: "c".into(),
        title: "Talk".into(),
        messages: vec![reply],
        running_run_id: None,
        running_reply_versions: Vec::new(),
        model: None,
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

/// A conversation `c` with `messages`, its run `running` still answering if any.
fn conversation(
    messages: Vec<jarvis_types::chat::ChatMessageView>,
    running: Option<&str>,
) -> jarvis_types::chat::ConversationView {
    jarvis_types::chat::ConversationView {
        id: "c".into(),
        title: "Talk".into(),
        messages,
        running_run_id: running.map(str::to_owned),
        running_reply_versions: Vec::new(),
        model: None,
    }
}

fn message(id: &str, role: &str, text: &str) -> jarvis_types::chat::ChatMessageView {
    jarvis_types::chat::ChatMessageView {
        id: id.into(),
        role: role.into(),
        text: text.into(),
        tools: Vec::new(),
        partial: false,
        run_id: Some("r".into()),
        clips: Vec::new(),
        refused: false,
        versions: Vec::new(),
        attachments: Vec::new(),
        model: None,
    }
}

fn render(
    conversations: Vec<jarvis_types::chat::ConversationSummary>,
    open: jarvis_types::chat::ConversationView,
) -> String {
    use leptos::tachys::view::RenderHtml;
    Owner::new().with(|| {
        view! { <super::panels::Chat conversations open=Some(open) library=Default::default() voice=None /> }
            .to_html()
    })
}

/// A reply stopped before a reload shows the same "Stopped." with "Retry" as live, and its tool
/// call in plain words (the raw name only inside the card).
#[test]
fn a_stopped_reply_from_history_is_marked_and_its_tools_read_as_words() {
    let mut reply = message("m2", "assistant", "I saved it, and then");
    reply.partial = true;
    reply.tools.push(jarvis_types::chat::ToolCallView {
        id: "t1".into(),
        name: "save_document".into(),
        input: "{}".into(),
        output: Some("{}".into()),
        is_error: false,
    });
    let html = render(Vec::new(), conversation(vec![message("m1", "user", "Save it"), reply], None));
    assert!(html.contains("Stopped."), "{html}");
    assert!(html.contains("Retry"));
    assert!(html.contains("Saved a document"));
    assert!(!html.contains("🔧 save_document"));
    assert!(!html.contains("Jarvis is thinking"), "nothing is running");
}

/// A page loaded while its reply has shown nothing yet says that Jarvis is thinking.
#[test]
fn a_running_reply_with_no_text_yet_shows_jarvis_thinking() {
    let html = render(Vec::new(), conversation(vec![message("m1", "user", "Hi")], Some("r")));
    assert!(html.contains(r#"role="status""#));
    assert!(html.contains("Jarvis is thinking…"), "{html}");
}

/// The composer is focused on load; the list renders ungrouped on the server (the reader's time
/// zone is only known in the browser) with every conversation in it.
#[test]
fn the_composer_autofocuses_and_the_list_renders_without_date_headings_on_the_server() {
    let summary = jarvis_types::chat::ConversationSummary {
        id: "c".into(),
        title: "Talk about whales".into(),
        updated_at: "2026-11-27T10:00:00Z".into(),
    };
    let html = render(vec![summary], conversation(Vec::new(), None));
    let composer = html.find(r#"id="composer""#).expect("the composer");
    let tag_end = composer + html[composer..].find('>').expect("its tag ends");
    assert!(html[composer..tag_end].contains("autofocus"), "{}", &html[composer..tag_end]);
    assert!(html.contains("Talk about whales"));
    assert!(!html.contains(">Today<"));
}

/// A question and a reply with versions render "‹ n / m ›" with named buttons (the first version
/// cannot go back), "Edit" under the question (outside its bubble) and "Regenerate" on the reply;
/// neither is offered while a reply is running.
#[test]
fn versions_render_their_switcher_and_messages_offer_edit_and_regenerate() {
    let mut question = message("m1", "user", "Hi");
    question.versions = vec!["m1".into(), "m3".into()];
    let mut reply = message("m2", "assistant", "Hello");
    reply.versions = vec!["m2".into(), "m5".into(), "m6".into()];
    let html = render(Vec::new(), conversation(vec![question.clone(), reply.clone()], None));
    assert_eq!(html.matches(r#"data-testid="version-switcher""#).count(), 2, "{html}");
    assert!(html.contains("1/2") && html.contains("1/3"), "{html}");
    assert_eq!(html.matches(r#"aria-label="Previous version""#).count(), 2);
    assert_eq!(html.matches(r#"aria-label="Next version""#).count(), 2);
    let bubble = html.find(r#"data-role="user""#).expect("the question");
    let bubble_end = bubble + html[bubble..].find("</article>").expect("its end");
    assert!(!html[bubble..bubble_end].contains("Edit"), "the bubble holds its text only");
    assert!(html[bubble_end..].contains(">Edit<"), "{html}");
    assert!(html.contains(">Regenerate<"));

    let running = render(Vec::new(), conversation(vec![question, reply], Some("r")));
    assert!(!running.contains(">Edit<") && !running.contains(">Regenerate<"), "{running}");
}

/// The composer offers "Attach" (a hidden file input limited to what can be attached) and
/// "Attach from library"; the header has a select labelled "Model". A question from history shows
/// its attachments above its bubble, each a link opening it in a new tab (an image by its
/// thumbnail, a PDF as a chip with its name and size); a reply names its model.
#[test]
fn the_composer_offers_attach_the_header_a_model_and_history_its_attachments() {
    use jarvis_types::chat::{AttachmentKind, AttachmentView};

    let attachment = |id: &str, filename: &str, kind| AttachmentView {
        id: id.into(),
        filename: filename.into(),
        content_type: "application/octet-stream".into(),
        kind,
        size_bytes: 2048,
        width: None,
        height: None,
        pages: None,
    };
    let mut question = message("m1", "user", "");
    question.attachments = vec![
        attachment("a1", "cat.png", AttachmentKind::Image),
        attachment("a2", "paper.pdf", AttachmentKind::Pdf),
    ];
    let mut reply = message("m2", "assistant", "A cat and a paper.");
    reply.model = Some("local-llama".into());
    let html = render(Vec::new(), conversation(vec![question, reply], None));

    assert!(html.contains(r#"aria-label="Attach""#), "{html}");
    assert!(html.contains(r#"aria-label="Attach from library""#));
    let input = html.find(r#"data-testid="attach-input""#).expect("the file input");
    let input_tag = &html[html[..input].rfind('<').expect("its tag")..input];
    assert!(input_tag.contains("multiple") && input_tag.contains(r#"accept="image/png,"#), "{input_tag}");
    assert!(html.contains(r#"<label for="model-picker" class="sr-only">Model</label>"#), "{html}");
    assert!(html.contains(r#"id="model-picker""#));

    assert!(html.contains(r#"aria-label="Attached files""#));
    assert!(html.contains(r#"href="/api/attachments/a1""#) && html.contains(r#"target="_blank""#));
    assert!(html.contains(r#"src="/api/attachments/a1/thumbnail""#), "an image shows its thumbnail");
    assert!(html.contains(r#"aria-label="paper.pdf (2 KB)""#), "a PDF is named with its size");
    assert!(html.contains(r#"data-testid="reply-model""#) && html.contains(">local-llama<"));
    assert!(!html.contains(r#"aria-label="Attachments""#), "no chips before a file is picked");
}
