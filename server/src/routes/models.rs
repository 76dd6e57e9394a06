//! `GET /api/models`: the models the signed-in user's plan allows (for the chat's model picker),
//! and the one a run uses when none is chosen.

use axum::{Json, extract::State};
use jarvis_types::chat::ModelChoices;

use crate::{auth::RequireUser, error::ApiError, state::AppState};

pub const PATH: &str = "/api/models";

#[tracing::instrument(name = "models.list", skip_all, fields(user.id = %user.user_id))]
pub async fn list(
    State(state): State<AppState>,
    RequireUser(user): RequireUser,
) -> Result<Json<ModelChoices>, ApiError> {
    Ok(Json(state.chat.model_choices(user.user_id).await?))
}
