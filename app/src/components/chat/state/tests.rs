//! The chat reducer's transitions, driven as the socket and the user would drive them.

use jarvis_types::chat::ChatMessageView;
use jarvis_types::documents::DocumentRef;
use jarvis_types::protocol::{ErrorCode, Limit, MAX_MESSAGE_CHARS, RunError};

use super::*;
use crate::components::voice::fixtures;

/// A stored message of run `run_id`, as a conversation's view carries it.
fn stored(id: &str, role: &str, text: &str, run_id: &str) -> ChatMessageView {
    ChatMessageView {
        id: id.into(),
        role: role.into(),
        text: text.into(),
        run_id: Some(run_id.into()),
        ..ChatMessageView::default()
    }
}

/// A page that loaded a conversation whose run `r1` is still answering, and follows it.
fn following_a_run() -> ChatState {
    let open = ConversationView {
        id: "c1".into(),
        title: "Hello".into(),
        messages: vec![stored("m1", "user", "Hi", "r1")],
        running_run_id: Some("r1".into()),
        running_reply_versions: Vec::new(),
        model: None,
    };
    let mut state = ChatState::new(Vec::new());
    state.show(open);
    assert!(state.active.is_some(), "the page shows Stop");
    state
}

fn run_event(state: &mut ChatState, seq: u64, event: RunEvent) -> Vec<Effect> {
    state.apply(ServerMessage::Run { run_id: "r1".into(), seq, event })
}

fn last_reply(state: &ChatState) -> UiMessage {
    state.messages.last().cloned().expect("a reply")
}

fn started(client_message_id: Option<&str>, user_text: &str) -> RunEvent {
    RunEvent::Started {
        conversation_id: "c1".into(),
        title: "Hello there".into(),
        user_text: user_text.into(),
        client_message_id: client_message_id.map(str::to_owned),
        user_message_id: None,
        reply_id: None,
        attachments: Vec::new(),
        model: None,
    }
}

fn text(text: &str) -> RunEvent {
    RunEvent::TextDelta { text: text.into() }
}

fn finished(status: RunStatus, error: Option<RunError>) -> RunEvent {
    RunEvent::Finished { status, stop_reason: "end_turn".into(), error }
}

fn clip(seq: u32, status: ClipStatus) -> Clip {
    fixtures::clip(seq, 1000, status)
}

/// A fresh page that sent "Hello there" and saw its run `r1` start.
fn sent_and_started() -> ChatState {
    let mut state = ChatState::new(Vec::new());
    state.send("Hello there".into(), "id-1".into());
    run_event(&mut state, 1, started(Some("id-1"), "Hello there"));
    state
}

#[test]
fn a_run_the_server_no_longer_knows_stops_being_followed() {
    let mut state = following_a_run();
    state.apply(ServerMessage::Error {
        code: ErrorCode::NotFound,
        message: "No such conversation or run.".into(),
        retryable: false,
    });
    assert_eq!(state.active, None, "Send comes back instead of Stop");
    assert_eq!(state.notice.as_deref(), Some("No such conversation or run."));
    assert_eq!(state.messages.len(), 1, "the question stays on screen");
}

#[test]
fn a_run_ended_by_the_server_as_interrupted_shows_its_error_and_send_again() {
    let mut state = following_a_run();
    // The replay from the run's first event, then its end.
    run_event(&mut state, 1, started(None, "Hi"));
    run_event(&mut state, 2, text("Half "));
    run_event(&mut state, 3, text("a reply"));
    state.apply(ServerMessage::Run {
        run_id: "r1".into(),
        seq: 4,
        event: RunEvent::Finished {
            status: RunStatus::Failed,
            stop_reason: "interrupted".into(),
            error: Some(RunError {
                code: "interrupted".into(),
                message: "The reply was interrupted. Send it again.".into(),
                retryable: true,
            }),
        },
    });
    assert_eq!(state.active, None);
    let reply = last_reply(&state);
    assert!(reply.partial);
    assert_eq!(reply.error.as_deref(), Some("The reply was interrupted. Send it again."));
    assert!(reply.retryable, "Retry is offered");
}

#[test]
fn a_retried_call_says_so_until_text_comes_and_drops_the_void_text() {
    let mut state = following_a_run();
    run_event(&mut state, 1, text("Half an ans"));
    run_event(&mut state, 2, RunEvent::Retrying { attempt: 1, wait_ms: 500 });
    let reply = last_reply(&state);
    assert_eq!(reply.retrying, Some(1));
    assert_eq!(reply.text, "", "the failed attempt's text is void");
    run_event(&mut state, 3, text("A whole answer."));
    let reply = last_reply(&state);
    assert_eq!(reply.retrying, None);
    assert_eq!(reply.text, "A whole answer.");
}

