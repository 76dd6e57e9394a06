//! The models a deployment offers, as configuration: each one's protocol, service, name, limits,
//! what it can read and what it costs ([`file`]), and the registry that maps a model id to its
//! spec and its provider ([`ModelCatalog`]), with the choice of a model for a run under a plan.

mod file;
mod providers;

use std::sync::Arc;

use jarvis_types::chat::{AttachmentKind, AttachmentView, ModelChoices, ModelOption};

pub use self::file::{ModelSpec, ModelsError, ModelsSetup, ProviderKind, valid_id};
pub use self::providers::ProviderDefaults;
use crate::agent::provider::ModelProvider;
use crate::billing::plans::Plan;

/// One model a run can use: what it is, and the provider that speaks to it.
pub struct Model {
    pub spec: ModelSpec,
    pub provider: Arc<dyn ModelProvider>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model").field("spec", &self.spec).finish_non_exhaustive()
    }
}

impl Model {
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// Whether the model can be given an attachment of this kind (text every model reads).
    pub fn takes(&self, kind: AttachmentKind) -> bool {
        match kind {
            AttachmentKind::Image => self.spec.images,
            AttachmentKind::Pdf => self.spec.pdf,
            AttachmentKind::Text => true,
        }
    }

    /// Why the model cannot be given this attachment, as the user reads it; `None` if it can.
    pub fn refusal_for(&self, attachment: &AttachmentView) -> Option<String> {
        if self.takes(attachment.kind) {
            return None;
        }
        let what = match attachment.kind {
            AttachmentKind::Image => "images",
            AttachmentKind::Pdf => "PDFs",
            AttachmentKind::Text => "text files",
        };
        Some(format!(
            "{} cannot read {what}, so \"{}\" cannot be sent to it. Remove it, or choose a model that reads {what}.",
            self.spec.display_name, attachment.filename
        ))
    }

    fn option(&self) -> ModelOption {
        ModelOption {
            id: self.spec.id.clone(),
            display_name: self.spec.display_name.clone(),
            images: self.spec.images,
            pdf: self.spec.pdf,
        }
    }
}

/// Why no model could be chosen for a run, as the user reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelChoiceError {
    #[error("There is no model \"{0}\" here. Choose one from the list.")]
    Unknown(String),
    #[error("Your {plan} plan does not include {model}. Choose another model.")]
    NotInPlan { plan: String, model: String },
    #[error("Your {0} plan includes no model this server offers. An operator has to fix the plans.")]
    NoneAllowed(String),
}

/// The models configured, by id, and the default. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ModelCatalog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    models: Vec<Arc<Model>>,
    default: String,
}

impl ModelCatalog {
    /// A catalog of `models`, `default` among them.
    pub fn new(models: Vec<Model>, default: &str) -> Result<Self, ModelsError> {
        if models.is_empty() {
            return Err(ModelsError::Empty);
        }
        for (index, model) in models.iter().enumerate() {
            if models[..index].iter().any(|other| other.spec.id == model.spec.id) {
                return Err(ModelsError::DuplicateId(model.spec.id.clone()));
            }
        }
        if !models.iter().any(|model| model.spec.id == default) {
            return Err(ModelsError::UnknownDefault(default.to_owned()));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                models: models.into_iter().map(Arc::new).collect(),
                default: default.to_owned(),
            }),
        })
    }

    /// One provider for each model of `setup`.
    pub fn build(setup: &ModelsSetup, defaults: &ProviderDefaults) -> Result<Self, ModelsError> {
        let models = setup
            .models
            .iter()
            .map(|spec| Model { provider: providers::provider_for(spec, defaults), spec: spec.clone() })
            .collect();
        Self::new(models, &setup.default)
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Model>> {
        self.inner.models.iter().find(|model| model.spec.id == id)
    }

    pub fn models(&self) -> &[Arc<Model>] {
        &self.inner.models
    }

    /// The deployment's default model id.
    pub fn default_id(&self) -> &str {
        &self.inner.default
    }

    /// The models a plan allows, in the order configured: those it lists, or all when it lists
    /// none.
    pub fn allowed(&self, plan: &Plan) -> Vec<&Arc<Model>> {
        self.inner
            .models
            .iter()
            .filter(|model| plan.models.is_empty() || plan.models.iter().any(|id| id == &model.spec.id))
            .collect()
    }

    /// The model of a run on this plan when none is chosen: the deployment's default when the
    /// plan allows it, else the first model the plan lists.
    pub fn default_for(&self, plan: &Plan) -> Option<&Arc<Model>> {
        let allowed = |id: &str| plan.models.is_empty() || plan.models.iter().any(|model| model == id);
        if allowed(&self.inner.default) {
            return self.get(&self.inner.default);
        }
        plan.models.iter().find_map(|id| self.get(id))
    }

    /// `GET /api/models` for a user on `plan`.
    pub fn choices(&self, plan: &Plan) -> ModelChoices {
        ModelChoices {
            models: self.allowed(plan).into_iter().map(|model| model.option()).collect(),
            default: self.default_for(plan).map(|model| model.spec.id.clone()).unwrap_or_default(),
        }
    }

    /// The model a run uses: the one `requested` (which the plan must allow), else the one
    /// `remembered` for the conversation while the plan still allows it, else the plan's default.
    pub fn choose(
        &self,
        plan: &Plan,
        requested: Option<&str>,
        remembered: Option<&str>,
    ) -> Result<&Arc<Model>, ModelChoiceError> {
        let allowed =
            |model: &&Arc<Model>| plan.models.is_empty() || plan.models.iter().any(|id| id == &model.spec.id);
        if let Some(requested) = requested.map(str::trim) {
            let model = self.get(requested).ok_or_else(|| ModelChoiceError::Unknown(requested.to_owned()))?;
            if !allowed(&model) {
                return Err(ModelChoiceError::NotInPlan {
                    plan: plan.name.clone(),
                    model: model.spec.display_name.clone(),
                });
            }
            return Ok(model);
        }
        if let Some(model) = remembered.and_then(|id| self.get(id)).filter(allowed) {
            return Ok(model);
        }
        self.default_for(plan).ok_or_else(|| ModelChoiceError::NoneAllowed(plan.name.clone()))
    }
}

