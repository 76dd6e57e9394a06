//! One agent run as a pure state machine: events in, effects out, no I/O. The driver performs
//! the effects (call the model, run a tool, store a message) and feeds back what happened.
//!
//! A run calls the model; when it asks for tools, runs every `tool_use` of its message and sends
//! all their `tool_result`s, in order, as the next user message; and goes on until the model ends
//! its turn, the turn limit or the token budget is reached, or the run is cancelled or fails.
//! Whatever ends it, the history stays valid: every `tool_use` is answered, and an empty reply
//! (which the API sends, e.g. after tool results) is not kept. A reply cut by `max_tokens`
//! after complete tool calls runs them; one cut inside a tool call's input is asked again once
//! with the model's largest output limit, and if it still does not fit the run ends saying so,
//! keeping the text and nothing half-parsed.

use super::messages::{ContentBlock, Message, ModelReply, Role, StopReason, Usage};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnLimits {
    /// Model calls per run.
    pub max_model_calls: u32,
    /// Tokens (all kinds) per run; no new model call starts past it.
    pub token_budget: u64,
}

impl Default for TurnLimits {
    fn default() -> Self {
        Self { max_model_calls: 12, token_budget: 200_000 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started,
    ModelReplied(ModelReply),
    ModelFailed { message: String },
    ToolFinished { tool_use_id: String, output: Result<String, String> },
    Cancelled,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Call the model with this conversation. `longer` asks again for the call before, whose
    /// reply was cut inside a tool call: with the model's largest output limit, and what that
    /// call streamed is void.
    CallModel { messages: Vec<Message>, longer: bool },
    /// Run one tool; answer with [`Event::ToolFinished`].
    RunTool { tool_use_id: String, name: String, input: serde_json::Value },
    /// Store this message: it is now part of the conversation.
    Persist(Message),
    /// The run is over.
    Finish(Outcome),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Completed,
    /// The reply was cut at the output token limit.
    MaxTokens,
    /// A tool call's input did not fit in the model's largest output, even when asked again.
    ToolInputTooLong,
    Refused,
    ContextWindowExceeded,
    TurnLimitReached,
    BudgetExhausted,
    Cancelled,
    Failed {
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ready,
    AwaitingModel,
    AwaitingTools,
    Finished,
}

#[derive(Debug)]
pub struct Turn {
    history: Vec<Message>,
    limits: TurnLimits,
    state: State,
    model_calls: u32,
    usage: Usage,
    /// The tool calls of the last model message, in order, with their results as they come.
    pending: Vec<(String, Option<Result<String, String>>)>,
    /// Whether a call cut inside a tool call was already asked again with a longer limit.
    asked_longer: bool,
}

impl Turn {
    /// `history` ends with the user's new message.
    pub fn new(history: Vec<Message>, limits: TurnLimits) -> Self {
        Self {
            history,
            limits,
            state: State::Ready,
            model_calls: 0,
            usage: Usage::default(),
            pending: Vec::new(),
            asked_longer: false,
        }
    }

    pub fn usage(&self) -> Usage {
        self.usage
    }

    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    pub fn history(&self) -> &[Message] {
        &self.history
    }

    pub fn handle(&mut self, event: Event) -> Vec<Effect> {
        match (self.state, event) {
            (State::Finished, _) => Vec::new(),
            (_, Event::Cancelled) => self.cancel(),
            (State::Ready, Event::Started) => self.call_model(),
            (State::AwaitingModel, Event::ModelReplied(reply)) => self.on_reply(reply),
            (State::AwaitingModel, Event::ModelFailed { message }) => {
                self.finish(Outcome::Failed { message })
            }
            (State::AwaitingTools, Event::ToolFinished { tool_use_id, output }) => {
                self.on_tool(tool_use_id, output)
            }
            // Anything else is out of order (a late tool result, a reply nobody asked for).
            _ => Vec::new(),
        }
    }

    fn call_model(&mut self) -> Vec<Effect> {
        self.call_model_with(false)
    }

    fn call_model_with(&mut self, longer: bool) -> Vec<Effect> {
        if self.model_calls >= self.limits.max_model_calls {
            return self.finish(Outcome::TurnLimitReached);
        }
        if self.model_calls > 0 && self.usage.total() >= self.limits.token_budget {
            return self.finish(Outcome::BudgetExhausted);
        }
        self.model_calls += 1;
        self.state = State::AwaitingModel;
        vec![Effect::CallModel { messages: self.history.clone(), longer }]
    }

    fn on_reply(&mut self, reply: ModelReply) -> Vec<Effect> {
        self.usage.add(&reply.usage);
        if reply.truncated_tool_use {
            if !self.asked_longer {
                self.asked_longer = true;
                return self.call_model_with(true);
            }
            // Keep what the user read; the cut tool call is not in the message.
            let mut effects = self.keep(reply.message);
            effects.extend(self.finish(Outcome::ToolInputTooLong));
            return effects;
        }
        let has_tool_calls = reply.message.tool_uses().next().is_some();
        let mut effects = self.keep(reply.message.clone());
        match reply.stop_reason {
            // Complete tool calls are run whatever the stop reason (`max_tokens` just after
            // them, say), but not after a refusal or an overflow.
            StopReason::Refusal => effects.extend(self.finish(Outcome::Refused)),
            StopReason::ModelContextWindowExceeded => {
                effects.extend(self.finish(Outcome::ContextWindowExceeded))
            }
            _ if has_tool_calls => {
                self.pending = reply.message.tool_uses().map(|(id, _, _)| (id.to_owned(), None)).collect();
                self.state = State::AwaitingTools;
                effects.extend(reply.message.tool_uses().map(|(id, name, input)| Effect::RunTool {
                    tool_use_id: id.to_owned(),
                    name: name.to_owned(),
                    input: input.clone(),
                }));
            }
            // The server paused a long turn: send the conversation back as it is to continue.
            StopReason::PauseTurn => effects.extend(self.call_model()),
            StopReason::ToolUse | StopReason::EndTurn | StopReason::StopSequence | StopReason::Other => {
                effects.extend(self.finish(Outcome::Completed));
            }
            StopReason::MaxTokens => effects.extend(self.finish(Outcome::MaxTokens)),
        }
        effects
    }

    /// Adds a reply to the conversation and stores it, unless it holds nothing to send back.
    fn keep(&mut self, message: Message) -> Vec<Effect> {
        // Thinking alone says nothing either.
        let blank = message.content.iter().all(|block| match block {
            ContentBlock::Text { text } => text.trim().is_empty(),
            ContentBlock::Thinking { .. } | ContentBlock::RedactedThinking { .. } => true,
            _ => false,
        });
        if blank {
            return Vec::new();
        }
        self.history.push(message.clone());
        vec![Effect::Persist(message)]
    }

    fn on_tool(&mut self, tool_use_id: String, output: Result<String, String>) -> Vec<Effect> {
        let Some(slot) = self.pending.iter_mut().find(|(id, result)| *id == tool_use_id && result.is_none())
        else {
            return Vec::new();
        };
        slot.1 = Some(output);
        if self.pending.iter().any(|(_, result)| result.is_none()) {
            return Vec::new();
        }
        let results = self.take_results();
        let mut effects = vec![Effect::Persist(results)];
        effects.extend(self.call_model());
        effects
    }

    /// The user message answering every pending tool call, in order; unanswered ones are
    /// reported as stopped.
    fn take_results(&mut self) -> Message {
        let content = std::mem::take(&mut self.pending)
            .into_iter()
            .map(|(tool_use_id, result)| {
                let (content, is_error) = match result {
                    Some(Ok(output)) => (output, false),
                    Some(Err(error)) => (error, true),
                    None => ("The user stopped this run before the tool finished.".to_owned(), true),
                };
                ContentBlock::ToolResult { tool_use_id, content, is_error }
            })
            .collect();
        let message = Message { role: Role::User, content };
        self.history.push(message.clone());
        message
    }

    fn cancel(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.state == State::AwaitingTools {
            effects.push(Effect::Persist(self.take_results()));
        }
        effects.extend(self.finish(Outcome::Cancelled));
        effects
    }

    fn finish(&mut self, outcome: Outcome) -> Vec<Effect> {
        self.state = State::Finished;
        vec![Effect::Finish(outcome)]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn reply(content: Vec<ContentBlock>, stop_reason: StopReason, output_tokens: u64) -> ModelReply {
        ModelReply {
            message: Message { role: Role::Assistant, content },
            stop_reason,
            usage: Usage { input_tokens: 100, output_tokens, ..Usage::default() },
            truncated_tool_use: false,
        }
    }

    fn text(text: &str) -> ContentBlock {
        ContentBlock::Text { text: text.into() }
    }

    fn tool_use(id: &str) -> ContentBlock {
        ContentBlock::ToolUse { id: id.into(), name: "get_current_time".into(), input: json!({}) }
    }

    fn started(limits: TurnLimits) -> Turn {
        let mut turn = Turn::new(vec![Message::user_text("What time is it?")], limits);
        let effects = turn.handle(Event::Started);
        assert!(
            matches!(&effects[..], [Effect::CallModel { messages, longer: false }] if messages.len() == 1)
        );
        turn
    }

    #[test]
    fn a_plain_answer_is_stored_and_ends_the_run() {
        let mut turn = started(TurnLimits::default());
        let effects = turn.handle(Event::ModelReplied(reply(vec![text("Hello")], StopReason::EndTurn, 5)));
        assert_eq!(effects.len(), 2);
        assert!(matches!(&effects[0], Effect::Persist(message) if message.text() == "Hello"));
        assert_eq!(effects[1], Effect::Finish(Outcome::Completed));
        assert!(turn.is_finished());
        assert!(turn.handle(Event::Started).is_empty(), "a finished run ignores further events");
    }

    #[test]
    fn every_tool_use_runs_and_all_results_go_back_in_order_in_one_message() {
        let mut turn = started(TurnLimits::default());
        let effects = turn.handle(Event::ModelReplied(reply(
            vec![text("Checking"), tool_use("a"), tool_use("b")],
            StopReason::ToolUse,
            20,
        )));
        let runs: Vec<&str> = effects
            .iter()
            .filter_map(|effect| match effect {
                Effect::RunTool { tool_use_id, .. } => Some(tool_use_id.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(runs, ["a", "b"]);

        // Results arrive out of order; nothing happens until both are in.
        assert!(
            turn.handle(Event::ToolFinished { tool_use_id: "b".into(), output: Err("no clock".into()) })
                .is_empty()
        );
        let effects =
            turn.handle(Event::ToolFinished { tool_use_id: "a".into(), output: Ok("12:00".into()) });
        let Effect::Persist(results) = &effects[0] else { panic!("{effects:?}") };
        assert_eq!(results.role, Role::User);
        assert_eq!(
            results.content,
            vec![
                ContentBlock::ToolResult {
                    tool_use_id: "a".into(),
                    content: "12:00".into(),
                    is_error: false
                },
                ContentBlock::ToolResult {
                    tool_use_id: "b".into(),
                    content: "no clock".into(),
                    is_error: true
                },
            ]
        );
        let Effect::CallModel { messages, .. } = &effects[1] else { panic!("{effects:?}") };
        assert_eq!(messages.len(), 3, "question, tool calls, tool results");
    }

    #[test]
    fn pause_turn_sends_the_conversation_back_to_continue() {
        let mut turn = started(TurnLimits::default());
        let effects =
            turn.handle(Event::ModelReplied(reply(vec![text("Part one")], StopReason::PauseTurn, 5)));
        assert!(matches!(&effects[1], Effect::CallModel { messages, .. } if messages.len() == 2));
    }

    #[test]
    fn each_stop_reason_ends_the_run_with_its_outcome() {
        for (stop, outcome) in [
            (StopReason::StopSequence, Outcome::Completed),
            (StopReason::MaxTokens, Outcome::MaxTokens),
            (StopReason::Refusal, Outcome::Refused),
            (StopReason::ModelContextWindowExceeded, Outcome::ContextWindowExceeded),
        ] {
            let mut turn = started(TurnLimits::default());
            let effects = turn.handle(Event::ModelReplied(reply(vec![text("…")], stop.clone(), 5)));
            assert_eq!(effects.last(), Some(&Effect::Finish(outcome)), "{stop:?}");
        }
    }

    #[test]
    fn the_turn_limit_stops_a_model_that_keeps_calling_tools() {
        let mut turn = started(TurnLimits { max_model_calls: 2, token_budget: u64::MAX });
        for round in 0..2 {
            turn.handle(Event::ModelReplied(reply(vec![tool_use("t")], StopReason::ToolUse, 5)));
            let effects =
                turn.handle(Event::ToolFinished { tool_use_id: "t".into(), output: Ok("ok".into()) });
            if round == 1 {
                assert_eq!(effects.last(), Some(&Effect::Finish(Outcome::TurnLimitReached)));
            }
        }
        assert!(turn.is_finished());
    }

    #[test]
    fn the_token_budget_stops_the_run_before_another_model_call() {
        let mut turn = started(TurnLimits { max_model_calls: 10, token_budget: 150 });
        turn.handle(Event::ModelReplied(reply(vec![tool_use("t")], StopReason::ToolUse, 80)));
        let effects = turn.handle(Event::ToolFinished { tool_use_id: "t".into(), output: Ok("ok".into()) });
        assert_eq!(effects.last(), Some(&Effect::Finish(Outcome::BudgetExhausted)));
        assert_eq!(turn.usage().total(), 180);
    }

    #[test]
    fn cancelling_while_tools_run_answers_them_so_the_history_stays_valid() {
        let mut turn = started(TurnLimits::default());
        turn.handle(Event::ModelReplied(reply(vec![tool_use("a"), tool_use("b")], StopReason::ToolUse, 5)));
        turn.handle(Event::ToolFinished { tool_use_id: "a".into(), output: Ok("done".into()) });
        let effects = turn.handle(Event::Cancelled);
        let Effect::Persist(results) = &effects[0] else { panic!("{effects:?}") };
        assert!(
            matches!(&results.content[1], ContentBlock::ToolResult { tool_use_id, is_error: true, .. } if tool_use_id == "b")
        );
        assert_eq!(effects[1], Effect::Finish(Outcome::Cancelled));
        assert!(
            turn.handle(Event::ToolFinished { tool_use_id: "b".into(), output: Ok("late".into()) })
                .is_empty()
        );
    }

    fn tools_then(turn: &mut Turn) {
        turn.handle(Event::ModelReplied(reply(vec![tool_use("t")], StopReason::ToolUse, 5)));
        turn.handle(Event::ToolFinished { tool_use_id: "t".into(), output: Ok("ok".into()) });
    }

    #[test]
    fn an_empty_reply_after_tool_results_is_not_kept_and_ends_the_run() {
        let mut turn = started(TurnLimits::default());
        tools_then(&mut turn);
        let effects = turn.handle(Event::ModelReplied(reply(vec![], StopReason::EndTurn, 0)));
        assert_eq!(effects, vec![Effect::Finish(Outcome::Completed)], "nothing to store");
        assert_eq!(turn.history().last().unwrap().role, Role::User, "the history ends with the tool results");
    }

    #[test]
    fn max_tokens_just_after_complete_tool_calls_runs_them() {
        let mut turn = started(TurnLimits::default());
        let effects = turn.handle(Event::ModelReplied(reply(
            vec![text("Saving"), tool_use("a")],
            StopReason::MaxTokens,
            5,
        )));
        assert!(
            matches!(&effects[1], Effect::RunTool { tool_use_id, .. } if tool_use_id == "a"),
            "{effects:?}"
        );
        let effects =
            turn.handle(Event::ToolFinished { tool_use_id: "a".into(), output: Ok("saved".into()) });
        assert!(matches!(&effects[1], Effect::CallModel { .. }), "{effects:?}");
    }

    #[test]
    fn a_reply_cut_inside_a_tool_call_is_asked_again_once_with_the_largest_output_then_given_up() {
        let mut turn = started(TurnLimits::default());
        let mut cut = reply(vec![text("Here is the document")], StopReason::MaxTokens, 4096);
        cut.truncated_tool_use = true;

        let effects = turn.handle(Event::ModelReplied(cut.clone()));
        assert!(
            matches!(&effects[..], [Effect::CallModel { messages, longer: true }] if messages.len() == 1),
            "asked again, with nothing of the cut reply kept: {effects:?}"
        );

        let effects = turn.handle(Event::ModelReplied(cut));
        assert!(matches!(&effects[0], Effect::Persist(message) if message.text() == "Here is the document"));
        assert_eq!(effects[1], Effect::Finish(Outcome::ToolInputTooLong));
        assert_eq!(turn.usage().output_tokens, 8192, "both calls are counted");
    }

    #[test]
    fn tool_calls_in_a_refused_reply_are_not_run() {
        let mut turn = started(TurnLimits::default());
        let effects = turn.handle(Event::ModelReplied(reply(vec![tool_use("a")], StopReason::Refusal, 5)));
        assert_eq!(effects.last(), Some(&Effect::Finish(Outcome::Refused)));
        assert!(!effects.iter().any(|effect| matches!(effect, Effect::RunTool { .. })));
    }

    #[test]
    fn a_model_failure_ends_the_run_with_its_message() {
        let mut turn = started(TurnLimits::default());
        let effects = turn.handle(Event::ModelFailed { message: "overloaded".into() });
        assert_eq!(effects, vec![Effect::Finish(Outcome::Failed { message: "overloaded".into() })]);
    }
}
