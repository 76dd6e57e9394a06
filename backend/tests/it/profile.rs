//! Display names in Postgres: a name of 80 characters as people count them is stored whole,
//! however many code points they take, and the table's CHECK still bounds what a name stores.

use jarvis_backend::accounts::profile::{
    self, DISPLAY_NAME_MAX_CHARS, DISPLAY_NAME_MAX_CODE_POINTS, ProfileError,
};

use uuid::Uuid;

use crate::support::{TestDb, test_db};

/// A family emoji: seven code points, one character.
const FAMILY: &str = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}";

#[tokio::test]
async fn a_name_of_eighty_emoji_is_stored_whole_and_the_table_bounds_code_points() {
    let db = test_db().await;
    let user_id = db.run().await.user_id;

    let name = FAMILY.repeat(DISPLAY_NAME_MAX_CHARS);
    assert_eq!(name.chars().count(), 7 * DISPLAY_NAME_MAX_CHARS, "more code points than the old limit");
    assert_eq!(profile::set_display_name(&db.app, user_id, &name).await.unwrap(), name);
    assert_eq!(stored_name(&db, user_id).await, name);

    // One more is refused, and changes nothing.
    let longer = format!("{name}{FAMILY}");
    assert!(matches!(
        profile::set_display_name(&db.app, user_id, &longer).await,
        Err(ProfileError::NameTooLong)
    ));
    assert_eq!(stored_name(&db, user_id).await, name);

    // Whatever writes the column, Postgres holds it to the bound on code points.
    let too_many = "a".repeat(DISPLAY_NAME_MAX_CODE_POINTS + 1);
    let refused = sqlx::query("UPDATE users SET display_name = $2 WHERE id = $1")
        .bind(user_id)
        .bind(&too_many)
        .execute(&db.owner)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("users_display_name_length"), "{refused}");
    db.drop().await;
}

async fn stored_name(db: &TestDb, user_id: Uuid) -> String {
    sqlx::query_scalar("SELECT display_name FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&db.owner)
        .await
        .unwrap()
}
