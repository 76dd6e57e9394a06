//! The checks of [`validate_request`](super::validate_request), one rule per test.

use serde_json::{Value, json};

use super::validate_request;

fn user(content: Value) -> Value {
    json!({"role": "user", "content": content})
}

fn assistant(content: Value) -> Value {
    json!({"role": "assistant", "content": content})
}

fn text(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

fn tool_use(id: &str) -> Value {
    json!({"type": "tool_use", "id": id, "name": "get_current_time", "input": {}})
}

fn tool_result(id: &str) -> Value {
    json!({"type": "tool_result", "tool_use_id": id, "content": "12:00"})
}

fn request(messages: Vec<Value>) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": true, "messages": messages})
}

fn refusal(body: &Value) -> String {
    validate_request(body).expect_err("refused")
}

/// Jarvis's full shape: tools and system with breakpoints, a thinking block, a tool round
/// trip, string and block content, NUL characters, and a prefill.
fn valid() -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "stream": true,
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "system": [{"type": "text", "text": "You are Jarvis.", "cache_control": {"type": "ephemeral"}}],
        "tools": [
            {"name": "get_current_time", "description": "The time.", "input_schema": {"type": "object"}},
            {"name": "save_document", "description": "Saves.", "input_schema": {"type": "object"},
             "cache_control": {"type": "ephemeral"}},
        ],
        "messages": [
            user(json!("What time is it?\u{0}")),
            assistant(json!([
                {"type": "thinking", "thinking": "The user wants the time.", "signature": "sig"},
                {"type": "redacted_thinking", "data": "opaque"},
                text("Let me check. "),
                tool_use("toolu_01"),
                tool_use("toolu_02"),
            ])),
            user(json!([
                tool_result("toolu_01"),
                {"type": "tool_result", "tool_use_id": "toolu_02", "is_error": true,
                 "content": [{"type": "text", "text": "failed", "cache_control": {"type": "ephemeral"}}]},
                {"type": "text", "text": "Thanks.\u{0}", "cache_control": {"type": "ephemeral"}},
            ])),
            assistant(json!([text("It is noon.")])),
            user(json!([text("And a summary?"),
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAA="}}])),
            assistant(json!("Here is the summary:")),
        ],
    })
}

#[test]
fn a_full_multi_turn_request_passes() {
    assert_eq!(validate_request(&valid()), Ok(()));
}

#[test]
fn an_empty_final_assistant_message_passes() {
    let body = request(vec![user(json!("Hi")), assistant(json!([]))]);
    assert_eq!(validate_request(&body), Ok(()));
    let body = request(vec![user(json!("Hi")), assistant(json!(""))]);
    assert_eq!(validate_request(&body), Ok(()));
}

#[test]
fn model_and_max_tokens_are_required_and_checked() {
    let mut body = request(vec![user(json!("Hi"))]);
    body.as_object_mut().unwrap().remove("model");
    assert_eq!(refusal(&body), "model: Field required");
    body["model"] = json!(7);
    assert_eq!(refusal(&body), "model: Input should be a valid string");
    body["model"] = json!("");
    assert_eq!(refusal(&body), "model: String should have at least 1 character");

    let mut body = request(vec![user(json!("Hi"))]);
    body.as_object_mut().unwrap().remove("max_tokens");
    assert_eq!(refusal(&body), "max_tokens: Field required");
    for wrong in [json!("1024"), json!(10.5), json!(null)] {
        body["max_tokens"] = wrong;
        assert_eq!(refusal(&body), "max_tokens: Input should be a valid integer");
    }
    for wrong in [0, -1] {
        body["max_tokens"] = json!(wrong);
        assert_eq!(refusal(&body), "max_tokens: Input should be greater than or equal to 1");
    }
}

