//! What a send carries besides its text: the composer's attachments and the chosen model, and
//! how they come back when the send is refused.

use jarvis_types::chat::{AttachmentKind, AttachmentView, ChatMessageView, ModelChoices, ModelOption};
use jarvis_types::protocol::ErrorCode;

use super::*;

fn attachment(id: &str, kind: AttachmentKind) -> AttachmentView {
    AttachmentView {
        id: id.into(),
        filename: format!("{id}.png"),
        content_type: "image/png".into(),
        kind,
        size_bytes: 2048,
        width: Some(10),
        height: Some(10),
        pages: None,
    }
}

fn models() -> ModelChoices {
    let option = |id: &str, images: bool| ModelOption {
        id: id.into(),
        display_name: format!("Model {id}"),
        images,
        pdf: images,
    };
    ModelChoices { models: vec![option("sonnet", true), option("local", false)], default: "sonnet".into() }
}

/// A fresh page with the models loaded and one image uploaded in the composer.
fn with_an_uploaded_image() -> ChatState {
    let mut state = ChatState::new(Vec::new());
    state.model.loaded(models());
    let key = state.attachments.add("cat.png".into(), "image/png", 2048).expect("accepted");
    state.attachments.uploaded(key, attachment("a1", AttachmentKind::Image));
    state
}

fn sent(effects: &[Effect]) -> Option<&ClientMessage> {
    effects.iter().find_map(|effect| match effect {
        Effect::Send(message) => Some(message),
        _ => None,
    })
}

#[test]
fn a_send_carries_the_uploaded_attachments_and_the_chosen_model_and_clears_the_chips() {
    let mut state = with_an_uploaded_image();
    state.model.pick("sonnet".into());
    let effects = state.send("What is this?".into(), "id-1".into());
    assert_eq!(
        sent(&effects),
        Some(&ClientMessage::Send {
            client_message_id: "id-1".into(),
            conversation_id: None,
            text: "What is this?".into(),
            attachments: vec!["a1".into()],
            model: Some("sonnet".into()),
        })
    );
    assert!(state.attachments.is_empty(), "the chips leave the composer");
    assert_eq!(state.messages[0].attachments, [attachment("a1", AttachmentKind::Image)], "shown at once");
}

#[test]
fn a_message_of_attachments_only_goes_without_text_but_nothing_at_all_does_not() {
    let mut state = with_an_uploaded_image();
    let effects = state.send("   ".into(), "id-1".into());
    assert!(
        matches!(sent(&effects), Some(ClientMessage::Send { text, attachments, .. }) if text.is_empty() && attachments.len() == 1)
    );
    assert!(state.send("  ".into(), "id-2".into()).is_empty(), "blank and no attachment: nothing sent");
}

#[test]
fn send_waits_while_an_attachment_uploads_and_keeps_everything_in_the_composer() {
    let mut state = with_an_uploaded_image();
    state.attachments.add("notes.txt".into(), "text/plain", 10).expect("accepted");
    assert!(state.send("Look".into(), "id-1".into()).is_empty());
    assert_eq!(state.notice.as_deref(), Some("Wait until the attachments have uploaded."));
    assert_eq!(state.attachments.chips.len(), 2);
    assert!(state.messages.is_empty());
}

#[test]
fn a_model_that_cannot_read_an_attached_image_refuses_the_send_with_a_sentence() {
    let mut state = with_an_uploaded_image();
    state.model.pick("local".into());
    assert!(state.send("What is this?".into(), "id-1".into()).is_empty());
    assert_eq!(
        state.notice.as_deref(),
        Some("Model local cannot read images: choose another model or remove cat.png.")
    );
    state.model.pick("sonnet".into());
    assert!(!state.send("What is this?".into(), "id-1".into()).is_empty(), "another model takes it");
}

#[test]
fn a_refused_send_gives_its_text_and_its_attachments_back_to_the_composer() {
    let mut state = with_an_uploaded_image();
    state.send("What is this?".into(), "id-1".into());
    state.apply(ServerMessage::Error {
        code: ErrorCode::InvalidMessage,
        message: "This model cannot read images.".into(),
        retryable: false,
    });
    assert!(state.messages.is_empty());
    assert_eq!(state.returned_text.as_deref(), Some("What is this?"));
    assert_eq!(state.attachments.views(), [attachment("a1", AttachmentKind::Image)]);
}

