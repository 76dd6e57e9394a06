//! Which model answers the next message of the open conversation ([`ModelChoice`]): the models
//! the user's plan allows (`GET /api/models`, loaded once by the page), the one remembered for
//! the conversation (the server keeps it once a message is sent with it) and the user's pick.
//! Plain data: the picker and the reducer read it; no signals here.

use jarvis_types::chat::{AttachmentKind, ModelChoices, ModelOption};

/// The models on offer and the one chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelChoice {
    /// `None` until `GET /api/models` answered.
    pub choices: Option<ModelChoices>,
    /// The conversation's model (remembered by the server, or picked here since): `None`, the
    /// default.
    pub chosen: Option<String>,
}

impl ModelChoice {
    /// The models the plan allows arrived.
    pub fn loaded(&mut self, choices: ModelChoices) {
        self.choices = Some(choices);
    }

    /// The user picked a model: it answers the next message (and, once sent, the server
    /// remembers it for the conversation).
    pub fn pick(&mut self, id: String) {
        self.chosen = Some(id);
    }

    /// Another conversation is shown: its remembered model (`None`: the default).
    pub fn conversation(&mut self, model: Option<String>) {
        self.chosen = model;
    }

    /// The models the picker offers (none before they are loaded).
    pub fn options(&self) -> &[ModelOption] {
        self.choices.as_ref().map_or(&[], |choices| choices.models.as_slice())
    }

    /// The id the picker shows: the chosen model if the plan allows it, else the default.
    /// `None` before the models are loaded.
    pub fn selected(&self) -> Option<&str> {
        let choices = self.choices.as_ref()?;
        let allowed = |id: &str| choices.models.iter().any(|model| model.id == id);
        match self.chosen.as_deref() {
            Some(chosen) if allowed(chosen) => Some(chosen),
            _ => Some(choices.default.as_str()),
        }
    }

    /// The model that will answer, as far as the page knows.
    pub fn selected_option(&self) -> Option<&ModelOption> {
        let selected = self.selected()?;
        self.options().iter().find(|model| model.id == selected)
    }

    /// The display name of a model id (the id itself for one the plan no longer lists).
    pub fn display_name(&self, id: &str) -> String {
        self.options()
            .iter()
            .find(|model| model.id == id)
            .map_or_else(|| id.to_owned(), |m| m.display_name.clone())
    }

    /// The `model` a send, an edit or a regeneration carries: the chosen one, or the default
    /// when the chosen one is no longer allowed; `None` (the server's choice) while nothing was
    /// chosen.
    pub fn for_send(&self) -> Option<String> {
        let chosen = self.chosen.as_deref()?;
        match self.selected() {
            Some(selected) => Some(selected.to_owned()),
            // Not loaded yet: the server checks the choice against the plan.
            None => Some(chosen.to_owned()),
        }
    }
}

/// Whether a model takes an attachment of this kind (text files every model takes).
pub fn takes(model: &ModelOption, kind: AttachmentKind) -> bool {
    match kind {
        AttachmentKind::Image => model.images,
        AttachmentKind::Pdf => model.pdf,
        AttachmentKind::Text => true,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn option(id: &str, images: bool, pdf: bool) -> ModelOption {
        ModelOption { id: id.into(), display_name: format!("Model {id}"), images, pdf }
    }

    pub(crate) fn choices() -> ModelChoices {
        ModelChoices {
            models: vec![option("sonnet", true, true), option("local", false, false)],
            default: "sonnet".into(),
        }
    }

    #[test]
    fn the_default_is_selected_until_a_model_is_chosen_and_a_send_then_carries_the_choice() {
        let mut model = ModelChoice::default();
        assert_eq!(model.selected(), None, "nothing to show before the models are loaded");
        model.loaded(choices());
        assert_eq!(model.selected(), Some("sonnet"));
        assert_eq!(model.for_send(), None, "nothing chosen: the server's choice");
        model.pick("local".into());
        assert_eq!(model.selected(), Some("local"));
        assert_eq!(model.for_send(), Some("local".into()));
        assert_eq!(model.selected_option().map(|m| m.images), Some(false));
    }

    #[test]
    fn a_conversation_shows_its_remembered_model() {
        let mut model = ModelChoice::default();
        model.loaded(choices());
        model.conversation(Some("local".into()));
        assert_eq!(model.selected(), Some("local"));
        model.conversation(None);
        assert_eq!(model.selected(), Some("sonnet"));
    }

    #[test]
    fn a_remembered_model_the_plan_no_longer_allows_gives_way_to_the_default() {
        let mut model = ModelChoice::default();
        model.conversation(Some("opus".into()));
        assert_eq!(model.for_send(), Some("opus".into()), "before loading, the server decides");
        model.loaded(choices());
        assert_eq!(model.selected(), Some("sonnet"));
        assert_eq!(model.for_send(), Some("sonnet".into()));
        assert_eq!(model.display_name("opus"), "opus");
        assert_eq!(model.display_name("local"), "Model local");
    }

    #[test]
    fn every_model_takes_text_and_only_some_take_images_and_pdfs() {
        let local = option("local", false, true);
        assert!(takes(&local, AttachmentKind::Text));
        assert!(!takes(&local, AttachmentKind::Image));
        assert!(takes(&local, AttachmentKind::Pdf));
    }
}
