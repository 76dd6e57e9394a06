//! The conversation search box as plain data, and the pure reducer that changes it:
//! [`SearchState`] takes what the user types and presses and what the server answers, and
//! returns the [`Effect`]s to perform (search, open a hit, focus or leave the box). No signals,
//! no browser, no timers: the view performs the effects, so every transition is tested natively.
//!
//! Each search carries a generation: an answer to anything but the latest query is dropped, so
//! results never arrive out of order, and the view waits a moment before asking, asking only if
//! the query is still the latest.

use crate::search::SearchResult;

/// What the reducer asks the view to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Search for `query` (after a short pause, and only if `generation` is still current).
    Search { generation: u64, query: String },
    /// Open this conversation, at this message if any.
    Open { conversation_id: String, message_id: Option<String> },
    /// Put the cursor in the box, its text selected.
    Focus,
    /// Take the cursor out of the box.
    Blur,
}

/// A key the box handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Up,
    Down,
    Enter,
    Escape,
}

impl Key {
    /// The key named by a `KeyboardEvent.key`, if the box handles it.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ArrowUp" => Some(Self::Up),
            "ArrowDown" => Some(Self::Down),
            "Enter" => Some(Self::Enter),
            "Escape" | "Esc" => Some(Self::Escape),
            _ => None,
        }
    }
}

/// Where a search stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Status {
    /// Nothing asked (the box is empty).
    #[default]
    Idle,
    Searching,
    /// The latest query was answered: `results` are its hits.
    Done,
    /// The latest query failed; the sentence says why.
    Failed(String),
}

/// The search box and its results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchState {
    pub query: String,
    pub results: Vec<SearchResult>,
    /// The result the arrow keys are on; Enter opens it.
    pub selected: Option<usize>,
    pub status: Status,
    generation: u64,
}

impl SearchState {
    /// Whether the results (or the search's status) show: only while something is typed.
    pub fn showing(&self) -> bool {
        self.status != Status::Idle
    }

    /// Whether an answer to `generation` is still wanted.
    pub fn is_current(&self, generation: u64) -> bool {
        generation == self.generation && self.status == Status::Searching
    }

    /// Ctrl/Cmd+K: the box takes the cursor, what it holds selected.
    pub fn summon(&mut self) -> Vec<Effect> {
        vec![Effect::Focus]
    }

    /// The text in the box changed: search for it, or, once blank, show nothing.
    pub fn typed(&mut self, query: String) -> Vec<Effect> {
        self.generation += 1;
        self.query = query;
        self.selected = None;
        let trimmed = self.query.trim();
        if trimmed.is_empty() {
            self.results.clear();
            self.status = Status::Idle;
            return Vec::new();
        }
        self.status = Status::Searching;
        vec![Effect::Search { generation: self.generation, query: trimmed.to_owned() }]
    }

    /// The server answered the search `generation`; an answer to an older query is dropped.
    pub fn answered(&mut self, generation: u64, answer: Result<Vec<SearchResult>, String>) {
        if !self.is_current(generation) {
            return;
        }
        match answer {
            Ok(results) => {
                self.selected = (!results.is_empty()).then_some(0);
                self.results = results;
                self.status = Status::Done;
            }
            Err(sentence) => {
                self.results.clear();
                self.selected = None;
                self.status = Status::Failed(sentence);
            }
        }
    }

    /// A key pressed in the box: arrows move through the results, Enter opens the one selected,
    /// Esc clears the box (and, once empty, leaves it).
    pub fn key(&mut self, key: Key) -> Vec<Effect> {
        let count = self.results.len();
        match key {
            Key::Down if count > 0 => {
                self.selected = Some(self.selected.map_or(0, |index| (index + 1) % count));
                Vec::new()
            }
            Key::Up if count > 0 => {
                self.selected = Some(self.selected.map_or(count - 1, |index| (index + count - 1) % count));
                Vec::new()
            }
            Key::Enter => match self.selected {
                Some(index) => self.pick(index),
                None => Vec::new(),
            },
            Key::Escape if self.query.is_empty() => vec![Effect::Blur],
            Key::Escape => self.typed(String::new()),
            Key::Up | Key::Down => Vec::new(),
        }
    }

    /// A result was picked (Enter or a click): it opens, and the box empties.
    pub fn pick(&mut self, index: usize) -> Vec<Effect> {
        let Some(result) = self.results.get(index) else { return Vec::new() };
        let open = Effect::Open {
            conversation_id: result.conversation_id.clone(),
            message_id: result.message_id.clone(),
        };
        self.typed(String::new());
        vec![open, Effect::Blur]
    }