#[test]
fn a_retried_call_keeps_the_text_before_the_last_tool_activity() {
    let mut state = following_a_run();
    run_event(&mut state, 1, text("Let me save it. "));
    run_event(
        &mut state,
        2,
        RunEvent::ToolCall { id: "t1".into(), name: "save_document".into(), input: "{}".into() },
    );
    run_event(&mut state, 3, text("Saved, and"));
    run_event(&mut state, 4, RunEvent::Retrying { attempt: 1, wait_ms: 500 });
    assert_eq!(last_reply(&state).text, "Let me save it. ");
}

#[test]
fn an_error_that_retrying_cannot_fix_offers_no_retry() {
    let mut state = following_a_run();
    run_event(
        &mut state,
        1,
        RunEvent::Finished {
            status: RunStatus::Failed,
            stop_reason: "failed".into(),
            error: Some(RunError {
                code: "model_request_refused".into(),
                message: "The model service could not accept this conversation.".into(),
                retryable: false,
            }),
        },
    );
    let reply = last_reply(&state);
    assert!(reply.error.is_some());
    assert!(!reply.retryable);
}

#[test]
fn a_refused_send_gives_its_text_back_without_touching_a_followed_run() {
    let mut state = ChatState::new(Vec::new());
    state.send("Hello there".into(), "id-1".into());
    state.apply(ServerMessage::Error {
        code: ErrorCode::RunInProgress,
        message: "This conversation already has a reply in progress.".into(),
        retryable: true,
    });
    assert_eq!(state.take_returned_text().as_deref(), Some("Hello there"));
    assert_eq!(state.take_returned_text(), None, "the text is handed back once");
    assert!(state.messages.is_empty(), "the optimistic message is taken back");
    assert_eq!(state.active, None);
}

#[test]
fn a_send_shows_the_question_at_once_and_goes_on_the_socket() {
    let mut state = ChatState::new(Vec::new());
    let effects = state.send("  Hello there \n".into(), "id-1".into());
    assert_eq!(
        effects,
        [Effect::Send(ClientMessage::Send {
            client_message_id: "id-1".into(),
            conversation_id: None,
            text: "Hello there".into(),
            attachments: Vec::new(),
            model: None,
        })]
    );
    assert_eq!(state.messages.len(), 1);
    assert!(state.messages[0].is_unanswered_question());
}

#[test]
fn nothing_is_sent_blank_or_while_a_reply_runs() {
    let mut state = ChatState::new(Vec::new());
    assert!(state.send("   ".into(), "id-1".into()).is_empty());
    let mut state = following_a_run();
    assert!(state.send("More".into(), "id-2".into()).is_empty());
    assert_eq!(state.messages.len(), 1);
}

#[test]
fn a_started_run_claims_the_question_names_the_conversation_and_lists_it() {
    let state = sent_and_started();
    assert_eq!(state.messages.len(), 1, "the question is not shown twice");
    assert_eq!(state.messages[0].run_id.as_deref(), Some("r1"));
    assert_eq!(state.conversation_id.as_deref(), Some("c1"));
    assert_eq!(state.conversations.len(), 1);
    assert_eq!(state.conversations[0].title, "Hello there");
    assert_eq!(state.active, Some(ActiveRun { run_id: "r1".into(), last_seq: 1, sent_here: true }));
}

#[test]
fn a_started_run_puts_its_conversation_in_the_address() {
    let mut state = ChatState::new(Vec::new());
    state.send("Hello there".into(), "id-1".into());
    let effects = run_event(&mut state, 1, started(Some("id-1"), "Hello there"));
    // Sent from here: the browser's other tabs are told too.
    assert_eq!(effects, [Effect::ShowInAddress(Some("c1".into())), Effect::TellOtherTabs("c1".into())]);
}

#[test]
fn a_run_started_from_another_tab_shows_its_question() {
    let mut state = ChatState::new(Vec::new());
    state.show(ConversationView {
        id: "c1".into(),
        title: "Hello".into(),
        messages: Vec::new(),
        running_run_id: None,
        running_reply_versions: Vec::new(),
        model: None,
    });
    run_event(&mut state, 1, started(None, "Asked elsewhere"));
    assert_eq!(state.messages.len(), 1);
    assert_eq!(state.messages[0].text, "Asked elsewhere");
    assert_eq!(state.messages[0].run_id.as_deref(), Some("r1"));
}

#[test]
fn stream_deltas_build_the_reply_and_finishing_brings_send_back() {
    let mut state = sent_and_started();
    run_event(&mut state, 2, text("Hello"));
    run_event(&mut state, 3, text(", world."));
    assert_eq!(last_reply(&state).text, "Hello, world.");
    assert_eq!(last_reply(&state).role, "assistant");
    run_event(
        &mut state,
        4,
        RunEvent::Usage { input_tokens: 10, output_tokens: 3, cache_read_tokens: 0, cache_write_tokens: 0 },
    );
    run_event(&mut state, 5, finished(RunStatus::Completed, None));
    let reply = last_reply(&state);
    assert!(!reply.partial);
    assert_eq!(reply.error, None);
    assert_eq!(reply.usage.as_deref(), Some("10 tokens in, 3 out, 0 from cache, 0 cached"));
    assert_eq!(state.active, None, "Send comes back");
    assert_eq!(state.messages.len(), 2);
}

