//! A property test of the whole turn loop: random sequences of model behaviour (text, tool
//! calls, empty replies, `max_tokens` anywhere, refusals, `pause_turn`, error statuses, error
//! events, stalls) drive conversations of several messages through the driver against the fake
//! model, which checks every request the way the Messages API does. Whatever happened, every
//! request it received was valid and the conversation accepts the next message.
//!
//! The conversation is kept the way the chat store keeps it: messages stored as the run goes,
//! the text of an unfinished call as a partial reply (never sent again), refused exchanges left
//! out of what is sent.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support;
use futures::future::BoxFuture;
use jarvis_backend::agent::anthropic::AnthropicProvider;
use jarvis_backend::agent::driver::{DriverEvent, RunObserver, RunRequest, run};
use jarvis_backend::agent::messages::Message;
use jarvis_backend::agent::tools::{ToolContext, ToolRegistry};
use jarvis_backend::agent::turn::{Outcome, TurnLimits};
use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply, Script, validate_request};
use proptest::prelude::*;
use serde_json::json;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// One thing the model may do when called.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Text,
    ToolCall,
    TwoToolCalls,
    Empty,
    CutText,
    CutAfterToolCall,
    CutInsideToolCall,
    Refusal,
    PauseTurn,
    ClientError,
    Overloaded,
    ErrorEvent,
    Stall,
}

fn behaviour() -> impl Strategy<Value = Behaviour> {
    prop_oneof![
        3 => Just(Behaviour::Text),
        3 => Just(Behaviour::ToolCall),
        1 => Just(Behaviour::TwoToolCalls),
        2 => Just(Behaviour::Empty),
        1 => Just(Behaviour::CutText),
        1 => Just(Behaviour::CutAfterToolCall),
        2 => Just(Behaviour::CutInsideToolCall),
        2 => Just(Behaviour::Refusal),
        2 => Just(Behaviour::PauseTurn),
        1 => Just(Behaviour::ClientError),
        1 => Just(Behaviour::Overloaded),
        1 => Just(Behaviour::ErrorEvent),
        1 => Just(Behaviour::Stall),
    ]
}

/// What the fake answers for `behaviour`; tool call ids are unique in the conversation.
fn script(behaviour: Behaviour, ids: &mut u32) -> Script {
    let mut id = || {
        *ids += 1;
        format!("toolu_{ids:04}")
    };
    let clock =
        |reply: Reply, id: String| reply.with_tool_use(&id, "get_current_time", json!({"timezone": "UTC"}));
    match behaviour {
        Behaviour::Text => Script::Reply(Reply::text("Here you are. ")),
        Behaviour::ToolCall => Script::Reply(clock(Reply::text("Let me check. "), id())),
        Behaviour::TwoToolCalls => {
            let first = id();
            Script::Reply(clock(clock(Reply::text("Two clocks."), first), id()))
        }
        Behaviour::Empty => Script::Reply(Reply::empty()),
        Behaviour::CutText => Script::Reply(Reply::text("A long answer that goes on").truncated()),
        Behaviour::CutAfterToolCall => {
            Script::Reply(clock(Reply::text("Checking."), id()).stop_reason("max_tokens"))
        }
        Behaviour::CutInsideToolCall => Script::Reply(clock(Reply::text("Writing it "), id()).truncated()),
        Behaviour::Refusal => Script::Reply(Reply::refusal("I will not ")),
        Behaviour::PauseTurn => Script::Reply(Reply::text("Part one, ").stop_reason("pause_turn")),
        Behaviour::ClientError => {
            Script::status(400, "invalid_request_error", "Something about the request.")
        }
        Behaviour::Overloaded => Script::overloaded().with_header("retry-after-ms", "1"),
        Behaviour::ErrorEvent => Script::ErrorEvent {
            reply: Reply::text("Half of a reply"),
            after_events: 4,
            kind: "overloaded_error".into(),
        },
        Behaviour::Stall => Script::Stall { reply: Reply::text("Half of a reply"), after_events: 4 },
    }
}

/// The conversation as the chat store keeps it.
#[derive(Default)]
struct Conversation {
    /// Each stored message, with the run it belongs to and whether it is a partial reply.
    messages: Vec<(Message, usize, bool)>,
    refused_runs: HashSet<usize>,
}