#[cfg(test)]
mod tests {
    use futures::future::BoxFuture;

    use super::*;
    use crate::agent::messages::ModelReply;
    use crate::agent::provider::{ModelDelta, ModelRequest, ProviderError};

    struct Silent;

    impl ModelProvider for Silent {
        fn complete<'a>(
            &'a self,
            _request: &'a ModelRequest,
            _on_delta: &'a mut (dyn FnMut(ModelDelta) + Send),
        ) -> BoxFuture<'a, Result<ModelReply, ProviderError>> {
            Box::pin(async { Err(ProviderError::NotConfigured) })
        }
    }

    fn model(id: &str, images: bool) -> Model {
        Model {
            spec: ModelSpec {
                id: id.into(),
                display_name: format!("Model {id}"),
                provider: ProviderKind::Anthropic,
                base_url: "http://127.0.0.1:1".parse().unwrap(),
                api_key: None,
                model: id.into(),
                context_window: 1000,
                max_output_tokens: 100,
                images,
                pdf: false,
                prices: None,
                token_parameter: Default::default(),
            },
            provider: Arc::new(Silent),
        }
    }

    fn plan(models: &[&str]) -> Plan {
        let mut plan = crate::billing::plans::Catalog::builtin(None).default().clone();
        plan.models = models.iter().map(|id| (*id).to_owned()).collect();
        plan
    }

    fn catalog() -> ModelCatalog {
        ModelCatalog::new(vec![model("a", true), model("b", false), model("c", false)], "a").unwrap()
    }

    #[test]
    fn a_plan_lists_the_models_it_allows_and_an_empty_list_allows_all() {
        let catalog = catalog();
        let ids = |choices: ModelChoices| {
            (choices.models.into_iter().map(|model| model.id).collect::<Vec<_>>(), choices.default)
        };
        assert_eq!(ids(catalog.choices(&plan(&[]))), (vec!["a".into(), "b".into(), "c".into()], "a".into()));
        assert_eq!(ids(catalog.choices(&plan(&["c", "b"]))), (vec!["b".into(), "c".into()], "c".into()));
    }

    #[test]
    fn the_requested_model_must_be_allowed_and_a_remembered_one_is_kept_only_while_it_is() {
        let catalog = catalog();
        let limited = plan(&["b", "c"]);
        assert_eq!(catalog.choose(&limited, Some("c"), None).unwrap().id(), "c");
        assert_eq!(
            catalog.choose(&limited, Some("a"), None).unwrap_err().to_string(),
            "Your Free plan does not include Model a. Choose another model."
        );
        assert_eq!(
            catalog.choose(&limited, Some("zz"), None).unwrap_err(),
            ModelChoiceError::Unknown("zz".into())
        );
        assert_eq!(catalog.choose(&limited, None, Some("c")).unwrap().id(), "c");
        assert_eq!(catalog.choose(&limited, None, Some("a")).unwrap().id(), "b", "no longer allowed");
        assert_eq!(catalog.choose(&plan(&[]), None, None).unwrap().id(), "a");
        assert!(matches!(
            catalog.choose(&plan(&["gone"]), None, None),
            Err(ModelChoiceError::NoneAllowed(_))
        ));
    }

    #[test]
    fn a_model_without_images_refuses_an_image_by_name() {
        let catalog = catalog();
        let image = AttachmentView {
            id: "x".into(),
            filename: "cat.png".into(),
            content_type: "image/png".into(),
            kind: AttachmentKind::Image,
            size_bytes: 10,
            width: Some(1),
            height: Some(1),
            pages: None,
        };
        assert_eq!(catalog.get("a").unwrap().refusal_for(&image), None);
        assert_eq!(
            catalog.get("b").unwrap().refusal_for(&image).unwrap(),
            "Model b cannot read images, so \"cat.png\" cannot be sent to it. Remove it, or choose a model that reads images."
        );
        let text = AttachmentView { kind: AttachmentKind::Text, ..image };
        assert_eq!(catalog.get("b").unwrap().refusal_for(&text), None);
    }
}