#[test]
fn a_screen_reader_is_told_of_a_reply_once_it_ends_and_of_why_it_ended() {
    let mut state = sent_and_started();
    run_event(&mut state, 2, text("Hello, "));
    assert_eq!(state.announcement, None, "nothing while it streams");
    run_event(&mut state, 3, text("world."));
    run_event(&mut state, 4, finished(RunStatus::Completed, None));
    assert_eq!(state.announcement.as_deref(), Some("Jarvis replied: Hello, world."));

    // The next run starts from silence, so that the same words are announced again.
    state.send("Again".into(), "id-2".into());
    let r2 = |seq, event| ServerMessage::Run { run_id: "r2".into(), seq, event };
    state.apply(r2(1, started(Some("id-2"), "Again")));
    assert_eq!(state.announcement, None);
    state.apply(r2(2, finished(RunStatus::Cancelled, None)));
    assert_eq!(state.announcement.as_deref(), Some("Jarvis's reply ended: Stopped."));
}

#[test]
fn being_back_online_takes_away_the_notice_that_the_server_could_not_be_reached() {
    let mut state = following_a_run();
    state.tell(crate::error::AppError::Unreachable.to_string());
    state.apply(ServerMessage::Hello { protocol_version: jarvis_types::protocol::PROTOCOL_VERSION });
    assert_eq!(state.notice, None);
    // Any other notice stays.
    state.tell("That conversation no longer exists.".into());
    state.apply(ServerMessage::Hello { protocol_version: jarvis_types::protocol::PROTOCOL_VERSION });
    assert_eq!(state.notice.as_deref(), Some("That conversation no longer exists."));
}

#[test]
fn a_stopped_reply_says_so_and_offers_retry() {
    let mut state = sent_and_started();
    assert_eq!(state.stop(), [Effect::Send(ClientMessage::Cancel { run_id: "r1".into() })]);
    run_event(&mut state, 2, finished(RunStatus::Cancelled, None));
    let reply = last_reply(&state);
    assert_eq!(reply.error.as_deref(), Some("Stopped."));
    assert!(reply.retryable);
    assert!(reply.partial);
    assert!(state.stop().is_empty(), "nothing left to stop");
}

#[test]
fn retry_sends_the_question_of_the_failed_reply_again() {
    let mut state = sent_and_started();
    run_event(&mut state, 2, finished(RunStatus::Cancelled, None));
    let failed = last_reply(&state).key;
    let effects = state.retry(failed, "id-2".into());
    assert_eq!(
        effects,
        [Effect::Send(ClientMessage::Send {
            client_message_id: "id-2".into(),
            conversation_id: Some("c1".into()),
            text: "Hello there".into(),
            attachments: Vec::new(),
            model: None,
        })]
    );
    assert_eq!(state.messages.len(), 3, "the question shows again below the failed reply");
}

#[test]
fn events_resumed_after_a_reconnect_show_every_word_once() {
    let mut state = sent_and_started();
    run_event(&mut state, 2, text("One "));
    run_event(&mut state, 3, text("two "));
    // The socket dropped; a new one says hello: the run is resumed after the last event seen.
    let effects = state.apply(ServerMessage::Hello { protocol_version: 1 });
    assert_eq!(effects, [Effect::Send(ClientMessage::Resume { run_id: "r1".into(), after_seq: 3 })]);
    // The server replays from its store, overlapping what was already shown.
    run_event(&mut state, 2, text("One "));
    run_event(&mut state, 3, text("two "));
    run_event(&mut state, 4, text("three."));
    assert_eq!(last_reply(&state).text, "One two three.");
    assert_eq!(state.messages.len(), 2);
}

#[test]
fn a_send_not_yet_acknowledged_goes_again_after_a_reconnect() {
    let mut state = ChatState::new(Vec::new());
    let sent = state.send("Hello there".into(), "id-1".into());
    let effects = state.apply(ServerMessage::Hello { protocol_version: 1 });
    assert_eq!(effects, sent, "the same message, with the same id, so one run starts");
    run_event(&mut state, 1, started(Some("id-1"), "Hello there"));
    let effects = state.apply(ServerMessage::Hello { protocol_version: 1 });
    assert_eq!(
        effects,
        [Effect::Send(ClientMessage::Resume { run_id: "r1".into(), after_seq: 1 })],
        "acknowledged: only the run is resumed"
    );
}

#[test]
fn events_of_another_run_or_before_any_start_are_ignored() {
    let mut state = sent_and_started();
    state.apply(ServerMessage::Run { run_id: "r9".into(), seq: 2, event: text("stray") });
    assert_eq!(state.messages.len(), 1);
    let mut idle = ChatState::new(Vec::new());
    run_event(&mut idle, 1, text("stray"));
    assert!(idle.messages.is_empty());
    assert_eq!(idle.active, None);
}

