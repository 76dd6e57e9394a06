//! Two tabs of one browser on the same conversation: what one tells the others, and how a tab
//! that is told follows without disturbing what it is doing.

use jarvis_types::chat::ChatMessageView;

use super::*;

fn view(id: &str, running: Option<&str>, texts: &[(&str, &str)]) -> ConversationView {
    ConversationView {
        id: id.into(),
        title: "Plans".into(),
        messages: texts
            .iter()
            .enumerate()
            .map(|(n, (role, text))| ChatMessageView {
                id: format!("m{n}"),
                role: (*role).into(),
                text: (*text).into(),
                run_id: Some("r1".into()),
                ..ChatMessageView::default()
            })
            .collect(),
        running_run_id: running.map(str::to_owned),
        running_reply_versions: Vec::new(),
        model: None,
    }
}

fn event(state: &mut ChatState, run_id: &str, seq: u64, event: RunEvent) -> Vec<Effect> {
    state.apply(ServerMessage::Run { run_id: run_id.into(), seq, event })
}

fn started(client_message_id: &str) -> RunEvent {
    RunEvent::Started {
        conversation_id: "c1".into(),
        title: "Plans".into(),
        user_text: "Plan a trip".into(),
        client_message_id: Some(client_message_id.into()),
        user_message_id: None,
        reply_id: None,
        attachments: Vec::new(),
        model: None,
    }
}

fn finished() -> RunEvent {
    RunEvent::Finished { status: RunStatus::Completed, stop_reason: "end_turn".into(), error: None }
}

#[test]
fn a_run_sent_here_tells_the_other_tabs_when_it_starts_and_when_it_ends() {
    let mut state = ChatState::new(Vec::new());
    state.send("Plan a trip".into(), "id-1".into());
    assert!(event(&mut state, "r1", 1, started("id-1")).contains(&Effect::TellOtherTabs("c1".into())));
    assert!(event(&mut state, "r1", 2, RunEvent::TextDelta { text: "Sure".into() }).is_empty());
    assert_eq!(event(&mut state, "r1", 3, finished()), [Effect::TellOtherTabs("c1".into())]);
}

#[test]
fn a_run_only_followed_here_tells_no_one() {
    // Loaded while running (another tab sent it): replayed from its start, its end is not news.
    let mut state = ChatState::new(Vec::new());
    state.show(view("c1", Some("r1"), &[("user", "Plan a trip")]));
    let effects = event(&mut state, "r1", 1, started("someone-else"));
    assert!(!effects.iter().any(|e| matches!(e, Effect::TellOtherTabs(_))), "{effects:?}");
    assert!(event(&mut state, "r1", 2, finished()).is_empty());
}

#[test]
fn a_tab_told_of_its_conversation_loads_it_again_and_follows_the_run_it_now_has() {
    let mut state = ChatState::new(Vec::new());
    state.show(view("c1", None, &[("user", "Hi"), ("assistant", "Hello")]));
    assert_eq!(state.other_tab_changed("c1"), [Effect::LoadList, Effect::LoadConversation("c1".into())]);
    // Another conversation changed: only the list.
    assert_eq!(state.other_tab_changed("c2"), [Effect::LoadList]);

    let now = view("c1", Some("r2"), &[("user", "Hi"), ("assistant", "Hello"), ("user", "Plan a trip")]);
    let effects = state.reloaded("c1", Some(now));
    assert!(
        effects.contains(&Effect::Send(ClientMessage::Resume { run_id: "r2".into(), after_seq: 0 })),
        "the reply the other tab asked for streams here too: {effects:?}"
    );
    assert_eq!(state.messages.len(), 3);
    assert_eq!(state.messages[2].text, "Plan a trip");
}

#[test]
fn a_busy_tab_is_not_reloaded_under_the_user() {
    // Following a reply of its own.
    let mut state = ChatState::new(Vec::new());
    state.show(view("c1", None, &[("user", "Hi"), ("assistant", "Hello")]));
    state.send("More".into(), "id-2".into());
    assert_eq!(state.other_tab_changed("c1"), [Effect::LoadList]);
    // Editing a question: the editor and its text stay.
    let mut state = ChatState::new(Vec::new());
    state.show(view("c1", None, &[("user", "Hi"), ("assistant", "Hello")]));
    let key = state.messages[0].key;
    state.start_edit(key);
    state.edit_draft("Hi there".into());
    assert_eq!(state.other_tab_changed("c1"), [Effect::LoadList]);
    // Busy by the time the load came back: the answer is dropped.
    assert!(state.reloaded("c1", Some(view("c1", None, &[("user", "Changed")]))).is_empty());
    assert_eq!(state.messages[0].text, "Hi");
    assert!(state.editing.is_some());
}

#[test]
fn a_conversation_deleted_in_another_tab_empties_this_one_and_says_why() {
    let mut state = ChatState::new(Vec::new());
    state.show(view("c1", None, &[("user", "Hi")]));
    assert_eq!(state.reloaded("c1", None), [Effect::ShowInAddress(None)]);
    assert_eq!(state.conversation_id, None);
    assert!(state.messages.is_empty());
    assert_eq!(state.notice.as_deref(), Some("This conversation was deleted in another tab."));
    // A conversation no longer shown here by the time the load came back is left alone.
    state.show(view("c2", None, &[("user", "Other")]));
    assert!(state.reloaded("c1", None).is_empty());
    assert_eq!(state.conversation_id.as_deref(), Some("c2"));
}