impl Conversation {
    /// What the next run starts from: complete messages of runs that were not refused.
    fn history(&self) -> Vec<Message> {
        self.messages
            .iter()
            .filter(|(_, run, partial)| !partial && !self.refused_runs.contains(run))
            .map(|(message, _, _)| message.clone())
            .collect()
    }
}

struct Store<'a> {
    conversation: &'a mut Conversation,
    run: usize,
    text: String,
}

impl RunObserver for Store<'_> {
    fn on_event(&mut self, event: DriverEvent) {
        match event {
            DriverEvent::Text(text) => self.text.push_str(&text),
            DriverEvent::Retrying { .. } => self.text.clear(),
            _ => {}
        }
    }

    fn persist<'a>(&'a mut self, message: &'a Message) -> BoxFuture<'a, Result<(), String>> {
        self.conversation.messages.push((message.clone(), self.run, false));
        Box::pin(async { Ok(()) })
    }
}

fn provider(fake: &FakeAnthropic) -> AnthropicProvider {
    support::anthropic_provider(fake, Duration::from_millis(300))
}

/// Sends `text` as run `run` and stores what happens; the run's outcome and shown text.
async fn turn(
    provider: &AnthropicProvider,
    conversation: &mut Conversation,
    run_index: usize,
    text: &str,
) -> (Outcome, String) {
    conversation.messages.push((Message::user_text(text), run_index, false));
    let request = RunRequest {
        context: ToolContext::for_run(Uuid::new_v4(), Uuid::new_v4()),
        model: None,
        system: "You are Jarvis.".into(),
        history: conversation.history(),
        limits: TurnLimits { max_model_calls: 6, token_budget: u64::MAX },
        context_budget_tokens: 100_000,
    };
    let mut store = Store { conversation, run: run_index, text: String::new() };
    let summary =
        run(provider, &ToolRegistry::standard(), request, CancellationToken::new(), &mut store).await;
    let shown = std::mem::take(&mut store.text);
    if !summary.unfinished_text.is_empty() && summary.outcome != Outcome::Completed {
        let partial = Message {
            role: jarvis_backend::agent::messages::Role::Assistant,
            content: vec![jarvis_backend::agent::messages::ContentBlock::Text {
                text: summary.unfinished_text,
            }],
        };
        conversation.messages.push((partial, run_index, true));
    }
    if summary.outcome == Outcome::Refused {
        conversation.refused_runs.insert(run_index);
    }
    (summary.outcome, shown)
}

async fn conversation_survives(behaviours: Vec<Behaviour>, messages: usize) -> Result<(), TestCaseError> {
    let fake = FakeAnthropic::start().await;
    let queue = Arc::new(Mutex::new(VecDeque::from(behaviours)));
    let ids = Arc::new(Mutex::new(0u32));
    let left = Arc::clone(&queue);
    fake.set_fallback(Arc::new(move |_| {
        let next = queue.lock().unwrap().pop_front();
        match next {
            Some(behaviour) => script(behaviour, &mut ids.lock().unwrap()),
            None => Script::Reply(Reply::text("Final answer.")),
        }
    }));
    let provider = provider(&fake);
    let mut conversation = Conversation::default();
    // The user's messages, and more while behaviours are left (each run uses one at least).
    let mut index = 0;
    while index < messages || !left.lock().unwrap().is_empty() {
        turn(&provider, &mut conversation, index, &format!("Question {index}")).await;
        index += 1;
        prop_assert!(index < 40, "runs do not end");
    }
    let (outcome, shown) = turn(&provider, &mut conversation, index, "And now?").await;
    prop_assert_eq!(outcome, Outcome::Completed, "the conversation takes the next message");
    prop_assert!(shown.ends_with("Final answer."), "{}", shown);
    for (index, request) in fake.requests().iter().enumerate() {
        if let Err(error) = validate_request(&request.body) {
            return Err(TestCaseError::fail(format!(
                "request {index} is invalid: {error}\n{:#}",
                request.body
            )));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn whatever_the_model_does_every_request_is_valid_and_the_conversation_goes_on(
        behaviours in prop::collection::vec(behaviour(), 1..10),
        messages in 1usize..4,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(conversation_survives(behaviours, messages))?;
    }
}