#[test]
fn a_limit_reached_takes_the_message_back_and_points_to_the_plans() {
    let mut state = ChatState::new(Vec::new());
    state.send("Hello there".into(), "id-1".into());
    state.apply(ServerMessage::LimitReached {
        limit: Limit::MessagesPerDay,
        message: "You have used today's messages.".into(),
        upgrade_url: Some("/pricing".into()),
        retry_after_secs: None,
    });
    assert!(state.messages.is_empty());
    assert_eq!(state.notice.as_deref(), Some("You have used today's messages."));
    assert_eq!(state.upgrade_url.as_deref(), Some("/pricing"));
    assert_eq!(state.returned_text.as_deref(), Some("Hello there"));
    // A later refusal without a plan to move to drops the link.
    state.send("Again".into(), "id-2".into());
    state.apply(ServerMessage::Error {
        code: ErrorCode::RunInProgress,
        message: "Busy.".into(),
        retryable: true,
    });
    assert_eq!(state.upgrade_url, None);
}

#[test]
fn a_saved_document_and_a_ready_clip_are_effects_for_the_panel_and_the_player() {
    let mut state = sent_and_started();
    let document = DocumentRef {
        id: "d1".into(),
        title: "Notes".into(),
        kind: "markdown".into(),
        version: 1,
        created: true,
    };
    assert_eq!(
        run_event(&mut state, 2, RunEvent::DocumentSaved { document: document.clone() }),
        [Effect::DocumentSaved(document)]
    );
    assert!(run_event(&mut state, 3, RunEvent::Clip { clip: clip(2, ClipStatus::Failed) }).is_empty());
    assert_eq!(
        run_event(&mut state, 4, RunEvent::Clip { clip: clip(1, ClipStatus::Ready) }),
        [Effect::ClipReady("r1".into())]
    );
    let seqs: Vec<_> = last_reply(&state).clips.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, [1, 2], "clips are kept in order");
}

#[test]
fn a_retried_clip_replaces_the_failed_one() {
    let mut state = sent_and_started();
    run_event(&mut state, 2, RunEvent::Clip { clip: clip(1, ClipStatus::Failed) });
    let key = last_reply(&state).key;
    state.clip_retried(key, clip(1, ClipStatus::Ready));
    assert_eq!(last_reply(&state).clips.len(), 1);
    assert_eq!(last_reply(&state).clips[0].status, ClipStatus::Ready);
}

#[test]
fn a_running_reply_in_the_loaded_view_is_rebuilt_from_its_events_not_shown_twice() {
    // What a view read just as the run stored its reply holds: the question and the reply so far.
    let view = ConversationView {
        id: "c1".into(),
        title: "Hello".into(),
        messages: vec![stored("m1", "user", "Hi", "r1"), stored("m2", "assistant", "Hello", "r1")],
        running_run_id: Some("r1".into()),
        running_reply_versions: Vec::new(),
        model: None,
    };
    let mut state = ChatState::new(Vec::new());
    state.show(view);
    run_event(&mut state, 1, started(None, "Hi"));
    run_event(&mut state, 2, text("Hello"));
    let texts: Vec<(&str, &str)> =
        state.messages.iter().map(|m| (m.role.as_str(), m.text.as_str())).collect();
    assert_eq!(texts, [("user", "Hi"), ("assistant", "Hello")]);
}

#[test]
fn a_regeneration_loaded_while_it_runs_is_numbered_after_the_earlier_versions() {
    // Reloaded while the second version of the reply to m1 is being written: the view has the
    // question and names the earlier reply m2; the run's first event gives the new one's id.
    let view = ConversationView {
        id: "c1".into(),
        title: "Hello".into(),
        messages: vec![stored("m1", "user", "Hi", "r1")],
        running_run_id: Some("r2".into()),
        running_reply_versions: vec!["m2".into()],
        model: None,
    };
    let mut state = ChatState::new(Vec::new());
    state.show(view);
    state.apply(ServerMessage::Run { run_id: "r2".into(), seq: 1, event: started_branch("g-1", "m1", "m5") });
    state.apply(ServerMessage::Run { run_id: "r2".into(), seq: 2, event: text("Hello anew.") });

    assert_eq!(state.messages.len(), 2);
    let reply = &state.messages[1];
    assert_eq!((reply.id.as_deref(), reply.text.as_str()), (Some("m5"), "Hello anew."));
    assert_eq!(reply.versions, ["m2", "m5"]);
    assert_eq!(reply.version(), Some((2, 2)));

    // A first reply loaded while it runs has no versions.
    let mut state = following_a_run();
    state.apply(ServerMessage::Run { run_id: "r1".into(), seq: 1, event: started_branch("c-1", "m1", "m2") });
    state.apply(ServerMessage::Run { run_id: "r1".into(), seq: 2, event: text("Hello.") });
    assert_eq!(state.messages[1].versions, Vec::<String>::new());
    assert_eq!(state.messages[1].version(), None);
}