#[test]
fn the_thinking_budget_must_stay_under_max_tokens() {
    let mut body = request(vec![user(json!("Hi"))]);
    body["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
    assert!(refusal(&body).starts_with("`max_tokens` must be greater than `thinking.budget_tokens`."));
}

#[test]
fn messages_are_required_and_not_empty() {
    let mut body = request(vec![]);
    assert_eq!(refusal(&body), "messages: at least one message is required");
    body.as_object_mut().unwrap().remove("messages");
    assert_eq!(refusal(&body), "messages: Field required");
    body["messages"] = json!("Hi");
    assert_eq!(refusal(&body), "messages: Input should be a valid list");
}

#[test]
fn the_first_message_must_be_the_users() {
    let body = request(vec![assistant(json!("Hello.")), user(json!("Hi"))]);
    assert_eq!(refusal(&body), "messages: first message must use the \"user\" role");
}

#[test]
fn consecutive_turns_of_a_role_are_combined_not_refused() {
    // "Consecutive user or assistant turns in your request will be combined into a single turn."
    assert!(validate_request(&request(vec![user(json!("Hi")), user(json!("Hello?"))])).is_ok());
    let body = request(vec![user(json!("Hi")), assistant(json!("Hello.")), assistant(json!("Anyone?"))]);
    assert!(validate_request(&body).is_ok());
    // Combined, a tool_use is still to be answered at the start of the next turn.
    let body = request(vec![
        user(json!("time?")),
        assistant(json!([{"type": "text", "text": "Let me look."}])),
        assistant(json!([{"type": "tool_use", "id": "toolu_1", "name": "t", "input": {}}])),
        user(json!("well?")),
    ]);
    assert!(refusal(&body).contains("toolu_1"), "{}", refusal(&body));
}

#[test]
fn a_role_and_content_are_required() {
    let body = request(vec![json!({"role": "system", "content": "Be brief."})]);
    assert_eq!(refusal(&body), "messages.0.role: Input should be 'user' or 'assistant'");
    let body = request(vec![json!({"role": "user"})]);
    assert_eq!(refusal(&body), "messages.0.content: Field required");
}

#[test]
fn only_the_final_assistant_message_may_be_empty() {
    let expected = "messages.1: all messages must have non-empty content except for the optional final assistant message";
    let body = request(vec![user(json!("Hi")), assistant(json!([])), user(json!("Hello?"))]);
    assert_eq!(refusal(&body), expected);
    let body = request(vec![user(json!("Hi")), assistant(json!("")), user(json!("Hello?"))]);
    assert_eq!(refusal(&body), expected);
    let body = request(vec![user(json!([]))]);
    assert_eq!(
        refusal(&body),
        "messages.0: all messages must have non-empty content except for the optional final assistant message"
    );
}

#[test]
fn text_blocks_must_hold_text() {
    let body = request(vec![user(json!([text("Hi"), text("")]))]);
    assert_eq!(refusal(&body), "messages: text content blocks must be non-empty");
    let body = request(vec![user(json!("Hi")), assistant(json!([text(" \n\t")])), user(json!("?"))]);
    assert_eq!(refusal(&body), "messages: text content blocks must contain non-whitespace text");
    let body = request(vec![user(json!("  "))]);
    assert_eq!(refusal(&body), "messages: text content blocks must contain non-whitespace text");
    let result = json!({"type": "tool_result", "tool_use_id": "toolu_01", "content": [text("")]});
    let body =
        request(vec![user(json!("Hi")), assistant(json!([tool_use("toolu_01")])), user(json!([result]))]);
    assert_eq!(refusal(&body), "messages: text content blocks must be non-empty");
    let mut body = request(vec![user(json!("Hi"))]);
    body["system"] = json!([{"type": "text", "text": ""}]);
    assert_eq!(refusal(&body), "system: text content blocks must be non-empty");
}

#[test]
fn a_nul_character_is_accepted() {
    let body = request(vec![user(json!([text("\u{0}")])), assistant(json!("a\u{0}b"))]);
    assert_eq!(validate_request(&body), Ok(()));
}

#[test]
fn blocks_need_a_known_type_and_their_fields() {
    let body = request(vec![user(json!([{"type": "video", "source": {}}]))]);
    assert!(refusal(&body).starts_with(
        "messages.0.content.0: Input tag 'video' found using 'type' does not match any of the expected tags:"
    ));
    let body = request(vec![user(json!("Hi")), assistant(json!([{"type": "thinking", "thinking": "Hm."}]))]);
    assert_eq!(refusal(&body), "messages.1.content.0.thinking.signature: Field required");
    let body = request(vec![
        user(json!("Hi")),
        assistant(json!([{"type": "tool_use", "id": "toolu_01", "name": "t"}])),
    ]);
    assert_eq!(refusal(&body), "messages.1.content.0.tool_use.input: Field required");
}

#[test]
fn a_final_prefill_cannot_end_with_whitespace() {
    let expected = "messages: final assistant content cannot end with trailing whitespace";
    let body = request(vec![user(json!("Hi")), assistant(json!("Sure, "))]);
    assert_eq!(refusal(&body), expected);
    let body = request(vec![user(json!("Hi")), assistant(json!([text("Sure,\n")]))]);
    assert_eq!(refusal(&body), expected);
    // Earlier assistant messages may end with whitespace.
    let body = request(vec![user(json!("Hi")), assistant(json!("Sure, ")), user(json!("Go on."))]);
    assert_eq!(validate_request(&body), Ok(()));
}

#[test]
fn a_tool_use_must_be_answered_at_the_start_of_the_next_message() {
    let body = request(vec![
        user(json!("Time?")),
        assistant(json!([text("Checking."), tool_use("toolu_01")])),
        user(json!([text("Never mind."), tool_result("toolu_01")])),
    ]);
    assert_eq!(
        refusal(&body),
        "messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_01. Each `tool_use` block must have a corresponding `tool_result` block in the next message."
    );
    // A tool_use in the last message has no answer at all.
    let body = request(vec![user(json!("Time?")), assistant(json!([tool_use("toolu_01")]))]);
    assert!(refusal(&body).starts_with("messages.2: `tool_use` ids were found without"));
}

#[test]
fn a_tool_result_must_answer_a_tool_use_of_the_previous_message() {
    let body = request(vec![user(json!([tool_result("toolu_01")]))]);
    assert_eq!(
        refusal(&body),
        "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_01. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
    );
    let body = request(vec![
        user(json!("Time?")),
        assistant(json!([tool_use("toolu_01")])),
        user(json!([tool_result("toolu_01"), tool_result("toolu_02")])),
    ]);
    assert_eq!(
        refusal(&body),
        "messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_02. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
    );
}

#[test]
fn at_most_four_cache_breakpoints() {
    let mut body = valid();
    body["messages"][4]["content"][0]["cache_control"] = json!({"type": "ephemeral"});
    assert_eq!(refusal(&body), "A maximum of 4 blocks with cache_control may be provided. Found 5.");
    // A null cache_control is no breakpoint.
    body["messages"][4]["content"][0]["cache_control"] = Value::Null;
    assert_eq!(validate_request(&body), Ok(()));
}
