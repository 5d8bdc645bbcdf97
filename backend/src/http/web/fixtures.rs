//! What the pages' render tests are built from: a viewer of each role and a backlog entry,
//! made in code (the renders are pure; no database needed).

use chrono::{TimeZone, Utc};

use super::session::Viewer;
use crate::backlog::score::ThemeScore;
use crate::backlog::{workflow, Entry};
use crate::db::entity::{theme, user};
use crate::db::tokens::Role;

pub fn viewer(role: Role) -> Viewer {
    Viewer {
        user: user::Model {
            id: 1,
            email: "pm@corp.test".into(),
            name: "Pat".into(),
            role: role.as_str().into(),
            password_hash: String::new(),
            disabled: false,
            created_at: Utc::now(),
        },
        role,
        csrf: "token-123".into(),
    }
}

/// Theme `id` on the backlog with `score`, named by a person (`custom_label`).
pub fn entry(id: i64, custom_label: &str, score: f64) -> Entry {
    let at = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let mut s = ThemeScore::empty(id);
    s.score = score;
    Entry {
        workflow: workflow::blank(id),
        score: s,
        theme: theme::Model {
            id,
            label: "generated label".into(),
            custom_label: Some(custom_label.into()),
            keywords: r#"["card","arrive"]"#.into(),
            representative_item_id: None,
            size: 2,
            centroid: Vec::new(),
            locked: false,
            merged_into: None,
            area_id: None,
            created_at: at,
            updated_at: at,
        },
    }
}