#[test]
fn a_reply_opened_again_while_it_streams_is_replayed_whole_not_joined_by_frames_of_the_earlier_follower() {
    // The conversation was left while r1 streamed and is opened again: the page asks for r1 from
    // its first event, but frames the socket's earlier follower had already sent (seq 23 on)
    // arrive first. They are not applied; the replay brings every event in order.
    let mut state = following_a_run();
    run_event(&mut state, 23, text("word23 "));
    run_event(&mut state, 24, text("word24 "));
    run_event(&mut state, 1, started(None, "Hi"));
    for seq in 2..=24 {
        run_event(&mut state, seq, text(&format!("word{} ", seq - 1)));
    }
    // A repeat of one applied already changes nothing.
    run_event(&mut state, 24, text("word23 "));
    let reply = &state.messages[1];
    let expected: String = (1..=23).map(|n| format!("word{n} ")).collect();
    assert_eq!(reply.text, expected);
    assert_eq!(state.active.as_ref().map(|active| active.last_seq), Some(24));
}

#[test]
fn a_conversation_loaded_with_a_running_reply_resumes_it_and_never_autoplays_it() {
    let mut state = ChatState::new(Vec::new());
    let effects = state.open(ConversationView {
        id: "c1".into(),
        title: "Hello".into(),
        messages: Vec::new(),
        running_run_id: Some("r1".into()),
        running_reply_versions: Vec::new(),
        model: None,
    });
    assert_eq!(
        effects,
        [
            Effect::GoToAddress(Some("c1".into())),
            Effect::RuleOutAutoplay("r1".into()),
            Effect::Send(ClientMessage::Resume { run_id: "r1".into(), after_seq: 0 }),
        ]
    );
}

#[test]
fn a_reply_refused_before_shows_its_note_again_on_reload() {
    let mut state = ChatState::new(Vec::new());
    state.show(ConversationView {
        id: "c1".into(),
        title: "Hello".into(),
        messages: vec![ChatMessageView {
            partial: true,
            refused: true,
            ..stored("m2", "assistant", "", "r1")
        }],
        running_run_id: None,
        running_reply_versions: Vec::new(),
        model: None,
    });
    assert_eq!(last_reply(&state).error.as_deref(), Some(jarvis_types::protocol::REFUSAL_NOTE));
}

#[test]
fn deleting_the_open_conversation_empties_the_chat() {
    let mut state = sent_and_started();
    run_event(&mut state, 2, finished(RunStatus::Completed, None));
    state.renamed("c1", "  Greetings ");
    assert_eq!(state.conversations[0].title, "Greetings");
    assert_eq!(state.deleted("c1"), [Effect::ShowInAddress(None), Effect::TellOtherTabs("c1".into())]);
    assert!(state.conversations.is_empty());
    assert!(state.messages.is_empty());
    assert_eq!(state.conversation_id, None);
    assert_eq!(
        state.deleted("c7"),
        [Effect::TellOtherTabs("c7".into())],
        "another conversation leaves the chat as it is"
    );
}

fn conversation(id: &str) -> ConversationView {
    ConversationView {
        id: id.into(),
        title: id.into(),
        messages: vec![stored(&format!("{id}-m1"), "user", "Hi", &format!("{id}-r1"))],
        running_run_id: None,
        running_reply_versions: Vec::new(),
        model: None,
    }
}

#[test]
fn moving_to_another_conversation_is_a_history_entry_and_reopening_one_is_not() {
    let mut state = ChatState::new(Vec::new());
    assert_eq!(state.open(conversation("c1")), [Effect::GoToAddress(Some("c1".into()))]);
    assert_eq!(state.open(conversation("c2")), [Effect::GoToAddress(Some("c2".into()))]);
    assert_eq!(
        state.open(conversation("c2")),
        [Effect::ShowInAddress(Some("c2".into()))],
        "the same one again"
    );
    assert_eq!(state.new_conversation(), [Effect::GoToAddress(None)], "leaving a conversation for a new one");
    assert_eq!(state.new_conversation(), [Effect::ShowInAddress(None)], "the empty chat already");
}

#[test]
fn back_and_forward_show_a_conversation_or_the_empty_chat_without_a_new_entry() {
    let mut state = ChatState::new(Vec::new());
    state.open(conversation("c1"));
    state.open(conversation("c2"));
    // Back: the history names c1 again; showing it touches no address.
    let effects = state.show(conversation("c1"));
    assert!(effects.iter().all(|e| !matches!(e, Effect::GoToAddress(_) | Effect::ShowInAddress(_))));
    assert_eq!(state.conversation_id.as_deref(), Some("c1"));
    assert_eq!(state.messages[0].text, "Hi");
    // Back again, to `/app`.
    state.show_empty();
    assert_eq!(state.conversation_id, None);
    assert!(state.messages.is_empty());
    assert!(state.active.is_none());
}