#[test]
fn a_started_run_shows_its_questions_attachments_and_names_the_model_of_its_reply() {
    let mut state = ChatState::new(Vec::new());
    state.apply(ServerMessage::Run {
        run_id: "r1".into(),
        seq: 1,
        event: RunEvent::Started {
            conversation_id: "c1".into(),
            title: "Cat".into(),
            user_text: "What is this?".into(),
            client_message_id: Some("elsewhere".into()),
            user_message_id: Some("m1".into()),
            reply_id: Some("m2".into()),
            attachments: vec![attachment("a1", AttachmentKind::Image)],
            model: Some("local".into()),
        },
    });
    state.apply(ServerMessage::Run {
        run_id: "r1".into(),
        seq: 2,
        event: RunEvent::TextDelta { text: "A cat.".into() },
    });
    assert_eq!(state.messages[0].attachments.len(), 1);
    assert_eq!(state.messages[1].model.as_deref(), Some("local"));
    assert_eq!(state.model.chosen.as_deref(), Some("local"), "the conversation's model now");
}

#[test]
fn a_conversation_shows_its_remembered_model_and_a_new_one_starts_on_the_default() {
    let mut state = ChatState::new(Vec::new());
    state.model.loaded(models());
    state.show(ConversationView {
        id: "c1".into(),
        title: "Hi".into(),
        messages: vec![ChatMessageView {
            id: "m1".into(),
            role: "user".into(),
            attachments: vec![attachment("a1", AttachmentKind::Image)],
            ..ChatMessageView::default()
        }],
        running_run_id: None,
        running_reply_versions: Vec::new(),
        model: Some("local".into()),
    });
    assert_eq!(state.model.selected(), Some("local"));
    assert_eq!(state.messages[0].attachments.len(), 1, "history keeps the attachments");
    state.new_conversation();
    assert_eq!(state.model.selected(), Some("sonnet"));
    state.model.pick("local".into());
    let effects = state.send("Hi".into(), "id-1".into());
    assert!(
        matches!(sent(&effects), Some(ClientMessage::Send { model: Some(model), .. }) if model == "local")
    );
}

#[test]
fn an_edit_and_a_regeneration_carry_the_chosen_model() {
    let mut state = ChatState::new(Vec::new());
    state.model.loaded(models());
    let message = |id: &str, role: &str| ChatMessageView {
        id: id.into(),
        role: role.into(),
        text: "Hi".into(),
        run_id: Some("r0".into()),
        ..ChatMessageView::default()
    };
    state.show(ConversationView {
        id: "c1".into(),
        title: "Hi".into(),
        messages: vec![message("m1", "user"), message("m2", "assistant")],
        running_run_id: None,
        running_reply_versions: Vec::new(),
        model: None,
    });
    state.model.pick("local".into());
    let reply = state.messages[1].key;
    let effects = state.regenerate(reply, "g-1".into());
    assert!(
        matches!(sent(&effects), Some(ClientMessage::Regenerate { model: Some(model), .. }) if model == "local")
    );

    let mut state = ChatState::new(Vec::new());
    state.show(ConversationView {
        id: "c1".into(),
        title: "Hi".into(),
        messages: vec![message("m1", "user"), message("m2", "assistant")],
        running_run_id: None,
        running_reply_versions: Vec::new(),
        model: Some("sonnet".into()),
    });
    let question = state.messages[0].key;
    state.start_edit(question);
    state.edit_draft("Hi again".into());
    let effects = state.submit_edit("e-1".into());
    assert!(
        matches!(sent(&effects), Some(ClientMessage::Edit { model: Some(model), .. }) if model == "sonnet")
    );
}

#[test]
fn a_retry_leaves_the_chips_in_the_composer() {
    let mut state = with_an_uploaded_image();
    state.send("Hello".into(), "id-1".into());
    state.apply(ServerMessage::Run {
        run_id: "r1".into(),
        seq: 1,
        event: RunEvent::Started {
            conversation_id: "c1".into(),
            title: "Hello".into(),
            user_text: "Hello".into(),
            client_message_id: Some("id-1".into()),
            user_message_id: None,
            reply_id: None,
            attachments: Vec::new(),
            model: None,
        },
    });
    state.apply(ServerMessage::Run {
        run_id: "r1".into(),
        seq: 2,
        event: RunEvent::Finished {
            status: RunStatus::Cancelled,
            stop_reason: "cancelled".into(),
            error: None,
        },
    });
    let key = state.attachments.add("b.txt".into(), "text/plain", 10).expect("accepted");
    state.attachments.uploaded(key, attachment("b1", AttachmentKind::Text));
    let failed = state.messages.last().expect("a reply").key;
    let effects = state.retry(failed, "id-2".into());
    assert!(
        matches!(sent(&effects), Some(ClientMessage::Send { attachments, .. }) if attachments.is_empty())
    );
    assert_eq!(state.attachments.views().len(), 1, "the new chip waits for the next message");
    assert_eq!(state.messages[0].attachments.len(), 1, "the sent question keeps its own");
}