    /// What a screen reader hears about the search (and everyone reads under the box).
    pub fn summary(&self) -> String {
        match &self.status {
            Status::Idle => String::new(),
            Status::Searching => "Searching…".to_owned(),
            Status::Done => match self.results.len() {
                0 => "No conversations match.".to_owned(),
                1 => "1 conversation matches.".to_owned(),
                n => format!("{n} conversations match."),
            },
            Status::Failed(sentence) => sentence.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::Highlighted;

    fn hit(id: &str, message_id: Option<&str>) -> SearchResult {
        SearchResult {
            conversation_id: id.to_owned(),
            title: vec![Highlighted { text: format!("Title {id}"), mark: false }],
            message_id: message_id.map(str::to_owned),
            snippet: Vec::new(),
        }
    }

    /// A box whose search for `query` has been answered with `results`.
    fn answered(query: &str, results: Vec<SearchResult>) -> SearchState {
        let mut state = SearchState::default();
        let [Effect::Search { generation, .. }] = state.typed(query.to_owned())[..] else {
            panic!("a search")
        };
        state.answered(generation, Ok(results));
        state
    }

    #[test]
    fn typing_searches_for_the_trimmed_text_and_a_blank_box_searches_nothing() {
        let mut state = SearchState::default();
        assert_eq!(
            state.typed("  zebra ".into()),
            vec![Effect::Search { generation: 1, query: "zebra".into() }]
        );
        assert_eq!(state.status, Status::Searching);
        assert!(state.showing());
        assert_eq!(state.typed("   ".into()), vec![]);
        assert_eq!(state.status, Status::Idle);
        assert!(!state.showing());
    }

    #[test]
    fn only_the_answer_to_the_latest_query_is_shown() {
        let mut state = SearchState::default();
        state.typed("ze".into());
        state.typed("zebra".into());
        assert!(!state.is_current(1), "the first query is no longer wanted");
        state.answered(2, Ok(vec![hit("new", None)]));
        state.answered(1, Ok(vec![hit("stale", None)]));
        assert_eq!(state.results, vec![hit("new", None)]);
        assert_eq!(state.summary(), "1 conversation matches.");
        // Cleared before an answer came: the answer is dropped.
        state.typed("giraffe".into());
        state.typed(String::new());
        state.answered(3, Ok(vec![hit("late", None)]));
        assert!(state.results.is_empty());
        assert_eq!(state.status, Status::Idle);
    }

    #[test]
    fn arrows_move_through_the_results_and_wrap() {
        let mut state = answered("z", vec![hit("a", None), hit("b", None), hit("c", None)]);
        assert_eq!(state.selected, Some(0), "the best result is selected first");
        state.key(Key::Down);
        state.key(Key::Down);
        assert_eq!(state.selected, Some(2));
        state.key(Key::Down);
        assert_eq!(state.selected, Some(0));
        state.key(Key::Up);
        assert_eq!(state.selected, Some(2));
        let mut empty = answered("z", vec![]);
        assert_eq!(empty.key(Key::Down), vec![]);
        assert_eq!(empty.selected, None);
        assert_eq!(empty.key(Key::Enter), vec![], "nothing to open");
        assert_eq!(empty.summary(), "No conversations match.");
    }

    #[test]
    fn enter_opens_the_selected_result_at_its_message_and_empties_the_box() {
        let mut state = answered("z", vec![hit("a", None), hit("b", Some("m2"))]);
        state.key(Key::Down);
        assert_eq!(
            state.key(Key::Enter),
            vec![Effect::Open { conversation_id: "b".into(), message_id: Some("m2".into()) }, Effect::Blur]
        );
        assert_eq!(state.query, "");
        assert!(state.results.is_empty());
        assert!(!state.showing());
    }

    #[test]
    fn a_click_opens_that_result() {
        let mut state = answered("z", vec![hit("a", Some("m1")), hit("b", None)]);
        assert_eq!(
            state.pick(1),
            vec![Effect::Open { conversation_id: "b".into(), message_id: None }, Effect::Blur]
        );
        assert_eq!(state.pick(5), vec![], "no such result");
    }

    #[test]
    fn escape_clears_the_box_then_leaves_it() {
        let mut state = answered("zebra", vec![hit("a", None)]);
        assert_eq!(state.key(Key::Escape), vec![]);
        assert_eq!(state.query, "");
        assert!(state.results.is_empty());
        assert_eq!(state.key(Key::Escape), vec![Effect::Blur]);
        assert_eq!(state.summon(), vec![Effect::Focus]);
    }

    #[test]
    fn a_failed_search_says_why_and_shows_no_stale_results() {
        let mut state = answered("z", vec![hit("a", None)]);
        state.typed("zz".into());
        state.answered(2, Err("Search for at most 200 characters.".into()));
        assert!(state.results.is_empty());
        assert_eq!(state.selected, None);
        assert_eq!(state.summary(), "Search for at most 200 characters.");
    }

    #[test]
    fn keys_are_named_as_the_browser_names_them() {
        assert_eq!(Key::from_name("ArrowDown"), Some(Key::Down));
        assert_eq!(Key::from_name("ArrowUp"), Some(Key::Up));
        assert_eq!(Key::from_name("Enter"), Some(Key::Enter));
        assert_eq!(Key::from_name("Escape"), Some(Key::Escape));
        assert_eq!(Key::from_name("a"), None);
    }
}