#[test]
fn a_message_sent_while_a_reply_runs_is_held_with_a_word_that_leaves_when_the_reply_ends() {
    let mut state = sent_and_started();
    assert!(state.send("And another thing".into(), "id-2".into()).is_empty());
    assert_eq!(state.notice.as_deref(), Some(STILL_REPLYING));
    assert_eq!(state.messages.len(), 1, "nothing new on screen: the composer keeps the text");
    run_event(&mut state, 2, finished(RunStatus::Completed, None));
    assert_eq!(state.notice, None);
    assert_eq!(state.send("And another thing".into(), "id-2".into()).len(), 1, "now it goes");
}

#[test]
fn a_blank_send_while_a_reply_runs_says_nothing() {
    let mut state = sent_and_started();
    assert!(state.send("  ".into(), "id-2".into()).is_empty());
    assert_eq!(state.notice, None);
}

fn tool_call(id: &str) -> RunEvent {
    RunEvent::ToolCall { id: id.into(), name: "save_document".into(), input: "{}".into() }
}

#[test]
fn jarvis_is_thinking_from_send_until_the_first_text() {
    let mut state = ChatState::new(Vec::new());
    assert!(!state.thinking(), "nothing sent, nothing to wait for");
    state.send("Hello there".into(), "id-1".into());
    assert!(state.thinking(), "sent, not started yet");
    run_event(&mut state, 1, started(Some("id-1"), "Hello there"));
    assert!(state.thinking(), "started, no word yet");
    run_event(&mut state, 2, text("Hi"));
    assert!(!state.thinking(), "the first word replaces the status");
    run_event(&mut state, 3, finished(RunStatus::Completed, None));
    assert!(!state.thinking());
}

#[test]
fn jarvis_stops_thinking_at_a_tool_card_a_retry_notice_a_stop_or_a_refusal() {
    let mut state = sent_and_started();
    run_event(&mut state, 2, tool_call("t1"));
    assert!(!state.thinking(), "the tool card shows activity");

    let mut state = sent_and_started();
    run_event(&mut state, 2, RunEvent::Retrying { attempt: 1, wait_ms: 500 });
    assert!(!state.thinking(), "the retry notice says what is happening");

    let mut state = sent_and_started();
    run_event(&mut state, 2, finished(RunStatus::Cancelled, None));
    assert!(!state.thinking(), "a run stopped before any word ends the wait");

    let mut state = ChatState::new(Vec::new());
    state.send("Hello there".into(), "id-1".into());
    state.apply(ServerMessage::Error {
        code: ErrorCode::NotFound,
        message: "No such conversation.".into(),
        retryable: false,
    });
    assert!(!state.thinking(), "a refused send is not being answered");
}

#[test]
fn a_page_following_a_run_that_shows_nothing_yet_is_thinking() {
    let mut state = following_a_run();
    assert!(state.thinking());
    run_event(&mut state, 1, text("Hi"));
    assert!(!state.thinking());
}

#[test]
fn text_after_a_tool_call_starts_a_new_paragraph_as_a_reload_shows_it() {
    let mut state = sent_and_started();
    run_event(&mut state, 2, text("I'll save it to your documents."));
    run_event(&mut state, 3, tool_call("t1"));
    run_event(
        &mut state,
        4,
        RunEvent::ToolResult {
            id: "t1".into(),
            name: "save_document".into(),
            output: "{}".into(),
            is_error: false,
        },
    );
    run_event(&mut state, 5, text("I saved"));
    run_event(&mut state, 6, text(" it."));
    assert_eq!(last_reply(&state).text, "I'll save it to your documents.\n\nI saved it.");
}

#[test]
fn a_paragraph_break_the_server_already_sent_is_not_doubled() {
    let mut state = sent_and_started();
    run_event(&mut state, 2, text("Saving."));
    run_event(&mut state, 3, tool_call("t1"));
    run_event(&mut state, 4, text("\n\nSaved."));
    assert_eq!(last_reply(&state).text, "Saving.\n\nSaved.");
}

#[test]
fn a_reply_that_starts_with_a_tool_call_has_no_leading_break() {
    let mut state = sent_and_started();
    run_event(&mut state, 2, tool_call("t1"));
    run_event(&mut state, 3, text("Saved."));
    assert_eq!(last_reply(&state).text, "Saved.");
}

#[test]
fn text_retried_after_a_tool_call_still_starts_a_new_paragraph() {
    let mut state = sent_and_started();
    run_event(&mut state, 2, text("Saving."));
    run_event(&mut state, 3, tool_call("t1"));
    run_event(&mut state, 4, text("Sav"));
    run_event(&mut state, 5, RunEvent::Retrying { attempt: 1, wait_ms: 500 });
    run_event(&mut state, 6, text("Saved."));
    assert_eq!(last_reply(&state).text, "Saving.\n\nSaved.");
}

#[test]
fn a_reply_stopped_before_shows_stopped_again_on_reload_with_retry() {
    let mut state = ChatState::new(Vec::new());
    state.show(ConversationView {
        id: "c1".into(),
        title: "Hello".into(),
        messages: vec![ChatMessageView {
            partial: true,
            refused: false,
            ..stored("m2", "assistant", "Half an", "r1")
        }],
        running_run_id: None,
        running_reply_versions: Vec::new(),
        model: None,
    });
    let reply = last_reply(&state);
    assert!(reply.partial);
    assert_eq!(reply.error.as_deref(), Some("Stopped."), "the same marker as live");
    assert!(reply.retryable);
}

#[test]
fn a_complete_reply_from_history_has_no_marker() {
    let mut state = ChatState::new(Vec::new());
    state.show(ConversationView {
        id: "c1".into(),
        title: "Hello".into(),
        messages: vec![stored("m2", "assistant", "Whole.", "r1")],
        running_run_id: None,
        running_reply_versions: Vec::new(),
        model: None,
    });
    assert_eq!(last_reply(&state).error, None);
}

/// A page showing the question `m1` (run `r0`) and its reply `m2`, nothing running.
fn answered(reply_versions: &[&str]) -> ChatState {
    let mut reply = stored("m2", "assistant", "Hello!", "r0");
    reply.versions = reply_versions.iter().map(|id| (*id).to_owned()).collect();
    let mut state = ChatState::new(Vec::new());
    state.show(ConversationView {
        id: "c1".into(),
        title: "Hi".into(),
        messages: vec![stored("m1", "user", "Hi", "r0"), reply],
        running_run_id: None,
        running_reply_versions: Vec::new(),
        model: None,
    });
    state
}

fn started_branch(client_message_id: &str, user_message_id: &str, reply_id: &str) -> RunEvent {
    RunEvent::Started {
        conversation_id: "c1".into(),
        title: "Hi".into(),
        user_text: "Hi again".into(),
        client_message_id: Some(client_message_id.into()),
        user_message_id: Some(user_message_id.into()),
        reply_id: Some(reply_id.into()),
        attachments: Vec::new(),
        model: None,
    }
}

#[test]
fn an_edited_question_replaces_what_followed_it_and_is_numbered_last_of_its_versions() {
    let mut state = answered(&[]);
    let question = state.messages[0].key;
    state.start_edit(question);
    assert_eq!(
        state.editing,
        Some(Editing { key: question, draft: "Hi".into() }),
        "the editor opens with its text"
    );
    state.edit_draft("Hi again".into());

    let effects = state.submit_edit("e-1".into());

    assert_eq!(
        effects,
        [Effect::Send(ClientMessage::Edit {
            client_message_id: "e-1".into(),
            conversation_id: "c1".into(),
            message_id: "m1".into(),
            text: "Hi again".into(),
            model: None,
        })]
    );
    assert_eq!(state.editing, None);
    assert_eq!(state.messages.len(), 1, "the old reply left the screen");
    assert_eq!(state.messages[0].text, "Hi again");
    assert_eq!(state.messages[0].version(), Some((2, 2)));
    assert_eq!(state.messages[0].neighbour_version(-1), Some("m1"));
    assert_eq!(state.messages[0].neighbour_version(1), None);
    assert!(state.thinking());

    state.apply(ServerMessage::Run { run_id: "r1".into(), seq: 1, event: started_branch("e-1", "m3", "m4") });
    state.apply(ServerMessage::Run { run_id: "r1".into(), seq: 2, event: text("Hello again!") });

    assert_eq!(state.messages.len(), 2, "the question is claimed, not shown twice");
    assert_eq!(state.messages[0].id.as_deref(), Some("m3"), "the server named the new version");
    assert_eq!(state.messages[0].versions, ["m1", "m3"]);
    assert_eq!(state.messages[1].id.as_deref(), Some("m4"), "the reply has the id it will be stored with");
    assert_eq!(state.messages[1].text, "Hello again!");
}

#[test]
fn a_message_longer_than_the_server_takes_is_refused_before_it_goes_and_stays_in_the_box() {
    let mut state = ChatState::new(Vec::new());
    let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
    assert!(state.send(long.clone(), "id-1".into()).is_empty(), "nothing goes on the socket");
    assert_eq!(state.notice.as_deref(), Some("Messages are limited to 32000 characters."));
    assert!(state.messages.is_empty());
    // Exactly the limit, counted in characters as the server counts them, goes.
    let most = "é".repeat(MAX_MESSAGE_CHARS);
    assert_eq!(state.send(most, "id-2".into()).len(), 1);
}

#[test]
fn an_edit_too_long_or_left_empty_stays_in_its_editor_with_a_word_why() {
    let mut state = answered(&[]);
    let before = state.messages.clone();
    let question = state.messages[0].key;
    state.start_edit(question);
    state.edit_draft("y".repeat(MAX_MESSAGE_CHARS + 1));
    assert!(state.submit_edit("e-1".into()).is_empty());
    assert_eq!(state.notice.as_deref(), Some("Messages are limited to 32000 characters."));
    assert_eq!(state.messages, before);
    assert!(state.editing.is_some(), "the editor keeps the text");
    state.edit_draft("   ".into());
    assert!(state.submit_edit("e-2".into()).is_empty());
    assert_eq!(state.notice.as_deref(), Some(EMPTY_EDIT));
    assert!(state.editing.is_some());
}

#[test]
fn a_refused_edit_puts_the_conversation_back_and_keeps_the_text_in_its_editor() {
    let mut state = answered(&[]);
    let before = state.messages.clone();
    let question = state.messages[0].key;
    state.start_edit(question);
    state.edit_draft("Hi again".into());
    state.submit_edit("e-1".into());

    state.apply(ServerMessage::Error {
        code: ErrorCode::RunInProgress,
        message: "Jarvis is still answering in this conversation.".into(),
        retryable: true,
    });

    assert_eq!(state.messages, before);
    assert_eq!(state.editing, Some(Editing { key: question, draft: "Hi again".into() }));
    assert_eq!(state.returned_text, None, "the composer is not given the edit");
    assert!(state.notice.is_some());
}

#[test]
fn a_regenerated_reply_answers_the_same_question_and_is_numbered_last_of_its_versions() {
    let mut state = answered(&[]);
    let reply = state.messages[1].key;

    let effects = state.regenerate(reply, "g-1".into());

    assert_eq!(
        effects,
        [Effect::Send(ClientMessage::Regenerate {
            client_message_id: "g-1".into(),
            conversation_id: "c1".into(),
            message_id: "m1".into(),
            model: None,
        })]
    );
    assert_eq!(state.messages.len(), 1, "the question stays, its old reply leaves the screen");

    state.apply(ServerMessage::Run { run_id: "r2".into(), seq: 1, event: started_branch("g-1", "m1", "m5") });
    state.apply(ServerMessage::Run { run_id: "r2".into(), seq: 2, event: text("Hello anew.") });

    assert_eq!(state.messages.len(), 2, "no second copy of the question");
    let reply = &state.messages[1];
    assert_eq!((reply.id.as_deref(), reply.text.as_str()), (Some("m5"), "Hello anew."));
    assert_eq!(reply.versions, ["m2", "m5"]);
    assert_eq!(reply.version(), Some((2, 2)));
    assert_eq!(reply.neighbour_version(-1), Some("m2"));

    // Regenerated again before any reload: every version keeps its id.
    state.apply(ServerMessage::Run {
        run_id: "r2".into(),
        seq: 3,
        event: finished(RunStatus::Completed, None),
    });
    let key = state.messages[1].key;
    state.regenerate(key, "g-2".into());
    state.apply(ServerMessage::Run { run_id: "r3".into(), seq: 1, event: started_branch("g-2", "m1", "m6") });
    state.apply(ServerMessage::Run { run_id: "r3".into(), seq: 2, event: text("Third.") });
    assert_eq!(state.messages[1].versions, ["m2", "m5", "m6"]);
    assert_eq!(state.messages[1].version(), Some((3, 3)));
}

#[test]
fn a_refused_regeneration_puts_the_old_reply_back() {
    let mut state = answered(&["m2", "m9"]);
    let before = state.messages.clone();
    state.regenerate(state.messages[1].key, "g-1".into());
    state.apply(ServerMessage::LimitReached {
        limit: Limit::MessagesPerDay,
        message: "That is all for today.".into(),
        upgrade_url: None,
        retry_after_secs: None,
    });
    assert_eq!(state.messages, before);
    assert_eq!(state.notice.as_deref(), Some("That is all for today."));
}

#[test]
fn switching_versions_asks_the_server_for_that_branch_but_not_while_a_reply_runs() {
    let mut state = answered(&["m7", "m2", "m8"]);
    let reply = state.messages[1].key;
    assert_eq!(state.messages[1].version(), Some((2, 3)));

    assert_eq!(
        state.switch_version(reply, -1),
        [Effect::ShowVersion { conversation_id: "c1".into(), message_id: "m7".into(), step: -1 }]
    );
    assert_eq!(
        state.switch_version(reply, 1),
        [Effect::ShowVersion { conversation_id: "c1".into(), message_id: "m8".into(), step: 1 }]
    );
    assert_eq!(state.switch_version(state.messages[0].key, 1), [], "the question has no versions");

    state.send("More".into(), "s-1".into());
    assert_eq!(state.switch_version(reply, -1), [], "not while a reply is on its way");
    assert!(state.notice.is_some());
}

#[test]
fn nothing_is_edited_or_regenerated_while_a_reply_runs() {
    let mut state = following_a_run();
    let question = state.messages[0].key;
    state.start_edit(question);
    assert_eq!(state.editing, None);
    assert_eq!(state.regenerate(question, "g".into()), []);
}
